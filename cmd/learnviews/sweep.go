package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/sweep"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
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
		_, err := writeSweepOutputs(f.collect, out)
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
			return fmt.Errorf("name a sweep profile with --profile (sweep profiles: %s), or continue one with --resume DIR", strings.Join(sweepProfiles(), ", "))
		}
		var configs [][]byte
		if plan, configs, err = planSweep(f.cf); err != nil {
			return err
		}
		dir = f.out
		if dir == "" {
			dir = filepath.Join("runs", time.Now().Format("20060102-150405")+"-"+plan.Profile)
		}
		if plan, err = writePlan(dir, plan, configs); err != nil {
			return err
		}
	}
	if f.emit.kind != "" {
		return emitJobs(dir, plan, f.emit, out)
	}
	if f.dryRun {
		return listTasks(out, dir, plan)
	}
	jobs, threads := poolSize(f.jobs, f.threads)
	runErr := runPool(ctx, dir, plan, jobs, threads, log)
	if _, err := writeSweepOutputs(dir, out); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

// poolSize resolves --jobs and --threads: by default a quarter of the
// cores run at once, and each run gets an equal share of the cores.
func poolSize(jobs, threads int) (int, int) {
	n := runtime.NumCPU()
	if jobs <= 0 {
		jobs = max(1, n/4)
	}
	if threads <= 0 {
		threads = max(1, n/jobs)
	}
	return jobs, threads
}

// sweepProfiles lists the embedded profiles that are sweeps.
func sweepProfiles() []string {
	ps, _ := config.Profiles()
	var out []string
	for _, p := range ps {
		if c, err := config.Load(config.Sources{Profile: p.Name}); err == nil && c.Sweep.IsSweep() {
			out = append(out, p.Name)
		}
	}
	return out
}

// planSweep resolves the sweep profile and the configuration of every
// task: the profile, --config, the environment, --set, then the point's
// settings and its seed.
func planSweep(cf configFlags) (*sweep.Plan, [][]byte, error) {
	base, err := cf.load()
	if err != nil {
		return nil, nil, err
	}
	if !base.Sweep.IsSweep() {
		return nil, nil, fmt.Errorf("profile %s is not a sweep: it has no sweep.axes or sweep.points (sweep profiles: %s)", base.Profile, strings.Join(sweepProfiles(), ", "))
	}
	expanded := base.Sweep.Expand()
	varied := map[string]bool{}
	for _, p := range expanded {
		for _, kv := range p.Set {
			k, _, _ := strings.Cut(kv, "=")
			varied[strings.TrimSpace(k)] = true
		}
	}
	for _, kv := range cf.set {
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
	plan.Set, plan.Scale, plan.Title, plan.Table, plan.Stage, plan.Join = cf.set, base.Scale, base.Sweep.Title, base.Sweep.Table, base.Sweep.Stage, base.Sweep.Join
	plan.Created = time.Now().UTC().Format(time.RFC3339)
	configs := make([][]byte, len(plan.Tasks))
	for i, t := range plan.Tasks {
		set := append(append(append([]string{}, cf.set...), plan.Points[t.Point].Set...), fmt.Sprintf("seed=%d", t.Seed))
		c, err := config.Load(config.Sources{Profile: cf.profile, File: cf.file, Env: os.Environ(), Set: set})
		if err != nil {
			return nil, nil, fmt.Errorf("sweep %s, point %d (%s): %w", base.Profile, t.Point, plan.Points[t.Point].Label, err)
		}
		if configs[i], err = c.YAML(); err != nil {
			return nil, nil, err
		}
	}
	return plan, configs, nil
}

// writePlan writes the plan and the task configurations into dir; a dir
// that holds a plan already must hold the same tasks with the same
// settings, and keeps its plan.
func writePlan(dir string, plan *sweep.Plan, configs [][]byte) (*sweep.Plan, error) {
	if old, err := sweep.ReadPlan(dir); err == nil {
		if d := old.SameTasks(plan); d != "" {
			return nil, fmt.Errorf("%s holds a sweep planned otherwise (%s): continue it as planned with learnviews sweep --resume %s, or choose another --out", dir, d, dir)
		}
		for i, t := range old.Tasks {
			b, err := os.ReadFile(filepath.Join(dir, t.Config))
			if err != nil {
				return nil, err
			}
			if d := yamlDiff(b, configs[i]); d != "" {
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
		b := configs[i]
		if err := nn.WriteFileAtomic(filepath.Join(dir, t.Config), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return nil, err
		}
	}
	// The plan goes last: its presence says that the tasks are all there.
	err := nn.WriteFileAtomic(filepath.Join(dir, sweep.PlanFile), plan.Encode)
	return plan, err
}

// yamlDiff names the first key whose value differs between two resolved
// configurations, or returns "".
func yamlDiff(a, b []byte) string {
	var ma, mb map[string]any
	if yaml.Unmarshal(a, &ma) != nil || yaml.Unmarshal(b, &mb) != nil {
		if bytes.Equal(a, b) {
			return ""
		}
		return "another configuration"
	}
	fa, fb := flattenMap(ma, ""), flattenMap(mb, "")
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if !reflect.DeepEqual(fa[k], fb[k]) {
			return fmt.Sprintf("%s = %v (now %v)", k, fa[k], fb[k])
		}
	}
	return ""
}

func flattenMap(m map[string]any, prefix string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			for kk, vv := range flattenMap(sub, key) {
				out[kk] = vv
			}
			continue
		}
		out[key] = v
	}
	return out
}

