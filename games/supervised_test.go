package games

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// factorFeed draws easy one-channel labelled frames: the digit class
// lights one quadrant, the background class sets the level of the rest.
type factorFeed struct {
	rng *rand.Rand
	n   int
}

func (f *factorFeed) Next() ([]float32, []float32, error)     { return nil, nil, nil }
func (f *factorFeed) NextLabelled() ([]float32, []int, error) { return nil, nil, nil }
func (f *factorFeed) State() (json.RawMessage, error)         { return json.RawMessage("{}"), nil }
func (f *factorFeed) Restore(json.RawMessage) error           { return nil }

func (f *factorFeed) NextFactored() ([]float32, []int, []float64, error) {
	const c, s = 1, tSize
	x := make([]float32, f.n*c*s*s)
	labels := make([]int, f.n)
	factors := make([]float64, f.n*4)
	for i := range f.n {
		y, bg := f.rng.IntN(4), f.rng.IntN(BackgroundClasses)
		labels[i] = y
		img := x[i*c*s*s:]
		for py := range s {
			for px := range s {
				img[py*s+px] = float32(bg) / (2 * BackgroundClasses)
				if (py < s/2) == (y < 2) && (px < s/2) == (y%2 == 0) {
					img[py*s+px] = 1
				}
			}
		}
		copy(factors[4*i:], []float64{float64(y), float64(bg), s / 2, s / 2})
	}
	return x, labels, factors, nil
}

// The supervised encoder game trains f1 and its heads on labelled frames:
// the loss falls and the digit head learns the classes.
func TestSupervisedEncoderGameLearns(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	est := newTestEstimator(t, rng)
	gm, err := NewSupervisedEncoderGame(Parts{
		Settings:  Settings{Kind: SupervisedEncoder, Batch: 16, Size: tSize, Classes: 4, V1Channels: 1, Dtype: tensor.Float32, Seed: 1},
		Estimator: est, Rand: rng,
		NewPlayer: func(name string, ps nn.Params, sign float64) (*Player, error) {
			opt, err := nn.NewAdam(nn.AdamConfig{LR: 1e-2}, nn.Group{Params: ps})
			return &Player{Name: name, Params: ps, Opt: opt, Sign: sign, MaxFailures: 2}, err
		}})
	require.NoError(t, err)
	t.Cleanup(gm.Close)
	feed := &factorFeed{rng: rand.New(rand.NewPCG(1, 2)), n: 16}
	var first, last, acc float64
	for s := range 60 {
		rows, err := gm.Iterate(feed, s)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		l := rows[0]["loss"].(float64)
		if s < 5 {
			first += l / 5
		}
		if s >= 55 {
			last += l / 5
			acc += rows[0]["acc_digit"].(float64) / 5
		}
	}
	t.Logf("loss %.3f -> %.3f, digit accuracy %.2f", first, last, acc)
	assert.Less(t, last, first*0.6, "the loss falls")
	assert.Greater(t, acc, 0.9, "the digit head learns the four classes")
	assert.Len(t, gm.Players(), 1)
	assert.Greater(t, len(gm.Params()), len(est.Params()), "checkpoints keep the heads too")
	_, err = gm.Iterate(&countingFeed{}, 60)
	assert.ErrorContains(t, err, "needs a feed of labelled frames with factors")
}
