package contrast

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

var sqrt = math.Sqrt

func TestInfoNCEHandComputed(t *testing.T) {
	e := math.E
	// scores [[2 0] [1 1]]
	s := []float64{2, 0, 1, 1}
	row0 := -math.Log(e * e / (e*e + 1))
	row1 := math.Log(2)
	col0 := -math.Log(e * e / (e*e + e))
	col1 := -math.Log(e / (1 + e))

	b := evalBound(t, s, 2, InfoNCE)
	assert.InDelta(t, (row0+row1)/2, b.LossValue(), 1e-12)
	assert.InDelta(t, math.Log(2)-(row0+row1)/2, b.Estimate(), 1e-12)
	assert.Equal(t, 2, b.K)
	assert.InDelta(t, math.Log(2), b.Ceiling, 1e-15)

	b = evalBound(t, s, 2, SymmetricInfoNCE)
	l12, l21 := (row0+row1)/2, (col0+col1)/2
	assert.InDelta(t, l12+l21, b.LossValue(), 1e-12)
	assert.InDelta(t, math.Log(2)-(l12+l21)/2, b.Estimate(), 1e-12)
}

func TestDonskerVaradhanHandComputed(t *testing.T) {
	s := []float64{2, 0, 1, 1}
	// joint = (2+1)/2; marginal = log((e^0 + e^1)/2)
	want := 1.5 - math.Log((1+math.E)/2)
	b := evalBound(t, s, 2, DonskerVaradhan)
	assert.InDelta(t, want, b.Estimate(), 1e-9)
	assert.InDelta(t, -want, b.LossValue(), 1e-9)
}

// I_NCE can never exceed log K, whatever the scores.
func TestInfoNCENeverExceedsLogK(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := 0; trial < 20; trial++ {
		n := 2 + rng.IntN(10)
		scale := math.Pow(10, float64(rng.IntN(4))) // up to 1000: large logits stay finite
		s := make([]float64, n*n)
		for i := range s {
			s[i] = rng.NormFloat64() * scale
		}
		for i := 0; i < n; i++ {
			s[i*n+i] += 5 * scale // strongly aligned diagonal
		}
		for _, f := range []func(*nn.Graph, *G.Node) *Bound{InfoNCE, SymmetricInfoNCE} {
			b := evalBound(t, s, n, f)
			require.False(t, math.IsNaN(b.Estimate()))
			assert.LessOrEqual(t, b.Estimate(), math.Log(float64(n))+1e-12)
		}
	}
}

func TestInfoNCEAlignedAndIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	n, d := 64, 128
	z := randUnit(rng, n, d)
	aligned := embedBound(t, z, z, n, d, Cosine{Tau: 0.07}, SymmetricInfoNCE)
	assert.Greater(t, aligned.Estimate(), math.Log(float64(n))-0.05, "perfectly aligned embeddings reach log K")

	z2 := randUnit(rng, n, d)
	indep := embedBound(t, z, z2, n, d, Cosine{Tau: 0.5}, SymmetricInfoNCE)
	assert.InDelta(t, 0, indep.Estimate(), 0.1, "independent embeddings carry no information")
	// With the paper's sharp temperature the estimate is still a lower
	// bound: it falls below zero rather than above.
	sharp := embedBound(t, z, z2, n, d, Cosine{Tau: 0.07}, SymmetricInfoNCE)
	assert.Less(t, sharp.Estimate(), 0.05)
}

func TestCriticScores(t *testing.T) {
	// z1 = [[3 4] [1 0]], z2 = [[0 2] [1 1]]
	z1, z2 := []float64{3, 4, 1, 0}, []float64{0, 2, 1, 1}
	run := func(c Critic) []float64 {
		g := nn.NewGraph(tensor.Float64, nn.Train, 1)
		s := g.Watch(c.Scores(g, g.Constant("a", z1, 2, 2), g.Constant("b", z2, 2, 2)))
		prog, err := g.Compile(nil)
		require.NoError(t, err)
		require.NoError(t, prog.Run())
		return s.Values()
	}
	r2 := 1 / math.Sqrt(2)
	assert.InDeltaSlice(t, []float64{0.8 / 0.5, (0.6*r2 + 0.8*r2) / 0.5, 0, r2 / 0.5}, run(Cosine{Tau: 0.5}), 1e-9)

	b := NewBilinear("crit", tensor.Float64, 2, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, b.W.SetFloat64s([]float64{1, 0, 0, 2})) // diag(1, 2)
	assert.InDeltaSlice(t, []float64{16, 3 + 8, 0, 1}, run(b), 1e-12)
}

func TestBankNCEHandComputed(t *testing.T) {
	// One anchor z1 = (1, 0), positive z2 = (1, 0), negatives (0, 1), (-1, 0); τ = 1.
	g := nn.NewGraph(tensor.Float64, nn.Train, 1)
	b := BankNCE(g, g.Constant("z1", []float64{1, 0}, 1, 2), g.Constant("z2", []float64{1, 0}, 1, 2),
		g.Constant("negs", []float64{0, 1, -1, 0}, 2, 2), 1)
	prog, err := g.Compile(nil)
	require.NoError(t, err)
	require.NoError(t, prog.Run())
	e := math.E
	loss := -math.Log(e / (e + 1 + 1/e))
	assert.InDelta(t, loss, b.LossValue(), 1e-12)
	assert.InDelta(t, math.Log(3)-loss, b.Estimate(), 1e-12)
	assert.Equal(t, 3, b.K)
}

