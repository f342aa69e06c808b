package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/sweep"
)

// tinySweep shrinks a fixed-view sweep profile so that each run takes
// seconds; one thread per run keeps the numbers reproducible.
var tinySweep = []string{
	"scale=small", "data.size=16", "data.train=600", "data.test=200", "data.labelled=200",
	"game.steps=12", "game.batch=32", "eval.train_images=200", "eval.test_images=200",
	"eval.probe_epochs=5", "eval.knn_k=10", "run.log_every=1", "run.checkpoint_every=4",
}

// cropAxis is a crop-scale axis with n values.
func cropAxis(n int) string {
	var vals, labels []string
	for i := 0; i < n; i++ {
		s := []string{"0.2", "0.6", "1"}[i]
		vals = append(vals, fmt.Sprintf("%q", "rgb:0,1,2|0,1,2+crop="+s))
		labels = append(labels, "c"+s)
	}
	return fmt.Sprintf("sweep.axes=[{key: views.spec, values: [%s], labels: [%s]}]", strings.Join(vals, ", "), strings.Join(labels, ", "))
}

func sweepArgs(out string, extra ...string) []string {
	args := []string{"sweep", "--quiet", "--profile", "sweep-crop-scale", "--out", out, "--jobs", "1", "--threads", "1"}
	for _, s := range append(append([]string{}, tinySweep...), extra...) {
		args = append(args, "--set", s)
	}
	return args
}

// executeOut runs the command in-process and returns what it printed.
func executeOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	root.SetArgs(args)
	var buf bytes.Buffer
	root.SetOut(&buf)
	root.SetErr(&buf)
	err := root.ExecuteContext(context.Background())
	return buf.String(), err
}

// childEnv makes the worker processes of an in-process sweep (this test
// binary) run the command.
func childEnv(t *testing.T) {
	t.Setenv("GO_TEST_LEARNVIEWS_CHILD", "1")
}

func TestSweepRejectsBadUse(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no profile", []string{"sweep", "--out", t.TempDir()}, []string{"--profile", "sweep-colorspaces"}},
		{"not a sweep", []string{"sweep", "--profile", "quick", "--out", t.TempDir()}, []string{"profile quick is not a sweep", "table-cmnist"}},
		{"set the varied key", []string{"sweep", "--profile", "sweep-crop-scale", "--set", "views.spec=rgb", "--out", t.TempDir()}, []string{"--set views.spec=rgb", "varies views.spec"}},
		{"set the seed", []string{"sweep", "--profile", "sweep-crop-scale", "--set", "seed=3", "--out", t.TempDir()}, []string{"sweep.seeds"}},
		{"bad key", []string{"sweep", "--profile", "sweep-crop-scale", "--set", "game.stepz=3", "--out", t.TempDir()}, []string{`unknown key "game.stepz"`}},
		{"collect elsewhere", []string{"sweep", "--collect", empty}, []string{"not a sweep directory", "sweep.json"}},
		{"collect with settings", []string{"sweep", "--collect", empty, "--set", "game.steps=1"}, []string{"drop --out"}},
		{"resume with settings", []string{"sweep", "--resume", empty, "--profile", "sweep-crop-scale"}, []string{"drop --out"}},
		{"bad emit", []string{"sweep", "--profile", "sweep-crop-scale", "--out", t.TempDir(), "--emit", "pbs"}, []string{`--emit "pbs"`, "slurm or k8s"}},
		{"point without sweep", []string{"run", "--sweep-point", "1"}, []string{"go together"}},
		{"bad point", []string{"run", "--sweep", empty, "--sweep-point", "first"}, []string{`--sweep-point "first"`}},
		{"point of no sweep", []string{"run", "--sweep", empty, "--sweep-point", "0"}, []string{"not a sweep directory"}},
		{"point with settings", []string{"run", "--sweep", empty, "--sweep-point", "0", "--set", "game.steps=2"}, []string{"drop --out"}},
	}
	for _, tc := range tests {
		_, err := executeOut(t, tc.args...)
		require.Error(t, err, tc.name)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, tc.name)
		}
	}
	// A task index past the plan names the range.
	dir := filepath.Join(t.TempDir(), "s")
	_, err := executeOut(t, append(sweepArgs(dir, cropAxis(2), "sweep.seeds=[1]"), "--dry-run")...)
	require.NoError(t, err)
	_, err = executeOut(t, "run", "--sweep", dir, "--sweep-point", "7")
	assert.ErrorContains(t, err, "tasks 0 to 1")
	// The same directory with other settings is refused, naming the key.
	_, err = executeOut(t, append(sweepArgs(dir, cropAxis(2), "sweep.seeds=[1]", "game.steps=13"), "--dry-run")...)
	assert.ErrorContains(t, err, "game.steps = 12 (now 13)")
	_, err = executeOut(t, append(sweepArgs(dir, cropAxis(3), "sweep.seeds=[1]"), "--dry-run")...)
	assert.ErrorContains(t, err, "2 tasks, not 3")
	notEmpty := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(notEmpty, "x"), nil, 0o644))
	_, err = executeOut(t, "sweep", "--profile", "sweep-crop-scale", "--out", notEmpty, "--dry-run")
	assert.ErrorContains(t, err, "holds no sweep")
}

