package chw

import (
	"math"
	"testing"
)

func TestResizer(t *testing.T) {
	checker := func(s Shape) []float32 {
		p := make([]float32, s.Size())
		for c := range s.C {
			for y := range s.H {
				for x := range s.W {
					p[(c*s.H+y)*s.W+x] = float32((x + y) % 2)
				}
			}
		}
		return p
	}
	cases := []struct {
		name     string
		from, to Shape
		src      func(Shape) []float32
		want     func(c, y, x int) float32
	}{
		{"identity keeps every pixel", Shape{C: 2, H: 4, W: 6}, Shape{C: 2, H: 4, W: 6}, checker,
			func(c, y, x int) float32 { return float32((x + y) % 2) }},
		{"halving a checker gives grey inside the border", Shape{C: 1, H: 8, W: 8}, Shape{C: 1, H: 4, W: 4}, checker,
			func(c, y, x int) float32 {
				if y == 0 || x == 0 || y == 3 || x == 3 {
					return -1 // the filter is cut at the border
				}
				return 0.5
			}},
		{"a constant stays constant when enlarged", Shape{C: 3, H: 3, W: 5}, Shape{C: 3, H: 7, W: 11},
			func(s Shape) []float32 {
				p := make([]float32, s.Size())
				for i := range p {
					p[i] = 0.25 * float32(1+i/(s.H*s.W))
				}
				return p
			},
			func(c, y, x int) float32 { return 0.25 * float32(1+c) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewResizer(c.from, c.to)
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]float32, c.to.Size())
			r.Resize(dst, c.src(c.from))
			for ch := range c.to.C {
				for y := range c.to.H {
					for x := range c.to.W {
						if got, want := dst[(ch*c.to.H+y)*c.to.W+x], c.want(ch, y, x); want >= 0 && math.Abs(float64(got-want)) > 1e-5 {
							t.Fatalf("(%d,%d,%d) = %v, want %v", ch, y, x, got, want)
						}
					}
				}
			}
		})
	}
	if _, err := NewResizer(Shape{C: 1, H: 2, W: 2}, Shape{C: 3, H: 2, W: 2}); err == nil {
		t.Fatal("resizing across channel counts accepted")
	}
}

func TestResize(t *testing.T) {
	// Halving a checkerboard of 0 and 1 with the widened triangle filter
	// (taps 1/8, 3/8, 3/8, 1/8) averages it to 0.5 away from the border.
	img := New(1, 8, 8)
	for y := range 8 {
		for x := range 8 {
			img.Set(0, y, x, float32((x+y)%2))
		}
	}
	out, err := Resize(img, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	inner := []float32{out.At(0, 1, 1), out.At(0, 1, 2), out.At(0, 2, 1), out.At(0, 2, 2)}
	assertClose(t, "halved checkerboard", inner, []float32{0.5, 0.5, 0.5, 0.5}, 1e-6)
	// Doubling a ramp interpolates between samples and keeps the ends.
	ramp := New(1, 1, 2)
	ramp.Pix = []float32{0, 1}
	up, err := Resize(ramp, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "doubled ramp", up.Pix, []float32{0, 0.25, 0.75, 1}, 1e-6)
	if _, err := Resize(img, 0, 3); err == nil {
		t.Error("Resize to 0 rows succeeded")
	}
}

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol {
			t.Errorf("%s: value %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// A crop box is filtered inside the box only: resampling the box of a
// constant region that borders other values gives that constant.
func TestResizeRegionStaysInTheBox(t *testing.T) {
	img := New(1, 6, 6)
	for y := range 6 {
		for x := range 6 {
			v := float32(0.25)
			if x < 2 || y < 2 {
				v = 1
			}
			img.Set(0, y, x, v)
		}
	}
	for _, out := range []Image{ResizeRegion(img, 2, 2, 4, 4, 2, 2), ResizeRegion(img, 2, 2, 4, 4, 7, 7), ResizeRegion(img, 2, 2, 4, 4, 1, 1)} {
		want := make([]float32, len(out.Pix))
		for i := range want {
			want[i] = 0.25
		}
		assertClose(t, "box of a constant", out.Pix, want, 1e-6)
	}
	// The whole image at its own size is a copy.
	same := ResizeRegion(img, 0, 0, 6, 6, 6, 6)
	assertClose(t, "identity", same.Pix, img.Pix, 0)
	same.Pix[0] = 7
	if img.Pix[0] == 7 {
		t.Error("the identity shares storage with its source")
	}
}

func TestCentreCrop(t *testing.T) {
	img := New(1, 4, 5)
	for i := range img.Pix {
		img.Pix[i] = float32(i)
	}
	out, err := CentreCrop(img, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "centre", out.Pix, []float32{6, 7, 8, 11, 12, 13}, 0)
	if _, err := CentreCrop(img, 5, 5); err == nil {
		t.Error("a box larger than the image was cut")
	}
}
