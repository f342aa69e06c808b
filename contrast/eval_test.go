package contrast

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blobs returns n points per class around class centres in d dimensions.
func blobs(rng *rand.Rand, n, classes, d int, spread float64) ([][]float64, []int) {
	centres := make([][]float64, classes)
	for c := range centres {
		centres[c] = make([]float64, d)
		for j := range centres[c] {
			centres[c][j] = rng.NormFloat64() * 3
		}
	}
	var x [][]float64
	var y []int
	for i := 0; i < n*classes; i++ {
		c := i % classes
		p := make([]float64, d)
		for j := range p {
			p[j] = centres[c][j] + rng.NormFloat64()*spread + 100 // offset: standardisation must cope
		}
		x = append(x, p)
		y = append(y, c)
	}
	return x, y
}

func TestLinearProbeAndKNN(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := blobs(rng, 60, 5, 10, 1)
	trX, trY, teX, teY := x[:200], y[:200], x[200:], y[200:]
	res, err := LinearProbe(trX, trY, teX, teY, 5, ProbeConfig{Epochs: 50, LR: 1e-2, Seed: 1})
	require.NoError(t, err)
	assert.Greater(t, res.TestAcc, 0.95, "separable classes")
	assert.Greater(t, res.TrainAcc, 0.95)
	acc, err := KNN(trX, trY, teX, teY, 5, KNNConfig{K: 20})
	require.NoError(t, err)
	assert.Greater(t, acc, 0.95)

	// Random labels: nothing to learn, test accuracy near chance (20%).
	ry := make([]int, len(y))
	for i := range ry {
		ry[i] = rng.IntN(5)
	}
	res, err = LinearProbe(x[:200], ry[:200], x[200:], ry[200:], 5, ProbeConfig{Epochs: 50, LR: 1e-2, Seed: 1})
	require.NoError(t, err)
	assert.Less(t, res.TestAcc, 0.45)
	acc, err = KNN(x[:200], ry[:200], x[200:], ry[200:], 5, KNNConfig{K: 20})
	require.NoError(t, err)
	assert.Less(t, acc, 0.45)
}

// kNN on hand-placed points: the weighted vote of the nearest neighbours.
func TestKNNHandPlaced(t *testing.T) {
	train := [][]float64{{1, 0}, {0.9, 0.1}, {0, 1}, {-1, 0}}
	labels := []int{0, 0, 1, 2}
	test := [][]float64{{1, 0.05}, {0.1, 1}, {-1, -0.1}}
	acc, err := KNN(train, labels, test, []int{0, 1, 2}, 3, KNNConfig{K: 1})
	require.NoError(t, err)
	assert.Equal(t, 1.0, acc)
	// With K = 4 and a flat vote (large τ), class 0's two points outvote.
	acc, err = KNN(train, labels, test, []int{0, 0, 0}, 3, KNNConfig{K: 4, Tau: 1e6})
	require.NoError(t, err)
	assert.Equal(t, 1.0, acc)
}

func TestProbeBadInput(t *testing.T) {
	x := [][]float64{{1, 2}, {3, 4}}
	_, err := LinearProbe(x, []int{0, 5}, x, []int{0, 1}, 2, ProbeConfig{})
	assert.ErrorContains(t, err, "train label 5 at index 1 is outside [0, 2)")
	_, err = LinearProbe(x, []int{0}, x, []int{0, 1}, 2, ProbeConfig{})
	assert.ErrorContains(t, err, "2 feature rows and 1 labels")
	_, err = KNN(x, []int{0, 1}, [][]float64{{1, 2, 3}}, []int{0}, 2, KNNConfig{})
	assert.ErrorContains(t, err, "3 dims")
}

func TestRidgeError(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var x, y [][]float64
	for i := 0; i < 200; i++ {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		x = append(x, []float64{a, b, rng.NormFloat64()})
		y = append(y, []float64{3*a - b + 10, 2 * b})
	}
	e, err := RidgeError(x[:150], y[:150], x[150:], y[150:], 1e-6)
	require.NoError(t, err)
	assert.Less(t, e, 1e-3, "an exactly linear target is recovered")
	// Targets unrelated to the features: the error is that of predicting the mean.
	for i := range y {
		y[i] = []float64{rng.NormFloat64() * 5}
	}
	e, err = RidgeError(x[:150], y[:150], x[150:], y[150:], 1e-3)
	require.NoError(t, err)
	assert.Greater(t, e, 2.0)
	_, err = RidgeError(x[:3], y[:2], x, y, 1)
	assert.Error(t, err)
}
