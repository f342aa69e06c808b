package games

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/rundir"
)

// In a game of two crops, v1 comes from g of the first input and v2 from g
// of the second: with g the identity, v1 is channel 0 of x1 and v2
// channels 1 and 2 of x2.
func TestTwoCropsViews(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	gm := &ViewGame{S: Settings{V1: []int{0}, V2: []int{1, 2}}, Generator: newMixGen(rng)}
	g := nn.NewGraph(tensor.Float32, nn.Train, 1)
	in1 := g.Input("x1", 1, 3, 2, 2)
	in2 := g.Input("x2", 1, 3, 2, 2)
	x1 := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	x2 := []float32{-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12}
	require.NoError(t, in1.Set(x1))
	require.NoError(t, in2.Set(x2))
	v1, v2 := gm.views(g, in1.Node(), in2.Node(), false)
	s1, s2 := gm.views(g, in1.Node(), nil, false)
	w1, w2, ws1, ws2 := g.Watch(v1), g.Watch(v2), g.Watch(s1), g.Watch(s2)
	prog, err := g.Compile(nil)
	require.NoError(t, err)
	defer prog.Close()
	require.NoError(t, prog.Run())
	assert.InDeltaSlice(t, []float64{1, 2, 3, 4}, w1.Values(), 1e-6, "v1: channel 0 of g(x1)")
	assert.InDeltaSlice(t, []float64{-5, -6, -7, -8, -9, -10, -11, -12}, w2.Values(), 1e-6, "v2: channels 1, 2 of g(x2)")
	assert.InDeltaSlice(t, []float64{1, 2, 3, 4}, ws1.Values(), 1e-6)
	assert.InDeltaSlice(t, []float64{5, 6, 7, 8, 9, 10, 11, 12}, ws2.Values(), 1e-6, "one input: both views from g(x1)")
}

// indexedFeed draws batches from a fixed pool of 64 images (colourBatch)
// and names their examples; each image's second crop is the image rolled
// by one pixel.
type indexedFeed struct {
	countingFeed
	pool []float32
	idx  []int
}

func (f *indexedFeed) Next() ([]float32, []float32, error) {
	if f.pool == nil {
		f.pool, _ = colourBatch(rand.New(rand.NewPCG(f.seed, 99)), 64)
	}
	rng := rand.New(rand.NewPCG(f.seed, uint64(f.next)))
	f.next++
	if f.failAt > 0 && f.next == f.failAt {
		return nil, nil, errors.New("simulated crash")
	}
	f.idx = rng.Perm(64)[:tBatch]
	n := 3 * tSize * tSize
	x := make([]float32, tBatch*n)
	x2 := make([]float32, tBatch*n)
	for i, k := range f.idx {
		img := f.pool[k*n : (k+1)*n]
		copy(x[i*n:], img)
		for j := range n {
			x2[i*n+j] = img[(j+1)%n]
		}
	}
	return x, x2, nil
}

func (f *indexedFeed) Indices() []int { return f.idx }

// newBoundGame is the unsupervised game of two crops with bound; the
// generator sits out the first warmup iterations.
func newBoundGame(t *testing.T, bound string, warmup int) *ViewGame {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	est, err := contrast.NewEstimator(tensor.Float32, contrast.EstimatorConfig{
		F1:    contrast.ModelConfig{InChannels: 1, Width: 4, EmbedDim: 16},
		F2:    contrast.ModelConfig{InChannels: 2, Width: 4, EmbedDim: 16},
		Bound: bound, Bank: contrast.BankConfig{Size: 64, K: 32, Momentum: 0.5, Seed: 3},
	}, rng)
	require.NoError(t, err)
	gen := newMixGen(rng)
	// A slow estimator: the memory bank's entries lag behind faster ones.
	estOpt, err := nn.NewAdam(nn.AdamConfig{LR: 2e-3}, nn.Group{Params: est.Params()})
	require.NoError(t, err)
	genOpt, err := nn.NewAdam(nn.AdamConfig{LR: 1e-3}, nn.Group{Params: gen.Params()})
	require.NoError(t, err)
	gm, err := NewViewGame(Parts{Settings: Settings{Kind: Unsupervised, InfoW: 1, Batch: tBatch, Channels: 3, Size: tSize,
		V1: []int{0}, V2: []int{1, 2}, TwoCrops: true, WarmupSteps: warmup, Dtype: tensor.Float32, Seed: 1}, Generator: gen, Estimator: est,
		EstimatorPlayer: &Player{Name: "estimator", Params: est.Params().Learnable(), Opt: estOpt, Sign: -1, MaxFailures: 2},
		GeneratorPlayer: &Player{Name: "generator", Params: gen.Params().Learnable(), Opt: genOpt, Sign: 1, MaxFailures: 2}})
	require.NoError(t, err)
	t.Cleanup(gm.Close)
	return gm
}

// Each bound trains: over a short game on two crops (the estimator's steps
// alone) its I_NCE rises above its start.
func TestEveryBoundTrains(t *testing.T) {
	for _, bound := range contrast.Bounds.Names() {
		t.Run(bound, func(t *testing.T) {
			const steps = 120
			gm := newBoundGame(t, bound, steps)
			feed := &indexedFeed{countingFeed: countingFeed{seed: 11}}
			var first, last float64
			for s := 0; s < steps; s++ {
				rows, err := gm.Iterate(feed, s)
				require.NoError(t, err)
				require.Len(t, rows, 1, "the estimator alone")
				v := rows[0][rundir.KeyINCE].(float64)
				require.False(t, math.IsNaN(v))
				if s < 5 {
					first += v / 5
				}
				if s >= steps-5 {
					last += v / 5
				}
			}
			t.Logf("%s: I_NCE %.3f -> %.3f", bound, first, last)
			assert.Greater(t, last, first+0.2)
		})
	}
}

// A game with the memory bank resumes exactly: the banks and the source of
// their negatives are part of the checkpoint.
func TestMemoryBankGameResumesExactly(t *testing.T) {
	run := func(dir string, feed *indexedFeed, ctx context.Context) (*Runner, error) {
		gm := newBoundGame(t, contrast.MemoryBankBound, 0)
		r := &Runner{Game: gm, Feed: feed, Dir: dir, Stage: "view-learning", Steps: 12, LogEvery: 1, CheckpointEvery: 4, ImagesPerStep: tBatch}
		c, err := r.Resume()
		require.NoError(t, err)
		size := int64(0)
		if c != nil {
			size = c.MetricsBytes
		}
		r.Metrics, err = rundir.OpenMetrics(dir, size)
		require.NoError(t, err)
		err = r.Run(ctx)
		r.Metrics.Close()
		return r, err
	}
	whole := t.TempDir()
	_, err := run(whole, &indexedFeed{countingFeed: countingFeed{seed: 3}}, context.Background())
	require.NoError(t, err)
	want := readRows(t, whole)

	crashed := t.TempDir()
	_, err = run(crashed, &indexedFeed{countingFeed: countingFeed{seed: 3, failAt: 7}}, context.Background())
	require.Error(t, err)
	c, err := rundir.ReadCheckpoint(crashed, "view-learning")
	require.NoError(t, err)
	assert.Contains(t, c.Files, banksFile, "the banks are in the checkpoint, with their checksum")
	_, err = run(crashed, &indexedFeed{countingFeed: countingFeed{seed: 3}}, context.Background())
	require.NoError(t, err)
	assert.Equal(t, want, readRows(t, crashed))
}
