package contrast

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// evalBound builds bound(scores) on a constant score matrix and returns the
// bound after one run.
func evalBound(t *testing.T, scores []float64, n int, bound func(g *nn.Graph, s *G.Node) *Bound) *Bound {
	t.Helper()
	g := nn.NewGraph(tensor.Float64, nn.Train, 1)
	b := bound(g, g.Constant("s", scores, n, n))
	prog, err := g.Compile(nil)
	require.NoError(t, err)
	require.NoError(t, prog.Run())
	return b
}

func randUnit(rng *rand.Rand, n, d int) []float64 {
	v := make([]float64, n*d)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	for i := 0; i < n; i++ {
		r := v[i*d : (i+1)*d]
		s := 0.0
		for _, x := range r {
			s += x * x
		}
		for j := range r {
			r[j] /= sqrt(s)
		}
	}
	return v
}

// embedBound builds bound(critic(z1, z2)) on constant embeddings.
func embedBound(t *testing.T, z1, z2 []float64, n, d int, critic Critic, bound func(g *nn.Graph, s *G.Node) *Bound) *Bound {
	t.Helper()
	g := nn.NewGraph(tensor.Float64, nn.Train, 1)
	b := bound(g, critic.Scores(g, g.Constant("z1", z1, n, d), g.Constant("z2", z2, n, d)))
	prog, err := g.Compile(nil)
	require.NoError(t, err)
	require.NoError(t, prog.Run())
	return b
}
