package games

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/rundir"
)

// ErrInterrupted is returned by Run when its context was cancelled; the run
// wrote a checkpoint first and can be resumed.
var ErrInterrupted = errors.New("interrupted")

// keepCheckpoints is how many checkpoints of a stage are kept: the newest,
// and one to fall back to if the newest is found damaged.
const keepCheckpoints = 2

// Runner drives a game for a number of iterations, writing metrics rows,
// checkpointing every CheckpointEvery iterations and at the end, and
// resuming from the newest intact checkpoint of its stage.
type Runner struct {
	Game            Game
	Feed            Feed
	Metrics         *rundir.Metrics
	Dir             string // run directory
	Stage           string // names the stage in metrics rows and checkpoints
	Steps           int
	LogEvery        int
	CheckpointEvery int
	ImagesPerStep   int // for images/s
	EpochSize       int // images per epoch, for the epoch column; 0 leaves it out
	// OnLog, if set, sees every logged set of rows (progress output).
	OnLog func(step int, rows []rundir.Row)
	// Warn, if set, is told of damaged checkpoints that Resume passed over.
	Warn func(msg string)

	start    int
	wallBase float64
}

// Resume loads the stage's newest intact checkpoint, if any, into the
// game, the players and the feed, and returns its record (nil when starting
// afresh). A checkpoint whose files fail their checksums, whose record is
// damaged or that does not load (a step beyond the stage, say) is passed
// over for the one before it, and Warn says so.
func (r *Runner) Resume() (*rundir.Checkpoint, error) {
	intact, skipped, err := rundir.Checkpoints(r.Dir, r.Stage)
	warn := func(msg string) {
		if r.Warn != nil {
			r.Warn(fmt.Sprintf("%s: passed over a damaged checkpoint: %s", r.Stage, msg))
		}
	}
	for _, s := range skipped {
		warn(s)
	}
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, c := range intact {
		err := r.load(c)
		if err == nil && r.Metrics != nil && !c.Done {
			// The rows after the checkpoint belong to the attempt that the
			// stage now replays.
			err = r.Metrics.CutTo(c.MetricsBytes)
		}
		if err == nil {
			r.start, r.wallBase = c.Step, c.WallSeconds
			return c, nil
		}
		err = fmt.Errorf("games: resuming %s from %s: %w", r.Stage, filepath.Join(rundir.CheckpointDir(r.Dir, r.Stage), c.Dir), err)
		if firstErr == nil {
			firstErr = err
		}
		warn(err.Error())
	}
	return nil, firstErr
}

// load checks a checkpoint's record against the stage and loads it.
func (r *Runner) load(c *rundir.Checkpoint) error {
	switch {
	case c.Step > r.Steps:
		return fmt.Errorf("its step %d is beyond the stage's %d iterations", c.Step, r.Steps)
	case c.Done && c.Step != r.Steps:
		return fmt.Errorf("it marks the stage done at step %d of %d", c.Step, r.Steps)
	case c.Dir == "":
		return fmt.Errorf("its record names no folder of tensors")
	}
	dir := filepath.Join(rundir.CheckpointDir(r.Dir, r.Stage), c.Dir)
	if _, err := r.Game.Params().Load(filepath.Join(dir, "params.safetensors")); err != nil {
		return err
	}
	for _, p := range r.Game.Players() {
		if err := nn.LoadOptimizer(filepath.Join(dir, optimizerFile(p)), p.Opt); err != nil {
			return err
		}
		st, ok := c.Players[p.Name]
		if !ok {
			return fmt.Errorf("the checkpoint has no state for player %s", p.Name)
		}
		p.Restore(st)
	}
	if sg, ok := r.Game.(StatefulGame); ok {
		if err := sg.LoadState(dir); err != nil {
			return err
		}
	}
	if err := r.Feed.Restore(c.Feed); err != nil {
		return err
	}
	return nil
}

func optimizerFile(p *Player) string { return "optim-" + p.Name + ".safetensors" }

