package games

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/rundir"
)

// countingFeed draws batch c from a source seeded by (seed, c), so its state
// is one counter.
type countingFeed struct {
	seed      uint64
	next, lab int
	// cancelAt cancels the context when the batch of that count is drawn.
	cancelAt int
	cancel   context.CancelFunc
	// failAt makes the batch of that count fail, like a crash.
	failAt int
}

func (f *countingFeed) Next() ([]float32, []float32, error) {
	rng := rand.New(rand.NewPCG(f.seed, uint64(f.next)))
	f.next++
	if f.failAt > 0 && f.next == f.failAt {
		return nil, nil, errors.New("simulated crash")
	}
	if f.cancel != nil && f.next == f.cancelAt {
		f.cancel()
	}
	x, _ := colourBatch(rng, tBatch)
	return x, nil, nil
}

func (f *countingFeed) NextLabelled() ([]float32, []int, error) {
	rng := rand.New(rand.NewPCG(f.seed+1, uint64(f.lab)))
	f.lab++
	x, y := colourBatch(rng, 8)
	return x, y, nil
}

func (f *countingFeed) State() (json.RawMessage, error) {
	return json.Marshal([2]int{f.next, f.lab})
}

func (f *countingFeed) Restore(b json.RawMessage) error {
	var s [2]int
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	f.next, f.lab = s[0], s[1]
	return nil
}

func readRows(t *testing.T, dir string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, rundir.MetricsFile))
	require.NoError(t, err)
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		delete(r, "wall_s")
		delete(r, "images_per_s")
		rows = append(rows, r)
	}
	return rows
}

func newRunner(t *testing.T, dir string, feed *countingFeed) *Runner {
	gm, _ := newTestGame(t, SemiSupervised, 1, 1)
	r := &Runner{Game: gm, Feed: feed, Dir: dir, Stage: "view-learning", Steps: 12, LogEvery: 1, CheckpointEvery: 4, ImagesPerStep: tBatch}
	c, err := r.Resume()
	require.NoError(t, err)
	size := int64(0)
	if c != nil {
		size = c.MetricsBytes
	}
	r.Metrics, err = rundir.OpenMetrics(dir, size)
	require.NoError(t, err)
	t.Cleanup(func() { r.Metrics.Close() })
	return r
}

// A run interrupted part-way and resumed from its checkpoint writes the same
// metrics as a run that was never stopped.
func TestResumeGivesIdenticalMetrics(t *testing.T) {
	whole := t.TempDir()
	r := newRunner(t, whole, &countingFeed{seed: 3})
	require.NoError(t, r.Run(context.Background()))
	want := readRows(t, whole)
	require.Len(t, want, 24, "two players × 12 iterations")

	// Interrupted at iteration 6 (Ctrl-C: a checkpoint is written there).
	part := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	r1 := newRunner(t, part, &countingFeed{seed: 3, cancelAt: 7, cancel: cancel})
	err := r1.Run(ctx)
	require.ErrorIs(t, err, ErrInterrupted)
	r1.Metrics.Close()
	c, err := rundir.ReadCheckpoint(part, "view-learning")
	require.NoError(t, err)
	assert.Equal(t, 7, c.Step, "cancelled while drawing iteration 6's batch: stops before iteration 7")
	assert.False(t, c.Done)

	r2 := newRunner(t, part, &countingFeed{seed: 3})
	require.NoError(t, r2.Run(context.Background()))
	r2.Metrics.Close()
	assert.Equal(t, want, readRows(t, part))
}

// A crash after a checkpoint (rows written past it, no new checkpoint)
// loses only those rows: resuming truncates and rewrites them.
func TestResumeAfterCrashDropsRowsPastTheCheckpoint(t *testing.T) {
	whole := t.TempDir()
	r := newRunner(t, whole, &countingFeed{seed: 4})
	require.NoError(t, r.Run(context.Background()))
	want := readRows(t, whole)

	crashed := t.TempDir()
	r1 := newRunner(t, crashed, &countingFeed{seed: 4, failAt: 7})
	err := r1.Run(context.Background())
	require.ErrorContains(t, err, "view-learning iteration 6")
	r1.Metrics.Close()
	assert.Len(t, readRows(t, crashed), 12, "iterations 0-5 were logged, 4 and 5 after the checkpoint")
	c, err := rundir.ReadCheckpoint(crashed, "view-learning")
	require.NoError(t, err)
	assert.Equal(t, 4, c.Step)

	r2 := newRunner(t, crashed, &countingFeed{seed: 4})
	require.NoError(t, r2.Run(context.Background()))
	r2.Metrics.Close()
	assert.Equal(t, want, readRows(t, crashed))
}

func TestReadCheckpointRejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	base := rundir.CheckpointDir(dir, "s")
	require.NoError(t, os.MkdirAll(base, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(base, "latest.json"), []byte("{"), 0o644))
	_, err := rundir.ReadCheckpoint(dir, "s")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "latest.json")
	c, err := rundir.ReadCheckpoint(dir, "other")
	assert.NoError(t, err)
	assert.Nil(t, c)
	assert.False(t, errors.Is(err, ErrInterrupted))
}

// The newest two checkpoints are kept; when the newest is found damaged,
// the resume says so and continues exactly from the one before.
func TestResumeFallsBackPastADamagedCheckpoint(t *testing.T) {
	whole := t.TempDir()
	r := newRunner(t, whole, &countingFeed{seed: 5})
	require.NoError(t, r.Run(context.Background()))
	want := readRows(t, whole)

	dir := t.TempDir()
	r1 := newRunner(t, dir, &countingFeed{seed: 5, failAt: 10})
	require.Error(t, r1.Run(context.Background()))
	r1.Metrics.Close()
	base := rundir.CheckpointDir(dir, "view-learning")
	entries, err := os.ReadDir(base)
	require.NoError(t, err)
	var steps []string
	for _, e := range entries {
		if e.IsDir() {
			steps = append(steps, e.Name())
		}
	}
	assert.Equal(t, []string{"step-00000004", "step-00000008"}, steps, "the newest two are kept")

	// Flip a byte of the newest parameters.
	params := filepath.Join(base, "step-00000008", "params.safetensors")
	b, err := os.ReadFile(params)
	require.NoError(t, err)
	b[len(b)-3] ^= 0x40
	require.NoError(t, os.WriteFile(params, b, 0o644))

	var warned []string
	r2 := newRunner(t, dir, &countingFeed{seed: 5})
	r2.Warn = func(msg string) { warned = append(warned, msg) }
	// newRunner resumed already, without the warning hook: resume again.
	r2.Metrics.Close()
	r2.Metrics = nil
	c, err := r2.Resume()
	require.NoError(t, err)
	require.NotNil(t, c)
	assert.Equal(t, 4, c.Step, "fell back to the older checkpoint")
	require.Len(t, warned, 1)
	assert.Contains(t, warned[0], "damaged")
	size, err := rundir.MetricsBytes(dir)
	require.NoError(t, err)
	assert.Equal(t, c.MetricsBytes, size, "the metrics are cut back to what the intact checkpoint vouches for")
	r2.Metrics, err = rundir.OpenMetrics(dir, size)
	require.NoError(t, err)
	require.NoError(t, r2.Run(context.Background()))
	r2.Metrics.Close()
	assert.Equal(t, want, readRows(t, dir), "the run ends as one never stopped")
}

// A damaged latest.json alone is no loss: the step folders hold their own
// records.
func TestResumeWithoutLatestRecord(t *testing.T) {
	dir := t.TempDir()
	r1 := newRunner(t, dir, &countingFeed{seed: 6, failAt: 7})
	require.Error(t, r1.Run(context.Background()))
	r1.Metrics.Close()
	latest := filepath.Join(rundir.CheckpointDir(dir, "view-learning"), rundir.LatestFile)
	require.NoError(t, os.WriteFile(latest, []byte(`{"stage":"view-learning","step":-5`), 0o644))
	c, skipped, err := rundir.LatestCheckpoint(dir, "view-learning")
	require.NoError(t, err)
	require.NotNil(t, c)
	assert.Equal(t, 4, c.Step)
	require.Len(t, skipped, 1)
	assert.Contains(t, skipped[0], "latest.json")
}
