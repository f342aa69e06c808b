package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSweepExpand(t *testing.T) {
	tests := []struct {
		name  string
		sweep Sweep
		want  []SweepPoint
	}{
		{"not a sweep", Sweep{Seeds: []uint64{1, 2}}, nil},
		{"one axis, labels", Sweep{Axes: []Axis{{Key: "views.spec", Values: []string{"rgb:0|1,2", "lab:0|1,2"}, Labels: []string{"RGB", "Lab"}}}},
			[]SweepPoint{{"RGB", []string{"views.spec=rgb:0|1,2"}}, {"Lab", []string{"views.spec=lab:0|1,2"}}}},
		{"two axes: the first varies slowest, values label themselves", Sweep{Axes: []Axis{
			{Key: "game.steps", Values: []string{"10", "20"}},
			{Key: "optim.lr", Values: []string{"0.1", "0.2"}, Labels: []string{"lr .1", "lr .2"}}}},
			[]SweepPoint{
				{"10, lr .1", []string{"game.steps=10", "optim.lr=0.1"}},
				{"10, lr .2", []string{"game.steps=10", "optim.lr=0.2"}},
				{"20, lr .1", []string{"game.steps=20", "optim.lr=0.1"}},
				{"20, lr .2", []string{"game.steps=20", "optim.lr=0.2"}},
			}},
		{"points alone", Sweep{Points: []Point{{"digit", []string{"data.factors=digit"}}, {"supervised", []string{"game.kind=supervised"}}}},
			[]SweepPoint{{"digit", []string{"data.factors=digit"}}, {"supervised", []string{"game.kind=supervised"}}}},
		{"points times an axis", Sweep{
			Points: []Point{{"unsup", []string{"game.kind=unsupervised"}}, {"semi", []string{"game.kind=semisupervised"}}},
			Axes:   []Axis{{Key: "generator.input_space", Values: []string{"rgb", "ydbdr"}, Labels: []string{"RGB", "YDbDr"}}}},
			[]SweepPoint{
				{"unsup, RGB", []string{"game.kind=unsupervised", "generator.input_space=rgb"}},
				{"unsup, YDbDr", []string{"game.kind=unsupervised", "generator.input_space=ydbdr"}},
				{"semi, RGB", []string{"game.kind=semisupervised", "generator.input_space=rgb"}},
				{"semi, YDbDr", []string{"game.kind=semisupervised", "generator.input_space=ydbdr"}},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.sweep.Expand())
			assert.Equal(t, tc.want != nil, tc.sweep.IsSweep())
		})
	}
}

// The sweep and table profiles expand to the experiments they stand for,
// and scale=small shrinks them.
func TestSweepProfiles(t *testing.T) {
	tests := []struct {
		profile            string
		points, seeds      int
		smallSeeds, smallN int // seeds and data.size at scale=small
	}{
		{"sweep-patch-offset", 5, 3, 2, 32},
		{"sweep-colorspaces", 12, 3, 2, 16},
		{"sweep-crop-scale", 6, 3, 2, 16},
		{"sweep-color-jitter", 6, 3, 2, 16},
		{"table-cmnist", 8, 3, 2, 32},
		{"table-learned-views", 8, 3, 3, 16},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			c, err := Load(Sources{Profile: tc.profile})
			require.NoError(t, err)
			assert.Equal(t, "default", c.Scale)
			assert.Len(t, c.Sweep.Expand(), tc.points)
			assert.Len(t, c.Sweep.Seeds, tc.seeds)
			small, err := Load(Sources{Profile: tc.profile, Set: []string{"scale=small"}})
			require.NoError(t, err)
			assert.Len(t, small.Sweep.Seeds, tc.smallSeeds)
			assert.Equal(t, tc.smallN, small.Data.Size)
			assert.Less(t, small.Game.Steps, c.Game.Steps)
			for _, p := range small.Sweep.Expand() {
				_, err := Load(Sources{Profile: tc.profile, Set: append([]string{"scale=small"}, p.Set...)})
				assert.NoError(t, err, "point %s", p.Label)
			}
		})
	}
	c, err := Load(Sources{Profile: "sweep-colorspaces"})
	require.NoError(t, err)
	var labels []string
	for _, p := range c.Sweep.Expand() {
		labels = append(labels, p.Label)
	}
	assert.Equal(t, []string{"RGB", "YCbCr", "YDbDr", "YPbPr", "YIQ", "YUV", "XYZ", "Lab", "LUV", "HSV", "HED", "CIE-RGB"}, labels)
}

