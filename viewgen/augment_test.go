package viewgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/chw"
)

func applyOne(t *testing.T, a Aug, img chw.Image, seed uint64) chw.Image {
	t.Helper()
	aug, err := NewAugmenter(a)
	if err != nil {
		t.Fatal(err)
	}
	out, err := aug.Apply(img, 0, 0, rand.New(rand.NewPCG(seed, 0)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFlip(t *testing.T) {
	img := coordImage(3, 5)
	a := Flip()
	a.P = 1
	out := applyOne(t, a, img, 1)
	for y := range 3 {
		for x := range 5 {
			if out.At(1, y, x) != float32(4-x) || out.At(0, y, x) != float32(y) {
				t.Fatalf("flipped (%d,%d) came from column %v, want %d", y, x, out.At(1, y, x), 4-x)
			}
		}
	}
	a.P = 0
	if out := applyOne(t, a, img, 1); maxAbsDiff(out.Pix, img.Pix) != 0 {
		t.Error("flip with p = 0 changed the image")
	}
}

// TestCropParams checks torchvision's box: inside the image, area fraction
// at least the lower bound and aspect ratio within [3/4, 4/3], allowing for
// the rounding of each side to whole pixels.
func TestCropParams(t *testing.T) {
	tests := []struct {
		h, w int
		min  float64
	}{
		{32, 32, 0.08}, {32, 48, 0.2}, {64, 40, 0.5}, {128, 205, 0.5},
	}
	for _, tt := range tests {
		rng := rand.New(rand.NewPCG(3, 4))
		var areaSum float64
		const draws = 2000
		for range draws {
			y, x, ch, cw := cropParams(tt.h, tt.w, tt.min, rng)
			if y < 0 || x < 0 || ch < 1 || cw < 1 || y+ch > tt.h || x+cw > tt.w {
				t.Fatalf("%+v: box (%d,%d) %d×%d is not inside the image", tt, y, x, ch, cw)
			}
			if (float64(cw)+0.5)*(float64(ch)+0.5) < tt.min*float64(tt.h*tt.w) {
				t.Fatalf("%+v: box %d×%d is below the area fraction %g", tt, ch, cw, tt.min)
			}
			fch, fcw := float64(ch), float64(cw)
			if (fcw+0.5)/(fch-0.5) < 3.0/4 || (fcw-0.5)/(fch+0.5) > 4.0/3 {
				t.Fatalf("%+v: box %d×%d has aspect ratio outside [3/4, 4/3]", tt, ch, cw)
			}
			areaSum += fch * fcw / float64(tt.h*tt.w)
		}
		// Boxes too wide or tall for the image are drawn again, which favours
		// small areas, so the mean lies below the uniform mean (min+1)/2 but
		// well above the bound.
		if mean := areaSum / draws; mean > (tt.min+1)/2+0.02 || mean < tt.min+0.1*(1-tt.min) {
			t.Errorf("%+v: mean area fraction %.3f is implausible for uniform draws in [%g, 1]", tt, mean, tt.min)
		}
	}
}

func TestCropParamsFallback(t *testing.T) {
	// A 128×205 image has no box of 90% of its area with aspect at most 4/3,
	// so every try fails and the crop is the central box of aspect 4/3.
	rng := rand.New(rand.NewPCG(1, 1))
	for range 20 {
		y, x, ch, cw := cropParams(128, 205, 0.9, rng)
		if y != 0 || x != 17 || ch != 128 || cw != 171 {
			t.Fatalf("fallback box = (%d,%d) %d×%d, want (0,17) 128×171", y, x, ch, cw)
		}
	}
}

func TestCropFullScaleIsIdentity(t *testing.T) {
	// With the whole area and a square image, every try with another aspect
	// ratio overflows a side, so the crop falls back to the whole image, and
	// resizing to the same size copies it.
	img := randomImage(1, 3, 16, 16)
	out := applyOne(t, Crop(1), img, 5)
	assertClose(t, "crop=1", out.Pix, img.Pix, 1e-6)
}

func TestCropResizesToViewSize(t *testing.T) {
	aug, err := NewAugmenter(Crop(0.2))
	if err != nil {
		t.Fatal(err)
	}
	out, err := aug.Apply(smoothImage(40, 60), 24, 20, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if out.C != 3 || out.H != 24 || out.W != 20 {
		t.Errorf("crop gave %d×%d×%d, want 3×24×20", out.C, out.H, out.W)
	}
	for _, v := range out.Pix {
		if v < 0 || v > 1 {
			t.Fatalf("bilinear resize of values in [0, 1] gave %v", v)
		}
	}
}

func TestColourAdjustments(t *testing.T) {
	red := constImage(3, 2, 2, 1, 0, 0)
	mixed := chw.New(3, 1, 2)
	copy(mixed.Pix, []float32{0.2, 0.8, 0.4, 0.6, 1, 0})
	tests := []struct {
		name string
		got  chw.Image
		want []float32
	}{
		{"brightness 0.5", adjustBrightness(mixed.Clone(), 0.5), []float32{0.1, 0.4, 0.2, 0.3, 0.5, 0}},
		{"brightness 2 clips", adjustBrightness(mixed.Clone(), 2), []float32{0.4, 1, 0.8, 1, 1, 0}},
		// Luma of the two pixels: 0.299·0.2+0.587·0.4+0.114·1 = 0.4086 and
		// 0.299·0.8+0.587·0.6+0.114·0 = 0.5914, mean 0.5.
		{"contrast 0", adjustContrast(mixed.Clone(), 0), []float32{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}},
		{"saturation 0", adjustSaturation(mixed.Clone(), 0), []float32{0.4086, 0.5914, 0.4086, 0.5914, 0.4086, 0.5914}},
		{"hue +1/3 turns red green", adjustHue(red.Clone(), 1.0/3), constImage(3, 2, 2, 0, 1, 0).Pix},
		{"hue -1/3 turns red blue", adjustHue(red.Clone(), -1.0/3), constImage(3, 2, 2, 0, 0, 1).Pix},
		{"gray", grayOp(red.Clone(), nil, 0, 0), constImage(3, 2, 2, 0.299).Pix},
	}
	for _, tt := range tests {
		assertClose(t, tt.name, tt.got.Pix, tt.want, 1e-6)
	}
}

// TestDrawJitter checks the ranges SimCLR's strength s gives: factors in
// [max(0, 1-0.8s), 1+0.8s] and hue shifts in [-0.2s, 0.2s], each reaching
// close to both ends over many draws, in every order.
func TestDrawJitter(t *testing.T) {
	for _, s := range []float64{0.25, 0.5, 1, 2} {
		rng := rand.New(rand.NewPCG(9, 9))
		lo, hi := math.Max(0, 1-0.8*s), 1+0.8*s
		minF, maxF := math.Inf(1), math.Inf(-1)
		minH, maxH := math.Inf(1), math.Inf(-1)
		orders := map[[4]int]bool{}
		for range 4000 {
			d := drawJitter(s, rng)
			for _, f := range []float32{d.brightness, d.contrast, d.saturate} {
				minF, maxF = math.Min(minF, float64(f)), math.Max(maxF, float64(f))
			}
			minH, maxH = math.Min(minH, d.hue), math.Max(maxH, d.hue)
			orders[[4]int(d.order)] = true
		}
		slack := 0.01 * s
		if minF < lo-1e-6 || maxF > hi+1e-6 || minF > lo+slack || maxF < hi-slack {
			t.Errorf("s=%g: factors span [%.4f, %.4f], want [%.4f, %.4f]", s, minF, maxF, lo, hi)
		}
		if minH < -0.2*s || maxH > 0.2*s || minH > -0.2*s+slack || maxH < 0.2*s-slack {
			t.Errorf("s=%g: hue shifts span [%.4f, %.4f], want ±%.4f", s, minH, maxH, 0.2*s)
		}
		if len(orders) != 24 {
			t.Errorf("s=%g: %d of the 24 orders drawn", s, len(orders))
		}
	}
}

// TestAdjustHueMatchesHSV checks the float32 hue turn against the float64
// HSV conversions of the colour spaces.
func TestAdjustHueMatchesHSV(t *testing.T) {
	img := randomImage(8, 3, 16, 16)
	n := 16 * 16
	for _, shift := range []float64{-0.5, -0.2, 0, 0.05, 1.0 / 3, 0.49} {
		got := adjustHue(img.Clone(), shift)
		want := img.Clone()
		convertPixels(want.Pix, want.Pix, n, func(v [3]float64) [3]float64 {
			hsv := rgbToHSV(v)
			hsv[0] += shift
			hsv[0] -= math.Floor(hsv[0])
			return hsvToRGB(hsv)
		})
		assertClose(t, fmt.Sprintf("hue shift %g", shift), got.Pix, want.Pix, 2e-6)
	}
}

func TestJitterStrengthZeroIsIdentity(t *testing.T) {
	img := randomImage(2, 3, 8, 8)
	a := Jitter(0)
	a.P = 1
	out := applyOne(t, a, img, 9)
	assertClose(t, "jitter=0", out.Pix, img.Pix, 1e-6)
	if d := maxAbsDiff(applyOne(t, Jitter(1), img, 9).Pix, img.Pix); d < 0.01 {
		t.Errorf("jitter=1 changed the image by only %g", d)
	}
}

func TestGaussianKernel(t *testing.T) {
	for _, sigma := range []float64{0.1, 0.5, 1, 2.5} {
		k := gaussianKernel(sigma)
		r := len(k) / 2
		if want := max(1, int(math.Ceil(3*sigma))); r != want {
			t.Errorf("sigma %g: radius %d, want %d", sigma, r, want)
		}
		var sum float64
		for i, v := range k {
			sum += float64(v)
			if v != k[len(k)-1-i] {
				t.Errorf("sigma %g: kernel is not symmetric: %v", sigma, k)
			}
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Errorf("sigma %g: taps sum to %g", sigma, sum)
		}
		if ratio := float64(k[r+1] / k[r]); math.Abs(ratio-math.Exp(-1/(2*sigma*sigma))) > 1e-6 {
			t.Errorf("sigma %g: neighbour ratio %g, want exp(-1/2σ²)", sigma, ratio)
		}
	}
}

func TestMirrorIndex(t *testing.T) {
	tests := []struct{ i, n, want int }{
		{-1, 5, 1}, {-4, 5, 4}, {-5, 5, 3}, {5, 5, 3}, {8, 5, 0}, {9, 5, 1}, {2, 5, 2}, {3, 1, 0},
	}
	for _, tt := range tests {
		if got := mirrorIndex(tt.i, tt.n); got != tt.want {
			t.Errorf("mirrorIndex(%d, %d) = %d, want %d", tt.i, tt.n, got, tt.want)
		}
	}
}

func TestBlur(t *testing.T) {
	flat := constImage(3, 9, 9, 0.3, 0.6, 0.9)
	assertClose(t, "blurred constant", gaussianBlur(flat.Clone(), 1.5).Pix, flat.Pix, 1e-6)

	impulse := chw.New(1, 21, 21)
	impulse.Set(0, 10, 10, 1)
	out := gaussianBlur(impulse, 1)
	var sum float64
	for _, v := range out.Pix {
		sum += float64(v)
	}
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("blur of an impulse away from the border sums to %g, want 1", sum)
	}
	if out.At(0, 10, 11) != out.At(0, 11, 10) || out.At(0, 10, 9) != out.At(0, 10, 11) {
		t.Error("blur of an impulse is not symmetric")
	}
	// The sigma range scales with the strength: a tiny strength leaves the
	// image as it is, a large one flattens it.
	img := randomImage(4, 3, 16, 16)
	tiny := Blur(0.001)
	tiny.P = 1
	assertClose(t, "blur=0.001", applyOne(t, tiny, img, 1).Pix, img.Pix, 1e-6)
	strong := Blur(4)
	strong.P = 1
	if d := maxAbsDiff(applyOne(t, strong, img, 1).Pix, constImage(3, 16, 16, 0.5).Pix); d > 0.2 {
		t.Errorf("blur=4 left values %g away from the mean of uniform noise", d)
	}
}

func TestColorDrop(t *testing.T) {
	img := smoothImage(16, 16)
	for seed := range uint64(12) {
		out := applyOne(t, ColorDrop(1), img, seed)
		kept := -1
		for c := range 3 {
			if maxAbsDiff(out.Plane(c), img.Plane(c)) == 0 {
				kept = c
			}
		}
		if kept < 0 {
			t.Fatalf("seed %d: no channel kept", seed)
		}
		mean, std := meanStd(img.Plane(kept))
		for c := range 3 {
			if c == kept {
				continue
			}
			m, s := meanStd(out.Plane(c))
			if math.Abs(m-mean) > std/100 || s > std/50 {
				t.Errorf("seed %d: dropped channel %d has mean %g and deviation %g, want about %g and %g", seed, c, m, s, mean, std/100)
			}
		}
	}
}

func meanStd(v []float32) (float64, float64) {
	var s, sq float64
	for _, x := range v {
		s += float64(x)
		sq += float64(x) * float64(x)
	}
	n := float64(len(v))
	return s / n, math.Sqrt(math.Max(sq/n-(s/n)*(s/n), 0))
}

func TestJigsaw(t *testing.T) {
	img := coordImage(32, 32) // 3×3 tiles of 10 px; rows and columns 30, 31 stay.
	perm := []int{8, 7, 6, 5, 4, 3, 2, 1, 0}
	out := jigsaw(img, perm)
	for k, src := range perm {
		dy, dx := (k/3)*10, (k%3)*10
		sy, sx := (src/3)*10, (src%3)*10
		if out.At(0, dy, dx) != float32(sy) || out.At(1, dy+9, dx+9) != float32(sx+9) {
			t.Errorf("tile %d holds (%v, %v), want tile %d at (%d, %d)", k, out.At(0, dy, dx), out.At(1, dy, dx), src, sy, sx)
		}
	}
	if out.At(0, 31, 5) != 31 || out.At(1, 5, 30) != 30 {
		t.Error("jigsaw moved the left-over rows or columns")
	}
	seen := map[string]bool{}
	for seed := range uint64(30) {
		o := applyOne(t, Jigsaw(), img, seed)
		got := slices.Clone(o.Plane(0))
		want := slices.Clone(img.Plane(0))
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatal("jigsaw changed the multiset of pixel values")
		}
		seen[string(float32Bytes(o.Plane(1)[:32*3]))+string(float32Bytes(o.Plane(0)[:1]))] = true
	}
	if len(seen) < 10 {
		t.Errorf("30 draws gave only %d different arrangements", len(seen))
	}
}

func float32Bytes(v []float32) []byte {
	out := make([]byte, 0, len(v))
	for _, x := range v {
		out = append(out, byte(x))
	}
	return out
}

func TestAugValidate(t *testing.T) {
	valid := []Aug{Crop(0.08), Crop(1), Flip(), Jitter(0), Jitter(2.5), Blur(1), Gray(0), Gray(1), ColorDrop(0.5), RandAugment(2, 10), RandAugment(14, 0), Jigsaw()}
	for _, a := range valid {
		if err := a.Validate(); err != nil {
			t.Errorf("%+v: %v", a, err)
		}
	}
	invalid := []struct {
		a       Aug
		wantErr string
	}{
		{Aug{Name: "jiter", P: 1}, `unknown augmentation "jiter"`},
		{Crop(0), "crop: strength 0 is out of range (0, 1]"},
		{Crop(1.5), "out of range"},
		{Jitter(3), "jitter: strength 3 is out of range [0, 2.5]"},
		{Gray(1.2), "gray: probability 1.2 is out of range"},
		{Aug{Name: "flip", Strength: 0.3, P: 0.5}, "flip: has no strength"},
		{RandAugment(0, 9), "operation count 0"},
		{RandAugment(2, 11), "strength 11 is out of range [0, 10]"},
		{Aug{Name: "blur", Strength: 1, P: 1, N: 2}, "blur: takes no operation count"},
		{Aug{Name: "crop", Strength: math.NaN(), P: 1}, "out of range"},
	}
	for _, tt := range invalid {
		err := tt.a.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%+v: error = %v, want %q", tt.a, err, tt.wantErr)
		}
	}
}

func TestAugString(t *testing.T) {
	tests := []struct {
		a    Aug
		want string
	}{
		{Crop(0.08), "crop"},
		{Crop(0.2), "crop=0.2"},
		{Flip(), "flip"},
		{Aug{Name: "flip", P: 1}, "flip=1"},
		{Jitter(1), "jitter"},
		{Aug{Name: "jitter", Strength: 0.5, P: 1}, "jitter=0.5,p=1"},
		{Gray(0.2), "gray"},
		{Gray(0.5), "gray=0.5"},
		{RandAugment(2, 9), "randaug"},
		{RandAugment(3, 10), "randaug=10,n=3"},
		{Blur(2), "blur=2"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.a, got, tt.want)
		}
	}
}

