package experiment

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/viewgen"
)

// Options are how a run reports what it does. The zero value runs silently
// and writes no report.
type Options struct {
	// Log, if set, receives one line per event (data opened, stage
	// resumed, evaluation results).
	Log func(format string, args ...any)
	// Progress, if set, is called when a stage starts training, with the
	// stage's length and the iterations done by earlier attempts; the
	// Progress it returns sees each logged iteration.
	Progress func(stage string, steps, done int) Progress
	// Report draws the figures and writes report.html at the end.
	Report bool
	// Resume continues the run in the directory from its checkpoints; a
	// new run needs a directory that does not exist or is empty.
	Resume bool
}

// Progress follows one stage's iterations.
type Progress interface {
	Update(step int, rows []rundir.Row)
	Finish()
}

// Experiment is one run of a configuration in a directory: view learning,
// stage 2, evaluation and the report, each resumable.
type Experiment struct {
	cfg      config.Config
	dir      string
	opt      Options
	dt       tensor.Dtype
	metrics  *rundir.Metrics
	data     *Data
	views    viewgen.Spec // fixed views
	gen      Generator    // the learned generator, once stage 1 has run
	prep     inputPrep    // what the generator reads
	evals    []rundir.Evaluation
	unlocked func()
	// The stages done so far in this attempt, in order, and the size of
	// metrics.jsonl that the last one's final record vouches for.
	visited []string
	mark    int64
}

// Run runs cfg in dir (or, with opt.Resume, continues the run there) and
// returns its evaluations. A run stopped by ctx returns an error wrapping
// games.ErrInterrupted after writing a checkpoint.
func Run(ctx context.Context, cfg config.Config, dir string, opt Options) ([]rundir.Evaluation, error) {
	e, err := Open(cfg, dir, opt)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return e.Run(ctx)
}

