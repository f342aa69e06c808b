package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/learnviews/learnviews/registry"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEveryProfileLoadsAndValidates(t *testing.T) {
	ps, err := Profiles()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, p := range ps {
		names[p.Name] = true
		assert.NotEmpty(t, p.Description, p.Name)
		c, err := Load(Sources{Profile: p.Name})
		require.NoError(t, err, p.Name)
		assert.Equal(t, p.Name, c.Profile)
	}
	for _, want := range []string{"quick", "cmnist", "fashion-photos-unsup", "fashion-photos-semisup", "fashion-photos-raw", "stl10-paper",
		"sweep-patch-offset", "sweep-colorspaces", "sweep-crop-scale", "sweep-color-jitter", "table-cmnist", "table-learned-views"} {
		assert.True(t, names[want], "profile %s exists", want)
	}
}

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "my.yaml")
	require.NoError(t, os.WriteFile(file, []byte("game:\n  steps: 7\n  batch: 32\noptim:\n  lr: 0.01\n"), 0o644))
	// default < profile < file < env < --set
	c, err := Load(Sources{Profile: "quick"})
	require.NoError(t, err)
	assert.Equal(t, 300, c.Game.Steps, "profile over default")
	assert.Equal(t, 0.999, c.Optim.Beta2, "default where the profile is silent")

	c, err = Load(Sources{Profile: "quick", File: file})
	require.NoError(t, err)
	assert.Equal(t, 7, c.Game.Steps, "file over profile")
	assert.Equal(t, 0.01, c.Optim.LR)

	env := []string{"LEARNVIEWS_GAME_STEPS=9", "LEARNVIEWS_OPTIM_GENERATOR_LR=0.5", "OTHER=1"}
	c, err = Load(Sources{Profile: "quick", File: file, Env: env})
	require.NoError(t, err)
	assert.Equal(t, 9, c.Game.Steps, "env over file")
	assert.Equal(t, 0.5, c.Optim.GeneratorLR)
	assert.Equal(t, 32, c.Game.Batch, "file where env is silent")

	c, err = Load(Sources{Profile: "quick", File: file, Env: env, Set: []string{"game.steps=11", "optim.milestones=[0.5, 0.9]", "generator.identity=true"}})
	require.NoError(t, err)
	assert.Equal(t, 11, c.Game.Steps, "--set over env")
	assert.Equal(t, []float64{0.5, 0.9}, c.Optim.Milestones)
	assert.True(t, c.Generator.Identity)
}

// gameKinds stands in for the registry of package games, which this test
// binary does not link: Validate checks names against the registry of the
// key, whatever package declares it.
var gameKinds = registry.New[struct{}]("game.kind")

func init() {
	for _, k := range []string{"contrastive", "unsupervised", "semisupervised", "supervised-views", "supervised-encoder"} {
		gameKinds.Register(k, "", struct{}{})
	}
}

func TestBadInputNamesTheKey(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("game:\n  stepz: 7\n"), 0o644))
	broken := filepath.Join(dir, "broken.yaml")
	require.NoError(t, os.WriteFile(broken, []byte("game: [\n"), 0o644))
	tests := []struct {
		name string
		src  Sources
		want []string
	}{
		{"unknown --set key", Sources{Set: []string{"game.nonsense=1"}}, []string{`unknown key "game.nonsense"`, "game.steps"}},
		{"negative lr", Sources{Set: []string{"optim.lr=-3"}}, []string{"optim.lr = -3", "positive"}},
		{"unknown section", Sources{Set: []string{"gme.steps=1"}}, []string{`unknown key "gme.steps"`, "known sections"}},
		{"bad enum", Sources{Set: []string{"game.kind=adversarial"}}, []string{`game.kind = "adversarial"`, "semisupervised"}},
		{"wrong type", Sources{Set: []string{"game.steps=many"}}, []string{"steps"}},
		{"unknown key in file", Sources{File: bad}, []string{bad, `unknown key "game.stepz"`}},
		{"broken yaml", Sources{File: broken}, []string{broken}},
		{"missing file", Sources{File: filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml"}},
		{"unknown profile", Sources{Profile: "fast"}, []string{`unknown profile "fast"`, "quick"}},
		{"bad env", Sources{Env: []string{"LEARNVIEWS_CRITIC_TAU=0"}}, []string{"critic.tau = 0"}},
		{"batch of one", Sources{Set: []string{"game.batch=1"}}, []string{"game.batch = 1", "at least 2"}},
		{"milestone", Sources{Set: []string{"optim.milestones=[60, 80]"}}, []string{"optim.milestones[0] = 60", "fractions"}},
		{"no set value", Sources{Set: []string{"game.steps"}}, []string{"want key=value"}},
	}
	for _, tc := range tests {
		_, err := Load(tc.src)
		require.Error(t, err, tc.name)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, tc.name)
		}
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	c, err := Load(Sources{Profile: "cmnist", Set: []string{"seed=5"}})
	require.NoError(t, err)
	b, err := c.YAML()
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "resolved.yaml")
	require.NoError(t, os.WriteFile(file, b, 0o644))
	again, err := Load(Sources{Profile: "cmnist", File: file})
	require.NoError(t, err)
	assert.Equal(t, c, again, "a printed config loads back to itself")
	assert.Contains(t, Keys(), "optim.generator_lr")
	assert.Equal(t, "LEARNVIEWS_OPTIM_GENERATOR_LR", EnvName("optim.generator_lr"))
}