func TestAugmenterKeepsInputAndSize(t *testing.T) {
	img := smoothImage(20, 30)
	orig := img.Clone()
	aug, err := NewAugmenter(InfoMinAugment()...)
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(20) {
		out, err := aug.Apply(img, 16, 16, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if out.C != 3 || out.H != 16 || out.W != 16 {
			t.Fatalf("output %d×%d×%d, want 3×16×16", out.C, out.H, out.W)
		}
		for _, v := range out.Pix {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("seed %d: value %v outside [0, 1]", seed, v)
			}
		}
	}
	if maxAbsDiff(img.Pix, orig.Pix) != 0 {
		t.Error("Apply modified its input")
	}
	// Without augmentations the image is only resized, and never aliased.
	none, _ := NewAugmenter()
	out, _ := none.Apply(img, 0, 0, nil)
	out.Pix[0] = 7
	if img.Pix[0] == 7 {
		t.Error("Apply without augmentations returned the input's storage")
	}
	if _, err := NewAugmenter(Crop(0.2), Aug{Name: "bogus"}); err == nil || !strings.Contains(err.Error(), "augmentation 2") {
		t.Errorf("NewAugmenter with a bad second augmentation: error = %v", err)
	}
}

func TestApplyBatchDeterministic(t *testing.T) {
	var images []chw.Image
	for i := range 12 {
		images = append(images, randomImage(uint64(i), 3, 12, 12))
	}
	aug, err := NewAugmenter(InfoMinAugment()...)
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed uint64, workers int) []chw.Image {
		aug.Workers = workers
		out, err := aug.ApplyBatch(images, 8, 8, seed)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b, c := run(5, 1), run(5, 4), run(6, 3)
	for i := range a {
		if maxAbsDiff(a[i].Pix, b[i].Pix) != 0 {
			t.Errorf("image %d differs between 1 and 4 workers", i)
		}
	}
	same := 0
	for i := range a {
		if maxAbsDiff(a[i].Pix, c[i].Pix) == 0 {
			same++
		}
	}
	if same > 1 {
		t.Errorf("%d of %d images are the same under seeds 5 and 6", same, len(a))
	}
}
