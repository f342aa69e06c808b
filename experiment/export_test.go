package experiment

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/flow"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/rundir"
)

// tinyRunConfig is the quick profile at a few iterations: view learning
// on Lab input, standardised, then stage 2.
func tinyRunConfig(t *testing.T, set ...string) config.Config {
	cfg, err := config.Load(config.Sources{Profile: "quick", Set: append([]string{
		"data.train=300", "data.test=60", "data.labelled=100",
		"generator.input_space=lab", "generator.stats_images=100",
		"game.steps=3", "game.batch=16", "game.labelled_batch=8",
		"stage2.steps=3", "stage2.batch=16", "stage2.raw=false",
		"eval.train_images=60", "eval.test_images=60", "eval.probe_epochs=1", "eval.knn_k=3",
		"run.log_every=1", "run.checkpoint_every=3",
	}, set...)})
	require.NoError(t, err)
	return cfg
}

// A run that reads a colour space without standardising it records the
// space in its generator (mean 0, std 1), so that a loader converts the
// images as the run did.
func TestGeneratorRecordsUnstandardisedInput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a tiny experiment")
	}
	cfg := tinyRunConfig(t, "generator.input_space=ydbdr", "generator.normalize=false", "stage2.enabled=false")
	dir := filepath.Join(t.TempDir(), "run")
	_, err := Run(context.Background(), cfg, dir, Options{})
	require.NoError(t, err)
	g, err := flow.Load(filepath.Join(dir, rundir.GeneratorFile))
	require.NoError(t, err)
	in, ok := g.Input()
	require.True(t, ok)
	assert.Equal(t, flow.Input{Space: "ydbdr", Std: [3]float64{1, 1, 1}}, in)
	_, err = os.Stat(filepath.Join(dir, rundir.EncodersFile))
	assert.True(t, os.IsNotExist(err), "no stage 2, no encoders")
}

func TestExportRefusesWhatIsNotARun(t *testing.T) {
	dir := t.TempDir()
	_, err := Export(dir, filepath.Join(dir, "out"))
	assert.ErrorContains(t, err, "is not a run directory")

	require.NoError(t, os.WriteFile(filepath.Join(dir, rundir.ConfigFile), []byte("seed: 1\n"), 0o644))
	_, err = Export(dir, filepath.Join(dir, "out"))
	assert.ErrorContains(t, err, "neither generator.safetensors")
	_, err = Export(dir, dir)
	assert.ErrorContains(t, err, "the output folder is the run directory itself")

	// An encoders file that names a model its tensors do not hold.
	f1, err := contrast.NewModel("f1", tensor.Float32, contrast.ModelConfig{InChannels: 1, Width: 2, EmbedDim: 4}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	f2, err := contrast.NewModel("f2", tensor.Float32, contrast.ModelConfig{InChannels: 2, Width: 2, EmbedDim: 4}, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	path := filepath.Join(dir, rundir.EncodersFile)
	views := EncoderViews{Stage: rundir.StageStage2, Generator: true, V1: []int{0}, V2: []int{1, 2}, Size: 8}
	require.NoError(t, SaveEncoders(path, f1, f2, contrast.ModelConfig{InChannels: 1, Width: 2, EmbedDim: 4},
		contrast.ModelConfig{InChannels: 2, Width: 2, EmbedDim: 4}, views))
	_, err = Export(dir, filepath.Join(dir, "out"))
	assert.ErrorContains(t, err, "saw the generator's views, but the run has no generator.safetensors")

	ts, _, meta, err := nn.LoadSafetensors(path)
	require.NoError(t, err)
	var named []nn.NamedTensor
	for name, tt := range ts {
		named = append(named, nn.NamedTensor{Name: name, Tensor: tt})
	}
	for key, value := range map[string]string{
		MetaEncoderF2:      `{"arch":"convnet","in_channels":2,"width":2,"feature_dim":8,"embed_dim":5,"head_hidden":0}`,
		MetaEncodersFormat: "7",
		MetaEncoderF1:      `{"arch":"convnet","in_channels":1,"width":2,"feature_dim":8,"embed_dim":4,"head_hidden":0,"depth":3}`,
	} {
		bad := map[string]string{}
		for k, v := range meta {
			bad[k] = v
		}
		bad[key] = value
		badPath := filepath.Join(dir, "bad.safetensors")
		require.NoError(t, nn.SaveSafetensors(badPath, named, bad))
		_, err := LoadEncoders(badPath)
		require.Error(t, err, key)
		assert.Contains(t, err.Error(), badPath, key)
		if key != MetaEncoderF2 {
			assert.Contains(t, err.Error(), key)
		} else {
			assert.Contains(t, err.Error(), `"f2.head.fc.weight"`, "a mis-shaped tensor is named")
		}
	}
}

// A fixed-view run has encoders and no generator: the export copies them,
// drops a generator left in the folder by an earlier export, and says how
// to load them.
func TestExportCopiesWhatTheRunHas(t *testing.T) {
	run, out := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(run, rundir.ConfigFile), []byte("seed: 1\n"), 0o644))
	c1 := contrast.ModelConfig{Arch: "resnet10", InChannels: 1, Width: 2, EmbedDim: 4}
	c2 := c1
	c2.InChannels = 2
	f1, err := contrast.NewModel("f1", tensor.Float32, c1, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	f2, err := contrast.NewModel("f2", tensor.Float32, c2, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	views := EncoderViews{Stage: rundir.StageContrastive, Space: "ydbdr", V1: []int{0}, V2: []int{1, 2}, Size: 8, Spec: "ydbdr:0|1,2+crop=0.2"}
	require.NoError(t, SaveEncoders(filepath.Join(run, rundir.EncodersFile), f1, f2, c1, c2, views))
	require.NoError(t, os.WriteFile(filepath.Join(out, rundir.GeneratorFile), []byte("an earlier run's"), 0o644))

	wrote, err := Export(run, out)
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(out, rundir.EncodersFile), filepath.Join(out, ExportReadme)}, wrote)
	_, err = os.Stat(filepath.Join(out, rundir.GeneratorFile))
	assert.True(t, os.IsNotExist(err), "the earlier export's generator is gone")
	enc, err := LoadEncoders(filepath.Join(out, rundir.EncodersFile))
	require.NoError(t, err)
	assert.Equal(t, views, enc.Views)
	assert.Equal(t, EncoderInfo{Arch: "resnet10", InChannels: 2, Width: 2, FeatureDim: 16, EmbedDim: 4}, enc.Info[1])
	readme, err := os.ReadFile(filepath.Join(out, ExportReadme))
	require.NoError(t, err)
	for _, want := range []string{"trained by the stage contrastive", "f2: resnet10 of width 2 on 2 channels, 16 features", "of the image in ydbdr",
		"ViewTransform.from_dir", "load_encoders("} {
		assert.Contains(t, string(readme), want)
	}
}
