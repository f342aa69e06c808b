package datasets

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// Resizer resamples CHW images of one shape to another with a triangle
// (bilinear) filter, widened when shrinking so that every source pixel counts.
// It is safe for concurrent use.
type Resizer struct {
	from, to Shape
	x, y     taps
}

// taps holds, for each output position, the first input position and the
// weights of the inputs from there on.
type taps struct {
	first  []int
	n      []int
	weight []float32 // len(first)×stride
	stride int
}

// NewResizer makes a Resizer from one shape to another with as many channels.
func NewResizer(from, to Shape) (*Resizer, error) {
	if from.C != to.C || from.Size() <= 0 || to.Size() <= 0 {
		return nil, fmt.Errorf("resize: cannot resize %v to %v", from, to)
	}
	return &Resizer{from: from, to: to, x: newTaps(from.W, to.W), y: newTaps(from.H, to.H)}, nil
}

func newTaps(src, dst int) taps {
	scale := float64(src) / float64(dst)
	width := max(scale, 1)
	stride := int(math.Ceil(2*width)) + 2
	t := taps{first: make([]int, dst), n: make([]int, dst), weight: make([]float32, dst*stride), stride: stride}
	for i := range dst {
		centre := (float64(i) + 0.5) * scale
		lo := max(0, int(math.Floor(centre-width)))
		hi := min(src, int(math.Ceil(centre+width)))
		w := t.weight[i*stride : (i+1)*stride]
		var sum float64
		for j := lo; j < hi; j++ {
			v := max(0, 1-math.Abs((float64(j)+0.5-centre)/width))
			w[j-lo] = float32(v)
			sum += v
		}
		n := hi - lo
		if sum == 0 { // a one-pixel source seen from far: take the nearest
			lo, n, w[0], sum = min(int(centre), src-1), 1, 1, 1
		}
		for k := range n {
			w[k] = float32(float64(w[k]) / sum)
		}
		t.first[i], t.n[i] = lo, n
	}
	return t
}

// From is the input shape.
func (r *Resizer) From() Shape { return r.from }

// To is the output shape.
func (r *Resizer) To() Shape { return r.to }

// Resize writes src (shape From) resampled into dst (shape To).
func (r *Resizer) Resize(dst, src []float32) {
	f, t := r.from, r.to
	tmp := make([]float32, f.C*f.H*t.W)
	for c := range f.C {
		for y := range f.H {
			row := src[(c*f.H+y)*f.W : (c*f.H+y+1)*f.W]
			out := tmp[(c*f.H+y)*t.W : (c*f.H+y+1)*t.W]
			for x := range t.W {
				first, w := r.x.first[x], r.x.weight[x*r.x.stride:x*r.x.stride+r.x.n[x]]
				var s float32
				for k, wk := range w {
					s += wk * row[first+k]
				}
				out[x] = s
			}
		}
	}
	for c := range f.C {
		plane := tmp[c*f.H*t.W : (c+1)*f.H*t.W]
		for y := range t.H {
			out := dst[(c*t.H+y)*t.W : (c*t.H+y+1)*t.W]
			first, w := r.y.first[y], r.y.weight[y*r.y.stride:y*r.y.stride+r.y.n[y]]
			for x := range out {
				out[x] = 0
			}
			for k, wk := range w {
				row := plane[(first+k)*t.W : (first+k+1)*t.W]
				for x, v := range row {
					out[x] += wk * v
				}
			}
		}
	}
}

// Planes converts an image to three float32 planes in [0,1] (grey images
// are repeated into each plane; alpha is dropped).
func Planes(img image.Image) (Shape, []float32) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	s := Shape{C: 3, H: h, W: w}
	out := make([]float32, s.Size())
	r, g, bl := out[:w*h], out[w*h:2*w*h], out[2*w*h:]
	switch m := img.(type) {
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				rr, gg, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				i := y*w + x
				r[i], g[i], bl[i] = byteScale[rr], byteScale[gg], byteScale[bb]
			}
		}
	case *image.Gray:
		for y := range h {
			row := m.Pix[(y)*m.Stride : y*m.Stride+w]
			for x, v := range row {
				i := y*w + x
				r[i], g[i], bl[i] = byteScale[v], byteScale[v], byteScale[v]
			}
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				i := y*w + x
				r[i], g[i], bl[i] = byteScale[row[4*x]], byteScale[row[4*x+1]], byteScale[row[4*x+2]]
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				i := y*w + x
				r[i], g[i], bl[i] = byteScale[c.R], byteScale[c.G], byteScale[c.B]
			}
		}
	}
	return s, out
}

// fitCrop resizes a 3-plane image so that its shorter side is side and cuts
// the centre side×side square out of it.
func fitCrop(s Shape, pix []float32, side int) ([]float32, error) {
	scale := float64(side) / float64(min(s.H, s.W))
	to := Shape{C: s.C, H: max(side, int(math.Round(float64(s.H)*scale))), W: max(side, int(math.Round(float64(s.W)*scale)))}
	r, err := NewResizer(s, to)
	if err != nil {
		return nil, err
	}
	big := make([]float32, to.Size())
	r.Resize(big, pix)
	out := make([]float32, s.C*side*side)
	x0, y0 := (to.W-side)/2, (to.H-side)/2
	for c := range s.C {
		for y := range side {
			copy(out[(c*side+y)*side:(c*side+y+1)*side], big[(c*to.H+y0+y)*to.W+x0:])
		}
	}
	return out, nil
}

// quantize turns values in [0,1] into bytes, rounding.
func quantize(dst []uint8, src []float32) {
	for i, v := range src {
		dst[i] = uint8(min(max(v*255+0.5, 0), 255))
	}
}
