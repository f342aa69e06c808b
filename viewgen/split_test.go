package viewgen

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/chw"
)

func TestParseSplit(t *testing.T) {
	valid := []struct {
		in   string
		want Split
	}{
		{"0|1,2", Split{V1: []int{0}, V2: []int{1, 2}}},
		{"2|0", Split{V1: []int{2}, V2: []int{0}}},
		{"0,1,2|0,1,2", Split{V1: []int{0, 1, 2}, V2: []int{0, 1, 2}}},
		{"1,0|2", Split{V1: []int{1, 0}, V2: []int{2}}},
	}
	for _, tt := range valid {
		got, err := ParseSplit(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSplit(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("ParseSplit(%q).String() = %q", tt.in, got.String())
		}
	}
	invalid := []struct{ in, wantErr string }{
		{"012", "bar"},
		{"0|", "v2: no channels"},
		{"|1", "v1: no channels"},
		{"0|1,x", `"x" is not an integer`},
		{"0|3", "v2 channel 3 is out of range"},
		{"0,0|1", "v1 keeps channel 0 twice"},
		{"-1|1", "v1 channel -1 is out of range"},
	}
	for _, tt := range invalid {
		_, err := ParseSplit(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseSplit(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestSplitApply(t *testing.T) {
	img := constImage(3, 2, 2, 10, 11, 12)
	v1, v2, err := Split{V1: []int{2}, V2: []int{0, 1}}.Apply(img)
	if err != nil {
		t.Fatal(err)
	}
	if v1.C != 1 || v1.Pix[0] != 12 {
		t.Errorf("v1 = %d channels starting %v, want channel 2 (12)", v1.C, v1.Pix[0])
	}
	if v2.C != 2 || v2.Plane(0)[3] != 10 || v2.Plane(1)[0] != 11 {
		t.Errorf("v2 = %v, want channels 0 (10) and 1 (11)", v2.Pix)
	}
	if _, _, err := DefaultSplit().Apply(chw.New(2, 2, 2)); err == nil {
		t.Error("Apply on a 2-channel image succeeded")
	}
}

// coordImage returns a 3-channel image whose channel 0 holds each pixel's row
// and channel 1 its column, so that a patch tells where it was cut.
func coordImage(h, w int) chw.Image {
	img := chw.New(3, h, w)
	for y := range h {
		for x := range w {
			img.Set(0, y, x, float32(y))
			img.Set(1, y, x, float32(x))
		}
	}
	return img
}

func TestPatchPairOffset(t *testing.T) {
	tests := []struct{ h, w, size, dist int }{
		{40, 50, 16, 0},
		{40, 50, 16, 8},
		{40, 50, 16, 24},
		{64, 64, 8, 56},
	}
	for _, tt := range tests {
		img := coordImage(tt.h, tt.w)
		rng := rand.New(rand.NewPCG(1, 2))
		var signs [2][2]bool // seen negative/positive dy, dx
		for range 300 {
			a, b, err := PatchPair(img, tt.size, tt.dist, rng)
			if err != nil {
				t.Fatal(err)
			}
			ay, ax := int(a.At(0, 0, 0)), int(a.At(1, 0, 0))
			by, bx := int(b.At(0, 0, 0)), int(b.At(1, 0, 0))
			if a.H != tt.size || b.W != tt.size {
				t.Fatalf("patches are %d×%d and %d×%d, want %d", a.H, a.W, b.H, b.W, tt.size)
			}
			// Each patch is a contiguous window of the image.
			if int(a.At(0, tt.size-1, 0)) != ay+tt.size-1 || int(b.At(1, 0, tt.size-1)) != bx+tt.size-1 {
				t.Fatalf("patch at (%d,%d) is not a contiguous window", ay, ax)
			}
			dy, dx := by-ay, bx-ax
			// Rounding each component moves the distance by at most √2/2.
			if d := math.Hypot(float64(dy), float64(dx)); math.Abs(d-float64(tt.dist)) > math.Sqrt2/2 {
				t.Fatalf("offset (%d, %d) has length %.2f, want %d", dy, dx, d, tt.dist)
			}
			signs[0][btoi(dy > 0)] = signs[0][btoi(dy > 0)] || dy != 0
			signs[1][btoi(dx > 0)] = signs[1][btoi(dx > 0)] || dx != 0
		}
		if tt.dist > 0 && (!signs[0][0] || !signs[0][1] || !signs[1][0] || !signs[1][1]) {
			t.Errorf("%+v: offsets never went in some direction: %v", tt, signs)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestPatchPairErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	img := chw.New(3, 32, 40)
	tests := []struct {
		size, dist int
		wantErr    string
	}{
		{24, 9, "size+distance must be at most 32"},
		{0, 4, "size must be positive"},
		{8, -1, "distance non-negative"},
	}
	for _, tt := range tests {
		_, _, err := PatchPair(img, tt.size, tt.dist, rng)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("PatchPair(size %d, distance %d) error = %v, want %q", tt.size, tt.dist, err, tt.wantErr)
		}
	}
}

func TestPatch(t *testing.T) {
	img := coordImage(10, 12)
	p, err := Patch(img, 3, 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	if p.At(0, 0, 0) != 3 || p.At(1, 0, 0) != 4 || p.At(0, 4, 4) != 7 || p.At(1, 4, 4) != 8 {
		t.Errorf("patch corners = (%v,%v) and (%v,%v)", p.At(0, 0, 0), p.At(1, 0, 0), p.At(0, 4, 4), p.At(1, 4, 4))
	}
	if _, err := Patch(img, 6, 0, 5); err == nil {
		t.Error("Patch past the bottom edge succeeded")
	}
}
