package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/learnviews/learnviews/experiment"
	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/sweep"
)

// sweepFlags are the flags of the sweep command and the table commands.
type sweepFlags struct {
	cf            configFlags
	out, resume   string
	collect       string
	jobs, threads int
	dryRun, quiet bool
	emit          emitFlags
	fixedProfile  string
}

func newSweepCmd() *cobra.Command {
	return sweepCommand("sweep", "", "Run a sweep profile: a grid of runs over config keys, each over seeds, gathered into one table",
		`Run every point of a sweep profile (a grid over one or more keys, or explicit
points; see learnviews profiles) at every seed, each point a full run in its own
directory: training on the views the point defines, frozen features, linear
probe and kNN. The results are gathered into DIR/table.csv, DIR/table.jsonl
(one line per point: the keys' values, I_NCE at the end of training and the
accuracies, mean and standard deviation over seeds), DIR/runs.jsonl (one line
per run), DIR/table.md, the reverse-U figure DIR/figures/reverse-u.png
(downstream accuracy against I_NCE, one labelled point per setting, error bars
over seeds) and DIR/report.html.

Runs go to DIR/points/<i>-<label>/seed-<s>. A sweep is resumable: a finished
run is never run again, a stopped one resumes from its last checkpoint. Run
the same command again, or learnviews sweep --resume DIR.

Locally, runs execute in a pool of --jobs worker processes of --threads
threads each (by default a quarter of the cores, with the cores shared out).
--emit slurm writes a Slurm job-array script instead (one array index per run,
each calling learnviews run --sweep DIR --sweep-point I), --emit k8s a
Kubernetes Indexed Job; gather their results with learnviews sweep --collect DIR.

--set scale=small picks the profile's small scale (about ten minutes on 2 cores).`,
		`  learnviews sweep --profile sweep-crop-scale --set scale=small --out runs/crop
  learnviews sweep --resume runs/crop                  # continue a stopped sweep
  learnviews sweep --profile sweep-colorspaces --out /shared/cs --emit slurm
  sbatch /shared/cs/slurm.sbatch && learnviews sweep --collect /shared/cs`)
}

// sweepCommand builds the sweep command, or (with fixedProfile) a table
// command that runs one profile.
func sweepCommand(use, fixedProfile, short, long, example string) *cobra.Command {
	f := &sweepFlags{fixedProfile: fixedProfile}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return f.run(ctx, cmd)
		},
	}
	f.cf.register(cmd)
	if fixedProfile != "" {
		cmd.Flags().Lookup("profile").DefValue = fixedProfile
		f.cf.profile = fixedProfile
		cmd.Flags().MarkHidden("profile")
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "", "sweep directory (default runs/<time>-<profile>); the same --out again continues the sweep")
	fl.StringVar(&f.resume, "resume", "", "continue the sweep in this directory as it was planned")
	fl.StringVar(&f.collect, "collect", "", "gather the finished runs of the sweep in this directory into its table, figure and report")
	fl.IntVarP(&f.jobs, "jobs", "j", 0, "runs at once (default: a quarter of the cores, at least 1)")
	fl.IntVar(&f.threads, "threads", 0, "threads of each run (default: the cores shared out among the jobs)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "write the plan and list the runs without running them")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing but errors and the final table")
	f.emit.register(cmd)
	return cmd
}

func (f *sweepFlags) run(ctx context.Context, cmd *cobra.Command) error {
	out := cmd.OutOrStdout()
	log := newLogger(cmd.ErrOrStderr(), f.quiet)
	changed := cmd.Flags().Changed
	if f.collect != "" {
		if f.resume != "" || f.out != "" || len(f.cf.set) > 0 || f.cf.file != "" || changed("profile") {
			return fmt.Errorf("--collect reads the sweep's own plan; drop --out, --resume, --profile, --config and --set")
		}
		_, err := sweep.WriteOutputs(f.collect, out)
		return err
	}
	var dir string
	var plan *sweep.Plan
	var err error
	if f.resume != "" {
		if f.out != "" || len(f.cf.set) > 0 || f.cf.file != "" || changed("profile") {
			return fmt.Errorf("--resume takes the settings of the sweep it continues; drop --out, --profile, --config and --set")
		}
		dir = f.resume
		if plan, err = sweep.ReadPlan(dir); err != nil {
			return err
		}
	} else {
		if f.fixedProfile == "" && !changed("profile") && f.cf.file == "" {
			return fmt.Errorf("name a sweep profile with --profile (sweep profiles: %s), or continue one with --resume DIR", strings.Join(experiment.SweepProfiles(), ", "))
		}
		var configs [][]byte
		if plan, configs, err = experiment.PlanSweep(f.cf.sources()); err != nil {
			return err
		}
		dir = f.out
		if dir == "" {
			dir = filepath.Join("runs", time.Now().Format("20060102-150405")+"-"+plan.Profile)
		}
		if plan, err = experiment.WritePlan(dir, plan, configs); err != nil {
			return err
		}
	}
	if f.emit.kind != "" {
		return emitJobs(dir, plan, f.emit, out)
	}
	if f.dryRun {
		return listTasks(out, dir, plan)
	}
	jobs, threads := sweep.PoolSize(f.jobs, f.threads)
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this executable to run the tasks: %w", err)
	}
	pool := &sweep.Pool{Jobs: jobs, Threads: threads, Log: log.Printf, Command: func(dir string, i int) []string {
		return []string{exe, "run", "--sweep", dir, "--sweep-point", strconv.Itoa(i)}
	}}
	runErr := pool.Run(ctx, dir, plan)
	if _, err := sweep.WriteOutputs(dir, out); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

// listTasks prints the plan's tasks and whether each has finished.
func listTasks(w io.Writer, dir string, plan *sweep.Plan) error {
	fmt.Fprintf(w, "sweep %s (profile %s, scale %s): %d points × %d seeds = %d runs\n", dir, plan.Profile, plan.Scale, len(plan.Points), len(plan.Seeds), len(plan.Tasks))
	for _, t := range plan.Tasks {
		state := "to run"
		if r, err := sweep.ReadResult(filepath.Join(dir, t.Dir)); err != nil {
			return err
		} else if r != nil {
			state = "finished: " + r.Summary()
		} else if _, err := os.Stat(filepath.Join(dir, t.Dir, rundir.ConfigFile)); err == nil {
			state = "started"
		}
		fmt.Fprintf(w, "%4d  %-40s seed %-3d %s  [%s]\n", t.Index, plan.Points[t.Point].Label, t.Seed, t.Dir, state)
	}
	return nil
}