// listTasks prints the plan's tasks and whether each has finished.
func listTasks(w io.Writer, dir string, plan *sweep.Plan) error {
	fmt.Fprintf(w, "sweep %s (profile %s, scale %s): %d points × %d seeds = %d runs\n", dir, plan.Profile, plan.Scale, len(plan.Points), len(plan.Seeds), len(plan.Tasks))
	for _, t := range plan.Tasks {
		state := "to run"
		if r, err := sweep.ReadResult(filepath.Join(dir, t.Dir)); err != nil {
			return err
		} else if r != nil {
			state = "finished: " + summary(r)
		} else if _, err := os.Stat(filepath.Join(dir, t.Dir, "config.yaml")); err == nil {
			state = "started"
		}
		fmt.Fprintf(w, "%4d  %-40s seed %-3d %s  [%s]\n", t.Index, plan.Points[t.Point].Label, t.Seed, t.Dir, state)
	}
	return nil
}

// invocation records one local execution of a sweep (for wall times).
type invocation struct {
	Start    string  `json:"start"`
	WallS    float64 `json:"wall_s"`
	Jobs     int     `json:"jobs"`
	Threads  int     `json:"threads"`
	Ran      int     `json:"ran"`
	Finished int     `json:"finished"`
	Failed   int     `json:"failed"`
	Host     string  `json:"host"`
	CPUs     int     `json:"cpus"`
}

// runPool runs the sweep's unfinished tasks, jobs at a time, each in a
// child process (learnviews run --sweep DIR --sweep-point I) with threads
// threads and its output in DIR/logs/task-<i>.log. On an interrupt it
// stops starting tasks and passes the interrupt on to the running ones,
// which checkpoint and exit.
func runPool(ctx context.Context, dir string, plan *sweep.Plan, jobs, threads int, log *logger) error {
	var todo []sweep.Task
	for _, t := range plan.Tasks {
		r, err := sweep.ReadResult(filepath.Join(dir, t.Dir))
		if err != nil {
			return err
		}
		if r == nil {
			todo = append(todo, t)
		}
	}
	finishedBefore := len(plan.Tasks) - len(todo)
	log.Printf("sweep %s: profile %s, %d points × %d seeds = %d runs; %d finished earlier, %d to run with %d jobs of %d threads",
		dir, plan.Profile, len(plan.Points), len(plan.Seeds), len(plan.Tasks), finishedBefore, len(todo), jobs, threads)
	if len(todo) == 0 {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this executable to run the tasks: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return err
	}
	start := time.Now()
	queue := make(chan sweep.Task)
	var mu sync.Mutex
	done, finished := 0, 0
	var failed []string
	var wg sync.WaitGroup
	for w := 0; w < min(jobs, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The children's parent-death signal follows this thread.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for t := range queue {
				res, err := runChild(ctx, exe, dir, t, threads)
				mu.Lock()
				done++
				label := fmt.Sprintf("[%d/%d] task %d (%s, seed %d)", done, len(todo), t.Index, plan.Points[t.Point].Label, t.Seed)
				switch {
				case err != nil && ctx.Err() != nil:
					log.Printf("%s stopped: %v", label, err)
				case err != nil:
					failed = append(failed, fmt.Sprintf("task %d (logs/task-%04d.log)", t.Index, t.Index))
					log.Printf("%s failed: %v", label, err)
				default:
					finished++
					log.Printf("%s: %s", label, summary(res))
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, t := range todo {
		select {
		case queue <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	host, _ := os.Hostname()
	inv := invocation{Start: start.UTC().Format(time.RFC3339), WallS: time.Since(start).Seconds(), Jobs: jobs, Threads: threads,
		Ran: done, Finished: finished, Failed: len(failed), Host: host, CPUs: runtime.NumCPU()}
	appendJSONL(filepath.Join(dir, "invocations.jsonl"), inv)
	log.Printf("sweep %s: %d of %d runs finished in %s", dir, finishedBefore+finished, len(plan.Tasks), time.Since(start).Round(time.Second))
	if ctx.Err() != nil {
		return fmt.Errorf("sweep stopped: %w; continue with: learnviews sweep --resume %s", ctx.Err(), dir)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d runs failed: %s (in %s); rerun the sweep to retry them", len(failed), strings.Join(failed, ", "), dir)
	}
	return nil
}

// runChild runs one task in a child process and returns its result.
func runChild(ctx context.Context, exe, dir string, t sweep.Task, threads int) (*sweep.Result, error) {
	logPath := filepath.Join(dir, "logs", fmt.Sprintf("task-%04d.log", t.Index))
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	cmd := exec.Command(exe, "run", "--sweep", dir, "--sweep-point", strconv.Itoa(t.Index))
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(threads))
	cmd.Stdout, cmd.Stderr = lf, lf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		cmd.Process.Signal(os.Interrupt)
		err = <-waited
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, lastLine(logPath))
	}
	r, err := sweep.ReadResult(filepath.Join(dir, t.Dir))
	if err == nil && r == nil {
		err = fmt.Errorf("it exited without a result: see %s", logPath)
	}
	return r, err
}

// lastLine returns the last non-empty line of a file.
func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	last := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			last = s
		}
	}
	return last
}

func appendJSONL(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(b, '\n'))
	return err
}