// Open validates cfg, opens the data, takes the run directory's lock and
// writes its configuration and manifest (a new run). Nothing is created
// when cfg is invalid or the data cannot be opened.
func Open(cfg config.Config, dir string, opt Options) (*Experiment, error) {
	if err := Validate(cfg); err != nil {
		return nil, err
	}
	e := &Experiment{cfg: cfg, dir: dir, opt: opt, dt: dtype(cfg)}
	e.views, _ = viewgen.ParseSpec(cfg.Views.Spec) // checked by Validate
	if opt.Resume {
		if _, err := os.Stat(filepath.Join(dir, rundir.ConfigFile)); err != nil {
			return nil, fmt.Errorf("cannot resume %s: %w", dir, err)
		}
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("run directory %s is not empty: choose another --out, or continue it with --resume %s", dir, dir)
	}
	// The data first: a missing or damaged data set makes no directory.
	var err error
	if e.data, err = OpenData(cfg); err != nil {
		return nil, err
	}
	if s := e.data.Train.Shape(); s.H != cfg.Data.Size || s.W != cfg.Data.Size {
		// Fixed views of larger images are made at data.size too.
		e.views.Size = cfg.Data.Size
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := rundir.LockRun(dir)
	if err != nil {
		return nil, fmt.Errorf("run directory %s: %w", dir, err)
	}
	e.unlocked = unlock
	if err := e.open(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Experiment) open() error {
	keep := int64(0)
	if e.opt.Resume {
		var err error
		if keep, err = rundir.MetricsBytes(e.dir); err != nil {
			return fmt.Errorf("resuming %s: %w", e.dir, err)
		}
		// A damaged manifest would fail only at the report: say so now.
		man := filepath.Join(e.dir, rundir.ManifestFile)
		if _, err := os.Stat(man); err == nil {
			if _, err := rundir.ReadManifest(man); err != nil {
				return fmt.Errorf("resuming %s: %w (restore it, or remove it to go on without)", e.dir, err)
			}
		}
	} else {
		// The lock file is the only thing there: no other process got in.
		entries, _ := os.ReadDir(e.dir)
		for _, en := range entries {
			if en.Name() != rundir.LockFileName {
				return fmt.Errorf("run directory %s is not empty: choose another --out, or continue it with --resume %s", e.dir, e.dir)
			}
		}
		b, err := e.cfg.YAML()
		if err != nil {
			return err
		}
		if err := rundir.WriteBytesAtomic(filepath.Join(e.dir, rundir.ConfigFile), b); err != nil {
			return err
		}
		if err := writeManifest(e.dir, e.cfg); err != nil {
			return err
		}
	}
	m, err := rundir.OpenMetrics(e.dir, keep)
	if err != nil {
		return err
	}
	e.metrics = m
	dev, err := nn.SelectDevice(e.cfg.Device)
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	e.logf("run %s: profile %s, seed %d, device %s, output in %s", filepath.Base(e.dir), e.cfg.Profile, e.cfg.Seed, dev, e.dir)
	if m, err := EstimateMemory(e.cfg); err == nil {
		e.logf("memory: the run needs %s at its peak (live heap and arenas; resident memory may reach twice that where the machine has room)", m)
	}
	if s, err := EstimateIteration(e.cfg); err == nil {
		e.logf("time: about %.2g s per iteration of the first stage, %s for its %d iterations (estimated from the encoders' forward pass timed here)",
			s, time.Duration(s*float64(e.cfg.Game.Steps)*float64(time.Second)).Round(time.Second), e.cfg.Game.Steps)
	}
	d := e.data
	e.logf("data: %s, %d training images (%d labelled, %d in the unlabelled pool), %d test images, %v", e.cfg.Data.Name,
		d.Train.Len(), d.Labelled.Len(), d.Unlabelled.Len(), d.Test.Len(), d.Train.Shape())
	return nil
}

// Close flushes the metrics and lets go of the run directory.
func (e *Experiment) Close() error {
	var err error
	if e.metrics != nil {
		err = e.metrics.Close()
		e.metrics = nil
	}
	if e.unlocked != nil {
		e.unlocked()
		e.unlocked = nil
	}
	return err
}

// Dir returns the run directory.
func (e *Experiment) Dir() string { return e.dir }

// Data returns the run's data.
func (e *Experiment) Data() *Data { return e.data }

func (e *Experiment) logf(format string, args ...any) {
	if e.opt.Log != nil {
		e.opt.Log(format, args...)
	}
}

// Run executes every stage, skipping those an earlier attempt finished,
// then (with Options.Report) writes the report, and returns the
// evaluations.
func (e *Experiment) Run(ctx context.Context) ([]rundir.Evaluation, error) {
	if err := e.stages(ctx); err != nil {
		if errors.Is(err, games.ErrInterrupted) {
			e.metrics.Flush()
		}
		return e.evals, err
	}
	if _, err := e.metrics.Flush(); err != nil {
		return e.evals, err
	}
	if e.opt.Report {
		if err := ctx.Err(); err != nil {
			return e.evals, fmt.Errorf("before the report: %w", games.ErrInterrupted)
		}
		path, err := WriteReport(e.dir)
		if err != nil {
			return e.evals, err
		}
		e.logf("report: %s", path)
	}
	return e.evals, nil
}

func (e *Experiment) stages(ctx context.Context) error {
	c := e.cfg
	kind, err := games.Kinds.Lookup(c.Game.Kind)
	if err != nil {
		return err
	}
	switch {
	case kind.Trains == games.TrainsEncoder:
		est, err := e.trainSupervisedEncoder(ctx)
		if err != nil {
			return err
		}
		return e.evaluate(ctx, rundir.StageSupervisedEncoder, c.Game.Steps, est, nil, e.views)
	case !kind.Generator || c.Generator.Kind == config.NoGenerator:
		est, err := e.trainFixed(ctx, rundir.StageContrastive, e.views, c.Game.Steps, c.Game.Batch, c.Optim.LR)
		if err != nil {
			return err
		}
		if err := e.saveEncoders(rundir.StageContrastive, est, e.views, false); err != nil {
			return err
		}
		return e.evaluate(ctx, rundir.StageContrastive, c.Game.Steps, est, nil, e.views)
	}
	if err := e.learnViews(ctx, kind); err != nil {
		return err
	}
	if !c.Stage2.Enabled {
		return nil
	}
	est, err := e.trainOnGenerator(ctx)
	if err != nil {
		return err
	}
	if err := e.saveEncoders(rundir.StageStage2, est, e.views, true); err != nil {
		return err
	}
	if err := e.evaluate(ctx, rundir.StageStage2, c.Stage2.Steps, est, e.gen, e.views); err != nil {
		return err
	}
	if !c.Stage2.Raw {
		return nil
	}
	raw := e.views
	raw.Augment, _ = stage2Augs(c.Stage2.Augment) // checked by Validate
	est, err = e.trainFixed(ctx, rundir.StageStage2Raw, raw, c.Stage2.Steps, c.Stage2.Batch, c.Stage2.LR)
	if err != nil {
		return err
	}
	return e.evaluate(ctx, rundir.StageStage2Raw, c.Stage2.Steps, est, nil, e.views)
}
