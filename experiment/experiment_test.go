package experiment

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/datasets"
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
		{[]string{"data.name=stl10", "data.dir=/nowhere", "data.size=64"}, "data.size = 64"},
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
