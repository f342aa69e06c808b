package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/plots"
	"github.com/learnviews/learnviews/viewgen"
	"github.com/spf13/cobra"
)

func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report DIR",
		Short: "Write DIR/report.html of a run, or of a sweep or table: figures and tables beside the paper's numbers",
		Long: `Redraw a run's figures from its metrics.jsonl and write one self-contained
HTML page (figures embedded) with the configuration, the curves of both
players, the learned colour space, the final accuracies beside the raw-view
baseline, and the environment. Works on a finished or a partial run.

On a sweep or table directory (learnviews sweep, table-cmnist,
table-learned-views) it gathers the finished runs into the table files, the
reverse-U figure and a report.html with the paper's numbers beside them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if isSweepDir(args[0]) {
				_, err := writeSweepOutputs(args[0], cmd.OutOrStdout())
				return err
			}
			results, err := readResults(args[0])
			if err != nil {
				return err
			}
			path, err := writeReport(args[0], results)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
}

// readResults collects the evaluation records of a run directory.
func readResults(dir string) ([]evalResult, error) {
	if _, err := os.Stat(filepath.Join(dir, games.MetricsFile)); err != nil {
		return nil, fmt.Errorf("%s is not a run directory: %w", dir, err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "checkpoint"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []evalResult
	for _, e := range entries {
		c, err := games.ReadCheckpoint(dir, e.Name())
		if err != nil {
			return nil, err
		}
		if c == nil || !c.Done || len(c.Feed) == 0 || filepath.Ext(e.Name()) != "" {
			continue
		}
		var r evalResult
		if json.Unmarshal(c.Feed, &r) == nil && r.Stage != "" {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Stage < out[j].Stage })
	return out, nil
}

// writeReport draws the run's figures and writes report.html.
func writeReport(dir string, results []evalResult) (string, error) {
	rep, err := plots.BuildRunReport(dir)
	if err != nil {
		return "", err
	}
	if len(results) > 0 {
		t := plots.Table{Caption: "Downstream accuracy of frozen features (linear probe and kNN on the test images). " +
			"stage2: fresh encoders on the learned generator's views; stage2-raw: on the raw views (the baseline); " +
			"contrastive: encoders trained on fixed views.",
			Header: []string{"stage", "linear probe", "probe (train)", "kNN"}}
		var raw *evalResult
		for i := range results {
			if results[i].Stage == "stage2-raw" {
				raw = &results[i]
			}
		}
		for _, r := range results {
			row := []string{r.Stage, pct(r.ProbeAcc), pct(r.TrainAcc), pct(r.KNNAcc)}
			if raw != nil && r.Stage == "stage2" {
				row[1] += fmt.Sprintf(" (%+.1f vs raw)", 100*(r.ProbeAcc-raw.ProbeAcc))
			}
			t.Rows = append(t.Rows, row)
		}
		rep.Tables = append([]plots.Table{t}, rep.Tables...)
		rep.Notes = append(rep.Notes, "Table 5 of the paper (STL-10, 64 px, ResNet-50 halves, 100 epochs) for orientation: "+
			"semi-supervised views 86.0 ± 0.6 (RGB) / 87.0 ± 0.3 (YDbDr); unsupervised 82.4 ± 3.2 / 84.3 ± 0.5; supervised 79.9 ± 1.5 / 78.5 ± 2.3; raw views 81.5 ± 0.2 / 86.6 ± 0.2. "+
			"The ordering, not the numbers, is what a small run can show.")
	}
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "report.html")
	err = nn.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err })
	return path, err
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// colourSpaceFigure draws the learned generator as in the paper's Figure
// 7: sample test images, g(X)'s channels, the two views, and g over slices
// of the RGB cube.
func (e *experiment) colourSpaceFigure(space viewgen.ColorSpace) error {
	n := min(6, e.test.Len())
	shape := e.test.Shape()
	var samples []plots.CHW
	for i := 0; i < n; i++ {
		pix := make([]float32, shape.Size())
		e.test.Image(i*(e.test.Len()/n), pix)
		samples = append(samples, plots.CHW{Pix: pix, H: shape.H, W: shape.W})
	}
	transform := func(rgb []float32, h, w int) ([]float32, error) {
		in := rgb
		if space != viewgen.RGB {
			c, err := space.Convert(viewgen.Image{C: 3, H: h, W: w, Pix: append([]float32(nil), rgb...)})
			if err != nil {
				return nil, err
			}
			in = c.Pix
		}
		return e.gen.Apply(in, 1, h, w)
	}
	grid, err := plots.ColorSpaceGrid(transform, samples, plots.ColorSpaceOptions{Title: "learned generator g (input " + space.String() + ")"})
	if err != nil {
		return err
	}
	img, err := grid.Render()
	if err != nil {
		return err
	}
	figDir := filepath.Join(e.dir, plots.FiguresDir)
	if err := os.MkdirAll(figDir, 0o755); err != nil {
		return err
	}
	if err := plots.SavePNG(filepath.Join(figDir, "colorspace.png"), img); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(figDir, "colorspace.txt"), []byte("The learned colour space (as in the paper's Figure 7): for test images, the input, the three channels of g(X), view 1 = g(X)_1 and view 2 = g(X)_{2:3}; below, g over slices of the RGB cube.\n"), 0o644)
}
