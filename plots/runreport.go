package plots

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/learnviews/learnviews/rundir"
)

// runCharts are the standard figures of a run, by file stem.
var runCharts = []struct {
	stem, caption string
	build         func(Records, CurveOptions) (*Chart, error)
}{
	{"ince", "I_NCE between the two views for each player; dashed: the ceiling log K of the InfoNCE bound.", INCECurves},
	{"heads", "Classifier heads: cross-entropies and accuracies during training, and evaluation accuracies.", HeadCurves},
	{"lr", "Learning rate of each player.", LRCurve},
}

// BuildRunReport reads metrics.jsonl and manifest.json from runDir and returns
// its report. It draws the standard curves (ince, heads, lr) that the metrics
// allow, smoothed with weight 0.6 over the faded raw values (lr unsmoothed),
// writes each as PNG and SVG into runDir/figures/, and adds them to the
// report, followed by every other PNG already in runDir/figures/ (such as the
// colour-space figure), in name order, captioned by the text of NAME.txt beside
// NAME.png when there is one and by the file name otherwise. Its tables hold
// the last eval row of each stage and split, and the last step row of each
// player.
//
// metrics.jsonl must exist; a missing manifest.json only adds a note.
func BuildRunReport(runDir string) (*Report, error) {
	recs, err := ReadMetrics(filepath.Join(runDir, rundir.MetricsFile))
	if err != nil {
		return nil, err
	}
	rep := &Report{Title: "learnviews run " + filepath.Base(filepath.Clean(runDir))}

	man, err := rundir.ReadManifest(filepath.Join(runDir, rundir.ManifestFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		rep.Notes = append(rep.Notes, "The run directory has no "+rundir.ManifestFile+": configuration and environment are unknown.")
	case err != nil:
		return nil, err
	default:
		rep.Config = man.ConfigText()
		rep.Environment = manifestEnvironment(man)
	}
	rep.Environment = append(rep.Environment, metricsEnvironment(recs)...)

	figDir := filepath.Join(runDir, rundir.FiguresDir)
	if err := os.MkdirAll(figDir, 0o755); err != nil {
		return nil, fmt.Errorf("plots: run report: %w", err)
	}
	ours := map[string]bool{}
	// Each stage restarts its step count, so each gets its own curves.
	for _, stage := range stepStages(recs) {
		opt := CurveOptions{Smoothing: 0.6, Stage: stage}
		stem, where := "", ""
		if stage != "" {
			stem, where = "-"+stage, " Stage "+stage+"."
		}
		for _, rc := range runCharts {
			chart, err := rc.build(recs, opt)
			if errors.Is(err, ErrNoData) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("plots: run report %s: %w", runDir, err)
			}
			for _, ext := range []string{".svg", ".png"} {
				if err := chart.Save(filepath.Join(figDir, rc.stem+stem+ext)); err != nil {
					return nil, err
				}
			}
			data, err := chart.PNG()
			if err != nil {
				return nil, err
			}
			ours[rc.stem+stem+".png"] = true
			rep.Figures = append(rep.Figures, Figure{Caption: rc.caption + where, PNG: data})
		}
	}
	extra, err := figuresIn(figDir, ours)
	if err != nil {
		return nil, err
	}
	rep.Figures = append(rep.Figures, extra...)

	if t, ok := finalEvalTable(recs); ok {
		rep.Tables = append(rep.Tables, t)
	} else {
		rep.Notes = append(rep.Notes, "No eval rows in "+rundir.MetricsFile+" yet.")
	}
	if t, ok := finalStepTable(recs); ok {
		rep.Tables = append(rep.Tables, t)
	}
	return rep, nil
}

// stepStages lists the stages of the step rows in order of appearance; a
// run without stage names gives [""].
func stepStages(recs Records) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range recs {
		if r.Kind != "step" {
			continue
		}
		if st := r.Stage(); !seen[st] {
			seen[st] = true
			out = append(out, st)
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

// figuresIn returns the PNGs of dir not in skip, sorted by name.
func figuresIn(dir string, skip map[string]bool) ([]Figure, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("plots: run report: %w", err)
	}
	var out []Figure
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || skip[name] || strings.ToLower(filepath.Ext(name)) != ".png" {
			continue
		}
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("plots: run report: %w", err)
		}
		if _, err := png.DecodeConfig(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("plots: run report: %s: %w", path, err)
		}
		caption := name
		if c, err := os.ReadFile(strings.TrimSuffix(path, filepath.Ext(path)) + ".txt"); err == nil {
			caption = strings.TrimSpace(string(c))
		}
		out = append(out, Figure{Caption: caption, PNG: data})
	}
	return out, nil // os.ReadDir sorts by name
}

