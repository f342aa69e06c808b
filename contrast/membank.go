package contrast

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"

	G "gorgonia.org/gorgonia"

	"github.com/learnviews/learnviews/nn"
)

// MemoryBank keeps one L2-normalised embedding per training example of one
// view, updated with momentum after each step, as in CMC (Tian et al.,
// 2019) and InstDis (Wu et al., 2018). It supplies many more negatives than
// a batch holds.
//
// Unlike CMC's bank, an entry starts from the first embedding written to it
// rather than mixing it into its random start, and negatives are drawn
// from the entries written so far (from all of them until one is), so that
// the first steps are not scored against random vectors.
type MemoryBank struct {
	dim      int
	momentum float64
	rows     [][]float32
	src      *rand.PCG // its state is the bank's: see RandState
	rng      *rand.Rand
	written  []int // the entries written so far, in the order they were first written
	isSet    []bool
}

// MaxBankEntries bounds a bank's size×dim, so that a configuration cannot
// ask for more memory than a machine has (4 GiB of float32).
const MaxBankEntries = 1 << 30

// NewMemoryBank returns a bank of size rows of dim-dimensional random unit
// vectors, drawn (like the negatives Sample draws later) from a source
// seeded by seed. momentum is the weight of the old entry in an update
// (CMC: 0.5).
func NewMemoryBank(size, dim int, momentum float64, seed uint64) (*MemoryBank, error) {
	if size <= 0 || dim <= 0 || size > MaxBankEntries/dim {
		return nil, fmt.Errorf("contrast: memory bank of %d entries of dimension %d: want positive sizes, at most %d values", size, dim, MaxBankEntries)
	}
	if momentum < 0 || momentum >= 1 {
		return nil, fmt.Errorf("contrast: memory bank momentum %v outside [0, 1)", momentum)
	}
	src := rand.NewPCG(seed, 0xba4c)
	rng := rand.New(src)
	b := &MemoryBank{dim: dim, momentum: momentum, rows: make([][]float32, size), src: src, rng: rng, isSet: make([]bool, size)}
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
// replacement from those written so far (from all of them before the first
// Update), and returns their indices.
func (b *MemoryBank) Sample(dst []float32, k int) []int {
	idx := make([]int, k)
	for i := range idx {
		if len(b.written) > 0 {
			idx[i] = b.written[b.rng.IntN(len(b.written))]
		} else {
			idx[i] = b.rng.IntN(len(b.rows))
		}
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
		m := b.momentum
		if !b.isSet[k] {
			m = 0 // the first embedding replaces the random start
			b.isSet[k] = true
			b.written = append(b.written, k)
		}
		for j := range r {
			r[j] = float32(m*float64(r[j]) + (1-m)*z[i*b.dim+j])
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

// Dim returns the dimension of the entries.
func (b *MemoryBank) Dim() int { return b.dim }

// Tensor returns the entries as one size×dim tensor (a copy), for saving.
func (b *MemoryBank) Tensor() *tensor.Dense {
	v := make([]float32, 0, len(b.rows)*b.dim)
	for _, r := range b.rows {
		v = append(v, r...)
	}
	return tensor.New(tensor.WithShape(len(b.rows), b.dim), tensor.WithBacking(v))
}

// Written returns the indices of the entries written so far, in the order
// they were first written (a copy), for saving.
func (b *MemoryBank) Written() []int { return append([]int(nil), b.written...) }

// RandState returns the state of the source the bank draws negatives from.
func (b *MemoryBank) RandState() ([]byte, error) { return b.src.MarshalBinary() }

// Restore sets the entries from a size×dim tensor that Tensor returned, the
// written entries from Written and the source from RandState's bytes: the
// bank continues exactly where the saved one stopped. Entries must be
// finite.
func (b *MemoryBank) Restore(t *tensor.Dense, written []int, randState []byte) error {
	if s := t.Shape(); len(s) != 2 || s[0] != len(b.rows) || s[1] != b.dim {
		return fmt.Errorf("contrast: memory bank of %d×%d, the saved one is %v", len(b.rows), b.dim, t.Shape())
	}
	v, ok := t.Data().([]float32)
	if !ok {
		return fmt.Errorf("contrast: memory bank entries are %v, want float32", t.Dtype())
	}
	for i, x := range v {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("contrast: memory bank entry %d, value %d is %v", i/b.dim, i%b.dim, x)
		}
	}
	isSet := make([]bool, len(b.rows))
	for _, k := range written {
		if k < 0 || k >= len(b.rows) || isSet[k] {
			return fmt.Errorf("contrast: memory bank: written entry %d is outside [0, %d) or repeated", k, len(b.rows))
		}
		isSet[k] = true
	}
	if err := b.src.UnmarshalBinary(randState); err != nil {
		return fmt.Errorf("contrast: memory bank source: %w", err)
	}
	for i, r := range b.rows {
		copy(r, v[i*b.dim:(i+1)*b.dim])
	}
	b.written, b.isSet = append(b.written[:0], written...), isSet
	return nil
}
