package experiment

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/rundir"
)

// writeSTL10 writes n random images in STL-10's binary layout (96×96,
// channel by channel, each column-major) and, unless labels is empty, their
// label bytes 1..10.
func writeSTL10(t *testing.T, images, labels string, n int, rng *rand.Rand) {
	t.Helper()
	pix := make([]byte, n*3*96*96)
	for i := range pix {
		pix[i] = byte(rng.IntN(256))
	}
	require.NoError(t, os.WriteFile(images, pix, 0o644))
	if labels != "" {
		ys := make([]byte, n)
		for i := range ys {
			ys[i] = byte(1 + i%10)
		}
		require.NoError(t, os.WriteFile(labels, ys, 0o644))
	}
}

// The stl10-paper profile runs on files laid out as STL-10's release:
// 64 px crops of the 96 px images in both stages, the labelled training
// images and the unlabelled ones in one pool, and evaluation on resized,
// centre-cropped images.
func TestSTL10PaperProfile(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	writeSTL10(t, filepath.Join(dir, "train_X.bin"), filepath.Join(dir, "train_y.bin"), 40, rng)
	writeSTL10(t, filepath.Join(dir, "test_X.bin"), filepath.Join(dir, "test_y.bin"), 20, rng)
	writeSTL10(t, filepath.Join(dir, "unlabeled_X.bin"), "", 30, rng)
	cfg, err := config.Load(config.Sources{Profile: "stl10-paper", Set: []string{
		"data.dir=" + dir, "encoder.width=4", "encoder.embed_dim=16",
		"game.steps=3", "game.batch=8", "game.labelled_batch=4", "stage2.steps=2", "stage2.batch=8",
		"eval.train_images=20", "eval.test_images=20", "eval.probe_epochs=2", "eval.knn_k=3",
		"generator.stats_images=20", "run.checkpoint_every=2", "run.log_every=1"}})
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "run")
	e, err := Open(cfg, out, Options{})
	require.NoError(t, err)
	defer e.Close()
	d := e.Data()
	assert.Equal(t, 40, d.Train.Len())
	assert.Equal(t, 40, d.Labelled.Len(), "every training image labelled, as the paper: the unlabelled pool is the data set's own")
	assert.Equal(t, 40+30, d.Unlabelled.Len(), "the training images and the unlabelled ones, as the paper's pool")
	assert.Equal(t, 96, d.Train.Shape().H)
	evals, err := e.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, evals, 2)
	for _, ev := range evals {
		assert.Equal(t, 20, ev.TestImages, ev.Stage)
	}
	rows := metricsOf(t, out)
	stages := map[string]int{}
	for _, r := range rows {
		stages[r[rundir.KeyStage].(string)]++
	}
	assert.Equal(t, 6, stages[rundir.StageViewLearning], "two players × 3 iterations")
	assert.Equal(t, 3, stages[rundir.StageStage2], "2 iterations and the evaluation")
	_, err = os.Stat(filepath.Join(out, rundir.GeneratorFile))
	assert.NoError(t, err)
}

// Views larger than the images are refused before anything is made.
func TestViewsNoLargerThanTheImages(t *testing.T) {
	cfg, err := config.Load(config.Sources{Profile: "stl10-paper", Set: []string{"data.dir=/nowhere", "data.size=128"}})
	require.NoError(t, err)
	err = Validate(cfg)
	assert.ErrorContains(t, err, "data.size = 128")
	assert.ErrorContains(t, err, "at most that size")
}
