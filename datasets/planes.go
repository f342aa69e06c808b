package datasets

import (
	"image"
	"image/color"
	"math"

	"github.com/learnviews/learnviews/chw"
)

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
	r, err := chw.NewResizer(s, to)
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
