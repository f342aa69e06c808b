package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/experiment"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/sweep"
)

// configFlags are the flags that choose a configuration.
type configFlags struct {
	profile string
	file    string
	set     []string
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.profile, "profile", "p", config.DefaultProfile, "embedded profile (see learnviews profiles)")
	cmd.Flags().StringVarP(&f.file, "config", "c", "", "YAML file of settings over the profile")
	cmd.Flags().StringArrayVar(&f.set, "set", nil, "key=value override, highest precedence (repeatable), e.g. --set game.steps=500")
}

func (f *configFlags) sources() config.Sources {
	return config.Sources{Profile: f.profile, File: f.file, Env: os.Environ(), Set: f.set}
}

func (f *configFlags) load() (config.Config, error) { return config.Load(f.sources()) }

func newRunCmd() *cobra.Command {
	var cf configFlags
	var out, resume, sweepDir, sweepPoint string
	var quiet, noReport bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a profile: view learning, stage 2, evaluation and the report",
		Long: `Run a profile end to end. The run directory (--out, default runs/<time>-<profile>)
gets config.yaml, manifest.json, metrics.jsonl, evaluations.json, checkpoints,
the learned generator, figures/ and report.html.

Settings resolve from the profile's defaults, --config FILE, LEARNVIEWS_*
environment variables (LEARNVIEWS_GAME_STEPS=500) and --set key=value, in
increasing precedence. Ctrl-C writes a checkpoint and exits (a second Ctrl-C
exits at once); a run stopped in any way continues with:
learnviews run --resume DIR`,
		Example: `  learnviews run                                   # the quick profile
  learnviews run --profile fashion-photos-semisup --set game.steps=500
  learnviews run --resume runs/20261126-101500-quick`,
		RunE: func(cmd *cobra.Command, args []string) error {
			log := newLogger(cmd.ErrOrStderr(), quiet)
			ctx, stop := interruptContext(cmd.Context(), log)
			defer stop()
			if sweepDir != "" || sweepPoint != "" {
				if out != "" || resume != "" || cf.file != "" || len(cf.set) > 0 || cmd.Flags().Changed("profile") {
					return fmt.Errorf("--sweep runs a task as its sweep planned it; drop --out, --resume, --profile, --config and --set")
				}
				return runSweepPoint(ctx, sweepDir, sweepPoint, log)
			}
			var cfg config.Config
			var err error
			dir := out
			if resume != "" {
				if cmd.Flags().Changed("profile") || cf.file != "" || len(cf.set) > 0 {
					return fmt.Errorf("--resume takes the settings of the run it resumes; drop --profile, --config and --set")
				}
				dir = resume
				if cfg, err = loadRunConfig(dir); err != nil {
					return err
				}
			} else {
				if cfg, err = cf.load(); err != nil {
					return err
				}
				if dir == "" {
					dir = filepath.Join("runs", time.Now().Format("20060102-150405")+"-"+cfg.Profile)
				}
			}
			for _, d := range cfg.Deprecations {
				log.Printf("warning: %s", d)
			}
			_, err = experiment.Run(ctx, cfg, dir, experiment.Options{Log: log.Printf, Progress: log.progress,
				Report: !noReport, Resume: resume != ""})
			if errors.Is(err, games.ErrInterrupted) {
				return fmt.Errorf("%w; continue with: learnviews run --resume %s", err, dir)
			}
			return err
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", "", "run directory (default runs/<time>-<profile>)")
	cmd.Flags().StringVar(&resume, "resume", "", "continue the run in this directory from its last checkpoint")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing but errors")
	cmd.Flags().BoolVar(&noReport, "no-report", false, "skip the figures and report.html at the end")
	cmd.Flags().StringVar(&sweepDir, "sweep", "", "run one task of the sweep in this directory (with --sweep-point)")
	cmd.Flags().StringVar(&sweepPoint, "sweep-point", "", "the task index to run, or env for SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX")
	return cmd
}

// loadRunConfig reads the configuration of the run in dir. The stored file
// is fully resolved; its profile key names the profile it came from.
func loadRunConfig(dir string) (config.Config, error) {
	file := filepath.Join(dir, rundir.ConfigFile)
	cfg, err := config.Load(config.Sources{File: file})
	if err == nil {
		cfg, err = config.Load(config.Sources{Profile: cfg.Profile, File: file})
	}
	if err != nil {
		return cfg, fmt.Errorf("resuming %s: %w", dir, err)
	}
	return cfg, nil
}

// runSweepPoint is learnviews run --sweep DIR --sweep-point I: one task of a
// sweep, as a worker of the local pool or an index of a cluster array runs it.
func runSweepPoint(ctx context.Context, dir, point string, log *logger) error {
	if dir == "" || point == "" {
		return fmt.Errorf("--sweep DIR and --sweep-point I go together")
	}
	i, err := sweep.ParseTaskIndex(point)
	if err != nil {
		return err
	}
	_, err = experiment.RunSweepTask(ctx, dir, i, experiment.Options{Log: log.Printf, Progress: log.progress})
	return err
}

// interruptContext is cancelled by the first SIGINT or SIGTERM, after which
// the work in progress checkpoints and stops; a second one exits at once.
func interruptContext(parent context.Context, log *logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sig:
			log.Printf("%v: stopping at the next checkpoint (again to exit at once)", s)
			cancel()
		case <-ctx.Done():
			return
		}
		if _, ok := <-sig; ok {
			fmt.Fprintln(os.Stderr, "learnviews: stopped at once; resume from the last checkpoint")
			os.Exit(130)
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(sig)
		cancel()
	}
}