// results reads every result.json of a sweep: its bytes and modification
// time, by task.
func resultFiles(t *testing.T, dir string) map[int]string {
	t.Helper()
	plan, err := sweep.ReadPlan(dir)
	require.NoError(t, err)
	out := map[int]string{}
	for _, task := range plan.Tasks {
		p := filepath.Join(dir, task.Dir, sweep.ResultFile)
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		st, err := os.Stat(p)
		require.NoError(t, err)
		out[task.Index] = st.ModTime().String() + "\n" + string(b)
	}
	return out
}

// A sweep killed with SIGKILL part-way and started again runs the tasks
// that had not finished and no other, and gathers every point.
func TestSweepKilledAndRestartedRerunsNoFinishedPoint(t *testing.T) {
	needData(t)
	childEnv(t)
	dir := filepath.Join(t.TempDir(), "sweep")
	args := sweepArgs(dir, cropAxis(3), "sweep.seeds=[1]")
	child := exec.Command(os.Args[0], args...)
	require.NoError(t, child.Start())
	first := filepath.Join(dir, "points", "000-c0.2", "seed-1", sweep.ResultFile)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(first); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the first task never finished")
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	child.Wait()
	before := resultFiles(t, dir)
	require.NotEmpty(t, before)
	require.Less(t, len(before), 3, "the sweep was killed before its end")

	// Restarting with the same command continues the sweep.
	out, err := executeOut(t, args...)
	require.NoError(t, err, out)
	after := resultFiles(t, dir)
	assert.Len(t, after, 3, "every task finished")
	for task, v := range before {
		assert.Equal(t, v, after[task], "task %d finished before the kill and was not run again", task)
		log, err := os.ReadFile(filepath.Join(dir, "logs", fmt.Sprintf("task-%04d.log", task)))
		require.NoError(t, err)
		assert.Equal(t, 1, strings.Count(string(log), fmt.Sprintf("task %d of 3:", task)), "task %d started once", task)
	}
	invs, err := sweep.ReadInvocations(dir)
	require.NoError(t, err)
	require.NotEmpty(t, invs)
	assert.Equal(t, 3-len(before), invs[len(invs)-1].Ran, "the restart ran only the unfinished tasks")

	rows := readCSV(t, filepath.Join(dir, "table.csv"))
	require.Len(t, rows, 4)
	assert.Equal(t, []string{"c0.2", "c0.6", "c1"}, []string{rows[1][1], rows[2][1], rows[3][1]})
	for _, f := range []string{"table.jsonl", "runs.jsonl", "table.md", "report.html", "figures/reverse-u.png", "figures/reverse-u.svg"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}

	// A third start finds nothing to do.
	out, err = executeOut(t, "sweep", "--resume", dir, "--jobs", "1")
	require.NoError(t, err)
	assert.Equal(t, after, resultFiles(t, dir))
	assert.Contains(t, out, "| c0.6")
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		rows = append(rows, strings.Split(line, ","))
	}
	return rows
}

