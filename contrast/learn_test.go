package contrast

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// gratings is a small generated image set: 10 classes of oriented sinusoidal
// gratings (class = orientation and frequency) with a random phase, drawn in
// a random colour with pixel noise, RGB CHW in [0, 1]. The spatial pattern
// is shared by all three channels, so a channel split keeps it in both views.
func gratings(rng *rand.Rand, n, size int) ([]float32, []int) {
	imgs := make([]float32, n*3*size*size)
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		c := rng.IntN(10)
		labels[i] = c
		theta := float64(c%5) * math.Pi / 5
		freq := 2 * math.Pi / float64(3+2*(c/5)*2)
		phase := rng.Float64() * 2 * math.Pi
		var col [3]float64
		for k := range col {
			col[k] = 0.3 + 0.7*rng.Float64()
		}
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				p := 0.5 + 0.5*math.Sin(freq*(float64(x)*math.Cos(theta)+float64(y)*math.Sin(theta))+phase)
				for k := 0; k < 3; k++ {
					v := col[k]*p + 0.05*rng.NormFloat64()
					imgs[((i*3+k)*size+y)*size+x] = float32(min(1, max(0, v)))
				}
			}
		}
	}
	return imgs, labels
}

// splitViews returns v1 = channel 0 and v2 = channels 1-2 of RGB images.
func splitViews(imgs []float32, n, size int) (v1, v2 []float32) {
	p := size * size
	for i := 0; i < n; i++ {
		img := imgs[i*3*p : (i+1)*3*p]
		v1 = append(v1, img[:p]...)
		v2 = append(v2, img[p:]...)
	}
	return v1, v2
}

// The learning test: the two reference encoders trained with symmetric
// InfoNCE on channel-split views must raise I_NCE well above its starting
// value, and a linear probe on f1's frozen features must beat chance.
func TestContrastiveLearning(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few hundred steps")
	}
	const (
		size  = 16
		batch = 32
		steps = 300
	)
	rng := rand.New(rand.NewPCG(42, 1))
	est, err := NewEstimator(tensor.Float32, EstimatorConfig{
		F1: ModelConfig{InChannels: 1, Width: 8, EmbedDim: 32},
		F2: ModelConfig{InChannels: 2, Width: 8, EmbedDim: 32},
	}, rng)
	require.NoError(t, err)
	opt, err := nn.NewAdam(nn.AdamConfig{LR: 2e-3}, nn.Group{Params: est.Params()})
	require.NoError(t, err)
	tr, err := NewTrainer(est, opt, tensor.Float32, batch, size, size, 1)
	require.NoError(t, err)
	defer tr.Close()

	var first, last []float64
	for step := 0; step < steps; step++ {
		imgs, _ := gratings(rng, batch, size)
		v1, v2 := splitViews(imgs, batch, size)
		res, err := tr.Step(v1, v2)
		require.NoError(t, err)
		require.False(t, math.IsNaN(res.MI), "step %d", step)
		require.LessOrEqual(t, res.MI, math.Log(batch)+1e-6)
		if step < 10 {
			first = append(first, res.MI)
		}
		if step >= steps-20 {
			last = append(last, res.MI)
		}
	}
	start, end := mean(first), mean(last)
	t.Logf("I_NCE: first 10 steps %.3f nats, last 20 steps %.3f nats (log K = %.3f)", start, end, math.Log(batch))
	assert.Greater(t, end, start+1.0, "I_NCE rises well above its start")
	assert.Greater(t, end, 0.5*math.Log(batch))

	// Linear probe on frozen f1 features of v1.
	ex, err := NewExtractor(est.F1.Encoder, tensor.Float32, 100, 1, size, size)
	require.NoError(t, err)
	defer ex.Close()
	features := func(n int) ([][]float64, []int) {
		imgs, labels := gratings(rng, n, size)
		v1, _ := splitViews(imgs, n, size)
		f, err := ex.Features(v1)
		require.NoError(t, err)
		return f, labels
	}
	trX, trY := features(600)
	teX, teY := features(400)
	res, err := LinearProbe(trX, trY, teX, teY, 10, ProbeConfig{Epochs: 60, LR: 3e-3, Seed: 1})
	require.NoError(t, err)
	knn, err := KNN(trX, trY, teX, teY, 10, KNNConfig{K: 20})
	require.NoError(t, err)
	t.Logf("linear probe: train %.3f test %.3f; kNN %.3f (chance 0.1)", res.TrainAcc, res.TestAcc, knn)
	assert.Greater(t, res.TestAcc, 0.4, "the probe beats chance (0.1) by a wide margin")
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// The memory-bank estimator learns too: with 64 bank negatives per anchor
// (the banks primed with the untrained encoders' embeddings), its estimate
// rises above its start on a fixed set of 256 images.
func TestBankTrainerLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a hundred steps")
	}
	const size, batch, n, k = 16, 32, 256, 64
	rng := rand.New(rand.NewPCG(43, 1))
	est, err := NewEstimator(tensor.Float32, EstimatorConfig{
		F1: ModelConfig{InChannels: 1, Width: 8, EmbedDim: 32},
		F2: ModelConfig{InChannels: 2, Width: 8, EmbedDim: 32},
	}, rng)
	require.NoError(t, err)
	opt, err := nn.NewAdam(nn.AdamConfig{LR: 1e-3}, nn.Group{Params: est.Params()})
	require.NoError(t, err)
	tr, err := NewBankTrainer(est, opt, tensor.Float32, batch, size, size, n, k, 0.07, 0.5, 1)
	require.NoError(t, err)
	defer tr.Close()
	imgs, _ := gratings(rng, n, size)
	v1all, v2all := splitViews(imgs, n, size)
	p := size * size
	// Prime the banks with the untrained encoders' embeddings.
	for start := 0; start < n; start += batch {
		idx := make([]int, batch)
		for i := range idx {
			idx[i] = start + i
		}
		require.NoError(t, tr.Prime(v1all[start*p:(start+batch)*p], v2all[start*2*p:(start+batch)*2*p], idx))
	}
	var first, last []float64
	for step := 0; step < 150; step++ {
		idx := rng.Perm(n)[:batch]
		var v1, v2 []float32
		for _, i := range idx {
			v1 = append(v1, v1all[i*p:(i+1)*p]...)
			v2 = append(v2, v2all[i*2*p:(i+1)*2*p]...)
		}
		res, err := tr.Step(v1, v2, idx)
		require.NoError(t, err)
		require.LessOrEqual(t, res.MI, math.Log(k+1)+1e-6)
		if step < 10 {
			first = append(first, res.MI)
		}
		if step >= 130 {
			last = append(last, res.MI)
		}
	}
	t.Logf("bank I_NCE: first 10 steps %.3f, last 20 steps %.3f (log(K+1) = %.3f)", mean(first), mean(last), math.Log(k+1))
	assert.Greater(t, mean(last), mean(first)+0.4)
}
