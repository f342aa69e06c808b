package plots

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/rundir"

	"gonum.org/v1/plot/vg"
)

func syntheticRecords(t testing.TB, steps int) Records {
	t.Helper()
	dir := t.TempDir()
	writeSyntheticRun(t, dir, steps)
	recs, err := ReadMetrics(filepath.Join(dir, rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// dashedRows returns the rows of img holding a horizontal dashed line of
// colour c: at least minRuns separate runs of c spanning most of the width.
func dashedRows(img image.Image, c color.RGBA, minRuns int) []int {
	b := img.Bounds()
	var rows []int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		runs, first, last, in := 0, -1, -1, false
		for x := b.Min.X; x < b.Max.X; x++ {
			on := near(img.At(x, y), c, 40)
			if on && !in {
				runs++
				if first < 0 {
					first = x
				}
			}
			if on {
				last = x
			}
			in = on
		}
		if runs >= minRuns && first < b.Dx()/4 && last > b.Dx()*9/10 {
			rows = append(rows, y)
		}
	}
	return rows
}

// fadedOn returns what colour c at the given alpha looks like over white.
func fadedOn(c color.RGBA, alpha uint8) color.RGBA {
	mix := func(v uint8) uint8 { return uint8((int(v)*int(alpha) + 255*(255-int(alpha))) / 255) }
	return color.RGBA{mix(c.R), mix(c.G), mix(c.B), 255}
}

func TestINCECurves(t *testing.T) {
	recs := syntheticRecords(t, 200)
	var noBound Records
	for _, r := range recs {
		f := map[string]any{}
		for k, v := range r.Fields {
			if k != "ince_bound" {
				f[k] = v
			}
		}
		r.Fields = f
		noBound = append(noBound, r)
	}
	tests := []struct {
		name      string
		recs      Records
		opt       CurveOptions
		wantBound bool
	}{
		{"raw with bound", recs, CurveOptions{}, true},
		{"smoothed", recs, CurveOptions{Smoothing: 0.9}, true},
		{"without bound", noBound, CurveOptions{}, false},
		{"stage filter", recs, CurveOptions{Stage: "view-learning", Width: 5 * vg.Inch, Height: 3 * vg.Inch}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chart, err := INCECurves(tc.recs, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			data, err := chart.PNG()
			if err != nil {
				t.Fatal(err)
			}
			img := decodePNG(t, data)
			wantW, wantH := 672, 384 // 7 x 4 inches at 96 dpi
			if tc.opt.Width > 0 {
				wantW, wantH = int(tc.opt.Width.Dots(96)), int(tc.opt.Height.Dots(96))
			}
			if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
				t.Fatalf("image %dx%d, want %dx%d", b.Dx(), b.Dy(), wantW, wantH)
			}
			w := img.Bounds().Dx()
			est := pixelsNear(img, colorEstimator, 30)
			gen := pixelsNear(img, colorGenerator, 30)
			eval := pixelsNear(img, colorEval, 30)
			if len(est) < 200 || len(gen) < 200 || len(eval) < 50 {
				t.Fatalf("estimator %d, generator %d, eval %d pixels: curves not drawn", len(est), len(gen), len(eval))
			}
			// Estimator I_NCE (about 5-6 nats) lies above the generator's
			// (about 2-3): smaller y in the image.
			estY, _ := medianY(est, 0, w)
			genY, _ := medianY(gen, 0, w)
			if estY >= genY {
				t.Errorf("estimator median y %d not above generator's %d", estY, genY)
			}
			// The estimator's I_NCE rises and the generator's falls.
			estL, okL := medianY(est, w/8, w/4)
			estR, okR := medianY(est, w*3/4, w*7/8)
			genL, _ := medianY(gen, w/8, w/4)
			genR, _ := medianY(gen, w*3/4, w*7/8)
			if !okL || !okR || estR >= estL || genR <= genL {
				t.Errorf("trends: estimator y %d -> %d (want rising), generator y %d -> %d (want falling)", estL, estR, genL, genR)
			}
			rows := dashedRows(img, colorBound, 20)
			if tc.wantBound {
				if len(rows) == 0 {
					t.Fatal("no dashed log K line")
				}
				var left []image.Point // away from the legend at the top right
				for _, p := range est {
					if p.X < w/2 {
						left = append(left, p)
					}
				}
				if top := span(left).Min.Y; rows[0] >= top {
					t.Errorf("log K line at y %d not above the estimator curve (top y %d)", rows[0], top)
				}
			} else if len(rows) != 0 {
				t.Errorf("dashed line drawn at rows %v without ince_bound", rows)
			}
		})
	}
}

// TestINCECurvesSmoothing checks that smoothing flattens the wiggles of the
// drawn curve and keeps the raw values faded behind it.
func TestINCECurvesSmoothing(t *testing.T) {
	recs := syntheticRecords(t, 200)
	type look struct{ faded, spread int }
	measure := func(smoothing float64) look {
		chart, err := INCECurves(recs, CurveOptions{Smoothing: smoothing})
		if err != nil {
			t.Fatal(err)
		}
		img := decodePNG(t, must(chart.PNG()))
		w := img.Bounds().Dx()
		var window []image.Point
		for _, p := range pixelsNear(img, colorGenerator, 30) {
			if p.X >= w/2 && p.X < w/2+60 {
				window = append(window, p)
			}
		}
		return look{faded: len(pixelsNear(img, fadedOn(colorGenerator, 70), 12)), spread: span(window).Dy()}
	}
	raw, smooth := measure(0), measure(0.9)
	if smooth.spread*3 > raw.spread*2 {
		t.Errorf("vertical spread of the generator curve: %d px smoothed, %d raw; want under two thirds", smooth.spread, raw.spread)
	}
	if smooth.faded < 2*raw.faded+100 {
		t.Errorf("faded raw-curve pixels: %d smoothed, %d raw; want the raw curve drawn behind", smooth.faded, raw.faded)
	}
}

func TestCurvesNoData(t *testing.T) {
	recs := mustDecode(t, `{"kind":"step","step":0,"player":"estimator","stage":"a","loss":1}
{"kind":"eval","step":0,"split":"test","stage":"a"}
`)
	withData := syntheticRecords(t, 20)
	builders := []struct {
		name  string
		build func(Records, CurveOptions) (*Chart, error)
	}{{"INCECurves", INCECurves}, {"HeadCurves", HeadCurves}, {"LRCurve", LRCurve}}
	for _, b := range builders {
		t.Run(b.name, func(t *testing.T) {
			if _, err := b.build(recs, CurveOptions{}); !errors.Is(err, ErrNoData) {
				t.Errorf("rows without the keys: error %v, want ErrNoData", err)
			}
			if _, err := b.build(nil, CurveOptions{}); !errors.Is(err, ErrNoData) {
				t.Errorf("no rows: error %v, want ErrNoData", err)
			}
			if _, err := b.build(withData, CurveOptions{Stage: "no-such-stage"}); !errors.Is(err, ErrNoData) {
				t.Errorf("other stage: error %v, want ErrNoData", err)
			}
			if _, err := b.build(withData, CurveOptions{}); err != nil {
				t.Errorf("with data: %v", err)
			}
		})
	}
}

func TestHeadCurves(t *testing.T) {
	full := syntheticRecords(t, 100)
	accOnly := mustDecode(t, `{"kind":"step","step":0,"player":"estimator","acc1":0.1}
{"kind":"step","step":1,"player":"estimator","acc1":0.9}
{"kind":"step","step":2,"player":"estimator","acc1":0.9}
`)
	headOne, headTwo := palette[4], palette[3]
	tests := []struct {
		name    string
		recs    Records
		panels  int
		heightP int
		colors  []color.RGBA
		absent  []color.RGBA
	}{
		{"heads and evals", full, 2, 576, []color.RGBA{headOne, headTwo, colorEval}, nil},
		{"accuracy only", accOnly, 1, 288, []color.RGBA{headOne}, []color.RGBA{headTwo, colorEval}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chart, err := HeadCurves(tc.recs, CurveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(chart.Panels) != tc.panels {
				t.Fatalf("%d panels, want %d", len(chart.Panels), tc.panels)
			}
			data, err := chart.PNG()
			if err != nil {
				t.Fatal(err)
			}
			img := decodePNG(t, data)
			if img.Bounds().Dy() != tc.heightP {
				t.Errorf("height %d, want %d", img.Bounds().Dy(), tc.heightP)
			}
			for _, c := range tc.colors {
				if n := len(pixelsNear(img, c, 25)); n < 50 {
					t.Errorf("colour %v: %d pixels, want a curve", c, n)
				}
			}
			for _, c := range tc.absent {
				if n := len(pixelsNear(img, c, 25)); n > 0 {
					t.Errorf("colour %v: %d pixels, want none", c, n)
				}
			}
			if tc.panels == 2 {
				// Both panels share the x range.
				if a, b := chart.Panels[0].X, chart.Panels[1].X; a.Min != b.Min || a.Max != b.Max {
					t.Errorf("x ranges differ: [%v, %v] and [%v, %v]", a.Min, a.Max, b.Min, b.Max)
				}
				// Cross-entropies are drawn in the top half, accuracies and
				// evaluations in the bottom half.
				h := img.Bounds().Dy()
				if r := span(pixelsNear(img, colorEval, 25)); r.Min.Y < h/2 {
					t.Errorf("eval points reach y %d, above the accuracy panel", r.Min.Y)
				}
			}
		})
	}
}

func TestLRCurve(t *testing.T) {
	chart, err := LRCurve(syntheticRecords(t, 100), CurveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, must(chart.PNG()))
	if b := img.Bounds(); b.Dx() != 672 || b.Dy() != 240 {
		t.Errorf("size %v, want 672x240", b.Size())
	}
	est, gen := pixelsNear(img, colorEstimator, 30), pixelsNear(img, colorGenerator, 30)
	w := img.Bounds().Dx()
	// Cosine schedules: the estimator's (0.03) starts above the generator's
	// (0.01) and both decay.
	eL, _ := medianY(est, w/6, w/4)
	gL, _ := medianY(gen, w/6, w/4)
	eR, _ := medianY(est, w*3/4, w*5/6)
	if eL >= gL || eR <= eL {
		t.Errorf("estimator y %d -> %d, generator y %d", eL, eR, gL)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestChartSave(t *testing.T) {
	chart, err := INCECurves(syntheticRecords(t, 30), CurveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		file    string
		check   func(t *testing.T, data []byte)
		wantErr string
	}{
		{file: "a.png", check: func(t *testing.T, data []byte) {
			if b := decodePNG(t, data).Bounds(); b.Dx() != 672 || b.Dy() != 384 {
				t.Errorf("PNG size %v", b.Size())
			}
		}},
		{file: "b.SVG", check: func(t *testing.T, data []byte) {
			var doc struct {
				XMLName xml.Name
				Width   string `xml:"width,attr"`
			}
			if err := xml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("SVG does not parse: %v", err)
			}
			if doc.XMLName.Local != "svg" || doc.Width != "504pt" {
				t.Errorf("root <%s width=%q>, want <svg width=\"504pt\">", doc.XMLName.Local, doc.Width)
			}
			for _, want := range []string{"stroke:#1F77B4", "stroke:#D62728", "stroke-dasharray", ">estimator<", ">log K (bound)<"} {
				if !strings.Contains(string(data), want) {
					t.Errorf("SVG lacks %q", want)
				}
			}
		}},
		{file: "c.pdf", check: func(t *testing.T, data []byte) {
			if !strings.HasPrefix(string(data), "%PDF") {
				t.Errorf("not a PDF: %q", data[:8])
			}
		}},
		{file: "noext", wantErr: "noext: no file extension"},
		{file: "d.xyz", wantErr: `d.xyz: unsupported format: "xyz"`},
		{file: "missing/e.png", wantErr: "missing/e.png"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			err := chart.Save(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, data)
		})
	}
	if _, err := (&Chart{Width: vg.Inch, Height: vg.Inch}).PNG(); err == nil || !strings.Contains(err.Error(), "no panels") {
		t.Errorf("empty chart: error %v", err)
	}
	if _, err := (&Chart{Panels: chart.Panels}).PNG(); err == nil || !strings.Contains(err.Error(), "not positive") {
		t.Errorf("zero-size chart: error %v", err)
	}
}

func TestThin(t *testing.T) {
	long := Series{Name: "v"}
	for i := range 10001 {
		long.X = append(long.X, float64(i))
		long.Y = append(long.Y, float64(2*i))
	}
	tests := []struct {
		in      Series
		n, want int
	}{
		{long, 4000, 4000},
		{long, 20000, 10001},
		{Series{X: []float64{1, 2, 3}, Y: []float64{1, 2, 3}}, 2, 2},
	}
	for _, tc := range tests {
		got := thin(tc.in, tc.n)
		if got.Len() != tc.want || got.X[0] != tc.in.X[0] || got.X[got.Len()-1] != tc.in.X[tc.in.Len()-1] {
			t.Errorf("thin(%d points, %d): %d points from %v to %v", tc.in.Len(), tc.n, got.Len(), got.X[0], got.X[got.Len()-1])
		}
		for i := 1; i < got.Len(); i++ {
			if got.X[i] <= got.X[i-1] || got.Y[i] != 2*got.X[i] && tc.in.Name == "v" {
				t.Fatalf("point %d = (%v, %v) after (%v, %v)", i, got.X[i], got.Y[i], got.X[i-1], got.Y[i-1])
			}
		}
	}
}

// TestLongRunStaysSmall checks that a long run's SVG does not grow with the
// number of steps beyond the thinning bound.
func TestLongRunStaysSmall(t *testing.T) {
	var b strings.Builder
	for s := range 20000 {
		fmt.Fprintf(&b, `{"kind":"step","step":%d,"player":"estimator","ince":%g}`+"\n", s, 3+math.Sin(float64(s)/100))
	}
	recs := mustDecode(t, b.String())
	chart, err := INCECurves(recs, CurveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var svg bytes.Buffer
	if err := chart.Encode(&svg, "svg"); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(svg.String(), "L"); n > 5000 {
		t.Errorf("SVG has %d line segments for %d points; want at most about 4000", n, 20000)
	}
}
