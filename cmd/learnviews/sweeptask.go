package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/sweep"
	"github.com/spf13/cobra"
)

// inceWindow is the fraction of a stage's logged estimator steps, at its
// end, over which "I_NCE at the end of training" is averaged.
const inceWindow = 0.2

// finalINCE returns I_NCE at the end of a stage's training: the mean of the
// estimator's logged in-batch estimates over the last fifth of the stage's
// logged steps (at least one). ok is false when the stage logged none.
func finalINCE(dir, stage string) (float64, bool) {
	v, _, ok := finalINCEBound(dir, stage)
	return v, ok
}

// finalINCEBound is finalINCE with the ceiling log K of the last estimate.
func finalINCEBound(dir, stage string) (ince, bound float64, ok bool) {
	f, err := os.Open(filepath.Join(dir, games.MetricsFile))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	var vals []float64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		// A cheap filter first: most lines of a long run are other stages'.
		if !strings.Contains(string(line), `"estimator"`) {
			continue
		}
		var r struct {
			Kind   string   `json:"kind"`
			Stage  string   `json:"stage"`
			Player string   `json:"player"`
			INCE   *float64 `json:"ince"`
			Bound  *float64 `json:"ince_bound"`
		}
		if json.Unmarshal(line, &r) != nil || r.Kind != "step" || r.Stage != stage || r.Player != "estimator" || r.INCE == nil {
			continue
		}
		if math.IsNaN(*r.INCE) || math.IsInf(*r.INCE, 0) {
			continue
		}
		vals = append(vals, *r.INCE)
		if r.Bound != nil {
			bound = *r.Bound
		}
	}
	if len(vals) == 0 {
		return 0, 0, false
	}
	n := max(1, int(math.Ceil(inceWindow*float64(len(vals)))))
	var sum float64
	for _, v := range vals[len(vals)-n:] {
		sum += v
	}
	return sum / float64(n), bound, true
}

// trainWall sums the training time of a run's stages over all attempts, as
// their last checkpoints record it.
func trainWall(dir string) float64 {
	entries, _ := os.ReadDir(filepath.Join(dir, "checkpoint"))
	var total float64
	for _, en := range entries {
		if ck, err := games.ReadCheckpoint(dir, en.Name()); err == nil && ck != nil {
			total += ck.WallSeconds
		}
	}
	return total
}

// reportedStage picks the evaluation a sweep reports for a run: the plan's
// stage if it names one, else stage2, supervised or contrastive, whichever
// the run has first.
func reportedStage(want string, results []evalResult) (evalResult, error) {
	order := []string{"stage2", supervisedStage, "contrastive", "stage2-raw"}
	if want != "" {
		order = []string{want}
	}
	for _, s := range order {
		for _, r := range results {
			if r.Stage == s {
				return r, nil
			}
		}
	}
	var have []string
	for _, r := range results {
		have = append(have, r.Stage)
	}
	return evalResult{}, fmt.Errorf("the run has no evaluation of stage %s (it has: %s)", strings.Join(order, " or "), strings.Join(have, ", "))
}

// parseTaskIndex reads a --sweep-point value: an index, or "env" for the
// index a cluster gives the job (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX).
func parseTaskIndex(s string) (int, error) {
	if s == "env" {
		for _, name := range []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"} {
			if v := os.Getenv(name); v != "" {
				i, err := strconv.Atoi(v)
				if err != nil {
					return 0, fmt.Errorf("--sweep-point env: %s=%q is not an index", name, v)
				}
				return i, nil
			}
		}
		return 0, fmt.Errorf("--sweep-point env: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set")
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 {
		return 0, fmt.Errorf("--sweep-point %q: want a task index (0, 1, ...) or env", s)
	}
	return i, nil
}

