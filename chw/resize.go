package chw

import (
	"fmt"
	"math"
)

// Resizer resamples CHW images of one shape to another with a triangle
// (bilinear) filter, widened when shrinking so that every source pixel
// counts. It is safe for concurrent use.
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
	return &Resizer{from: from, to: to, x: newTaps(0, from.W, to.W), y: newTaps(0, from.H, to.H)}, nil
}

// newTaps maps the source span [start, start+length) onto dst samples;
// taps stay inside the span, as when resizing a crop box.
func newTaps(start, length, dst int) taps {
	scale := float64(length) / float64(dst)
	width := max(scale, 1)
	stride := int(math.Ceil(2*width)) + 2
	t := taps{first: make([]int, dst), n: make([]int, dst), weight: make([]float32, dst*stride), stride: stride}
	for i := range dst {
		centre := float64(start) + (float64(i)+0.5)*scale
		lo := max(start, int(math.Floor(centre-width)))
		hi := min(start+length, int(math.Ceil(centre+width)))
		w := t.weight[i*stride : (i+1)*stride]
		var sum float64
		for j := lo; j < hi; j++ {
			v := max(0, 1-math.Abs((float64(j)+0.5-centre)/width))
			w[j-lo] = float32(v)
			sum += v
		}
		n := hi - lo
		if sum == 0 { // a one-pixel source seen from far: take the nearest
			lo, n, w[0], sum = max(start, min(int(centre), start+length-1)), 1, 1, 1
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
	resample(dst, src, f.C, f.W, 0, f.H, t.H, t.W, r.x, r.y)
}

// resample filters the rows y0..y0+h of each of c planes of src (width
// srcW) through the column taps xt, then the rows through yt, into dst
// (c planes of oh×ow).
func resample(dst, src []float32, c, srcW, y0, h, oh, ow int, xt, yt taps) {
	srcH := len(src) / (c * srcW)
	tmp := make([]float32, c*h*ow)
	for ch := range c {
		for y := range h {
			row := src[(ch*srcH+y0+y)*srcW : (ch*srcH+y0+y+1)*srcW]
			out := tmp[(ch*h+y)*ow : (ch*h+y+1)*ow]
			for x := range ow {
				first, w := xt.first[x], xt.weight[x*xt.stride:x*xt.stride+xt.n[x]]
				var s float32
				for k, wk := range w {
					s += wk * row[first+k]
				}
				out[x] = s
			}
		}
	}
	for ch := range c {
		plane := tmp[ch*h*ow : (ch+1)*h*ow]
		for y := range oh {
			out := dst[(ch*oh+y)*ow : (ch*oh+y+1)*ow]
			first, w := yt.first[y]-y0, yt.weight[y*yt.stride:y*yt.stride+yt.n[y]]
			for x := range out {
				out[x] = 0
			}
			for k, wk := range w {
				row := plane[(first+k)*ow : (first+k+1)*ow]
				for x, v := range row {
					out[x] += wk * v
				}
			}
		}
	}
}

// Resize returns img resampled to h rows and w columns.
func Resize(img Image, h, w int) (Image, error) {
	if err := img.Check(); err != nil {
		return Image{}, err
	}
	if h <= 0 || w <= 0 {
		return Image{}, fmt.Errorf("resize to %d×%d: both sides must be positive", h, w)
	}
	return ResizeRegion(img, 0, 0, img.H, img.W, h, w), nil
}

// ResizeRegion returns the box of h×w pixels at row y0, column x0 of img
// resampled to oh×ow, filtering rows first, then columns, with the filter
// confined to the box. The box must lie inside img.
func ResizeRegion(img Image, y0, x0, h, w, oh, ow int) Image {
	if y0 == 0 && x0 == 0 && h == img.H && w == img.W && oh == h && ow == w {
		return img.Clone()
	}
	out := New(img.C, oh, ow)
	resample(out.Pix, img.Pix, img.C, img.W, y0, h, oh, ow, newTaps(x0, w, ow), newTaps(y0, h, oh))
	return out
}

// CentreCrop returns the h×w box at the centre of img (a copy).
func CentreCrop(img Image, h, w int) (Image, error) {
	if h <= 0 || w <= 0 || h > img.H || w > img.W {
		return Image{}, fmt.Errorf("centre crop of %d×%d from %v: want a box inside the image", h, w, img.Shape())
	}
	y0, x0 := (img.H-h)/2, (img.W-w)/2
	out := New(img.C, h, w)
	for c := range img.C {
		for y := range h {
			copy(out.Pix[(c*h+y)*w:(c*h+y+1)*w], img.Pix[(c*img.H+y0+y)*img.W+x0:])
		}
	}
	return out, nil
}
