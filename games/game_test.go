package games

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/nn"
)

// mixGen is a test generator: a learned 1×1 convolution (a 3×3 colour
// matrix), starting at the identity.
type mixGen struct{ c *nn.Conv2d }

func newMixGen(rng *rand.Rand) *mixGen {
	c := nn.NewConv2d("g.mix", tensor.Float32, 3, 3, 1, 1, 0, false, rng)
	_ = c.W.SetFloat64s([]float64{1, 0, 0, 0, 1, 0, 0, 0, 1})
	return &mixGen{c}
}

func (m *mixGen) Forward(g *nn.Graph, x *G.Node) *G.Node { return m.c.Forward(g, x) }
func (m *mixGen) Params() nn.Params                      { return m.c.Params() }

const (
	tSize  = 8
	tBatch = 16
)

// colourBatch: images whose three channels share one random pattern, so
// that a channel split keeps shared information in both views.
func colourBatch(rng *rand.Rand, n int) ([]float32, []int) {
	x := make([]float32, n*3*tSize*tSize)
	labels := make([]int, n)
	p := tSize * tSize
	for i := 0; i < n; i++ {
		labels[i] = rng.IntN(3)
		pat := make([]float32, p)
		for j := range pat {
			pat[j] = rng.Float32()
		}
		for c := 0; c < 3; c++ {
			w := float32(0.3 + 0.7*rng.Float64())
			for j := range pat {
				x[(i*3+c)*p+j] = w * pat[j]
			}
		}
		// the label lives in a bright corner of channel 0
		x[(i*3)*p+labels[i]] = 3
	}
	return x, labels
}

// newTestEstimator is the small estimator of the game tests: f1 on one
// channel, f2 on two, width 4, 16-dimensional embeddings.
func newTestEstimator(t *testing.T, rng *rand.Rand) *contrast.Estimator {
	t.Helper()
	est, err := contrast.NewEstimator(tensor.Float32, contrast.EstimatorConfig{
		F1: contrast.ModelConfig{InChannels: 1, Width: 4, EmbedDim: 16},
		F2: contrast.ModelConfig{InChannels: 2, Width: 4, EmbedDim: 16},
	}, rng)
	require.NoError(t, err)
	return est
}

func newTestGame(t *testing.T, kind string, infoW, clsW float64) (*ViewGame, *rand.Rand) {
	t.Helper()
	return newTestGameLayers(t, kind, infoW, clsW, "")
}

func newTestGameLayers(t *testing.T, kind string, infoW, clsW float64, layers nn.Layers) (*ViewGame, *rand.Rand) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	est := newTestEstimator(t, rng)
	gen := newMixGen(rng)
	heads, err := NewHeads(tensor.Float32, HeadsConfig{Width: 4, In1: 1, In2: 2, Classes: 3}, rng)
	require.NoError(t, err)
	estOpt, err := nn.NewAdam(nn.AdamConfig{LR: 5e-3}, nn.Group{Params: est.Params()})
	require.NoError(t, err)
	genParams := gen.Params()
	if kind != Unsupervised {
		genParams = append(genParams, heads.Params()...)
	}
	genOpt, err := nn.NewAdam(nn.AdamConfig{LR: 2e-2}, nn.Group{Params: genParams})
	require.NoError(t, err)
	estP := &Player{Name: "estimator", Params: est.Params().Learnable(), Opt: estOpt, Sign: -1, MaxFailures: 2}
	genP := &Player{Name: "generator", Params: genParams.Learnable(), Opt: genOpt, Sign: 1, MaxFailures: 2}
	gm, err := NewViewGame(Parts{Settings: Settings{Kind: kind, InfoW: infoW, ClsW: clsW, Batch: tBatch, LabelledBatch: 8, Classes: 3,
		Channels: 3, Size: tSize, V1: []int{0}, V2: []int{1, 2}, Dtype: tensor.Float32, Seed: 1, Layers: layers},
		Generator: gen, Estimator: est, Heads: heads, EstimatorPlayer: estP, GeneratorPlayer: genP})
	require.NoError(t, err)
	t.Cleanup(gm.Close)
	return gm, rng
}