// Run plays iterations from the resumed step (or 0) to Steps.
func (r *Runner) Run(ctx context.Context) error {
	if r.LogEvery <= 0 {
		r.LogEvery = 1
	}
	begin := time.Now()
	wall := func() float64 { return r.wallBase + time.Since(begin).Seconds() }
	lastLog, lastStep := time.Now(), r.start
	for step := r.start; step < r.Steps; step++ {
		select {
		case <-ctx.Done():
			if err := r.checkpoint(step, false, wall()); err != nil {
				return err
			}
			return fmt.Errorf("%s stopped at iteration %d: %w", r.Stage, step, ErrInterrupted)
		default:
		}
		rows, err := r.Game.Iterate(r.Feed, step)
		if err != nil {
			// No checkpoint here: the iteration may have stepped one player
			// and not the other. The last periodic checkpoint stands.
			r.Metrics.Flush()
			return fmt.Errorf("%s iteration %d: %w", r.Stage, step, err)
		}
		if (step+1)%r.LogEvery == 0 || step == r.Steps-1 {
			ips := 0.0
			if dt := time.Since(lastLog).Seconds(); dt > 0 {
				ips = float64((step+1-lastStep)*r.ImagesPerStep) / dt
			}
			lastLog, lastStep = time.Now(), step+1
			for _, row := range rows {
				row[rundir.KeyStage] = r.Stage
				row[rundir.KeyWall] = wall()
				row[rundir.KeyImagesPerS] = ips
				if r.EpochSize > 0 {
					row[rundir.KeyEpoch] = (step + 1) * r.ImagesPerStep / r.EpochSize
				}
			}
			if err := r.Metrics.Write(rows...); err != nil {
				return err
			}
			if r.OnLog != nil {
				r.OnLog(step, rows)
			}
		}
		if r.CheckpointEvery > 0 && (step+1)%r.CheckpointEvery == 0 && step+1 < r.Steps {
			if err := r.checkpoint(step+1, false, wall()); err != nil {
				return err
			}
		}
	}
	return r.checkpoint(r.Steps, true, wall())
}

// checkpoint writes the tensors of iteration step and their checksums into
// a new step folder, with its record; then atomically points latest.json at
// it; then removes all but the newest keepCheckpoints folders. A crash at
// any moment leaves the previous checkpoint intact, and a failed write
// leaves no partial folder behind.
func (r *Runner) checkpoint(step int, done bool, wall float64) (err error) {
	size, err := r.Metrics.Flush()
	if err != nil {
		return err
	}
	base := rundir.CheckpointDir(r.Dir, r.Stage)
	name := rundir.StepDir(step)
	dir := filepath.Join(base, name)
	if err := os.RemoveAll(dir); err != nil { // a folder left by an earlier attempt
		return fmt.Errorf("games: checkpoint: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("games: checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	c := rundir.Checkpoint{Stage: r.Stage, Step: step, Done: done, Dir: name, MetricsBytes: size, WallSeconds: wall,
		Players: map[string]rundir.PlayerState{}, Time: time.Now().UTC().Format(time.RFC3339), Files: map[string]string{}}
	files := []string{"params.safetensors"}
	meta := map[string]string{"stage": r.Stage, "step": fmt.Sprint(step)}
	if err := r.Game.Params().Save(filepath.Join(dir, files[0]), meta); err != nil {
		return fmt.Errorf("games: checkpoint: %w", err)
	}
	for _, p := range r.Game.Players() {
		f := optimizerFile(p)
		if err := nn.SaveOptimizer(filepath.Join(dir, f), p.Opt); err != nil {
			return fmt.Errorf("games: checkpoint: %w", err)
		}
		files = append(files, f)
		c.Players[p.Name] = p.State()
	}
	if sg, ok := r.Game.(StatefulGame); ok {
		more, err := sg.SaveState(dir)
		if err != nil {
			return fmt.Errorf("games: checkpoint: %w", err)
		}
		files = append(files, more...)
	}
	for _, f := range files {
		if c.Files[f], err = rundir.HashFile(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("games: checkpoint: %w", err)
		}
	}
	if c.Feed, err = r.Feed.State(); err != nil {
		return fmt.Errorf("games: checkpoint: %w", err)
	}
	if err := rundir.WriteRecordIn(dir, c); err != nil {
		return fmt.Errorf("games: checkpoint: %w", err)
	}
	if err := rundir.WriteRecord(r.Dir, c); err != nil {
		return fmt.Errorf("games: checkpoint: %w", err)
	}
	pruneCheckpoints(base, keepCheckpoints)
	return nil
}

// pruneCheckpoints removes all but the newest keep step folders of a stage.
func pruneCheckpoints(base string, keep int) {
	entries, _ := os.ReadDir(base)
	var steps []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "step-") {
			steps = append(steps, e.Name())
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(steps)))
	for i, s := range steps {
		if i >= keep {
			os.RemoveAll(filepath.Join(base, s))
		}
	}
}
