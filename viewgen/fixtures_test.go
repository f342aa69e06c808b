package viewgen

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/learnviews/learnviews/chw"
)

// randomImage returns a c×h×w image of uniform values in [0, 1) drawn from a
// fixed seed.
func randomImage(seed uint64, c, h, w int) chw.Image {
	rng := rand.New(rand.NewPCG(seed, 7))
	img := chw.New(c, h, w)
	for i := range img.Pix {
		img.Pix[i] = rng.Float32()
	}
	return img
}

// smoothImage returns an RGB image of gentle gradients, like a photo at low
// resolution.
func smoothImage(h, w int) chw.Image {
	img := chw.New(3, h, w)
	for y := range h {
		for x := range w {
			fy, fx := float64(y)/float64(h), float64(x)/float64(w)
			img.Set(0, y, x, float32(0.5+0.4*math.Sin(3*fx+1)))
			img.Set(1, y, x, float32(0.5+0.4*math.Cos(2*fy+fx)))
			img.Set(2, y, x, float32(0.3+0.6*fx*fy))
		}
	}
	return img
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if d := maxAbsDiff(got, want); d > tol {
		t.Errorf("%s: max difference %.3g exceeds %.3g", what, d, tol)
	}
}

func constImage(c, h, w int, vals ...float32) chw.Image {
	img := chw.New(c, h, w)
	for k := range c {
		p := img.Plane(k)
		for i := range p {
			p[i] = vals[k%len(vals)]
		}
	}
	return img
}
