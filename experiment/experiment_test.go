package experiment

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/config"
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