// runSweepTask runs task i of the sweep in dir: the point's run (resumed
// if an earlier attempt stopped), then its result.json. A task that has a
// result returns at once; a task another process is running is an error.
func runSweepTask(ctx context.Context, dir string, i int, log *logger) (*sweep.Result, error) {
	plan, err := sweep.ReadPlan(dir)
	if err != nil {
		return nil, err
	}
	t, err := plan.Task(i)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	unlock, err := lockTask(dir, t.Index)
	if err != nil {
		return nil, err
	}
	defer unlock()
	runDir := filepath.Join(dir, t.Dir)
	if r, err := sweep.ReadResult(runDir); err != nil || r != nil {
		if r != nil {
			log.Printf("task %d (%s, seed %d) finished earlier: %s", t.Index, plan.Points[t.Point].Label, t.Seed, runDir)
		}
		return r, err
	}
	resuming := false
	if _, err := os.Stat(filepath.Join(runDir, "config.yaml")); err == nil {
		resuming = true
	} else if _, err := os.Stat(runDir); err == nil {
		// Stopped before its configuration was written: nothing to keep.
		if err := os.RemoveAll(runDir); err != nil {
			return nil, err
		}
	}
	file := filepath.Join(dir, t.Config)
	if resuming {
		file = filepath.Join(runDir, "config.yaml")
	}
	cfg, err := config.Load(config.Sources{Profile: plan.Profile, File: file})
	if err != nil {
		return nil, fmt.Errorf("task %d: %w", t.Index, err)
	}
	if err := os.MkdirAll(filepath.Dir(runDir), 0o755); err != nil {
		return nil, err
	}
	start := time.Now()
	log.Printf("task %d of %d: %s, seed %d, in %s", t.Index, len(plan.Tasks), plan.Points[t.Point].Label, t.Seed, runDir)
	if err := runExperiment(ctx, cfg, runDir, resuming, log, false); err != nil {
		return nil, fmt.Errorf("task %d (%s, seed %d): %w", t.Index, plan.Points[t.Point].Label, t.Seed, err)
	}
	results, err := readResults(runDir)
	if err != nil {
		return nil, err
	}
	ev, err := reportedStage(plan.Stage, results)
	if err != nil {
		return nil, fmt.Errorf("task %d: %s: %w", t.Index, runDir, err)
	}
	res := &sweep.Result{Task: t.Index, Point: t.Point, Label: plan.Points[t.Point].Label, Seed: t.Seed, Stage: ev.Stage,
		ProbeAcc: ev.ProbeAcc, TrainAcc: ev.TrainAcc, KNNAcc: ev.KNNAcc, TrainWall: trainWall(runDir),
		Wall: time.Since(start).Seconds(), Dir: t.Dir, Finished: time.Now().UTC().Format(time.RFC3339)}
	if v, bound, ok := finalINCEBound(runDir, ev.Stage); ok {
		res.INCE, res.INCEBound = &v, bound
	}
	if cfg.Data.Name == "cmnist" {
		bk, pe := ev.BkgdAcc, ev.PosErr
		res.BkgdAcc, res.PosErr = &bk, &pe
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("task %d: %w", t.Index, err)
	}
	if err := nn.WriteFileAtomic(filepath.Join(runDir, sweep.ResultFile), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return nil, err
	}
	log.Printf("task %d: %s", t.Index, summary(res))
	return res, nil
}

// summary is a result on one line.
func summary(r *sweep.Result) string {
	s := fmt.Sprintf("probe %.1f%%, kNN %.1f%%", 100*r.ProbeAcc, 100*r.KNNAcc)
	if r.INCE != nil {
		s += fmt.Sprintf(", I_NCE %.3f", *r.INCE)
	}
	if r.BkgdAcc != nil {
		s += fmt.Sprintf(", bkgd %.1f%%", 100**r.BkgdAcc)
	}
	if r.PosErr != nil {
		s += fmt.Sprintf(", loc %.2f px", *r.PosErr)
	}
	return s + fmt.Sprintf(" (%.0f s)", r.Wall)
}

// errTaskBusy is wrapped by the error of a task that another process holds.
var errTaskBusy = errors.New("another process is running it")

// runSweepPoint is learnviews run --sweep DIR --sweep-point I: one task of a
// sweep, as a worker of the local pool or an index of a cluster array runs it.
func runSweepPoint(cmd *cobra.Command, dir, point string, quiet bool, cf configFlags, out, resume string) error {
	if dir == "" || point == "" {
		return fmt.Errorf("--sweep DIR and --sweep-point I go together")
	}
	if out != "" || resume != "" || cf.file != "" || len(cf.set) > 0 || cmd.Flags().Changed("profile") {
		return fmt.Errorf("--sweep runs a task as its sweep planned it; drop --out, --resume, --profile, --config and --set")
	}
	i, err := parseTaskIndex(point)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = runSweepTask(ctx, dir, i, newLogger(cmd.ErrOrStderr(), quiet))
	return err
}