func manifestEnvironment(m *rundir.Manifest) []KeyValue {
	var env []KeyValue
	add := func(k, v string) {
		if v != "" {
			env = append(env, KeyValue{k, v})
		}
	}
	add("git commit", m.GitCommit)
	add("Go version", m.GoVersion)
	add("host", m.Host)
	if !m.StartTime.IsZero() {
		add("start time", m.StartTime.Format(time.RFC3339))
	}
	if len(m.Seeds) > 0 {
		b, _ := json.Marshal(m.Seeds)
		add("seeds", string(b))
	}
	known := map[string]bool{"config": true, "seeds": true, "git_commit": true, "go_version": true, "host": true, "start_time": true}
	var keys []string
	for k := range m.Fields {
		if !known[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := m.Fields[k].(type) {
		case string:
			add(k, v)
		case nil:
		default:
			b, _ := json.Marshal(v)
			add(k, string(b))
		}
	}
	return env
}

func metricsEnvironment(recs Records) []KeyValue {
	env := []KeyValue{{"metrics rows", strconv.Itoa(len(recs))}}
	if len(recs) > 0 {
		last := recs[len(recs)-1]
		env = append(env, KeyValue{"last step", strconv.Itoa(last.Step)})
		if s, ok := recs.Last("wall_s"); ok {
			v, _ := s.Float("wall_s")
			env = append(env, KeyValue{"wall time", (time.Duration(v * float64(time.Second))).Round(time.Second).String()})
		}
	}
	return env
}

// finalEvalTable returns the last eval row of each (stage, split).
func finalEvalTable(recs Records) (Table, bool) {
	evals := recs.Where(Match{Kind: "eval"})
	if len(evals) == 0 {
		return Table{}, false
	}
	type key struct{ stage, split string }
	last := map[key]Record{}
	var order []key
	for _, r := range evals {
		k := key{r.Stage(), r.Split()}
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = r
	}
	t := Table{
		Caption: "Final evaluation: the last eval row of each stage and split.",
		Header:  []string{"stage", "split", "step", "epoch", "linear probe acc.", "kNN acc.", "I_NCE (nats)"},
	}
	for _, k := range order {
		r := last[k]
		t.Rows = append(t.Rows, []string{
			orDash(k.stage), orDash(k.split), strconv.Itoa(r.Step),
			formatValue(r, "epoch", "%.0f"), percent(r, "probe_acc"), percent(r, "knn_acc"), formatValue(r, "ince", "%.3f"),
		})
	}
	return t, true
}

// finalStepTable returns the last step row of each player.
func finalStepTable(recs Records) (Table, bool) {
	steps := recs.Where(Match{Kind: "step"})
	if len(steps) == 0 {
		return Table{}, false
	}
	t := Table{
		Caption: "Last training step of each player.",
		Header:  []string{"player", "step", "loss", "I_NCE", "log K", "ce1", "ce2", "acc1", "acc2", "lr"},
	}
	last := map[string]Record{}
	var players []string
	for _, r := range steps {
		if _, ok := last[r.Player()]; !ok {
			players = append(players, r.Player())
		}
		last[r.Player()] = r
	}
	for _, p := range players {
		last := last[p]
		t.Rows = append(t.Rows, []string{
			playerLabel(p), strconv.Itoa(last.Step), formatValue(last, "loss", "%.4f"), formatValue(last, "ince", "%.3f"),
			formatValue(last, "ince_bound", "%.3f"), formatValue(last, "ce1", "%.3f"), formatValue(last, "ce2", "%.3f"),
			percent(last, "acc1"), percent(last, "acc2"), formatValue(last, "lr", "%.3g"),
		})
	}
	return t, true
}

func formatValue(r Record, key, format string) string {
	v, ok := r.Float(key)
	if !ok {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

func percent(r Record, key string) string {
	v, ok := r.Float(key)
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.2f%%", 100*v)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