// On a fixed batch the estimator's steps raise I_NCE and the generator's
// steps lower it: the two players pull the same objective apart.
func TestPlayersPullIINCEApart(t *testing.T) {
	gm, rng := newTestGame(t, Unsupervised, 1, 0)
	x, _ := colourBatch(rng, tBatch)
	var est []float64
	for s := 0; s < 25; s++ {
		row, err := gm.EstimatorStep(s, x, nil)
		require.NoError(t, err)
		est = append(est, row["ince"].(float64))
	}
	t.Logf("estimator steps: I_NCE %.3f -> %.3f", est[0], est[len(est)-1])
	assert.Greater(t, est[len(est)-1], est[0]+0.5, "the estimator raises I_NCE")

	var gen []float64
	for s := 0; s < 25; s++ {
		row, err := gm.GeneratorStep(s, x, nil, nil, nil)
		require.NoError(t, err)
		gen = append(gen, row["ince"].(float64))
	}
	t.Logf("generator steps: I_NCE %.3f -> %.3f", gen[0], gen[len(gen)-1])
	assert.InDelta(t, est[len(est)-1], gen[0], 0.5, "both players see the same I_NCE")
	assert.Less(t, gen[len(gen)-1], gen[0]-0.5, "the generator lowers I_NCE")
}

// Each step touches only its own player's parameters and gradients.
func TestStepsDoNotLeak(t *testing.T) {
	gm, rng := newTestGame(t, SemiSupervised, 1, 1)
	x, _ := colourBatch(rng, tBatch)
	xl, yl := colourBatch(rng, 8)
	sentinel := func(ps nn.Params) {
		for _, p := range ps {
			p.Grad.Memset(float32(42))
		}
	}
	untouched := func(ps nn.Params, what string) {
		for _, p := range ps {
			for _, v := range nn.Float64s(p.Grad) {
				require.Equal(t, 42.0, v, "%s: gradient of %s changed", what, p.Name)
			}
		}
	}
	genBefore := gm.GeneratorPlayer.Params.Snapshot()
	sentinel(gm.GeneratorPlayer.Params)
	_, err := gm.EstimatorStep(0, x, nil)
	require.NoError(t, err)
	untouched(gm.GeneratorPlayer.Params, "estimator step")
	assert.Equal(t, genBefore, gm.GeneratorPlayer.Params.Snapshot(), "the estimator step leaves g and the heads alone")
	gm.GeneratorPlayer.Params.ZeroGrad()

	estBefore := gm.EstimatorPlayer.Params.Snapshot()
	sentinel(gm.EstimatorPlayer.Params)
	row, err := gm.GeneratorStep(0, x, nil, xl, yl)
	require.NoError(t, err)
	untouched(gm.EstimatorPlayer.Params, "generator step")
	assert.Equal(t, estBefore, gm.EstimatorPlayer.Params.Snapshot(), "the generator step leaves f1, f2 alone")
	assert.NotEqual(t, genBefore, gm.GeneratorPlayer.Params.Snapshot(), "and moves g")
	for _, k := range []string{"loss", "ince", "ce1", "ce2", "acc1", "acc2"} {
		assert.Contains(t, row, k)
	}
}

// The semi-supervised heads learn the labels through g's views.
func TestSupervisedHeadsLearn(t *testing.T) {
	gm, rng := newTestGame(t, SupervisedViews, 0, 1)
	x, _ := colourBatch(rng, tBatch)
	var first, last, acc float64
	for s := 0; s < 60; s++ {
		xl, yl := colourBatch(rng, 8)
		row, err := gm.GeneratorStep(s, x, nil, xl, yl)
		require.NoError(t, err)
		ce := row["ce1"].(float64)
		if s < 5 {
			first += ce / 5
		}
		if s >= 55 {
			last += ce / 5
			acc += row["acc1"].(float64) / 5
		}
	}
	t.Logf("head c1 cross-entropy %.3f -> %.3f, accuracy %.2f (chance 0.33)", first, last, acc)
	assert.Less(t, last, first*0.7)
	assert.Greater(t, acc, 0.8, "well above the chance of three classes")
}

// A NaN in the batch makes the step fail: the state is restored, the
// learning rate backs off, and after MaxFailures the game stops with a
// message that says who blew up and how.
func TestNaNGuard(t *testing.T) {
	gm, rng := newTestGame(t, Unsupervised, 1, 0)
	x, _ := colourBatch(rng, tBatch)
	before := gm.EstimatorPlayer.Params.Snapshot()
	lr := gm.EstimatorPlayer.Opt.LR(0)
	bad := append([]float32(nil), x...)
	bad[5] = float32(math.NaN())
	row, err := gm.EstimatorStep(3, bad, nil)
	require.NoError(t, err)
	assert.Equal(t, true, row["recovered"])
	assert.Equal(t, before, gm.EstimatorPlayer.Params.Snapshot(), "the last good state is restored")
	assert.InDelta(t, lr*0.5, gm.EstimatorPlayer.Opt.LR(0), 1e-12, "the learning rate backs off")
	_, err = gm.EstimatorStep(4, bad, nil)
	require.NoError(t, err)
	_, err = gm.EstimatorStep(5, bad, nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrDiverged))
	assert.Contains(t, err.Error(), "estimator step 5")
	assert.Contains(t, err.Error(), "NaN")
	// A good batch afterwards still trains (the state is clean).
	gm.EstimatorPlayer.Failures = 0
	row, err = gm.EstimatorStep(6, x, nil)
	require.NoError(t, err)
	assert.Equal(t, false, row["recovered"])
}

