package sweep

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/learnviews/learnviews/rundir"
)

// InvocationsFile records each local execution of a sweep, one JSON line
// each, for the wall times in its report.
const InvocationsFile = "invocations.jsonl"

// Invocation records one local execution of a sweep.
type Invocation struct {
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

// Pool runs a sweep's tasks on this machine, Jobs at a time, each in a
// child process with Threads threads (GOMAXPROCS) and its output in
// DIR/logs/task-<i>.log.
type Pool struct {
	Jobs, Threads int
	// Command returns the child's command line for task i of the sweep in
	// dir (the program that runs one task, such as learnviews run --sweep
	// DIR --sweep-point I).
	Command func(dir string, i int) []string
	// Log, if set, receives one line per event.
	Log func(format string, args ...any)
}

// PoolSize resolves the pool's size: by default a quarter of the cores run
// at once, and each run gets an equal share of the cores.
func PoolSize(jobs, threads int) (int, int) {
	n := runtime.NumCPU()
	if jobs <= 0 {
		jobs = max(1, n/4)
	}
	if threads <= 0 {
		threads = max(1, n/jobs)
	}
	return jobs, threads
}

func (p *Pool) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log(format, args...)
	}
}

// Run runs the sweep's unfinished tasks. On an interrupt it stops starting
// tasks and passes the interrupt on to the running ones, which checkpoint
// and exit.
func (p *Pool) Run(ctx context.Context, dir string, plan *Plan) error {
	var todo []Task
	for _, t := range plan.Tasks {
		r, err := ReadResult(filepath.Join(dir, t.Dir))
		if err != nil {
			return err
		}
		if r == nil {
			todo = append(todo, t)
		}
	}
	finishedBefore := len(plan.Tasks) - len(todo)
	p.logf("sweep %s: profile %s, %d points × %d seeds = %d runs; %d finished earlier, %d to run with %d jobs of %d threads",
		dir, plan.Profile, len(plan.Points), len(plan.Seeds), len(plan.Tasks), finishedBefore, len(todo), p.Jobs, p.Threads)
	if len(todo) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return err
	}
	start := time.Now()
	queue := make(chan Task)
	var mu sync.Mutex
	done, finished := 0, 0
	var failed []string
	var wg sync.WaitGroup
	for w := 0; w < min(p.Jobs, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The children's parent-death signal follows this thread.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for t := range queue {
				res, err := p.runChild(ctx, dir, t)
				mu.Lock()
				done++
				label := fmt.Sprintf("[%d/%d] task %d (%s, seed %d)", done, len(todo), t.Index, plan.Points[t.Point].Label, t.Seed)
				switch {
				case err != nil && ctx.Err() != nil:
					p.logf("%s stopped: %v", label, err)
				case err != nil:
					failed = append(failed, fmt.Sprintf("task %d (logs/task-%04d.log)", t.Index, t.Index))
					p.logf("%s failed: %v", label, err)
				default:
					finished++
					p.logf("%s: %s", label, res.Summary())
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
	inv := Invocation{Start: start.UTC().Format(time.RFC3339), WallS: time.Since(start).Seconds(), Jobs: p.Jobs, Threads: p.Threads,
		Ran: done, Finished: finished, Failed: len(failed), Host: host, CPUs: runtime.NumCPU()}
	appendJSONL(filepath.Join(dir, InvocationsFile), inv)
	p.logf("sweep %s: %d of %d runs finished in %s", dir, finishedBefore+finished, len(plan.Tasks), time.Since(start).Round(time.Second))
	if ctx.Err() != nil {
		return fmt.Errorf("sweep stopped: %w; continue with: learnviews sweep --resume %s", ctx.Err(), dir)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d runs failed: %s (in %s); rerun the sweep to retry them", len(failed), strings.Join(failed, ", "), dir)
	}
	return nil
}

// runChild runs one task in a child process and returns its result.
func (p *Pool) runChild(ctx context.Context, dir string, t Task) (*Result, error) {
	logPath := filepath.Join(dir, "logs", fmt.Sprintf("task-%04d.log", t.Index))
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	argv := p.Command(dir, t.Index)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(p.Threads))
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
	r, err := ReadResult(filepath.Join(dir, t.Dir))
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

// ParseTaskIndex reads a task index: a number, or "env" for the index a
// cluster gives the job (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX).
func ParseTaskIndex(s string) (int, error) {
	if s == "env" {
		for _, name := range []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"} {
			if v := os.Getenv(name); v != "" {
				i, err := strconv.Atoi(v)
				if err != nil || i < 0 {
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

// LockTask takes the lock of task i of the sweep in dir, so that no two
// processes (a local pool and a cluster job, say) run one task at once.
func LockTask(dir string, i int) (unlock func(), err error) {
	unlock, err = rundir.Lock(filepath.Join(dir, "locks", fmt.Sprintf("%04d.lock", i)), 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("task %d: %w", i, err)
	}
	return unlock, nil
}
