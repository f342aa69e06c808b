package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/viewgen"
)

// A bad setting is an error that names its key, and nothing is created.
func TestOpenValidatesBeforeMakingAnything(t *testing.T) {
	tests := []struct {
		set  []string
		want string
	}{
		{[]string{"views.spec=ydbdr:0|1,7"}, "views.spec"},
		{[]string{"stage2.augment=crop=2"}, "stage2.augment"},
		{[]string{"stage2.augment=foo"}, "stage2.augment"},
		{[]string{"data.name=stl10", "data.dir=/nowhere", "data.size=64"}, "data.dir /nowhere"},
		{[]string{"data.name=stl10", "data.dir=/nowhere", "data.size=128"}, "data.size = 128"},
		{[]string{"game.kind=supervised-encoder", "generator.kind=none"}, "needs data.name cmnist"},
	}
	for _, tc := range tests {
		cfg, err := config.Load(config.Sources{Profile: "quick", Set: tc.set})
		if err != nil {
			assert.ErrorContains(t, err, tc.want, "%v", tc.set)
			continue
		}
		dir := filepath.Join(t.TempDir(), "run")
		_, err = Open(cfg, dir, Options{})
		assert.ErrorContains(t, err, tc.want, "%v", tc.set)
		_, statErr := os.Stat(dir)
		assert.True(t, os.IsNotExist(statErr), "%v: the run directory was made", tc.set)
	}
}

// The registries of the linked packages check the configuration's names,
// and the error lists what is registered.
func TestConfigChecksRegisteredNames(t *testing.T) {
	tests := []struct {
		set  string
		want []string
	}{
		{"encoder.arch=vgg", []string{`encoder.arch = "vgg"`, "convnet", "resnet18"}},
		{"critic.bound=mine", []string{`critic.bound = "mine"`, "dv", "infonce", "symmetric"}},
		{"critic.kind=dot", []string{"bilinear", "cosine"}},
		{"generator.kind=gan", []string{"none", "nvp", "vp"}},
		{"generator.input_space=cmyk", []string{"ydbdr", "lab"}},
		{"game.kind=adversarial", []string{"semisupervised", "supervised-views", "supervised-encoder"}},
		{"data.name=imagenet", []string{"fashion-photos", "cmnist", "stl10"}},
	}
	for _, tc := range tests {
		_, err := config.Load(config.Sources{Set: []string{tc.set}})
		require.Error(t, err, tc.set)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, tc.set)
		}
	}
}

// A run directory that holds something else is refused, and so is a
// resume of a directory that holds no run.
func TestOpenRefusesOthersDirectories(t *testing.T) {
	cfg, err := config.Load(config.Sources{Profile: "quick"})
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644))
	_, err = Open(cfg, dir, Options{})
	assert.ErrorContains(t, err, "is not empty")
	_, err = Open(cfg, t.TempDir(), Options{Resume: true})
	assert.ErrorContains(t, err, "cannot resume")
}

// The stage-1 feed of the authors' game gives each image two crops drawn
// independently: different pixels, both of the same image, standardised.
func TestImageFeedTwoCropsOfOneImage(t *testing.T) {
	const n, side = 6, 16
	// Image k is a ramp in channel 0 over a level k/10 in channels 1 and 2:
	// any crop of it keeps channels 1 and 2 at k/10.
	pix := make([]uint8, n*3*side*side)
	labels := make([]int, n)
	for k := range n {
		img := pix[k*3*side*side:]
		for y := range side {
			for x := range side {
				img[y*side+x] = uint8(255 * x / (side - 1))
				img[side*side+y*side+x] = uint8(25 * k)
				img[2*side*side+y*side+x] = uint8(25 * k)
			}
		}
	}
	ds, err := datasets.NewInMemory("levels", chw.Shape{C: 3, H: side, W: side}, []string{"a"}, pix, labels)
	require.NoError(t, err)
	augs, err := augmentations("game.augment", "crop=0.2+flip")
	require.NoError(t, err)
	stats := &viewgen.Stats{Space: viewgen.RGB, Mean: [3]float64{0.5, 0.2, 0.2}, Std: [3]float64{0.5, 0.1, 0.1}}
	f, err := newImageFeed(ds, ds, 4, 2, 0, 8, 1, augs, inputPrep{space: viewgen.RGB, stats: stats})
	require.NoError(t, err)
	defer f.close()
	x1, x2, err := f.Next()
	require.NoError(t, err)
	require.Len(t, x1, 4*3*8*8, "crops come out at the game's size")
	require.Len(t, x2, len(x1))
	assert.NotEqual(t, x1, x2, "two independent crops")
	p := 8 * 8
	for i, k := range f.Indices() {
		level := (float64(uint8(25*k))/255 - 0.2) / 0.1
		for _, x := range [][]float32{x1, x2} {
			for _, v := range x[(3*i+1)*p : (3*i+3)*p] {
				require.InDelta(t, level, v, 1e-3, "image %d (example %d): a crop of the same image, standardised", i, k)
			}
		}
	}
	xl, yl, err := f.NextLabelled()
	require.NoError(t, err)
	assert.Len(t, xl, 2*3*8*8, "the labelled batch is cropped too")
	assert.Len(t, yl, 2)

	// Without augmentations the images go in whole, one input per image.
	g, err := newImageFeed(ds, ds, 4, 2, 0, side, 1, nil, inputPrep{space: viewgen.RGB})
	require.NoError(t, err)
	defer g.close()
	x, b, err := g.Next()
	require.NoError(t, err)
	assert.Nil(t, b)
	assert.Len(t, x, 4*3*side*side)
}

