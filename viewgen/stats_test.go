package viewgen

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/chw"
)

func TestComputeStatsKnownValues(t *testing.T) {
	tests := []struct {
		name      string
		space     ColorSpace
		images    []chw.Image
		mean, std [3]float64
	}{
		{
			name:   "black and white in RGB",
			space:  RGB,
			images: []chw.Image{constImage(3, 4, 4, 0), constImage(3, 4, 4, 1)},
			mean:   [3]float64{0.5, 0.5, 0.5},
			std:    [3]float64{0.5, 0.5, 0.5},
		},
		{
			// Y is 16 and 235; Cb and Cr stay at 128, so their deviation is
			// zero and taken as 1.
			name:   "black and white in YCbCr",
			space:  YCbCr,
			images: []chw.Image{constImage(3, 2, 3, 0), constImage(3, 2, 3, 1)},
			mean:   [3]float64{125.5, 128, 128},
			std:    [3]float64{109.5, 1, 1},
		},
		{
			name:   "weighted by pixel count",
			space:  RGB,
			images: []chw.Image{constImage(3, 1, 3, 0), constImage(3, 1, 1, 1)},
			mean:   [3]float64{0.25, 0.25, 0.25},
			std:    [3]float64{math.Sqrt(3.0 / 16), math.Sqrt(3.0 / 16), math.Sqrt(3.0 / 16)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ComputeStats(tt.space, tt.images)
			if err != nil {
				t.Fatal(err)
			}
			for c := range 3 {
				if math.Abs(st.Mean[c]-tt.mean[c]) > 1e-9 || math.Abs(st.Std[c]-tt.std[c]) > 1e-9 {
					t.Errorf("channel %d: mean %g std %g, want %g %g", c, st.Mean[c], st.Std[c], tt.mean[c], tt.std[c])
				}
			}
			if st.Space != tt.space {
				t.Errorf("space %v, want %v", st.Space, tt.space)
			}
		})
	}
}

func TestComputeStatsSeqMatchesSlice(t *testing.T) {
	var images []chw.Image
	for i := range 5 {
		images = append(images, randomImage(uint64(i), 3, 6, 7))
	}
	a, err := ComputeStats(Lab, images)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ComputeStatsSeq(Lab, slices.Values(images))
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("slice %+v and iterator %+v differ", a, b)
	}
}

// TestNormalizeGivesUnitStats checks that normalising the converted images
// with their own stats leaves each channel with mean 0 and deviation 1, and
// that Denormalize undoes it.
func TestNormalizeGivesUnitStats(t *testing.T) {
	for _, cs := range []ColorSpace{RGB, YCbCr, Lab, HED} {
		var images []chw.Image
		for i := range 4 {
			images = append(images, randomImage(uint64(10+i), 3, 8, 8))
		}
		st, err := ComputeStats(cs, images)
		if err != nil {
			t.Fatal(err)
		}
		var normed []chw.Image
		for _, img := range images {
			conv, _ := cs.Convert(img)
			orig := conv.Clone()
			if err := st.Normalize(conv); err != nil {
				t.Fatal(err)
			}
			normed = append(normed, conv.Clone())
			if err := st.Denormalize(conv); err != nil {
				t.Fatal(err)
			}
			// Lab's L reaches 100, so float32 rounding is about 1e-5.
			assertClose(t, cs.String()+" denormalize", conv.Pix, orig.Pix, 5e-5)
		}
		unit, err := ComputeStats(RGB, normed)
		if err != nil {
			t.Fatal(err)
		}
		for c := range 3 {
			if math.Abs(unit.Mean[c]) > 1e-5 || math.Abs(unit.Std[c]-1) > 1e-5 {
				t.Errorf("%s channel %d after normalising: mean %g std %g, want 0 and 1", cs, c, unit.Mean[c], unit.Std[c])
			}
		}
	}
}

func TestStatsErrors(t *testing.T) {
	if _, err := ComputeStats(Lab, nil); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("ComputeStats(no images) error = %v", err)
	}
	_, err := ComputeStats(Lab, []chw.Image{constImage(3, 2, 2, 0), chw.New(1, 2, 2)})
	if err == nil || !strings.Contains(err.Error(), "image 1") {
		t.Errorf("ComputeStats with a 1-channel image: error = %v, want it to name image 1", err)
	}
	bad := Stats{Space: Lab, Mean: [3]float64{}, Std: [3]float64{1, 0, 1}}
	if err := bad.Normalize(constImage(3, 2, 2, 0)); err == nil || !strings.Contains(err.Error(), "channel 1") {
		t.Errorf("Normalize with a zero deviation: error = %v, want it to name channel 1", err)
	}
}
