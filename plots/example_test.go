package plots_test

import (
	"bytes"
	"fmt"
	"image/png"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/learnviews/learnviews/chw"

	"github.com/learnviews/learnviews/plots"
)

func ExampleDecodeMetrics() {
	const metrics = `{"kind":"step","step":0,"player":"estimator","ince":1.2,"ince_bound":8.3}
{"kind":"step","step":0,"player":"generator","ince":1.1}
{"kind":"step","step":1,"player":"estimator","ince":1.9,"custom":"kept"}
{"kind":"eval","step":1,"split":"test","probe_acc":0.41}
{"kind":"step","step":2,"player":"estim`
	recs, err := plots.DecodeMetrics(strings.NewReader(metrics), "metrics.jsonl")
	if err != nil {
		log.Fatal(err)
	}
	est := recs.Where(plots.Match{Kind: "step", Player: "estimator"}).Series("ince")
	fmt.Println(len(recs), "records; estimator I_NCE:", est.X, est.Y)
	fmt.Println("unknown key:", recs[2].Fields["custom"])
	// Output:
	// 4 records; estimator I_NCE: [0 1] [1.2 1.9]
	// unknown key: kept
}

func ExampleINCECurves() {
	dir, err := os.MkdirTemp("", "curves")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var lines []string
	for step := range 100 {
		lines = append(lines,
			fmt.Sprintf(`{"kind":"step","step":%d,"player":"estimator","ince":%g,"ince_bound":6.93}`, step, 2+0.03*float64(step)),
			fmt.Sprintf(`{"kind":"step","step":%d,"player":"generator","ince":%g,"ince_bound":6.93}`, step, 3-0.01*float64(step)))
	}
	recs, err := plots.DecodeMetrics(strings.NewReader(strings.Join(lines, "\n")), "metrics.jsonl")
	if err != nil {
		log.Fatal(err)
	}
	chart, err := plots.INCECurves(recs, plots.CurveOptions{Smoothing: 0.6})
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"ince.png", "ince.svg"} {
		if err := chart.Save(filepath.Join(dir, name)); err != nil {
			log.Fatal(err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "ince.png"))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ince.png: %dx%d\n", cfg.Width, cfg.Height)
	// Output:
	// ince.png: 672x384
}

func ExampleINCEVsAccuracy() {
	chart, err := plots.INCEVsAccuracy([]plots.Sweep{
		{Name: "patch offset", Join: true, Points: []plots.SweepPoint{
			{Label: "offset 64", INCE: 2.1, Accuracy: 0.58, INCEStd: 0.05, AccStd: 0.01},
			{Label: "offset 16", INCE: 3.4, Accuracy: 0.66, INCEStd: 0.04, AccStd: 0.01},
			{Label: "offset 1", INCE: 5.9, Accuracy: 0.61, INCEStd: 0.05, AccStd: 0.02},
		}},
		{Name: "paper", Reference: true, Points: []plots.SweepPoint{{Label: "Lab", INCE: 3.0, Accuracy: 0.69}}},
	}, plots.SweepOptions{Title: "Reverse U on patches"})
	if err != nil {
		log.Fatal(err)
	}
	data, err := chart.PNG()
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%dx%d\n", cfg.Width, cfg.Height)
	// Output:
	// 576x432
}

func ExampleColorSpaceGrid() {
	// g: a fixed YCbCr-like transform standing in for a learned flow.
	g := func(rgb []float32, h, w int) ([]float32, error) {
		hw := h * w
		out := make([]float32, 3*hw)
		for p := range hw {
			r, gr, b := rgb[p], rgb[hw+p], rgb[2*hw+p]
			y := 0.299*r + 0.587*gr + 0.114*b
			out[p], out[hw+p], out[2*hw+p] = y, b-y, r-y
		}
		return out, nil
	}
	samples := []chw.Image{plots.CubeSlice(16, 0.2)} // any RGB images in [0, 1]
	grid, err := plots.ColorSpaceGrid(g, samples, plots.ColorSpaceOptions{Title: "learned colour space"})
	if err != nil {
		log.Fatal(err)
	}
	img, err := grid.Render()
	if err != nil {
		log.Fatal(err)
	}
	_ = img // chw.SavePNG("figures/colorspace.png", img)
	var rows []string
	for _, r := range grid.Rows {
		rows = append(rows, r.Label)
	}
	fmt.Println(strings.Join(rows, "; "))
	fmt.Println(grid.ColumnLabels)
	// Output:
	// sample 1; RGB, B=0; RGB, B=0.5; RGB, B=1
	// [input g(X)_1 g(X)_2 g(X)_3 view 1 view 2]
}

func ExampleReport_WriteHTML() {
	rep := &plots.Report{
		Title: "InfoMin on STL-10",
		Tables: []plots.Table{{
			Caption: "Linear probe accuracy",
			Header:  []string{"views", "ours", "raw views", "paper"},
			Rows:    [][]string{{"learned (from RGB)", "78.1%", "71.2%", "80.0%"}},
		}},
		Environment: []plots.KeyValue{{Key: "git commit", Value: "abc123"}},
	}
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Contains(page.String(), "<td>78.1%</td>"))
	// Output:
	// true
}

func ExampleBuildRunReport() {
	run, err := os.MkdirTemp("", "run")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(run)
	metrics := `{"kind":"step","step":0,"player":"estimator","ince":1.0,"lr":0.03}
{"kind":"step","step":1,"player":"estimator","ince":1.5,"lr":0.02}
{"kind":"eval","step":1,"split":"test","probe_acc":0.5,"stage":"stage2"}
`
	manifest := `{"config":{"k":1024},"git_commit":"abc123","start_time":"2026-01-02T03:04:05Z"}`
	if err := os.WriteFile(filepath.Join(run, "metrics.jsonl"), []byte(metrics), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "manifest.json"), []byte(manifest), 0o644); err != nil {
		log.Fatal(err)
	}
	rep, err := plots.BuildRunReport(run)
	if err != nil {
		log.Fatal(err)
	}
	written, _ := filepath.Glob(filepath.Join(run, "figures", "*"))
	for _, path := range written {
		fmt.Println(filepath.Base(path))
	}
	fmt.Println(rep.Tables[0].Rows[0])
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil { // ready for report.html
		log.Fatal(err)
	}
	// Output:
	// heads.png
	// heads.svg
	// ince.png
	// ince.svg
	// lr.png
	// lr.svg
	// [stage2 test 1 – 50.00% – –]
}