// The Slurm script that --emit slurm writes runs each array index as the
// local pool runs each task, and --collect gathers the same table.
func TestEmitSlurmAndCollectMatchLocalPool(t *testing.T) {
	needData(t)
	childEnv(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash runs the job script:", err)
	}
	extra := []string{cropAxis(2), "sweep.seeds=[1, 2]"}
	local := filepath.Join(t.TempDir(), "local")
	out, err := executeOut(t, sweepArgs(local, extra...)...)
	require.NoError(t, err, out)

	cluster := filepath.Join(t.TempDir(), "cluster")
	out, err = executeOut(t, append(sweepArgs(cluster, extra...), "--emit", "slurm", "--slurm-bin", os.Args[0], "--cpus-per-task", "1")...)
	require.NoError(t, err)
	script := filepath.Join(cluster, "slurm.sbatch")
	assert.Contains(t, out, "sbatch "+script)
	b, err := os.ReadFile(script)
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^#SBATCH --array=(\S+)$`).FindStringSubmatch(string(b))
	require.NotNil(t, m, "the script has an --array line:\n%s", b)
	indices, err := sweep.ParseArraySpec(m[1])
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2, 3}, indices)
	// Run the array as Slurm would: the script once per index.
	for _, i := range indices {
		cmd := exec.Command("bash", script)
		cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID="+strconv.Itoa(i), "SLURM_CPUS_PER_TASK=1")
		msg, err := cmd.CombinedOutput()
		require.NoError(t, err, "array index %d:\n%s", i, msg)
	}
	out, err = executeOut(t, "sweep", "--collect", cluster)
	require.NoError(t, err)
	assert.Contains(t, out, "| c0.2")
	want, err := os.ReadFile(filepath.Join(local, "table.csv"))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(cluster, "table.csv"))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "the cluster's table is the local pool's")
	assert.Contains(t, string(got), ",2,0,", "two seeds per point, none missing")

	// Emitting again finds nothing left to run; report redraws the sweep.
	_, err = executeOut(t, "sweep", "--resume", cluster, "--emit", "slurm")
	assert.ErrorContains(t, err, "has finished")
	out, err = executeOut(t, "report", cluster)
	require.NoError(t, err)
	assert.Contains(t, out, "report.html")

	// A Kubernetes Indexed Job for a fresh sweep: one index per task.
	k8s := filepath.Join(t.TempDir(), "k8s")
	_, err = executeOut(t, append(sweepArgs(k8s, extra...), "--emit", "k8s", "--k8s-image", "reg/learnviews:1")...)
	require.NoError(t, err)
	job, err := os.ReadFile(filepath.Join(k8s, "job.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(job), "completions: 4")
	assert.Contains(t, string(job), "image: reg/learnviews:1")
}

// table-cmnist runs its points (here two of them) and prints digit,
// background and localisation errors beside the paper's Table 4; the
// supervised baseline trains f1 with labels.
func TestTableCmnist(t *testing.T) {
	needData(t)
	childEnv(t)
	dir := filepath.Join(t.TempDir(), "table4")
	args := []string{"table-cmnist", "--quiet", "--out", dir, "--jobs", "1", "--threads", "1"}
	for _, s := range []string{"scale=small", "data.size=32", "data.train=600", "data.test=200", "data.labelled=200", "game.steps=12",
		"eval.train_images=200", "eval.test_images=200", "eval.probe_epochs=5", "eval.knn_k=10", "run.checkpoint_every=4", "run.log_every=1", "sweep.seeds=[1]",
		"sweep.points=[{label: digit, set: [data.factors=digit]}, {label: supervised, set: [game.kind=supervised]}]"} {
		args = append(args, "--set", s)
	}
	out, err := executeOut(t, args...)
	require.NoError(t, err, out)
	assert.Contains(t, out, "| shared factors | digit err %")
	assert.Regexp(t, `\| digit +\| [0-9.]+ +\| 16\.8 +\| [0-9.]+ +\| 88\.6 +\| [0-9.]+ +\| 13\.60 \|`, out)
	assert.Regexp(t, `\| supervised +\| [0-9.]+ +\| 3\.4 +\| [0-9.]+ +\| 45\.3 +\| [0-9.]+ +\| 0\.93 +\|`, out)
	r, err := sweep.ReadResult(filepath.Join(dir, "points", "001-supervised", "seed-1"))
	require.NoError(t, err)
	require.NotNil(t, r)
	assert.Equal(t, "supervised", r.Stage)
	assert.Nil(t, r.INCE, "the supervised baseline has no I_NCE")
	require.NotNil(t, r.BkgdAcc)
	require.NotNil(t, r.PosErr)
	assert.Greater(t, *r.PosErr, 0.0)
	rows := metricsRows(t, filepath.Join(dir, r.Dir))
	steps := 0
	for _, row := range rows {
		if row["stage"] == "supervised" && row["kind"] == "step" {
			steps++
			for _, k := range []string{"ce_digit", "ce_bkgd", "mse_pos", "acc_digit"} {
				assert.Contains(t, row, k)
			}
		}
	}
	assert.Equal(t, 12, steps)
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), "Table 4")
}

// The supervised baseline checkpoints and resumes like the other stages: a
// run killed in it ends with the metrics of a run never stopped.
func TestSupervisedKillAndResume(t *testing.T) {
	needData(t)
	args := func(dir string) []string {
		a := []string{"run", "--quiet", "--no-report", "--profile", "table-cmnist", "--out", dir}
		for _, s := range []string{"game.kind=supervised-encoder", "data.train=600", "data.test=200", "data.labelled=200", "game.steps=12",
			"eval.train_images=200", "eval.test_images=200", "eval.probe_epochs=5", "eval.knn_k=10", "run.log_every=1", "run.checkpoint_every=3"} {
			a = append(a, "--set", s)
		}
		return a
	}
	// One thread: the numbers of two processes agree to the last bit.
	child := func(args ...string) *exec.Cmd {
		c := exec.Command(os.Args[0], args...)
		c.Env = append(os.Environ(), "GO_TEST_LEARNVIEWS_CHILD=1", "GOMAXPROCS=1")
		return c
	}
	ref := filepath.Join(t.TempDir(), "ref")
	msg, err := child(args(ref)...).CombinedOutput()
	require.NoError(t, err, string(msg))
	want := metricsRows(t, ref)

	dir := filepath.Join(t.TempDir(), "killed")
	c := child(args(dir)...)
	require.NoError(t, c.Start())
	ck := filepath.Join(dir, "checkpoint", rundir.StageSupervisedEncoder, "latest.json")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(ck); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "no checkpoint of the supervised stage appeared")
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, c.Process.Signal(syscall.SIGKILL))
	c.Wait()
	msg, err = child("run", "--quiet", "--no-report", "--resume", dir).CombinedOutput()
	require.NoError(t, err, string(msg))
	assert.Equal(t, want, metricsRows(t, dir))
}
