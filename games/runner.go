package games

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/learnviews/learnviews/nn"
)

// ErrInterrupted is returned by Run when its context was cancelled; the run
// wrote a checkpoint first and can be resumed.
var ErrInterrupted = errors.New("interrupted")

// Runner drives a game for a number of iterations, writing metrics rows,
// checkpointing every CheckpointEvery iterations and at the end, and
// resuming from the last checkpoint of its stage.
type Runner struct {
	Game            *Game
	Feed            Feed
	Metrics         *Metrics
	Dir             string // run directory
	Stage           string // names the stage in metrics rows and checkpoints
	Steps           int
	LogEvery        int
	CheckpointEvery int
	ImagesPerStep   int // for images/s
	EpochSize       int // images per epoch, for the epoch column; 0 leaves it out
	// OnLog, if set, sees every logged set of rows (progress output).
	OnLog func(step int, rows []Row)

	start    int
	wallBase float64
}

// Checkpoint records where a stage stopped.
type Checkpoint struct {
	Stage        string                 `json:"stage"`
	Step         int                    `json:"step"` // iterations done
	Done         bool                   `json:"done"`
	Dir          string                 `json:"dir"` // folder of the tensors, relative to the stage folder
	MetricsBytes int64                  `json:"metrics_bytes"`
	WallSeconds  float64                `json:"wall_s"`
	Players      map[string]PlayerState `json:"players"`
	Feed         json.RawMessage        `json:"feed"`
	Time         string                 `json:"time"`
}

// CheckpointDir is the folder that holds a stage's checkpoints.
func CheckpointDir(runDir, stage string) string {
	return filepath.Join(runDir, "checkpoint", stage)
}

// ReadCheckpoint returns a stage's latest checkpoint, or nil if there is
// none.
func ReadCheckpoint(runDir, stage string) (*Checkpoint, error) {
	path := filepath.Join(CheckpointDir(runDir, stage), "latest.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("games: %w", err)
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("games: %s is not a valid checkpoint record: %w", path, err)
	}
	return &c, nil
}

// Resume loads the stage's latest checkpoint, if any, into the game, the
// players and the feed, and returns it (nil when starting afresh).
func (r *Runner) Resume() (*Checkpoint, error) {
	c, err := ReadCheckpoint(r.Dir, r.Stage)
	if err != nil || c == nil {
		return nil, err
	}
	dir := filepath.Join(CheckpointDir(r.Dir, r.Stage), c.Dir)
	if _, err := r.Game.Params().Load(filepath.Join(dir, "params.safetensors")); err != nil {
		return nil, fmt.Errorf("games: resuming %s: %w", r.Stage, err)
	}
	for _, p := range r.Game.Players() {
		if err := nn.LoadOptimizer(filepath.Join(dir, "optim-"+p.Name+".safetensors"), p.Opt); err != nil {
			return nil, fmt.Errorf("games: resuming %s: %w", r.Stage, err)
		}
		st, ok := c.Players[p.Name]
		if !ok {
			return nil, fmt.Errorf("games: resuming %s: the checkpoint has no state for player %s", r.Stage, p.Name)
		}
		p.Restore(st)
	}
	if err := r.Feed.Restore(c.Feed); err != nil {
		return nil, fmt.Errorf("games: resuming %s: %w", r.Stage, err)
	}
	r.start, r.wallBase = c.Step, c.WallSeconds
	return c, nil
}

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
				row["stage"] = r.Stage
				row["wall_s"] = wall()
				row["images_per_s"] = ips
				if r.EpochSize > 0 {
					row["epoch"] = (step + 1) * r.ImagesPerStep / r.EpochSize
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

// checkpoint writes the tensors of iteration step into a new folder, then
// atomically points latest.json at it, then removes older folders. A crash
// at any moment leaves the previous checkpoint intact.
func (r *Runner) checkpoint(step int, done bool, wall float64) error {
	size, err := r.Metrics.Flush()
	if err != nil {
		return err
	}
	base := CheckpointDir(r.Dir, r.Stage)
	name := fmt.Sprintf("step-%08d", step)
	dir := filepath.Join(base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("games: checkpoint: %w", err)
	}
	meta := map[string]string{"stage": r.Stage, "step": fmt.Sprint(step)}
	if err := r.Game.Params().Save(filepath.Join(dir, "params.safetensors"), meta); err != nil {
		return fmt.Errorf("games: checkpoint: %w", err)
	}
	c := Checkpoint{Stage: r.Stage, Step: step, Done: done, Dir: name, MetricsBytes: size, WallSeconds: wall,
		Players: map[string]PlayerState{}, Time: time.Now().UTC().Format(time.RFC3339)}
	for _, p := range r.Game.Players() {
		if err := nn.SaveOptimizer(filepath.Join(dir, "optim-"+p.Name+".safetensors"), p.Opt); err != nil {
			return fmt.Errorf("games: checkpoint: %w", err)
		}
		c.Players[p.Name] = p.State()
	}
	if c.Feed, err = r.Feed.State(); err != nil {
		return fmt.Errorf("games: checkpoint: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := nn.WriteFileAtomic(filepath.Join(base, "latest.json"), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return fmt.Errorf("games: checkpoint: %w", err)
	}
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		if e.IsDir() && e.Name() != name {
			os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
	return nil
}
