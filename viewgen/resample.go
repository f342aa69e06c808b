package viewgen

import (
	"math"

	"github.com/learnviews/learnviews/chw"
)

// affineNearest returns img warped by the output-to-input map
// (x, y) -> (a*x + b*y + c, d*x + e*y + f), in continuous coordinates where
// pixel (i, j) has its centre at (i+0.5, j+0.5); samples are nearest
// neighbours and points that fall outside img take fill[c].
func affineNearest(img chw.Image, m [6]float64, fill []float32) chw.Image {
	out := chw.New(img.C, img.H, img.W)
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
