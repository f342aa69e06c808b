package plots

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestINCEVsAccuracy(t *testing.T) {
	ours := Sweep{Name: "ours", Join: true, Points: []SweepPoint{
		{Label: "offset 64", INCE: 2, Accuracy: 0.55},
		{Label: "offset 16", INCE: 4, Accuracy: 0.75},
		{Label: "offset 1", INCE: 6, Accuracy: 0.60},
	}}
	paper := Sweep{Name: "paper", Reference: true, Points: []SweepPoint{{Label: "Lab", INCE: 3, Accuracy: 0.70}}}
	chart, err := INCEVsAccuracy([]Sweep{ours, paper}, SweepOptions{Title: "sweep"})
	if err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, must(chart.PNG()))
	if b := img.Bounds(); b.Dx() != 576 || b.Dy() != 432 {
		t.Fatalf("size %v, want 576x432", b.Size())
	}
	blue := pixelsNear(img, palette[0], 30)
	grey := pixelsNear(img, colorReference, 20)
	if len(blue) < 300 || len(grey) < 20 {
		t.Fatalf("%d blue and %d grey pixels: sweep or reference not drawn", len(blue), len(grey))
	}
	// The reverse U: the joined line is highest in the middle.
	w := img.Bounds().Dx()
	var mid []int
	for _, p := range blue {
		if p.X > w*2/5 && p.X < w*3/5 {
			mid = append(mid, p.Y)
		}
	}
	midTop := minInt(mid)
	leftY, okL := medianY(blue, 0, w/4)
	rightY, okR := medianY(blue, w*3/4, w)
	if !okL || !okR || midTop >= leftY || midTop >= rightY {
		t.Errorf("not a reverse U: top of middle y %d, left %d, right %d", midTop, leftY, rightY)
	}

	// Error bars add pixels of the sweep's colour, horizontal and vertical.
	noBars := decodePNG(t, must(must(INCEVsAccuracy([]Sweep{{Points: []SweepPoint{{INCE: 1, Accuracy: 0.5}, {INCE: 2, Accuracy: 0.6}}}}, SweepOptions{})).PNG()))
	bars := decodePNG(t, must(must(INCEVsAccuracy([]Sweep{{Points: []SweepPoint{{INCE: 1, Accuracy: 0.5, AccStd: 0.02}, {INCE: 2, Accuracy: 0.6, AccStd: 0.02, INCEStd: 0.1}}}}, SweepOptions{})).PNG()))
	nb, nn := len(pixelsNear(bars, palette[0], 30)), len(pixelsNear(noBars, palette[0], 30))
	if nb < nn+100 {
		t.Errorf("%d pixels of the sweep colour with error bars, %d without", nb, nn)
	}
	// Each sweep that is not a reference takes the next colour.
	two := decodePNG(t, must(must(INCEVsAccuracy([]Sweep{ours, {Name: "other", Points: []SweepPoint{{INCE: 3, Accuracy: 0.6}}}}, SweepOptions{})).PNG()))
	if n := len(pixelsNear(two, palette[1], 30)); n < 20 {
		t.Errorf("second sweep: %d pixels of its colour", n)
	}
}

func minInt(v []int) int {
	m := math.MaxInt
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func TestINCEVsAccuracyErrors(t *testing.T) {
	tests := []struct {
		name    string
		sweeps  []Sweep
		wantErr string
		noData  bool
	}{
		{name: "no sweeps", noData: true},
		{name: "empty sweeps", sweeps: []Sweep{{Name: "a"}, {}}, noData: true},
		{name: "NaN accuracy", sweeps: []Sweep{{Name: "views", Points: []SweepPoint{{Label: "ok", INCE: 1, Accuracy: 0.5}, {Label: "Lab", INCE: 1, Accuracy: math.NaN()}}}},
			wantErr: `sweep "views", point 1 ("Lab"): Accuracy is NaN`},
		{name: "infinite I_NCE, unnamed sweep", sweeps: []Sweep{{Points: []SweepPoint{{Label: "x", INCE: math.Inf(1)}}}},
			wantErr: `sweep "#0", point 0 ("x"): INCE is +Inf`},
		{name: "negative std", sweeps: []Sweep{{Name: "s", Points: []SweepPoint{{Label: "y", INCE: 1, AccStd: -0.1}}}},
			wantErr: `sweep "s", point 0 ("y"): negative standard deviation`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := INCEVsAccuracy(tc.sweeps, SweepOptions{})
			if tc.noData {
				if !errors.Is(err, ErrNoData) {
					t.Fatalf("error %v, want ErrNoData", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// Tick labels of a sweep's I_NCE axis are short decimals, whatever
// rounding error the tick values carry.
func TestPlainTickLabels(t *testing.T) {
	for _, r := range [][2]float64{{1.2, 3.5}, {0.1, 0.7}, {0, 250}, {1.5, 3.3}} {
		for _, tk := range plainTicks.Ticks(r[0], r[1]) {
			if tk.Label != "" && len(tk.Label) > 6 {
				t.Errorf("range %v: tick %v labelled %q", r, tk.Value, tk.Label)
			}
		}
	}
}