// An old value is rewritten to its new name, with a message to show.
func TestDeprecatedSupervisedKind(t *testing.T) {
	c, err := Load(Sources{Profile: "table-learned-views", Set: []string{"game.kind=supervised", "game.info_w=0"}})
	require.NoError(t, err)
	assert.Equal(t, "supervised-views", c.Game.Kind)
	require.Len(t, c.Deprecations, 1)
	assert.Contains(t, c.Deprecations[0], `"supervised" is deprecated`)
	c, err = Load(Sources{Profile: "cmnist", Set: []string{"game.kind=supervised", "generator.kind=none"}})
	require.NoError(t, err)
	assert.Equal(t, "supervised-encoder", c.Game.Kind)
}

// Numbers parse strictly, the profile is chosen with --profile only, and
// the environment holds no misspelled or empty LEARNVIEWS_* variable.
func TestStrictValues(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(file, []byte("game:\n  steps: 2.5\n"), 0o644))
	tests := []struct {
		name string
		src  Sources
		want []string
	}{
		{"negative seed", Sources{Set: []string{"seed=-1"}}, []string{"seed = -1", "whole number ≥ 0"}},
		{"fractional seed", Sources{Set: []string{"seed=1.7"}}, []string{"seed = 1.7", "not a fraction"}},
		{"fractional steps", Sources{Set: []string{"game.steps=1.5"}}, []string{"game.steps = 1.5", "not a fraction"}},
		{"huge steps", Sources{Set: []string{"game.steps=99999999999999999999"}}, []string{"game.steps = 1e+20", "out of the range"}},
		{"text for a number", Sources{Set: []string{"optim.lr=fast"}}, []string{`optim.lr = "fast"`, "must be a number"}},
		{"text for a bool", Sources{Set: []string{"stage2.raw=maybe"}}, []string{`stage2.raw = "maybe"`, "true or false"}},
		{"infinite lr", Sources{Set: []string{"optim.lr=.inf"}}, []string{"optim.lr", "finite"}},
		{"fraction in a list", Sources{Set: []string{"sweep.seeds=[1, 2.5]"}}, []string{"sweep.seeds[1] = 2.5"}},
		{"fraction in a file", Sources{File: file}, []string{file, "game.steps = 2.5"}},
		{"empty set", Sources{Set: []string{"game.steps="}}, []string{"game.steps=", "empty"}},
		{"profile by set", Sources{Set: []string{"profile=nope"}}, []string{"--profile"}},
		{"profile by env", Sources{Env: []string{"LEARNVIEWS_PROFILE=cmnist"}}, []string{"LEARNVIEWS_PROFILE", "--profile"}},
		{"misspelled env", Sources{Env: []string{"LEARNVIEWS_GAME_STEPZ=5"}}, []string{"LEARNVIEWS_GAME_STEPZ names no setting", "did you mean LEARNVIEWS_GAME_STEPS?"}},
		{"empty env", Sources{Env: []string{"LEARNVIEWS_DATA_SIZE="}}, []string{"LEARNVIEWS_DATA_SIZE is empty"}},
		{"fractional env", Sources{Env: []string{"LEARNVIEWS_GAME_BATCH=64.5"}}, []string{"LEARNVIEWS_GAME_BATCH", "game.batch = 64.5"}},
	}
	for _, tc := range tests {
		_, err := Load(tc.src)
		require.Error(t, err, tc.name)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, tc.name)
		}
	}
	// What is well formed still loads: whole numbers written as floats,
	// numbers for text, other variables of the environment.
	c, err := Load(Sources{Set: []string{"game.steps=2e2", "data.dir=123", "seed=18446744073709551615"}, Env: []string{"HOME=/x", "LEARNVIEWSX=1", "LEARNVIEWS_STL10_DIR=/data/stl10_binary"}})
	require.NoError(t, err)
	assert.Equal(t, 200, c.Game.Steps)
	assert.Equal(t, "123", c.Data.Dir)
	assert.Equal(t, uint64(18446744073709551615), c.Seed)
}

// A configuration file, whatever its bytes, loads into a valid
// configuration or fails with an error.
func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{
		"game:\n  steps: 12\n",
		"game:\n  steps: 1.5\n",
		"seed: -1\n",
		"game:\n  steps: 99999999999999999999\n",
		"generator:\n  blocks: 50000000\n",
		"game: [\n",
		"profile: nope\n",
		"sweep:\n  points:\n    - {label: a, set: [\"game.steps=2\"]}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(Sources{File: path})
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load returned a configuration that fails Validate: %v", err)
		}
	})
}
