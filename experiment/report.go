package experiment

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/plots"
	"github.com/learnviews/learnviews/rundir"
)

// PaperTable5 is the paper's Table 5 for orientation beside a run's own
// numbers.
const PaperTable5 = "Table 5 of the paper (STL-10, 64 px, ResNet-50 halves, 100 epochs) for orientation: " +
	"semi-supervised views 86.0 ± 0.6 (RGB) / 87.0 ± 0.3 (YDbDr); unsupervised 82.4 ± 3.2 / 84.3 ± 0.5; supervised 79.9 ± 1.5 / 78.5 ± 2.3; raw views 81.5 ± 0.2 / 86.6 ± 0.2. " +
	"The ordering, not the numbers, is what a small run can show."

// WriteReport draws a run's figures from its files and writes its
// report.html: the curves of both players, the learned colour space, the
// final accuracies beside the raw-view baseline, the configuration and the
// environment. It works on a finished or a partial run, and returns the
// report's path.
func WriteReport(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, rundir.MetricsFile)); err != nil {
		return "", fmt.Errorf("%s is not a run directory: %w", dir, err)
	}
	evals, err := rundir.ReadEvaluations(dir)
	if err != nil {
		return "", err
	}
	rep, err := plots.BuildRunReport(dir)
	if err != nil {
		return "", err
	}
	if len(evals) > 0 {
		t := plots.Table{Caption: "Downstream accuracy of frozen features (linear probe and kNN on the test images). " +
			"stage2: fresh encoders on the learned generator's views; stage2-raw: on the raw views (the baseline); " +
			"contrastive: encoders trained on fixed views.",
			Header: []string{"stage", "linear probe", "probe (train)", "kNN"}}
		raw, hasRaw := rundir.FindEvaluation(evals, rundir.StageStage2Raw)
		for _, r := range evals {
			row := []string{r.Stage, pct(r.ProbeAcc), pct(r.TrainAcc), pct(r.KNNAcc)}
			if hasRaw && r.Stage == rundir.StageStage2 {
				row[1] += fmt.Sprintf(" (%+.1f vs raw)", 100*(r.ProbeAcc-raw.ProbeAcc))
			}
			t.Rows = append(t.Rows, row)
		}
		rep.Tables = append([]plots.Table{t}, rep.Tables...)
		if note := profileNote(dir); note != "" {
			rep.Notes = append(rep.Notes, note)
		}
		rep.Notes = append(rep.Notes, PaperTable5)
	}
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		return "", err
	}
	path := filepath.Join(dir, rundir.ReportFile)
	return path, rundir.WriteBytesAtomic(path, buf.Bytes())
}

// profileNote is the note key of the run's configuration (what the
// profile's author measured with it), or "" when it has none or the file
// cannot be read.
func profileNote(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, rundir.ConfigFile))
	if err != nil {
		return ""
	}
	var c struct {
		Note string `yaml:"note"`
	}
	if yaml.Unmarshal(b, &c) != nil {
		return ""
	}
	return strings.TrimSpace(c.Note)
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// colourSpaceFigure draws the learned generator as in the paper's Figure
// 7: sample test images, g(X)'s channels, the two views, and g over slices
// of the RGB cube.
func (e *Experiment) colourSpaceFigure() error {
	test := e.data.Test
	n := min(6, test.Len())
	shape := test.Shape()
	var samples []chw.Image
	for i := 0; i < n; i++ {
		img := chw.New(shape.C, shape.H, shape.W)
		test.Image(i*(test.Len()/n), img.Pix)
		samples = append(samples, img)
	}
	transform := func(rgb []float32, h, w int) ([]float32, error) {
		in := make([]float32, len(rgb))
		if err := e.prep.into(in, []chw.Image{{C: 3, H: h, W: w, Pix: rgb}}); err != nil {
			return nil, err
		}
		return e.gen.Apply(in, 1, h, w)
	}
	title := "learned generator g (input " + e.prep.space.String()
	if e.prep.stats != nil {
		title += ", standardised"
	}
	grid, err := plots.ColorSpaceGrid(transform, samples, plots.ColorSpaceOptions{Title: title + ")"})
	if err != nil {
		return err
	}
	figDir := filepath.Join(e.dir, rundir.FiguresDir)
	if err := os.MkdirAll(figDir, 0o755); err != nil {
		return err
	}
	if err := grid.WritePNG(filepath.Join(figDir, "colorspace.png")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(figDir, "colorspace.txt"), []byte("The learned colour space (as in the paper's Figure 7): for test images, the input, the three channels of g(X), view 1 = g(X)_1 and view 2 = g(X)_{2:3}; below, g over slices of the RGB cube.\n"), 0o644)
}
