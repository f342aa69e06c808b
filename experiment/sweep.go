package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/sweep"
)

// SweepProfiles lists the embedded profiles that are sweeps.
func SweepProfiles() []string {
	ps, _ := config.Profiles()
	var out []string
	for _, p := range ps {
		if c, err := config.Load(config.Sources{Profile: p.Name}); err == nil && c.Sweep.IsSweep() {
			out = append(out, p.Name)
		}
	}
	return out
}

// PlanSweep resolves the sweep profile of src and the configuration of
// every task: the profile, the file, the environment and src.Set, then
// the point's settings and its seed. Every task's configuration is
// validated (Validate) before anything is written.
func PlanSweep(src config.Sources) (*sweep.Plan, [][]byte, error) {
	base, err := config.Load(src)
	if err != nil {
		return nil, nil, err
	}
	if !base.Sweep.IsSweep() {
		return nil, nil, fmt.Errorf("profile %s is not a sweep: it has no sweep.axes or sweep.points (sweep profiles: %s)", base.Profile, strings.Join(SweepProfiles(), ", "))
	}
	expanded := base.Sweep.Expand()
	varied := map[string]bool{}
	for _, p := range expanded {
		for _, kv := range p.Set {
			k, _, _ := strings.Cut(kv, "=")
			varied[strings.TrimSpace(k)] = true
		}
	}
	for _, kv := range src.Set {
		k, _, _ := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if varied[k] {
			return nil, nil, fmt.Errorf("--set %s: the sweep %s varies %s itself; change sweep.axes or sweep.points instead", kv, base.Profile, k)
		}
		if k == "seed" {
			return nil, nil, fmt.Errorf("--set %s: a sweep takes its seeds from sweep.seeds, e.g. --set 'sweep.seeds=[1,2,3]'", kv)
		}
	}
	seeds := base.Sweep.Seeds
	if len(seeds) == 0 {
		seeds = []uint64{base.Seed}
	}
	points := make([]sweep.Point, len(expanded))
	for i, p := range expanded {
		points[i] = sweep.Point{Label: p.Label, Set: p.Set}
	}
	plan, err := sweep.NewPlan(base.Profile, points, seeds)
	if err != nil {
		return nil, nil, err
	}
	plan.Set, plan.Scale, plan.Title, plan.Table, plan.Stage, plan.Join = src.Set, base.Scale, base.Sweep.Title, base.Sweep.Table, base.Sweep.Stage, base.Sweep.Join
	plan.Created = time.Now().UTC().Format(time.RFC3339)
	configs := make([][]byte, len(plan.Tasks))
	for i, t := range plan.Tasks {
		ts := src
		ts.Set = append(append(append([]string{}, src.Set...), plan.Points[t.Point].Set...), fmt.Sprintf("seed=%d", t.Seed))
		c, err := config.Load(ts)
		if err == nil {
			err = Validate(c)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("sweep %s, point %d (%s): %w", base.Profile, t.Point, plan.Points[t.Point].Label, err)
		}
		if configs[i], err = c.YAML(); err != nil {
			return nil, nil, err
		}
	}
	return plan, configs, nil
}

// WritePlan writes the plan and the task configurations into dir; a dir
// that holds a plan already must hold the same tasks with the same
// settings, and keeps its plan.
func WritePlan(dir string, plan *sweep.Plan, configs [][]byte) (*sweep.Plan, error) {
	if old, err := sweep.ReadPlan(dir); err == nil {
		if d := old.SameTasks(plan); d != "" {
			return nil, fmt.Errorf("%s holds a sweep planned otherwise (%s): continue it as planned with learnviews sweep --resume %s, or choose another --out", dir, d, dir)
		}
		for i, t := range old.Tasks {
			b, err := os.ReadFile(filepath.Join(dir, t.Config))
			if err != nil {
				return nil, err
			}
			if d := config.DiffYAML(b, configs[i]); d != "" {
				return nil, fmt.Errorf("%s holds a sweep planned with other settings: task %d has %s; continue it as planned with learnviews sweep --resume %s, or choose another --out", dir, i, d, dir)
			}
		}
		return old, nil
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty and holds no sweep: choose another --out", dir)
	}
	for _, sub := range []string{"tasks", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	for i, t := range plan.Tasks {
		if err := rundir.WriteBytesAtomic(filepath.Join(dir, t.Config), configs[i]); err != nil {
			return nil, err
		}
	}
	// The plan goes last: its presence says that the tasks are all there.
	err := rundir.WriteFileAtomic(filepath.Join(dir, sweep.PlanFile), plan.Encode)
	return plan, err
}

// IsSweepDir reports whether dir holds a sweep's plan.
func IsSweepDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, sweep.PlanFile))
	return err == nil
}

// RunSweepTask runs task i of the sweep in dir: the point's run (resumed
// if an earlier attempt stopped), then its result.json. A task that has a
// result returns at once; a task another process is running is an error.
func RunSweepTask(ctx context.Context, dir string, i int, opt Options) (*sweep.Result, error) {
	plan, err := sweep.ReadPlan(dir)
	if err != nil {
		return nil, err
	}
	t, err := plan.Task(i)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	unlock, err := sweep.LockTask(dir, t.Index)
	if err != nil {
		return nil, err
	}
	defer unlock()
	logf := func(format string, args ...any) {
		if opt.Log != nil {
			opt.Log(format, args...)
		}
	}
	label := plan.Points[t.Point].Label
	runDir := filepath.Join(dir, t.Dir)
	if r, err := sweep.ReadResult(runDir); err != nil || r != nil {
		if r != nil {
			logf("task %d (%s, seed %d) finished earlier: %s", t.Index, label, t.Seed, runDir)
		}
		return r, err
	}
	resuming := false
	if _, err := os.Stat(filepath.Join(runDir, rundir.ConfigFile)); err == nil {
		resuming = true
	} else if _, err := os.Stat(runDir); err == nil {
		// Stopped before its configuration was written: nothing to keep.
		if err := os.RemoveAll(runDir); err != nil {
			return nil, err
		}
	}
	file := filepath.Join(dir, t.Config)
	if resuming {
		file = filepath.Join(runDir, rundir.ConfigFile)
	}
	cfg, err := config.Load(config.Sources{Profile: plan.Profile, File: file})
	if err != nil {
		return nil, fmt.Errorf("task %d: %w", t.Index, err)
	}
	if err := os.MkdirAll(filepath.Dir(runDir), 0o755); err != nil {
		return nil, err
	}
	start := time.Now()
	logf("task %d of %d: %s, seed %d, in %s", t.Index, len(plan.Tasks), label, t.Seed, runDir)
	opt.Resume, opt.Report = resuming, false
	evals, err := Run(ctx, cfg, runDir, opt)
	if err != nil {
		return nil, fmt.Errorf("task %d (%s, seed %d): %w", t.Index, label, t.Seed, err)
	}
	ev, err := sweep.ReportedStage(plan.Stage, evals)
	if err != nil {
		return nil, fmt.Errorf("task %d: %s: %w", t.Index, runDir, err)
	}
	res := &sweep.Result{Task: t.Index, Point: t.Point, Label: label, Seed: t.Seed, Evaluation: ev,
		TrainWall: rundir.TrainWall(runDir), Wall: time.Since(start).Seconds(), Dir: t.Dir, Finished: time.Now().UTC().Format(time.RFC3339)}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("task %d: %w", t.Index, err)
	}
	if err := rundir.WriteBytesAtomic(filepath.Join(runDir, sweep.ResultFile), b); err != nil {
		return nil, err
	}
	logf("task %d: %s", t.Index, res.Summary())
	return res, nil
}
