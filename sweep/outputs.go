package sweep

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/learnviews/learnviews/plots"
	"github.com/learnviews/learnviews/rundir"
)

func percent(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// WriteOutputs gathers the finished runs of the sweep in dir into its
// tables (table.csv, table.jsonl, runs.jsonl, table.md), the reverse-U
// figure and report.html, and prints the main table to w.
func WriteOutputs(dir string, w io.Writer) (*Plan, error) {
	plan, err := ReadPlan(dir)
	if err != nil {
		return nil, err
	}
	results, missing, err := Collect(dir, plan)
	if err != nil {
		return nil, err
	}
	rows := Aggregate(plan, results)
	main := CellsFor(plan, rows)
	write := func(name string, f func(io.Writer) error) error {
		var buf bytes.Buffer
		if err := f(&buf); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return rundir.WriteBytesAtomic(filepath.Join(dir, name), buf.Bytes())
	}
	if err := write("table.csv", func(w io.Writer) error { return WriteCSV(w, plan, rows) }); err != nil {
		return nil, err
	}
	if err := write("table.jsonl", func(w io.Writer) error { return WriteJSONL(w, rows) }); err != nil {
		return nil, err
	}
	if err := write("runs.jsonl", func(w io.Writer) error { return WriteJSONL(w, results) }); err != nil {
		return nil, err
	}
	if err := write("table.md", func(w io.Writer) error {
		if err := main.Markdown(w); err != nil {
			return err
		}
		if plan.Table != "" {
			fmt.Fprintln(w)
			if err := SweepCells(plan, rows).Markdown(w); err != nil {
				return err
			}
		}
		if plan.Table == "learned-views" {
			fmt.Fprintln(w)
			return Table5Tests(plan, results).Markdown(w)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	figure, err := reverseU(dir, plan, rows)
	if err != nil {
		return nil, err
	}
	rep, err := sweepReport(dir, plan, rows, results, missing, figure)
	if err != nil {
		return nil, err
	}
	if err := write("report.html", rep.WriteHTML); err != nil {
		return nil, err
	}
	if err := main.Markdown(w); err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "\n%d of %d runs have no result yet (first: task %d, %s).\n", len(missing), len(plan.Tasks), missing[0].Index, missing[0].Dir)
	}
	fmt.Fprintf(w, "\n%s: table.csv, table.jsonl, runs.jsonl, table.md, report.html", dir)
	if figure != nil {
		fmt.Fprintf(w, ", figures/reverse-u.png")
	}
	fmt.Fprintln(w)
	return plan, nil
}

// reverseU draws downstream accuracy against I_NCE, one labelled point per
// setting with error bars over seeds, into dir/figures/reverse-u.{png,svg};
// it returns the PNG, or nil when no point has both numbers (or the sweep
// is Table 4, whose numbers are errors of three heads).
func reverseU(dir string, plan *Plan, rows []Row) ([]byte, error) {
	if plan.Table == "cmnist" {
		return nil, nil
	}
	var pts []plots.SweepPoint
	for _, r := range rows {
		if r.INCE.N == 0 || r.Probe.N == 0 {
			continue
		}
		pts = append(pts, plots.SweepPoint{Label: r.Label, INCE: r.INCE.Mean, INCEStd: r.INCE.Std,
			Accuracy: 100 * r.Probe.Mean, AccStd: 100 * r.Probe.Std})
	}
	if len(pts) == 0 {
		return nil, nil
	}
	title := plan.Title
	if title == "" {
		title = "Sweep " + plan.Profile
	}
	chart, err := plots.INCEVsAccuracy([]plots.Sweep{{Points: pts, Join: plan.Join}},
		plots.SweepOptions{Title: title, YLabel: "linear-probe accuracy (%)", XLabel: "I_NCE at the end of training (nats)"})
	if err != nil {
		return nil, err
	}
	figDir := filepath.Join(dir, rundir.FiguresDir)
	if err := os.MkdirAll(figDir, 0o755); err != nil {
		return nil, err
	}
	for _, ext := range []string{".png", ".svg"} {
		if err := chart.Save(filepath.Join(figDir, "reverse-u"+ext)); err != nil {
			return nil, err
		}
	}
	return chart.PNG()
}

// paperNotes say what the paper shows for each experiment.
var paperNotes = map[string]string{
	"sweep-patch-offset": "Paper, Figure 3 (STL-10 patches): as the offset between the two patches grows, I_NCE falls; downstream accuracy first rises, then falls — a reverse U with its peak at an intermediate offset.",
	"sweep-colorspaces":  "Paper, Figure 4 (STL-10, v1 = first channel, v2 = the other two, 12 colour spaces): the spaces trace a reverse U in accuracy against I_NCE; luminance–chrominance splits (YDbDr, YCbCr, Lab, ...) sit near the top, RGB and HSV lower.",
	"sweep-crop-scale":   "Paper, Figure 5 (ImageNet): a lower bound of the random-resized-crop scale lowers I_NCE; accuracy peaks near a scale of 0.2 and falls for smaller crops.",
	"sweep-color-jitter": "Paper, Figure 5 (ImageNet): stronger colour jitter lowers I_NCE; accuracy peaks near strength 1.0 and falls beyond.",
	"table-cmnist":       "Paper, Table 4: a view pair learns the factors it shares; a shared background is a shortcut that crowds out digit and position (chance error is 90%). The pattern, not the numbers, is what a small run can show.",
	"table-learned-views": "Paper, Table 5 (STL-10, 64 px, ResNet-50 halves, 100 epochs): semi-supervised views are best; unsupervised views are no better than raw YDbDr. " +
		"The ordering, not the numbers, is what a small run can show.",
}

// sweepReport builds the sweep's report page.
func sweepReport(dir string, plan *Plan, rows []Row, results []Result, missing []Task, figure []byte) (*plots.Report, error) {
	title := plan.Title
	if title == "" {
		title = plan.Profile
	}
	rep := &plots.Report{Title: "learnviews sweep " + filepath.Base(filepath.Clean(dir)) + ": " + title}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "profile: %s\nscale: %s\nseeds: %v\n", plan.Profile, plan.Scale, plan.Seeds)
	if len(plan.Set) > 0 {
		fmt.Fprintf(&cfg, "set: %s\n", strings.Join(plan.Set, " "))
	}
	fmt.Fprintln(&cfg, "points:")
	for _, p := range plan.Points {
		fmt.Fprintf(&cfg, "  %3d  %-28s %s\n", p.Index, p.Label, strings.Join(p.Set, "  "))
	}
	rep.Config = cfg.String()
	if figure != nil {
		rep.Figures = append(rep.Figures, plots.Figure{Caption: "Downstream linear-probe accuracy against I_NCE at the end of training: " +
			"one labelled point per setting, mean ± std over seeds (the paper's reverse U).", PNG: figure})
	}
	// The learned colour space of each generator (first finished seed).
	shown := map[int]bool{}
	for _, r := range results {
		if shown[r.Point] {
			continue
		}
		png, err := os.ReadFile(filepath.Join(dir, r.Dir, rundir.FiguresDir, "colorspace.png"))
		if err != nil {
			continue
		}
		shown[r.Point] = true
		rep.Figures = append(rep.Figures, plots.Figure{Caption: fmt.Sprintf("Learned colour space of the %s generator (seed %d): test images, the channels of g(X), "+
			"view 1 = g(X)_1 and view 2 = g(X)_{2:3}, and g over slices of the RGB cube (as the paper's Figure 7).", r.Label, r.Seed), PNG: png})
	}
	main := CellsFor(plan, rows)
	rep.Tables = append(rep.Tables, plots.Table{Caption: main.Caption, Header: main.Header, Rows: main.Rows})
	if plan.Table != "" {
		s := SweepCells(plan, rows)
		rep.Tables = append(rep.Tables, plots.Table{Caption: s.Caption, Header: s.Header, Rows: s.Rows})
	}
	if plan.Table == "learned-views" {
		s := Table5Tests(plan, results)
		rep.Tables = append(rep.Tables, plots.Table{Caption: s.Caption, Header: s.Header, Rows: s.Rows})
	}
	if len(results) > 0 && results[0].Split == "validation" {
		rep.Notes = append(rep.Notes, "Accuracies are on the validation split carved out of the training images (eval.split validation), not on the test images.")
	}
	runs := plots.Table{Caption: "Every run: I_NCE at the end of training, accuracies and wall time.",
		Header: []string{"task", "point", "seed", "stage", "I_NCE", "probe", "kNN", "train wall", "dir"}}
	for _, r := range results {
		ince := "–"
		if r.INCE != nil {
			ince = fmt.Sprintf("%.3f", *r.INCE)
		}
		runs.Rows = append(runs.Rows, []string{fmt.Sprint(r.Task), r.Label, fmt.Sprint(r.Seed), r.Stage, ince, percent(r.ProbeAcc), percent(r.KNNAcc),
			(time.Duration(r.TrainWall) * time.Second).String(), r.Dir})
	}
	rep.Tables = append(rep.Tables, runs)
	if n, ok := paperNotes[plan.Profile]; ok {
		rep.Notes = append(rep.Notes, n)
	}
	rep.Notes = append(rep.Notes, "I_NCE at the end of training is the mean of the estimator's in-batch InfoNCE estimate (nats; at most log K, K the batch) "+
		"over the last fifth of the logged steps of the reported stage.")
	if len(missing) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d of %d runs have no result yet; their points average the seeds that finished.", len(missing), len(plan.Tasks)))
	}
	if len(results) > 0 {
		if man, err := rundir.ReadManifest(filepath.Join(dir, results[0].Dir, rundir.ManifestFile)); err == nil {
			for _, kv := range manifestEnv(man) {
				rep.Environment = append(rep.Environment, kv)
			}
		}
	}
	invs, _ := ReadInvocations(dir)
	for i, inv := range invs {
		rep.Environment = append(rep.Environment, plots.KeyValue{Key: fmt.Sprintf("local execution %d", i+1),
			Value: fmt.Sprintf("%s on %s (%d cores): %d jobs × %d threads, %d runs finished, %d failed, wall %s", inv.Start, inv.Host, inv.CPUs,
				inv.Jobs, inv.Threads, inv.Finished, inv.Failed, (time.Duration(inv.WallS) * time.Second).String())})
	}
	return rep, nil
}

// manifestEnv picks the environment entries of a run's manifest.
func manifestEnv(m *rundir.Manifest) []plots.KeyValue {
	return []plots.KeyValue{{Key: "git commit", Value: m.GitCommit}, {Key: "Go", Value: m.GoVersion}, {Key: "host", Value: m.Host}}
}

// ReadInvocations reads dir/invocations.jsonl.
func ReadInvocations(dir string) ([]Invocation, error) {
	f, err := os.Open(filepath.Join(dir, InvocationsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Invocation
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var inv Invocation
		if json.Unmarshal(sc.Bytes(), &inv) == nil {
			out = append(out, inv)
		}
	}
	return out, sc.Err()
}