// Finite-difference gradients of every bound with respect to the embeddings
// (through the critics) and the bilinear critic's matrix.
func TestBoundGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	n, d := 5, 4
	bil := NewBilinear("crit", tensor.Float64, d, rng)
	cases := []struct {
		name   string
		critic Critic
		bound  func(*nn.Graph, *G.Node) *Bound
	}{
		{"infonce cosine", Cosine{Tau: 0.2}, InfoNCE},
		{"symmetric cosine", Cosine{Tau: 0.07}, SymmetricInfoNCE},
		{"symmetric bilinear", bil, SymmetricInfoNCE},
		{"dv cosine", Cosine{Tau: 0.5}, DonskerVaradhan},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			z1 := nn.NewParam("z1", tensor.Float64, n, d)
			z2 := nn.NewParam("z2", tensor.Float64, n, d)
			z1.InitNormal(rng, 1)
			z2.InitNormal(rng, 1)
			g := nn.NewGraph(tensor.Float64, nn.Train, 1)
			b := tc.bound(g, tc.critic.Scores(g, g.Param(z1), g.Param(z2)))
			wrt := append(nn.Params{z1, z2}, tc.critic.Params()...)
			prog, err := g.Compile(b.Loss, wrt...)
			require.NoError(t, err)
			require.NoError(t, nn.CheckGradients(prog, wrt, nn.GradCheck{}))
		})
	}
	t.Run("bank nce", func(t *testing.T) {
		z1 := nn.NewParam("z1", tensor.Float64, n, d)
		z2 := nn.NewParam("z2", tensor.Float64, n, d)
		z1.InitNormal(rng, 0.5)
		z2.InitNormal(rng, 0.5)
		g := nn.NewGraph(tensor.Float64, nn.Train, 1)
		b := BankNCE(g, g.Param(z1), g.Param(z2), g.Constant("negs", randUnit(rng, 7, d), 7, d), 0.3)
		prog, err := g.Compile(b.Loss, z1, z2)
		require.NoError(t, err)
		require.NoError(t, nn.CheckGradients(prog, nn.Params{z1, z2}, nn.GradCheck{}))
	})
}

func TestBoundBadInput(t *testing.T) {
	g := nn.NewGraph(tensor.Float64, nn.Train, 1)
	InfoNCE(g, g.Constant("s", make([]float64, 6), 2, 3))
	require.Error(t, g.Err())
	assert.Contains(t, g.Err().Error(), "want (N, N)")
}

func TestMemoryBank(t *testing.T) {
	b, err := NewMemoryBank(10, 2, 0.5, 4)
	require.NoError(t, err)
	for i := 0; i < b.Size(); i++ {
		r := b.Row(i)
		assert.InDelta(t, 1, float64(r[0]*r[0]+r[1]*r[1]), 1e-6, "rows start as unit vectors")
	}
	// The first embedding written to row 3 replaces its random start; the
	// next is mixed in with momentum 0.5.
	require.NoError(t, b.Update([]int{3}, []float64{0, 1}))
	assert.InDeltaSlice(t, []float32{0, 1}, b.Row(3), 1e-6)
	require.NoError(t, b.Update([]int{3}, []float64{1, 0}))
	r2 := float32(1 / math.Sqrt(2))
	assert.InDeltaSlice(t, []float32{r2, r2}, b.Row(3), 1e-6)
	// Negatives come from the rows written so far.
	require.NoError(t, b.Update([]int{7}, []float64{1, 0}))
	dst := make([]float32, 8*2)
	idx := b.Sample(dst, 8)
	for i, k := range idx {
		assert.Contains(t, []int{3, 7}, k)
		assert.Equal(t, b.Row(k), dst[2*i:2*i+2])
	}
	assert.Equal(t, []int{3, 7}, b.Written())
	assert.ErrorContains(t, b.Update([]int{10}, []float64{1, 0}), "index 10 outside [0, 10)")
	_, err = NewMemoryBank(10, 2, 1, 4)
	assert.ErrorContains(t, err, "momentum")
	_, err = NewMemoryBank(1<<29, 4, 0.5, 4)
	assert.ErrorContains(t, err, "at most")

	// A restored bank draws the same negatives and holds the same entries.
	state, err := b.RandState()
	require.NoError(t, err)
	saved := b.Tensor()
	want := make([]float32, 3*2)
	wantIdx := b.Sample(want, 3)
	c, err := NewMemoryBank(10, 2, 0.5, 99)
	require.NoError(t, err)
	require.NoError(t, c.Restore(saved, b.Written(), state))
	got := make([]float32, 3*2)
	assert.Equal(t, wantIdx, c.Sample(got, 3))
	assert.Equal(t, want, got)
	assert.ErrorContains(t, c.Restore(tensor.New(tensor.WithShape(3, 2), tensor.WithBacking(make([]float32, 6))), nil, state), "saved one is (3, 2)")
	assert.ErrorContains(t, c.Restore(saved, []int{3, 3}, state), "repeated")
}