// scale=small applies its settings just above the profile: a file, the
// environment and --set still win, and a resolved configuration loads back
// to itself.
func TestScaleSmallPrecedence(t *testing.T) {
	base, err := Load(Sources{Profile: "sweep-crop-scale"})
	require.NoError(t, err)
	assert.Equal(t, 1500, base.Game.Steps)

	small, err := Load(Sources{Profile: "sweep-crop-scale", Set: []string{"scale=small"}})
	require.NoError(t, err)
	assert.Equal(t, 200, small.Game.Steps, "small over the profile")
	assert.Equal(t, []uint64{1, 2}, small.Sweep.Seeds)

	c, err := Load(Sources{Profile: "sweep-crop-scale", Env: []string{"LEARNVIEWS_SCALE=small", "LEARNVIEWS_GAME_STEPS=77"}})
	require.NoError(t, err)
	assert.Equal(t, "small", c.Scale, "scale from the environment")
	assert.Equal(t, 77, c.Game.Steps, "environment over small")
	assert.Equal(t, 16, c.Data.Size)

	c, err = Load(Sources{Profile: "sweep-crop-scale", Set: []string{"scale=small", "game.steps=5", "sweep.seeds=[4]"}})
	require.NoError(t, err)
	assert.Equal(t, 5, c.Game.Steps, "--set over small")
	assert.Equal(t, []uint64{4}, c.Sweep.Seeds)

	file := filepath.Join(t.TempDir(), "f.yaml")
	require.NoError(t, os.WriteFile(file, []byte("scale: small\ngame:\n  steps: 9\n"), 0o644))
	c, err = Load(Sources{Profile: "sweep-crop-scale", File: file})
	require.NoError(t, err)
	assert.Equal(t, 9, c.Game.Steps, "file over small")
	assert.Equal(t, 64, c.Game.Batch, "small where the file is silent")

	// The resolved configuration of a small run loads back unchanged.
	b, err := c.YAML()
	require.NoError(t, err)
	resolved := filepath.Join(t.TempDir(), "resolved.yaml")
	require.NoError(t, os.WriteFile(resolved, b, 0o644))
	again, err := Load(Sources{Profile: "sweep-crop-scale", File: resolved})
	require.NoError(t, err)
	assert.Equal(t, c, again)

	q, err := Load(Sources{Set: []string{"scale=small"}})
	require.NoError(t, err)
	assert.Equal(t, 300, q.Game.Steps, "a profile without small settings is unchanged")
}

func TestBadSweepNamesTheKey(t *testing.T) {
	tests := []struct {
		name string
		set  []string
		want []string
	}{
		{"bad scale", []string{"scale=tiny"}, []string{`scale = "tiny"`, "default, small"}},
		{"unknown small key", []string{"small=[game.stepz=3]"}, []string{"small[0]", "game.stepz", "known keys in game"}},
		{"small without =", []string{"small=[game.steps]"}, []string{"small[0]", "key=value"}},
		{"unknown axis key", []string{`sweep.axes=[{key: views.spek, values: [a]}]`}, []string{"sweep.axes[0].key", "views.spek", "views.spec"}},
		{"axis over the seed", []string{`sweep.axes=[{key: seed, values: ["1"]}]`}, []string{"sweep.axes[0].key", "sweep.seeds"}},
		{"axis without values", []string{`sweep.axes=[{key: game.steps, values: []}]`}, []string{"sweep.axes[0].values", "at least one value"}},
		{"labels do not match", []string{`sweep.axes=[{key: game.steps, values: ["1", "2"], labels: [a]}]`}, []string{"sweep.axes[0].labels", "one label per value"}},
		{"two axes on one key", []string{`sweep.axes=[{key: game.steps, values: ["1"]}, {key: game.steps, values: ["2"]}]`}, []string{"sweep.axes[1].key", "another axis"}},
		{"point without label", []string{`sweep.points=[{set: [game.steps=3]}]`}, []string{"sweep.points[0].label"}},
		{"point sets an unknown key", []string{`sweep.points=[{label: a, set: [gme.steps=3]}]`}, []string{"sweep.points[0].set[0]", "gme.steps", "known sections"}},
		{"point sets the sweep", []string{`sweep.points=[{label: a, set: ["sweep.seeds=[1]"]}]`}, []string{"sweep.points[0].set[0]", "the sweep itself"}},
		{"duplicate labels", []string{`sweep.points=[{label: a, set: [game.steps=3]}, {label: a, set: [game.steps=4]}]`}, []string{"two points have the label \"a\""}},
		{"duplicate seeds", []string{"sweep.seeds=[1, 1]"}, []string{"sweep.seeds[1]"}},
		{"bad table", []string{"sweep.table=table9"}, []string{`sweep.table = "table9"`, "cmnist, learned-views"}},
		{"bad stage", []string{"sweep.stage=stage3"}, []string{`sweep.stage = "stage3"`}},
		{"unknown axis field", []string{`sweep.axes=[{key: game.steps, vals: ["1"]}]`}, []string{"vals"}},
		{"supervised baseline off cmnist", []string{"game.kind=supervised", "generator.kind=none"}, []string{"game.kind", "cmnist"}},
	}
	for _, tc := range tests {
		_, err := Load(Sources{Set: tc.set})
		require.Error(t, err, tc.name)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, tc.name)
		}
	}
	// A profile file with a bad sweep names the file's key too.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("sweep:\n  axes:\n    - key: optim.lrr\n      values: [\"1\"]\n"), 0o644))
	_, err := Load(Sources{File: bad})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sweep.axes[0].key")
	assert.Contains(t, err.Error(), "optim.lrr")
}
