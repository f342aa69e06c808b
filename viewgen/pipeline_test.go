package viewgen

import (
	"strings"
	"testing"

	"github.com/learnviews/learnviews/chw"
)

func mustPipeline(t *testing.T, spec string, stats *Stats) *Pipeline {
	t.Helper()
	s, err := ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPipeline(s, stats)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testBatch(n, h, w int) []chw.Image {
	images := make([]chw.Image, n)
	for i := range images {
		images[i] = randomImage(uint64(100+i), 3, h, w)
	}
	return images
}

// TestViewsSplitChannels checks that without augmentation the views hold the
// chosen channels of the colour space, pixel for pixel.
func TestViewsSplitChannels(t *testing.T) {
	images := testBatch(3, 5, 7)
	tests := []struct {
		spec   string
		space  ColorSpace
		v1, v2 []int
	}{
		{"ydbdr:0|1,2", YDbDr, []int{0}, []int{1, 2}},
		{"lab:2|1", Lab, []int{2}, []int{1}},
		{"rgb:0,1,2|2,0", RGB, []int{0, 1, 2}, []int{2, 0}},
	}
	for _, tt := range tests {
		p := mustPipeline(t, tt.spec, nil)
		v1, v2, err := p.Views(images, 1)
		if err != nil {
			t.Fatal(err)
		}
		if v1.N != 3 || v1.C != len(tt.v1) || v1.H != 5 || v1.W != 7 || v2.C != len(tt.v2) || len(v2.Pix) != 3*len(tt.v2)*35 {
			t.Fatalf("%s: shapes %d×%d×%d×%d and %d×%d×%d×%d", tt.spec, v1.N, v1.C, v1.H, v1.W, v2.N, v2.C, v2.H, v2.W)
		}
		for i, img := range images {
			for y := range img.H {
				for x := range img.W {
					want := tt.space.FromRGB([3]float64{float64(img.At(0, y, x)), float64(img.At(1, y, x)), float64(img.At(2, y, x))})
					for k, c := range tt.v1 {
						if d := float64(v1.Image(i).At(k, y, x)) - want[c]; d > 1e-4 || d < -1e-4 {
							t.Fatalf("%s: image %d v1 channel %d at (%d,%d) = %v, want %v", tt.spec, i, k, y, x, v1.Image(i).At(k, y, x), want[c])
						}
					}
					for k, c := range tt.v2 {
						if d := float64(v2.Image(i).At(k, y, x)) - want[c]; d > 1e-4 || d < -1e-4 {
							t.Fatalf("%s: image %d v2 channel %d at (%d,%d) = %v, want %v", tt.spec, i, k, y, x, v2.Image(i).At(k, y, x), want[c])
						}
					}
				}
			}
		}
	}
}

func TestViewsNormalize(t *testing.T) {
	images := testBatch(4, 6, 6)
	st, err := ComputeStats(YCbCr, images)
	if err != nil {
		t.Fatal(err)
	}
	raw1, raw2, err := mustPipeline(t, "ycbcr:0|1,2", nil).Views(images, 3)
	if err != nil {
		t.Fatal(err)
	}
	n1, n2, err := mustPipeline(t, "ycbcr:0|1,2", &st).Views(images, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range raw1.Pix {
		if d := (v-float32(st.Mean[0]))/float32(st.Std[0]) - n1.Pix[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("v1 value %d: normalised %v, want %v", i, n1.Pix[i], (v-float32(st.Mean[0]))/float32(st.Std[0]))
		}
	}
	plane := 36
	for i, v := range raw2.Pix {
		c := 1 + (i/plane)%2
		if d := (v-float32(st.Mean[c]))/float32(st.Std[c]) - n2.Pix[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("v2 value %d: normalised %v", i, n2.Pix[i])
		}
	}
	if _, err := NewPipeline(Spec{Space: Lab, Split: DefaultSplit()}, &st); err == nil || !strings.Contains(err.Error(), "computed in ycbcr, not lab") {
		t.Errorf("stats of another space: error = %v", err)
	}
}

func TestViewsDeterministic(t *testing.T) {
	images := testBatch(10, 16, 16)
	p := mustPipeline(t, "lab:0|1,2+crop=0.2+flip+jitter+blur+randaug+gray+jigsaw", nil)
	run := func(seed uint64, workers int) (chw.Batch, chw.Batch) {
		p.Workers = workers
		v1, v2, err := p.Views(images, seed)
		if err != nil {
			t.Fatal(err)
		}
		return v1, v2
	}
	a1, a2 := run(7, 1)
	b1, b2 := run(7, 5)
	if maxAbsDiff(a1.Pix, b1.Pix) != 0 || maxAbsDiff(a2.Pix, b2.Pix) != 0 {
		t.Error("views differ between 1 and 5 workers")
	}
	c1, _ := run(8, 0)
	if maxAbsDiff(a1.Pix, c1.Pix) == 0 {
		t.Error("seeds 7 and 8 gave the same views")
	}
}

// TestViewsIndependentDraws checks two-crop sampling: with only a flip, v1
// and v2 of an image are both mirrored about half the time, and not always
// together.
func TestViewsIndependentDraws(t *testing.T) {
	img := coordImage(4, 6)
	images := make([]chw.Image, 200)
	for i := range images {
		images[i] = img
	}
	a1, a2, err := mustPipeline(t, "rgb:0,1,2|0,1,2+flip", nil).Augmented(images, 11)
	if err != nil {
		t.Fatal(err)
	}
	var f1, f2, both int
	for i := range images {
		m1, m2 := a1[i].At(1, 0, 0) == 5, a2[i].At(1, 0, 0) == 5
		f1 += btoi(m1)
		f2 += btoi(m2)
		both += btoi(m1 && m2)
	}
	// Independent fair coins: each about 100 of 200, both about 50.
	if f1 < 70 || f1 > 130 || f2 < 70 || f2 > 130 || both < 30 || both > 75 {
		t.Errorf("v1 flipped %d, v2 %d, both %d of 200 times; want about 100, 100, 50", f1, f2, both)
	}
}

func TestViewsPatchPairs(t *testing.T) {
	images := []chw.Image{coordImage(40, 40), coordImage(40, 40)}
	p := mustPipeline(t, "rgb:0,1,2|0,1,2+patch=16,offset=12", nil)
	v1, v2, err := p.Views(images, 2)
	if err != nil {
		t.Fatal(err)
	}
	if v1.H != 16 || v1.W != 16 || v2.H != 16 {
		t.Fatalf("patch views are %d×%d, want 16×16", v1.H, v1.W)
	}
	for i := range images {
		dy := v2.Image(i).At(0, 0, 0) - v1.Image(i).At(0, 0, 0)
		dx := v2.Image(i).At(1, 0, 0) - v1.Image(i).At(1, 0, 0)
		if d := dy*dy + dx*dx; d < 11.3*11.3 || d > 12.7*12.7 {
			t.Errorf("image %d: patches (%v, %v) apart, want distance 12", i, dy, dx)
		}
	}
	// Resizing the patches to a view size.
	small, _, err := mustPipeline(t, "rgb:0|1+patch=16,offset=12+size=8", nil).Views(images, 2)
	if err != nil || small.H != 8 || small.W != 8 {
		t.Errorf("patch=16+size=8 gave %d×%d, %v", small.H, small.W, err)
	}
	_, _, err = mustPipeline(t, "rgb:0|1+patch=32,offset=12", nil).Views(images, 2)
	if err == nil || !strings.Contains(err.Error(), "image 0") || !strings.Contains(err.Error(), "size+distance must be at most 40") {
		t.Errorf("oversized patch pair: error = %v", err)
	}
}

func TestViewsSizes(t *testing.T) {
	mixed := []chw.Image{smoothImage(20, 30), smoothImage(24, 24)}
	_, _, err := mustPipeline(t, "lab:0|1,2+flip", nil).Views(mixed, 1)
	if err == nil || !strings.Contains(err.Error(), "image 1 is 24×24 but image 0 is 20×30") {
		t.Errorf("mixed sizes without a view size: error = %v", err)
	}
	v1, v2, err := mustPipeline(t, "lab:0|1,2+size=12+crop=0.3", nil).Views(mixed, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v1.H != 12 || v1.W != 12 || v2.N != 2 || v2.H != 12 {
		t.Errorf("sized views are %d×%d and %d×%d", v1.H, v1.W, v2.H, v2.W)
	}
	if _, _, err := mustPipeline(t, "lab", nil).Views(nil, 1); err == nil {
		t.Error("Views of no images succeeded")
	}
	if _, _, err := mustPipeline(t, "lab", nil).Views([]chw.Image{chw.New(1, 4, 4)}, 1); err == nil || !strings.Contains(err.Error(), "image 0") {
		t.Errorf("Views of a grey image: error = %v", err)
	}
}

func TestPipelineSpecIsACopy(t *testing.T) {
	spec, _ := ParseSpec("lab:0|1,2+crop=0.2")
	p, err := NewPipeline(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Split.V1[0] = 2
	spec.Augment[0].Strength = 0.9
	got := p.Spec()
	if got.Split.V1[0] != 0 || got.Augment[0].Strength != 0.2 {
		t.Errorf("changing the caller's spec changed the pipeline: %s", got)
	}
}

// TestViewsShared checks that a shared draw gives both views the same
// augmented image, so that with the default split they hold the three
// channels of one crop.
func TestViewsShared(t *testing.T) {
	images := testBatch(6, 12, 12)
	a1, a2, err := mustPipeline(t, "lab:0|1,2+shared+crop=0.2+flip+jitter", nil).Augmented(images, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range images {
		if maxAbsDiff(a1[i].Pix, a2[i].Pix) != 0 {
			t.Errorf("image %d: shared views differ", i)
		}
	}
	b1, b2, err := mustPipeline(t, "lab:0|1,2+crop=0.2+flip+jitter", nil).Augmented(images, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range images {
		if maxAbsDiff(b1[i].Pix, b2[i].Pix) == 0 {
			t.Errorf("image %d: independent views are the same", i)
		}
		if maxAbsDiff(b1[i].Pix, a1[i].Pix) != 0 {
			t.Errorf("image %d: v1 changed with sharing; it should keep its own draws", i)
		}
	}
}
