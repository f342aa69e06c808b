package viewgen

import (
	"fmt"
	"math"
)

// Resize returns img resampled to h rows and w columns with a bilinear
// (triangle) filter whose support widens when shrinking, so downscaling
// averages every source pixel instead of aliasing.
func Resize(img Image, h, w int) (Image, error) {
	if err := img.Check(); err != nil {
		return Image{}, err
	}
	if h <= 0 || w <= 0 {
		return Image{}, fmt.Errorf("resize to %d×%d: both sides must be positive", h, w)
	}
	return resizeRegion(img, 0, 0, img.H, img.W, h, w), nil
}

// filterTaps holds, for one output coordinate, the first source index and the
// normalised weights of the source samples it blends.
type filterTaps struct {
	first   int
	weights []float32
}

// triangleTaps computes the filter taps that map the source span
// [start, start+length) onto out samples. Taps are confined to the span, as
// when resizing a crop box.
func triangleTaps(start, length, out int) []filterTaps {
	scale := float64(length) / float64(out)
	support := math.Max(scale, 1)
	taps := make([]filterTaps, out)
	raw := make([]float64, 0, 2*int(math.Ceil(support))+4)
	for o := range taps {
		centre := float64(start) + (float64(o)+0.5)*scale
		lo := max(int(math.Floor(centre-support)), start)
		hi := min(int(math.Ceil(centre+support)), start+length-1)
		raw = raw[:0]
		var sum float64
		for i := lo; i <= hi; i++ {
			w := max(1-math.Abs(float64(i)+0.5-centre)/support, 0)
			raw = append(raw, w)
			sum += w
		}
		// Drop the zero weights at either end.
		first := lo
		for len(raw) > 0 && raw[0] == 0 {
			raw, first = raw[1:], first+1
		}
		for len(raw) > 0 && raw[len(raw)-1] == 0 {
			raw = raw[:len(raw)-1]
		}
		ws := make([]float32, len(raw))
		for k, r := range raw {
			ws[k] = float32(r / sum)
		}
		taps[o] = filterTaps{first: first, weights: ws}
	}
	return taps
}

// resizeRegion resamples the box of h×w pixels at (y0, x0) of img to oh×ow,
// filtering rows first, then columns.
func resizeRegion(img Image, y0, x0, h, w, oh, ow int) Image {
	if y0 == 0 && x0 == 0 && h == img.H && w == img.W && oh == h && ow == w {
		return img.Clone()
	}
	xt := triangleTaps(x0, w, ow)
	yt := triangleTaps(y0, h, oh)
	tmp := make([]float32, h*ow)
	out := NewImage(img.C, oh, ow)
	for c := 0; c < img.C; c++ {
		plane := img.Plane(c)
		for y := 0; y < h; y++ {
			row := plane[(y0+y)*img.W:]
			for o, t := range xt {
				var s float32
				for k, wt := range t.weights {
					s += wt * row[t.first+k]
				}
				tmp[y*ow+o] = s
			}
		}
		dst := out.Plane(c)
		for o, t := range yt {
			drow := dst[o*ow : (o+1)*ow]
			for i := range drow {
				drow[i] = 0
			}
			for k, wt := range t.weights {
				srow := tmp[(t.first-y0+k)*ow:]
				for x := range drow {
					drow[x] += wt * srow[x]
				}
			}
		}
	}
	return out
}

// affineNearest returns img warped by the output-to-input map
// (x, y) -> (a*x + b*y + c, d*x + e*y + f), in continuous coordinates where
// pixel (i, j) has its centre at (i+0.5, j+0.5); samples are nearest
// neighbours and points that fall outside img take fill[c].
func affineNearest(img Image, m [6]float64, fill []float32) Image {
	out := NewImage(img.C, img.H, img.W)
	n := img.H * img.W
	for y := 0; y < img.H; y++ {
		fy := float64(y) + 0.5
		for x := 0; x < img.W; x++ {
			fx := float64(x) + 0.5
			sx := int(math.Floor(m[0]*fx + m[1]*fy + m[2]))
			sy := int(math.Floor(m[3]*fx + m[4]*fy + m[5]))
			i := y*img.W + x
			if sx < 0 || sx >= img.W || sy < 0 || sy >= img.H {
				for c := 0; c < img.C; c++ {
					out.Pix[c*n+i] = fill[c%len(fill)]
				}
				continue
			}
			j := sy*img.W + sx
			for c := 0; c < img.C; c++ {
				out.Pix[c*n+i] = img.Pix[c*n+j]
			}
		}
	}
	return out
}
