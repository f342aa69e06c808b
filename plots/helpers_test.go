package plots

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/learnviews/learnviews/rundir"
)

// writeSyntheticRun writes a small but complete run directory: interleaved
// estimator and generator step rows for steps 0..steps-1 (estimator I_NCE near
// 5.5, generator near 2.5, log K = ln 1024), eval rows every 50 steps and two
// stage-2 eval rows, a manifest, and a truncated last line as a killed run
// leaves.
func writeSyntheticRun(t testing.TB, dir string, steps int) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	put := func(row map[string]any) {
		if err := enc.Encode(row); err != nil {
			t.Fatal(err)
		}
	}
	logK := math.Log(1024)
	for s := range steps {
		f := float64(s) / float64(steps)
		wiggle := 0.15 * math.Sin(float64(s)*0.7)
		lr := 0.03 * 0.5 * (1 + math.Cos(math.Pi*f))
		put(map[string]any{"kind": "step", "step": s, "epoch": s / 50, "wall_s": 0.5 * float64(s), "player": "estimator",
			"stage": "view-learning", "loss": 6.93 - 5.5, "ince": 5 + f + wiggle, "ince_bound": logK,
			"ce1": 2.3 - 1.5*f, "ce2": 2.3 - 1.2*f, "acc1": 0.1 + 0.6*f, "acc2": 0.1 + 0.5*f, "lr": lr, "images_per_s": 900.0,
			"note": "tolerated non-numeric value"})
		put(map[string]any{"kind": "step", "step": s, "epoch": s / 50, "wall_s": 0.5*float64(s) + 0.25, "player": "generator",
			"stage": "view-learning", "loss": 2.5, "ince": 3 - f + wiggle, "ince_bound": logK, "lr": lr / 3})
		if s%50 == 49 {
			put(map[string]any{"kind": "eval", "step": s, "epoch": s / 50, "split": "test", "stage": "view-learning",
				"probe_acc": 0.3 + 0.3*f, "knn_acc": 0.25 + 0.3*f, "ince": 4.8 + f})
		}
	}
	put(map[string]any{"kind": "eval", "step": steps, "split": "test", "stage": "stage2", "probe_acc": 0.655, "knn_acc": 0.61})
	put(map[string]any{"kind": "eval", "step": steps + 10, "split": "test", "stage": "stage2", "probe_acc": 0.6725, "knn_acc": 0.615})
	buf.WriteString(`{"kind":"step","step":99999,"player":"estim`) // killed mid-write
	if err := os.WriteFile(filepath.Join(dir, rundir.MetricsFile), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := `{
  "config": {"game": {"k": 1024, "lr": 0.03, "players": ["estimator", "generator"]}, "data": {"name": "synthetic-stl10", "image_size": 64}},
  "seeds": {"data": 1, "init": 2},
  "git_commit": "0123456789abcdef",
  "go_version": "go1.26.8",
  "host": "test-host",
  "start_time": "2026-01-02T03:04:05Z",
  "device": "cpu"
}`
	if err := os.WriteFile(filepath.Join(dir, rundir.ManifestFile), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
}

// decodePNG decodes PNG bytes or fails the test.
func decodePNG(t testing.TB, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	return img
}

// near reports whether two colours are within tol in every 8-bit channel.
func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) bool { return math.Abs(float64(int(x>>8)-int(y))) <= float64(tol) }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

// pixelsNear returns the coordinates of the pixels of img close to want.
func pixelsNear(img image.Image, want color.RGBA, tol int) []image.Point {
	var pts []image.Point
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if near(img.At(x, y), want, tol) {
				pts = append(pts, image.Point{x, y})
			}
		}
	}
	return pts
}

// medianY returns the median y of pts restricted to x in [x0, x1).
func medianY(pts []image.Point, x0, x1 int) (int, bool) {
	var ys []int
	for _, p := range pts {
		if p.X >= x0 && p.X < x1 {
			ys = append(ys, p.Y)
		}
	}
	if len(ys) == 0 {
		return 0, false
	}
	// Insertion sort: small slices.
	for i := 1; i < len(ys); i++ {
		for j := i; j > 0 && ys[j] < ys[j-1]; j-- {
			ys[j], ys[j-1] = ys[j-1], ys[j]
		}
	}
	return ys[len(ys)/2], true
}

func span(pts []image.Point) image.Rectangle {
	if len(pts) == 0 {
		return image.Rectangle{}
	}
	r := image.Rectangle{Min: pts[0], Max: pts[0].Add(image.Point{1, 1})}
	for _, p := range pts {
		r = r.Union(image.Rectangle{Min: p, Max: p.Add(image.Point{1, 1})})
	}
	return r
}

func mustf(t testing.TB, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, c)
		}
	}
	return img
}
