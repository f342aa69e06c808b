package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/datasets"
)

// TestMain lets a test run the real command in a child process (for kill -9).
func TestMain(m *testing.M) {
	if os.Getenv("GO_TEST_LEARNVIEWS_CHILD") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tiny settings: the whole quick pipeline in seconds.
var tiny = []string{
	"data.train=600", "data.test=200", "data.labelled=200",
	"game.steps=12", "game.batch=32", "game.labelled_batch=16",
	"stage2.steps=8", "stage2.batch=32",
	"eval.train_images=200", "eval.test_images=200", "eval.probe_epochs=5", "eval.knn_k=10",
	"run.log_every=1", "run.checkpoint_every=4",
}

func needData(t *testing.T) {
	t.Helper()
	if _, err := datasets.FindFashionMNIST(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI installs it with scripts/setup.sh)", err)
		}
		t.Skip(err)
	}
	if _, err := datasets.FindBackgrounds(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI installs it with scripts/setup.sh)", err)
		}
		t.Skip(err)
	}
}

// metricsRows reads metrics.jsonl without the timing columns, which differ
// between any two runs.
func metricsRows(t *testing.T, dir string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "line %d", len(rows)+1)
		delete(r, "wall_s")
		delete(r, "images_per_s")
		rows = append(rows, r)
	}
	return rows
}

func runArgs(out string, extra ...string) []string {
	args := []string{"run", "--quiet", "--out", out}
	for _, s := range append(append([]string{}, tiny...), extra...) {
		args = append(args, "--set", s)
	}
	return args
}

func execute(t *testing.T, args ...string) error {
	t.Helper()
	root := newRootCmd()
	root.SetArgs(args)
	var buf bytes.Buffer
	root.SetOut(&buf)
	root.SetErr(&buf)
	return root.ExecuteContext(context.Background())
}

// The quick pipeline end to end: every stage runs, the figures and the
// report are written, and the metrics are what the report and pandas read.
func TestRunEndToEnd(t *testing.T) {
	needData(t)
	dir := filepath.Join(t.TempDir(), "run")
	require.NoError(t, execute(t, runArgs(dir)...))
	for _, f := range []string{"config.yaml", "manifest.json", "metrics.jsonl", "generator.safetensors", "encoders.safetensors", "report.html",
		"figures/colorspace.png", "figures/ince-view-learning.png", "figures/ince-stage2.png", "figures/ince-stage2-raw.png"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	learned := filepath.Join(t.TempDir(), "learned")
	require.NoError(t, execute(t, "export", dir, "--out", learned))
	for _, f := range []string{"generator.safetensors", "encoders.safetensors", "README.txt"} {
		assert.FileExists(t, filepath.Join(learned, f))
	}
	rows := metricsRows(t, dir)
	stages := map[string]int{}
	evals := 0
	for _, r := range rows {
		stages[r["stage"].(string)]++
		if r["kind"] == "eval" {
			evals++
			assert.Greater(t, r["probe_acc"].(float64), 0.0)
		}
	}
	assert.Equal(t, 24, stages["view-learning"], "two players × 12 iterations")
	assert.Equal(t, 8+1, stages["stage2"])
	assert.Equal(t, 8+1, stages["stage2-raw"])
	assert.Equal(t, 2, evals)
	var man map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &man))
	for _, k := range []string{"config", "seeds", "git_commit", "go_version", "host", "start_time"} {
		assert.Contains(t, man, k)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), "stage2-raw")
	assert.Contains(t, string(html), "data:image/png;base64,")

	// The same profile and seed give the same numbers.
	again := filepath.Join(t.TempDir(), "again")
	require.NoError(t, execute(t, runArgs(again)...))
	assert.Equal(t, rows, metricsRows(t, again))
	// A finished run refuses to be overwritten.
	err = execute(t, runArgs(dir)...)
	assert.ErrorContains(t, err, "is not empty")
}

// A run killed with SIGKILL at an arbitrary moment after its first
// checkpoint and resumed with --resume ends with the same metrics as a run
// that was never stopped.
func TestKillAndResume(t *testing.T) {
	needData(t)
	ref := filepath.Join(t.TempDir(), "ref")
	require.NoError(t, execute(t, runArgs(ref, "run.checkpoint_every=3")...))
	want := metricsRows(t, ref)

	for _, when := range []string{"view-learning", "stage2"} {
		t.Run("killed in "+when, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "killed")
			child := exec.Command(os.Args[0], runArgs(dir, "run.checkpoint_every=3")...)
			child.Env = append(os.Environ(), "GO_TEST_LEARNVIEWS_CHILD=1")
			require.NoError(t, child.Start())
			waitFor := filepath.Join(dir, "checkpoint", when, "latest.json")
			deadline := time.Now().Add(2 * time.Minute)
			for {
				if _, err := os.Stat(waitFor); err == nil {
					break
				}
				require.True(t, time.Now().Before(deadline), "no checkpoint of %s appeared", when)
				time.Sleep(5 * time.Millisecond)
			}
			require.NoError(t, child.Process.Signal(syscall.SIGKILL))
			child.Wait()
			require.NoError(t, execute(t, "run", "--quiet", "--resume", dir))
			assert.Equal(t, want, metricsRows(t, dir))
		})
	}
}

func TestRunRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"game.nonsense=1", `unknown key "game.nonsense"`},
		{"optim.lr=-3", "optim.lr = -3"},
	} {
		err := execute(t, "run", "--quiet", "--out", t.TempDir(), "--set", tc.set)
		require.Error(t, err, tc.set)
		assert.Contains(t, err.Error(), tc.want)
	}
	err := execute(t, "run", "--resume", t.TempDir())
	assert.ErrorContains(t, err, "config.yaml")
	err = execute(t, "run", "--resume", t.TempDir(), "--set", "game.steps=1")
	assert.ErrorContains(t, err, "drop --profile, --config and --set")
}

func TestProfilesAndConfigCommands(t *testing.T) {
	root := newRootCmd()
	var buf bytes.Buffer
	root.SetOut(&buf)
	root.SetArgs([]string{"profiles"})
	require.NoError(t, root.Execute())
	ps, err := config.Profiles()
	require.NoError(t, err)
	for _, p := range ps {
		assert.Contains(t, buf.String(), p.Name)
	}
	assert.Contains(t, buf.String(), "quick (default)")

	root = newRootCmd()
	buf.Reset()
	root.SetOut(&buf)
	root.SetArgs([]string{"config", "--profile", "cmnist", "--set", "seed=9"})
	require.NoError(t, root.Execute())
	assert.Contains(t, buf.String(), "seed: 9")
	assert.Contains(t, buf.String(), "name: cmnist")
	assert.True(t, strings.HasPrefix(buf.String(), "# memory a run needs at its peak: about "), "the memory estimate first, as a comment")
	assert.Contains(t, buf.String(), "\nprofile: cmnist\n")
}
