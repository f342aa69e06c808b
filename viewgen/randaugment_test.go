package viewgen

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/learnviews/learnviews/chw"
)

func TestRandAugmentOps(t *testing.T) {
	want := []string{"identity", "autocontrast", "equalize", "rotate", "solarize", "color", "posterize",
		"contrast", "brightness", "sharpness", "shearx", "sheary", "translatex", "translatey"}
	if got := RandAugmentOps(); !slices.Equal(got, want) {
		t.Errorf("RandAugmentOps() = %v, want %v", got, want)
	}
}

func TestAutocontrast(t *testing.T) {
	img := chw.New(2, 1, 3)
	copy(img.Pix, []float32{0.2, 0.4, 0.6, 0.5, 0.5, 0.5})
	// The first channel stretches to [0, 1]; the constant one stays.
	assertClose(t, "autocontrast", autocontrast(img).Pix, []float32{0, 0.5, 1, 0.5, 0.5, 0.5}, 1e-6)
}

func TestEqualize(t *testing.T) {
	// A ramp through all 256 levels already has a flat histogram.
	ramp := chw.New(1, 16, 16)
	for i := range ramp.Pix {
		ramp.Pix[i] = float32(i) / 255
	}
	assertClose(t, "equalized ramp", equalize(ramp.Clone()).Pix, ramp.Pix, 1e-6)
	// Two levels, half the pixels each: PIL's table sends the lower to 0 and
	// the upper to 255.
	two := chw.New(1, 32, 32)
	for i := range two.Pix {
		two.Pix[i] = 51.0 / 255
		if i%2 == 1 {
			two.Pix[i] = 102.0 / 255
		}
	}
	out := equalize(two)
	if out.Pix[0] != 0 || out.Pix[1] != 1 {
		t.Errorf("equalized two levels = %v, %v; want 0, 1", out.Pix[0], out.Pix[1])
	}
}

func TestSolarizePosterize(t *testing.T) {
	img := chw.New(1, 1, 4)
	copy(img.Pix, []float32{0, 0.3, 0.7, 1})
	assertClose(t, "solarize 0.5", solarize(img.Clone(), 0.5).Pix, []float32{0, 0.3, 0.3, 0}, 1e-6)
	assertClose(t, "solarize 1", solarize(img.Clone(), 1).Pix, img.Pix, 0)
	// 0.3 -> 77 = 0b01001101, 0.7 -> 178 = 0b10110010 (float32 0.7 is just below).
	assertClose(t, "posterize 1 bit", posterize(img.Clone(), 1).Pix, []float32{0, 0, 128.0 / 255, 128.0 / 255}, 1e-6)
	assertClose(t, "posterize 4 bits", posterize(img.Clone(), 4).Pix, []float32{0, 64.0 / 255, 176.0 / 255, 240.0 / 255}, 1e-6)
	assertClose(t, "posterize 8 bits", posterize(img.Clone(), 8).Pix, []float32{0, 77.0 / 255, 178.0 / 255, 1}, 1e-6)
}

func TestSharpness(t *testing.T) {
	img := chw.New(1, 5, 5)
	img.Set(0, 2, 2, 1)
	assertClose(t, "sharpness 1", sharpness(img, 1).Pix, img.Pix, 1e-7)
	smooth := sharpness(img, 0)
	if got := smooth.At(0, 2, 2); got != 5.0/13 {
		t.Errorf("smoothed impulse centre = %v, want 5/13", got)
	}
	if got := smooth.At(0, 1, 1); got != 1.0/13 {
		t.Errorf("smoothed impulse neighbour = %v, want 1/13", got)
	}
	img.Set(0, 0, 0, 1)
	if got := sharpness(img, 0).At(0, 0, 0); got != 1 {
		t.Errorf("border pixel changed to %v; PIL leaves the border alone", got)
	}
}