// tinyQuick is the quick profile shrunk to run in seconds.
func tinyQuick(t *testing.T, set ...string) config.Config {
	t.Helper()
	base := []string{"data.train=400", "data.test=100", "data.labelled=100", "game.steps=6", "game.batch=16", "game.labelled_batch=8",
		"stage2.steps=4", "stage2.batch=16", "eval.train_images=100", "eval.test_images=100", "eval.probe_epochs=2", "eval.knn_k=5",
		"run.log_every=1", "run.checkpoint_every=2"}
	cfg, err := config.Load(config.Sources{Profile: "quick", Set: append(base, set...)})
	require.NoError(t, err)
	return cfg
}

func needFashionPhotos(t *testing.T) {
	t.Helper()
	if _, err := datasets.FindFashionMNIST(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI installs it with scripts/setup.sh)", err)
		}
		t.Skip(err)
	}
}

// One process at a time works in a run directory: a second one is told
// which process holds it.
func TestRunDirectoryIsLocked(t *testing.T) {
	needFashionPhotos(t)
	dir := filepath.Join(t.TempDir(), "run")
	e, err := Open(tinyQuick(t), dir, Options{})
	require.NoError(t, err)
	_, err = Open(tinyQuick(t), dir, Options{Resume: true})
	require.Error(t, err)
	assert.ErrorIs(t, err, rundir.ErrBusy)
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d", os.Getpid()))
	require.NoError(t, e.Close())
	// Let go, it opens again.
	e, err = Open(tinyQuick(t), dir, Options{Resume: true})
	require.NoError(t, err)
	e.Close()
}

// A run resumed after it was lost before its first checkpoint starts
// clean: metrics.jsonl holds no rows of the lost attempt. A metrics file
// shorter than the checkpoints say is an error, never padded, and a
// damaged manifest stops the resume at once.
func TestResumeReconcilesMetrics(t *testing.T) {
	needFashionPhotos(t)
	dir := filepath.Join(t.TempDir(), "run")
	// An attempt that wrote rows and then died before any checkpoint.
	e, err := Open(tinyQuick(t, "run.checkpoint_every=0"), dir, Options{})
	require.NoError(t, err)
	require.NoError(t, e.metrics.Write(rundir.Row{"kind": "step", "step": 0, "stage": "view-learning", "player": "estimator", "ince": 1.0}))
	_, err = e.metrics.Flush()
	require.NoError(t, err)
	e.Close()
	f, err := os.OpenFile(filepath.Join(dir, rundir.MetricsFile), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	f.WriteString(`{"kind":"step","ste`) // torn
	f.Close()
	_, err = Run(context.Background(), tinyQuick(t, "run.checkpoint_every=0"), dir, Options{Resume: true})
	require.NoError(t, err)
	want := metricsOf(t, dir)

	fresh := filepath.Join(t.TempDir(), "fresh")
	_, err = Run(context.Background(), tinyQuick(t, "run.checkpoint_every=0"), fresh, Options{})
	require.NoError(t, err)
	assert.Equal(t, metricsOf(t, fresh), want, "the resumed run's metrics are a fresh run's")

	// Cut the file below what the checkpoints vouch for.
	path := filepath.Join(dir, rundir.MetricsFile)
	require.NoError(t, os.Truncate(path, 10))
	_, err = Open(tinyQuick(t), dir, Options{Resume: true})
	assert.ErrorContains(t, err, "rows are missing")
	st, _ := os.Stat(path)
	assert.Equal(t, int64(10), st.Size(), "never padded")

	other := filepath.Join(t.TempDir(), "other")
	_, err = Run(context.Background(), tinyQuick(t), other, Options{})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(other, rundir.ManifestFile), []byte("{"), 0o644))
	_, err = Open(tinyQuick(t), other, Options{Resume: true})
	assert.ErrorContains(t, err, "manifest.json")
}

// metricsOf reads a run's metrics without the timing columns.
func metricsOf(t *testing.T, dir string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rundir.MetricsFile))
	require.NoError(t, err)
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		delete(r, rundir.KeyWall)
		delete(r, rundir.KeyImagesPerS)
		rows = append(rows, r)
	}
	return rows
}