func TestNewRejectsBadGames(t *testing.T) {
	_, err := NewViewGame(Parts{Settings: Settings{Kind: "adversarial"}})
	assert.ErrorContains(t, err, `game.kind "adversarial" is not known (known: contrastive, semisupervised, supervised-encoder, supervised-views, unsupervised)`)
	_, err = NewViewGame(Parts{Settings: Settings{Kind: Unsupervised}})
	assert.ErrorContains(t, err, "needs a generator")
	_, err = NewViewGame(Parts{Settings: Settings{Kind: SupervisedEncoder}})
	assert.ErrorContains(t, err, "not a view game")
}

// An update that makes a parameter infinite is taken back: the parameters
// and the optimiser state are those from before the step, and the next
// good step matches one taken from that state without the failure.
func TestStepRestoresAfterABadUpdate(t *testing.T) {
	gm, rng := newTestGame(t, Unsupervised, 1, 0)
	x, _ := colourBatch(rng, tBatch)
	_, err := gm.EstimatorStep(0, x, nil)
	require.NoError(t, err)
	before := gm.EstimatorPlayer.Params.Snapshot()
	stT, stM := gm.EstimatorPlayer.Opt.State()
	gm.EstimatorPlayer.BackScale = 1e45 // lr far beyond float32's range
	row, err := gm.EstimatorStep(1, x, nil)
	require.NoError(t, err)
	assert.Equal(t, true, row["recovered"])
	assert.Equal(t, before, gm.EstimatorPlayer.Params.Snapshot(), "the parameters are restored")
	gotT, gotM := gm.EstimatorPlayer.Opt.State()
	assert.Equal(t, stT, gotT, "the moments are restored")
	assert.Equal(t, stM["step"], gotM["step"], "the step count is restored")
	assert.Equal(t, 1, gm.EstimatorPlayer.Failures)
}

// The fused and the composed layer sets play the same game: both players'
// losses agree step for step, updates included.
func TestLayerSetsPlayTheSameGame(t *testing.T) {
	var losses [2][]float64
	for i, layers := range []nn.Layers{nn.LayersFused, nn.LayersComposed} {
		gm, rng := newTestGameLayers(t, SemiSupervised, 1, 1, layers)
		x, labels := colourBatch(rng, tBatch)
		xl := x[:8*3*tSize*tSize]
		for s := 0; s < 3; s++ {
			row, err := gm.EstimatorStep(s, x, nil)
			require.NoError(t, err)
			losses[i] = append(losses[i], row["loss"].(float64))
			row, err = gm.GeneratorStep(s, x, nil, xl, labels[:8])
			require.NoError(t, err)
			losses[i] = append(losses[i], row["loss"].(float64))
		}
	}
	assert.InDeltaSlice(t, losses[0], losses[1], 1e-4)
}

func TestUnknownLayerSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	est := newTestEstimator(t, rng)
	gen := newMixGen(rng)
	opt, err := nn.NewAdam(nn.AdamConfig{LR: 1e-3}, nn.Group{Params: est.Params()})
	require.NoError(t, err)
	gopt, err := nn.NewAdam(nn.AdamConfig{LR: 1e-3}, nn.Group{Params: gen.Params()})
	require.NoError(t, err)
	_, err = NewViewGame(Parts{Settings: Settings{Kind: Unsupervised, InfoW: 1, Batch: tBatch, Channels: 3, Size: tSize,
		V1: []int{0}, V2: []int{1, 2}, Dtype: tensor.Float32, Seed: 1, Layers: "tpu"}, Generator: gen, Estimator: est,
		EstimatorPlayer: &Player{Name: "estimator", Params: est.Params().Learnable(), Opt: opt, Sign: -1},
		GeneratorPlayer: &Player{Name: "generator", Params: gen.Params().Learnable(), Opt: gopt, Sign: 1}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown layer set "tpu"`)
}