func TestGeometricOps(t *testing.T) {
	const n = 6
	img := coordImage(n, n)
	rot := rotate(img, 90)
	for y := range n {
		for x := range n {
			// Anticlockwise: output (y, x) comes from input (x, n-1-y).
			if rot.At(0, y, x) != float32(x) || rot.At(1, y, x) != float32(n-1-y) {
				t.Fatalf("rotate 90: (%d,%d) came from (%v,%v), want (%d,%d)", y, x, rot.At(0, y, x), rot.At(1, y, x), x, n-1-y)
			}
		}
	}
	assertClose(t, "rotate 0", rotate(img, 0).Pix, img.Pix, 0)
	assertClose(t, "shear 0", shear(img, 0, 0).Pix, img.Pix, 0)

	moved := translate(img, 0, 2)
	for y := range n {
		for x := range n {
			if x < 2 {
				if moved.At(0, y, x) != randAugmentFill[0] || moved.At(2, y, x) != randAugmentFill[2] {
					t.Fatalf("translate: uncovered (%d,%d) is not the fill", y, x)
				}
			} else if moved.At(1, y, x) != float32(x-2) {
				t.Fatalf("translate: (%d,%d) came from column %v, want %d", y, x, moved.At(1, y, x), x-2)
			}
		}
	}
	// Shearing x by 1 about the centre moves the top row left by 2.5 px and
	// keeps the rows.
	sh := shear(coordImage(5, 9), 1, 0)
	if sh.At(1, 0, 2) != 4 || sh.At(0, 0, 2) != 0 || sh.At(1, 2, 4) != 4 {
		t.Errorf("shear x: (0,2) from column %v, (2,4) from column %v; want 4 and 4", sh.At(1, 0, 2), sh.At(1, 2, 4))
	}
}

func TestRandAugmentDrawsOps(t *testing.T) {
	// At magnitude 10 every operation but identity changes a smooth image;
	// over many draws of one operation, every one of the 14 is chosen.
	img := smoothImage(16, 16)
	a := RandAugment(1, 10)
	aug, err := NewAugmenter(a)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for seed := range uint64(200) {
		out, err := aug.Apply(img, 0, 0, rand.New(rand.NewPCG(seed, 3)))
		if err != nil {
			t.Fatal(err)
		}
		if maxAbsDiff(out.Pix, img.Pix) > 1e-3 {
			changed++
		}
	}
	// Identity is drawn with probability 1/14: about 186 of 200 change.
	if changed < 170 || changed == 200 {
		t.Errorf("%d of 200 single-operation draws changed the image, want about 186", changed)
	}
}

func findRandAugmentOp(t *testing.T, name string) randAugmentOp {
	t.Helper()
	for _, op := range randAugmentOps {
		if op.name == name {
			return op
		}
	}
	t.Fatalf("no operation %q", name)
	return randAugmentOp{}
}

// TestRandAugmentMagnitudes checks the magnitude scale: at m = 10 a
// translation moves 45% of the side, brightness scales by 1 ± 0.9,
// posterize keeps 4 bits; at m = 5 solarize inverts above 0.5.
func TestRandAugmentMagnitudes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for range 10 {
		moved := findRandAugmentOp(t, "translatex").apply(coordImage(4, 20), rng, 1)
		// 0.45·20 = 9 pixels, left or right.
		if a, b := moved.At(1, 0, 9), moved.At(1, 0, 10); a != 0 && b != 19 {
			t.Fatalf("translatex at m=10 put columns %v and %v at 9 and 10, want a 9-pixel shift", a, b)
		}
		lit := findRandAugmentOp(t, "brightness").apply(constImage(3, 2, 2, 0.5), rng, 1)
		if v := lit.Pix[0]; v != 0.95 && v != 0.05 {
			t.Fatalf("brightness at m=10 turned 0.5 into %v, want 0.05 or 0.95", v)
		}
	}
	img := chw.New(1, 1, 3)
	copy(img.Pix, []float32{0.3, 0.51, 0.9})
	post := findRandAugmentOp(t, "posterize").apply(img.Clone(), rng, 1)
	for _, v := range post.Pix {
		if q := quantize8(v); q%16 != 0 {
			t.Errorf("posterize at m=10 left level %d, want a multiple of 16", q)
		}
	}
	sol := findRandAugmentOp(t, "solarize").apply(img.Clone(), rng, 0.5)
	assertClose(t, "solarize at m=5", sol.Pix, []float32{0.3, 0.49, 0.1}, 1e-6)
}
