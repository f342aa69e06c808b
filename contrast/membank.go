package contrast

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/learnviews/learnviews/nn"
)

// MemoryBank keeps one L2-normalised embedding per training example of one
// view, updated with momentum after each step, as in CMC (Tian et al.,
// 2019) and InstDis (Wu et al., 2018). It supplies many more negatives than
// a batch holds.
type MemoryBank struct {
	dim      int
	momentum float64
	rows     [][]float32
	rng      *rand.Rand
}

// NewMemoryBank returns a bank of size rows of dim-dimensional random unit
// vectors. momentum is the weight of the old entry in an update (CMC: 0.5).
func NewMemoryBank(size, dim int, momentum float64, rng *rand.Rand) (*MemoryBank, error) {
	if size <= 0 || dim <= 0 {
		return nil, fmt.Errorf("contrast: memory bank size %d and dim %d must be positive", size, dim)
	}
	if momentum < 0 || momentum >= 1 {
		return nil, fmt.Errorf("contrast: memory bank momentum %v outside [0, 1)", momentum)
	}
	b := &MemoryBank{dim: dim, momentum: momentum, rows: make([][]float32, size), rng: rng}
	for i := range b.rows {
		r := make([]float32, dim)
		for j := range r {
			r[j] = float32(rng.NormFloat64())
		}
		normalise(r)
		b.rows[i] = r
	}
	return b, nil
}

func normalise(r []float32) {
	var s float64
	for _, v := range r {
		s += float64(v) * float64(v)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for j := range r {
		r[j] *= inv
	}
}

// Size returns the number of entries.
func (b *MemoryBank) Size() int { return len(b.rows) }

// Row returns entry i (not a copy).
func (b *MemoryBank) Row(i int) []float32 { return b.rows[i] }

// Sample fills dst (k×dim, row-major) with k entries drawn uniformly with
// replacement, and returns their indices.
func (b *MemoryBank) Sample(dst []float32, k int) []int {
	idx := make([]int, k)
	for i := range idx {
		idx[i] = b.rng.IntN(len(b.rows))
		copy(dst[i*b.dim:(i+1)*b.dim], b.rows[idx[i]])
	}
	return idx
}

// Update moves entry idx[i] towards embedding i of z (N×dim, row-major):
// m·old + (1−m)·new, renormalised.
func (b *MemoryBank) Update(idx []int, z []float64) error {
	if len(z) != len(idx)*b.dim {
		return fmt.Errorf("contrast: memory bank update: %d values for %d indices of dim %d", len(z), len(idx), b.dim)
	}
	for i, k := range idx {
		if k < 0 || k >= len(b.rows) {
			return fmt.Errorf("contrast: memory bank update: index %d outside [0, %d)", k, len(b.rows))
		}
		r := b.rows[k]
		for j := range r {
			r[j] = float32(b.momentum*float64(r[j]) + (1-b.momentum)*z[i*b.dim+j])
		}
		normalise(r)
	}
	return nil
}

// BankNCE is the InfoNCE bound with negatives from a memory bank. Each
// anchor z1_i (N×D, unit rows) is scored against its positive z2_i and the
// same K bank entries negs (K×D), shared by the batch:
//
//	L = −(1/N) Σ_i log( exp(z1_i·z2_i/τ) / (exp(z1_i·z2_i/τ) + Σ_k exp(z1_i·n_k/τ)) ),
//	I_NCE = log(K+1) − L.
//
// The caller fills negs before each run (MemoryBank.Sample) and updates the
// bank after it (MemoryBank.Update) with the watched embeddings.
func BankNCE(g *nn.Graph, z1, z2, negs *G.Node, tau float64) *Bound {
	if !g.Ok(z1, z2, negs) {
		return &Bound{}
	}
	if tau <= 0 {
		g.Fail("bank nce", fmt.Errorf("temperature %v must be positive", tau))
		return &Bound{}
	}
	n, k := z1.Shape()[0], negs.Shape()[0]
	pos := nn.Reshape(g, nn.SumAxis(g, nn.Mul(g, z1, z2), 1), n, 1)
	neg := nn.MatMulT(g, z1, negs)
	logits := nn.Scale(g, g.Do("concat", func() (*G.Node, error) { return G.Concat(1, pos, neg) }), 1/tau)
	onehot := make([]float64, n*(k+1))
	for i := 0; i < n; i++ {
		onehot[i*(k+1)] = 1
	}
	loss := nn.LogSoftmaxCE(g, logits, g.Constant("bank.target", onehot, n, k+1))
	logK := math.Log(float64(k + 1))
	return newBound(g, loss, nn.AddScalar(g, nn.Neg(g, loss), logK), k+1, logK)
}
