package main

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/rundir"
)

// The chaos check: go test ./cmd/learnviews -run TestChaos -chaos.kills 25 -v
// kills that many runs with SIGKILL at random moments, resumes each, and
// compares what they leave with a run never stopped, byte for byte; then
// damages a finished run in each way a crash or a disk can, and checks that
// the resume falls back or stops with a message that names the damage.
var (
	chaosKills = flag.Int("chaos.kills", 2, "runs killed at random moments by the chaos check")
	chaosSeed  = flag.Uint64("chaos.seed", 1, "seed of the chaos check's kill times")
)

// chaosArgs is a tiny run of the quick profile, with a checkpoint every
// other iteration.
func chaosArgs(out string) []string {
	return runArgs(out, "run.checkpoint_every=2", "game.steps=8", "stage2.steps=6")
}

// outcome is what a run leaves that must not depend on how often it was
// stopped: the metrics without timings, the generator, the evaluations.
type outcome struct {
	Rows        []map[string]any
	Generator   []byte
	Evaluations []byte
}

func outcomeOf(t *testing.T, dir string) outcome {
	t.Helper()
	gen, err := os.ReadFile(filepath.Join(dir, rundir.GeneratorFile))
	require.NoError(t, err)
	ev, err := os.ReadFile(filepath.Join(dir, rundir.EvaluationsFile))
	require.NoError(t, err)
	return outcome{Rows: metricsRows(t, dir), Generator: gen, Evaluations: ev}
}

// chaosChild runs the command in a child process, on one thread.
func chaosChild(args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), "GO_TEST_LEARNVIEWS_CHILD=1", "GOMAXPROCS=1")
	return c
}

func TestChaos(t *testing.T) {
	needData(t)
	ref := filepath.Join(t.TempDir(), "ref")
	start := time.Now()
	msg, err := chaosChild(chaosArgs(ref)...).CombinedOutput()
	require.NoError(t, err, string(msg))
	took := time.Since(start)
	want := outcomeOf(t, ref)

	rng := rand.New(rand.NewPCG(*chaosSeed, 7))
	survived := 0
	for i := range *chaosKills {
		dir := filepath.Join(t.TempDir(), "killed")
		child := chaosChild(chaosArgs(dir)...)
		require.NoError(t, child.Start())
		at := time.Duration(rng.Float64() * float64(took))
		time.Sleep(at)
		child.Process.Signal(syscall.SIGKILL)
		child.Wait()
		stages, _ := rundir.Stages(dir)
		if _, err := os.Stat(filepath.Join(dir, rundir.ConfigFile)); err != nil {
			// Killed before the run directory held its configuration: a
			// fresh start is the resume.
			os.RemoveAll(dir)
			msg, err = chaosChild(chaosArgs(dir)...).CombinedOutput()
		} else {
			msg, err = chaosChild("run", "--quiet", "--resume", dir).CombinedOutput()
		}
		require.NoError(t, err, "kill %d at %v (stages %v): %s", i, at, stages, msg)
		if !assert.Equal(t, want, outcomeOf(t, dir), "kill %d at %v of %v (stages begun: %v)", i, at.Round(time.Millisecond), took.Round(time.Millisecond), stages) {
			continue
		}
		survived++
	}
	t.Logf("kills: %d of %d resumed to a byte-identical outcome (runs of %v, killed at uniform random moments)", survived, *chaosKills, took.Round(time.Millisecond))

	newest := func(dir string) string {
		c, err := rundir.ReadCheckpoint(dir, rundir.StageViewLearning)
		require.NoError(t, err)
		return filepath.Join(rundir.CheckpointDir(dir, rundir.StageViewLearning), c.Dir)
	}
	editLatest := func(dir string, edit func(map[string]any)) {
		path := filepath.Join(rundir.CheckpointDir(dir, rundir.StageViewLearning), rundir.LatestFile)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		edit(m)
		b, err = json.Marshal(m)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	flip := func(path string) {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		b[len(b)-5] ^= 0x10
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	damages := []struct {
		name   string
		damage func(dir string)
		want   string // "" : the resume falls back and ends as the reference
		quiet  bool   // the damage loses nothing a resume needs: no warning
	}{
		{"a flipped byte in the newest parameters", func(dir string) { flip(filepath.Join(newest(dir), "params.safetensors")) }, "", false},
		{"a flipped byte in the newest optimiser state", func(dir string) { flip(filepath.Join(newest(dir), "optim-generator.safetensors")) }, "", false},
		{"latest.json with step -5", func(dir string) { editLatest(dir, func(m map[string]any) { m["step"] = -5 }) }, "", false},
		{"latest.json with step 999999", func(dir string) { editLatest(dir, func(m map[string]any) { m["step"] = 999999 }) }, "", false},
		{"latest.json with back_scale -1", func(dir string) {
			editLatest(dir, func(m map[string]any) { m["players"].(map[string]any)["estimator"].(map[string]any)["back_scale"] = -1 })
		}, "", false},
		{"latest.json torn", func(dir string) {
			path := filepath.Join(rundir.CheckpointDir(dir, rundir.StageViewLearning), rundir.LatestFile)
			b, _ := os.ReadFile(path)
			require.NoError(t, os.WriteFile(path, b[:len(b)/2], 0o644))
		}, "", false},
		{"latest.json lost", func(dir string) {
			require.NoError(t, os.Remove(filepath.Join(rundir.CheckpointDir(dir, rundir.StageViewLearning), rundir.LatestFile)))
		}, "", true},
		{"the newest step folder lost", func(dir string) { require.NoError(t, os.RemoveAll(newest(dir))) }, "", false},
		{"every checkpoint of a stage damaged", func(dir string) {
			entries, _ := os.ReadDir(rundir.CheckpointDir(dir, rundir.StageViewLearning))
			for _, e := range entries {
				if e.IsDir() {
					flip(filepath.Join(rundir.CheckpointDir(dir, rundir.StageViewLearning), e.Name(), "params.safetensors"))
				}
			}
		}, "no intact checkpoint of stage view-learning", false},
		{"metrics.jsonl cut short", func(dir string) {
			require.NoError(t, os.Truncate(filepath.Join(dir, rundir.MetricsFile), 100))
		}, "rows are missing", false},
		{"manifest.json damaged", func(dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, rundir.ManifestFile), []byte(`{"config": [`), 0o644))
		}, "manifest.json", false},
		{"config.yaml damaged", func(dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, rundir.ConfigFile), []byte("game:\n  steps: 2.5\n"), 0o644))
		}, "game.steps = 2.5", false},
	}
	caught := 0
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "damaged")
			require.NoError(t, exec.Command("cp", "-r", ref, dir).Run())
			d.damage(dir)
			out, err := chaosChild("run", "--resume", dir).CombinedOutput()
			if d.want != "" {
				require.Error(t, err, "%s", out)
				assert.Contains(t, string(out), d.want)
				caught++
				return
			}
			require.NoError(t, err, "%s", out)
			if !d.quiet {
				assert.Contains(t, string(out), "passed over a damaged checkpoint", "the fallback is reported")
			}
			if assert.Equal(t, want, outcomeOf(t, dir), "the resume after %s ends as a run never damaged", d.name) {
				caught++
			}
		})
	}
	t.Logf("damages: %d of %d fell back to an older checkpoint and ended byte-identical, or stopped with a message naming the damage", caught, len(damages))
}
