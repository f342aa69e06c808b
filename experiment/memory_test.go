package experiment

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/flow"
)

func TestEstimateMemoryGrowsWithTheSettings(t *testing.T) {
	base, err := config.Load(config.Sources{Profile: "quick"})
	require.NoError(t, err)
	m, err := EstimateMemory(base)
	require.NoError(t, err)
	t.Logf("quick: %v", m)
	for _, set := range []string{"game.batch=256", "data.size=32", "encoder.width=32", "encoder.arch=resnet18"} {
		c, err := config.Load(config.Sources{Profile: "quick", Set: []string{set}})
		require.NoError(t, err)
		bigger, err := EstimateMemory(c)
		require.NoError(t, err)
		assert.Greater(t, bigger.Total, m.Total, set)
	}
}

// A configuration that would not fit stops before anything runs, with
// what to lower.
func TestValidateRefusesWhatDoesNotFit(t *testing.T) {
	if PhysicalMemory() == 0 {
		t.Skip("the machine's memory is unknown")
	}
	c, err := config.Load(config.Sources{Profile: "quick", Set: []string{"game.batch=4096", "data.size=256", "encoder.width=256"}})
	require.NoError(t, err)
	err = Validate(c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lower game.batch, data.size or encoder.width")
}

// The configuration's bounds on the generator are the flow's.
func TestGeneratorBoundsAgree(t *testing.T) {
	assert.Equal(t, flow.MaxBlocks, config.MaxGeneratorBlocks)
	assert.Equal(t, flow.MaxHidden, config.MaxGeneratorHidden)
	for _, set := range []string{"generator.blocks=50000000", "encoder.width=1000000", "game.batch=100000000"} {
		_, err := config.Load(config.Sources{Set: []string{set}})
		assert.ErrorContains(t, err, "must be at most", set)
	}
}
