package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/nn"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
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

func (f *configFlags) load() (config.Config, error) {
	return config.Load(config.Sources{Profile: f.profile, File: f.file, Env: os.Environ(), Set: f.set})
}

func newRunCmd() *cobra.Command {
	var cf configFlags
	var out, resume, sweepDir, sweepPoint string
	var quiet, noReport bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a profile: view learning, stage 2, evaluation and the report",
		Long: `Run a profile end to end. The run directory (--out, default runs/<time>-<profile>)
gets config.yaml, manifest.json, metrics.jsonl, checkpoints, the learned
generator, figures/ and report.html.

Settings resolve from the profile's defaults, --config FILE, LEARNVIEWS_*
environment variables (LEARNVIEWS_GAME_STEPS=500) and --set key=value, in
increasing precedence. Ctrl-C writes a checkpoint and exits; a run stopped in
any way continues with: learnviews run --resume DIR`,
		Example: `  learnviews run                                   # the quick profile
  learnviews run --profile fashion-photos-semisup --set game.steps=500
  learnviews run --resume runs/20261126-101500-quick`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sweepDir != "" || sweepPoint != "" {
				return runSweepPoint(cmd, sweepDir, sweepPoint, quiet, cf, out, resume)
			}
			var cfg config.Config
			var err error
			dir := out
			if resume != "" {
				if cmd.Flags().Changed("profile") || cf.file != "" || len(cf.set) > 0 {
					return fmt.Errorf("--resume takes the settings of the run it resumes; drop --profile, --config and --set")
				}
				dir = resume
				if cfg, err = config.Load(config.Sources{File: filepath.Join(dir, "config.yaml")}); err != nil {
					return fmt.Errorf("resuming %s: %w", dir, err)
				}
				// The stored file is fully resolved; its profile key names
				// the profile it came from.
				if cfg, err = config.Load(config.Sources{Profile: cfg.Profile, File: filepath.Join(dir, "config.yaml")}); err != nil {
					return fmt.Errorf("resuming %s: %w", dir, err)
				}
			} else {
				if cfg, err = cf.load(); err != nil {
					return err
				}
				if dir == "" {
					dir = filepath.Join("runs", time.Now().Format("20060102-150405")+"-"+cfg.Profile)
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runExperiment(ctx, cfg, dir, resume != "", newLogger(cmd.ErrOrStderr(), quiet), !noReport)
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

// runExperiment runs (or resumes) cfg in dir.
func runExperiment(ctx context.Context, cfg config.Config, dir string, resuming bool, log *logger, report bool) error {
	if !resuming {
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return fmt.Errorf("run directory %s is not empty: choose another --out, or continue it with --resume %s", dir, dir)
		}
	} else if _, err := os.Stat(filepath.Join(dir, "config.yaml")); err != nil {
		return fmt.Errorf("cannot resume %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !resuming {
		b, err := cfg.YAML()
		if err != nil {
			return err
		}
		if err := nn.WriteFileAtomic(filepath.Join(dir, "config.yaml"), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return err
		}
		if err := writeManifest(dir, cfg); err != nil {
			return err
		}
	}
	size, err := lastMetricsBytes(dir)
	if err != nil {
		return err
	}
	if !resuming {
		size = 0
	}
	m, err := games.OpenMetrics(dir, size)
	if err != nil {
		return err
	}
	defer m.Close()
	dev, err := nn.SelectDevice(cfg.Device)
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	log.Printf("run %s: profile %s, seed %d, device %s, output in %s", filepath.Base(dir), cfg.Profile, cfg.Seed, dev, dir)
	e, err := newExperiment(cfg, dir, log)
	if err != nil {
		return err
	}
	e.metrics = m
	if err := e.run(ctx); err != nil {
		if errors.Is(err, games.ErrInterrupted) {
			m.Flush()
			return fmt.Errorf("%w; continue with: learnviews run --resume %s", err, dir)
		}
		return err
	}
	if _, err := m.Flush(); err != nil {
		return err
	}
	if report {
		path, err := writeReport(dir, e.results)
		if err != nil {
			return err
		}
		log.Printf("report: %s", path)
	}
	return nil
}

// writeManifest records what a run needs to be reproduced: the resolved
// configuration, seeds, code version and machine.
func writeManifest(dir string, cfg config.Config) error {
	b, err := cfg.YAML()
	if err != nil {
		return err
	}
	var asMap map[string]any
	if err := yaml.Unmarshal(b, &asMap); err != nil {
		return err
	}
	host, _ := os.Hostname()
	man := map[string]any{
		"config":     asMap,
		"seeds":      map[string]any{"seed": cfg.Seed},
		"git_commit": gitCommit(),
		"go_version": runtime.Version(),
		"host":       host,
		"os_arch":    runtime.GOOS + "/" + runtime.GOARCH,
		"cpus":       runtime.NumCPU(),
		"start_time": time.Now().UTC().Format(time.RFC3339),
		"command":    strings.Join(os.Args, " "),
		"profile":    cfg.Profile,
	}
	out, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return nn.WriteFileAtomic(filepath.Join(dir, "manifest.json"), func(w io.Writer) error { _, err := w.Write(out); return err })
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		commit += "-dirty"
	}
	return commit
}
