package contrast

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/registry"
)

// Bound is a mutual-information bound built into a graph: the loss that the
// estimator minimises, and the estimate in nats that plots and tables report.
type Bound struct {
	Loss *G.Node // scalar; minimising it tightens the bound
	MI   *G.Node // scalar estimate of I(v1; v2) in nats
	K    int     // candidates per anchor (1 positive + K-1 negatives)
	// Ceiling is the largest value the estimate can take (log K for the
	// InfoNCE bounds, +Inf for Donsker-Varadhan).
	Ceiling float64

	loss, mi *nn.Watched
	bank     *bankInputs // a memory-bank bound's negatives and embeddings
}

func newBound(g *nn.Graph, loss, mi *G.Node, k int, ceiling float64) *Bound {
	return &Bound{Loss: loss, MI: mi, K: k, Ceiling: ceiling, loss: g.Watch(loss), mi: g.Watch(mi)}
}

// LossValue returns the loss after the last run.
func (b *Bound) LossValue() float64 { return b.loss.Scalar() }

// Estimate returns the estimate in nats after the last run.
func (b *Bound) Estimate() float64 { return b.mi.Scalar() }

// InfoNCE is the one-directional InfoNCE bound over a score matrix (N, N)
// whose rows are anchors from v1 and whose columns are candidates from v2,
// the positive of row i in column i:
//
//	L_NCE = −(1/N) Σ_i log( exp s_ii / Σ_j exp s_ij ),   I_NCE = log N − L_NCE.
//
// K = N: each anchor has one positive and N−1 in-batch negatives.
func InfoNCE(g *nn.Graph, scores *G.Node) *Bound {
	if !g.Ok(scores) {
		return &Bound{}
	}
	n, err := squareSize(scores)
	if err != nil {
		g.Fail("infonce", err)
		return &Bound{}
	}
	loss := nceLoss(g, scores, 1, n)
	logK := math.Log(float64(n))
	return newBound(g, loss, nn.AddScalar(g, nn.Neg(g, loss), logK), n, logK)
}

// SymmetricInfoNCE is InfoNCE in both directions, v1→v2 (rows) and v2→v1
// (columns), as the paper trains it:
//
//	L = L(1→2) + L(2→1),   I_NCE = log N − (L(1→2) + L(2→1)) / 2.
//
// The estimate averages the two directions, so it is still at most log N.
func SymmetricInfoNCE(g *nn.Graph, scores *G.Node) *Bound {
	if !g.Ok(scores) {
		return &Bound{}
	}
	n, err := squareSize(scores)
	if err != nil {
		g.Fail("symmetric infonce", err)
		return &Bound{}
	}
	loss := nn.Add(g, nceLoss(g, scores, 1, n), nceLoss(g, scores, 0, n))
	logK := math.Log(float64(n))
	return newBound(g, loss, nn.AddScalar(g, nn.Scale(g, loss, -0.5), logK), n, logK)
}

// nceLoss is −mean_i log softmax(scores)_ii along axis (1: rows, 0: columns).
func nceLoss(g *nn.Graph, scores *G.Node, axis, n int) *G.Node {
	diag := nn.SumAxis(g, nn.Mul(g, scores, nn.Identity(g, "infonce.eye", n)), axis)
	return nn.MeanAxis(g, nn.Sub(g, nn.LogSumExp(g, scores, axis), diag), 0)
}

func squareSize(s *G.Node) (int, error) {
	sh := s.Shape()
	if len(sh) != 2 || sh[0] != sh[1] || sh[0] < 2 {
		return 0, fmt.Errorf("scores have shape %v, want (N, N) with N ≥ 2", sh)
	}
	return sh[0], nil
}

// DonskerVaradhan is the Donsker-Varadhan bound over a score matrix (N, N)
// with positives on the diagonal and the off-diagonal pairs as samples of
// the product of marginals:
//
//	I_DV = (1/N) Σ_i s_ii − log( (1/(N(N−1))) Σ_{i≠j} exp s_ij ),   L = −I_DV.
//
// It is not capped by log N, but its estimate has a high variance.
func DonskerVaradhan(g *nn.Graph, scores *G.Node) *Bound {
	if !g.Ok(scores) {
		return &Bound{}
	}
	n, err := squareSize(scores)
	if err != nil {
		g.Fail("donsker-varadhan", err)
		return &Bound{}
	}
	eye := nn.Identity(g, "dv.eye", n)
	joint := nn.MeanAxis(g, nn.SumAxis(g, nn.Mul(g, scores, eye), 1), 0)
	// Push the diagonal to −1e4 so that exp removes it, then take a stable
	// log-sum-exp over rows and then over the row results.
	masked := nn.Add(g, scores, nn.Scale(g, eye, -1e4))
	rows := nn.LogSumExp(g, masked, 1)
	all := nn.LogSumExp(g, nn.Reshape(g, rows, 1, n), 1)
	marginal := nn.AddScalar(g, nn.MeanAxis(g, all, 0), -math.Log(float64(n*(n-1))))
	mi := nn.Sub(g, joint, marginal)
	return newBound(g, nn.Neg(g, mi), mi, n, math.Inf(1))
}

// BoundFunc builds a bound over a score matrix (N, N) whose diagonal holds
// the positives.
type BoundFunc func(g *nn.Graph, scores *G.Node) *Bound

// BoundSpec is one kind of bound: a function of the critic's in-batch
// scores, or the memory-bank bound, whose negatives come from banks of
// earlier embeddings.
type BoundSpec struct {
	Scores BoundFunc // nil for the memory-bank bound
	Bank   bool
}

// Bounds holds the bounds by the names critic.bound takes.
var Bounds = registry.New[BoundSpec]("critic.bound")

// MemoryBankBound is the name of the memory-bank bound.
const MemoryBankBound = "membank"

func init() {
	Bounds.Register("symmetric", "InfoNCE in both directions, L(1→2) + L(2→1); I_NCE = log N − L/2 (the paper's training loss)", BoundSpec{Scores: SymmetricInfoNCE})
	Bounds.Register("infonce", "InfoNCE from v1 to v2 only; I_NCE = log N − L", BoundSpec{Scores: InfoNCE})
	Bounds.Register("dv", "Donsker-Varadhan: mean positive score − log mean exp of the negatives; not capped by log N", BoundSpec{Scores: DonskerVaradhan})
	Bounds.Register(MemoryBankBound, "CMC's memory bank: each anchor against its positive and K negatives from the other view's bank, both directions; I_NCE = log(K+1) − L/2", BoundSpec{Bank: true})
}

// bankInputs are the graph inputs and outputs of a memory-bank bound.
type bankInputs struct {
	n1, n2 *nn.Input   // negatives for anchors of v1 (from bank 2) and of v2 (from bank 1)
	z1, z2 *nn.Watched // the batch's embeddings
	k      int
	buf    []float32
}

// bankBound builds the memory-bank bound of embeddings z1, z2 (N×D, unit
// rows) with k negatives per anchor from banks of dimension D:
//
//	L = L(1→2) + L(2→1),   I_NCE = log(K+1) − L/2,
//
// each direction BankNCE against the other view's bank.
func bankBound(g *nn.Graph, z1, z2 *G.Node, k int, tau float64) *Bound {
	if !g.Ok(z1, z2) {
		return &Bound{}
	}
	d := z1.Shape()[1]
	in := &bankInputs{n1: g.Input("negatives_for_v1", k, d), n2: g.Input("negatives_for_v2", k, d), k: k,
		z1: g.Watch(z1), z2: g.Watch(z2)}
	b12 := BankNCE(g, z1, z2, in.n1.Node(), tau)
	b21 := BankNCE(g, z2, z1, in.n2.Node(), tau)
	if !g.Ok() {
		return &Bound{}
	}
	loss := nn.Add(g, b12.Loss, b21.Loss)
	logK := math.Log(float64(k + 1))
	b := newBound(g, loss, nn.AddScalar(g, nn.Scale(g, loss, -0.5), logK), k+1, logK)
	b.bank = in
	return b
}

// Prepare draws the negatives of a memory-bank bound from est's banks
// before a run of its program; other bounds need nothing.
func (b *Bound) Prepare(est *Estimator) error {
	if b.bank == nil {
		return nil
	}
	if est.Banks == nil {
		return fmt.Errorf("contrast: a memory-bank bound needs the estimator's banks")
	}
	in := b.bank
	d := est.Banks.V1.Dim()
	if len(in.buf) != in.k*d {
		in.buf = make([]float32, in.k*d)
	}
	est.Banks.V2.Sample(in.buf, in.k)
	if err := in.n1.Set(in.buf); err != nil {
		return err
	}
	est.Banks.V1.Sample(in.buf, in.k)
	return in.n2.Set(in.buf)
}

// UpdateBanks moves est's bank entries of the batch's examples (their
// indices in the data set) towards the embeddings of the last run; a bound
// without a bank has nothing to update.
func (b *Bound) UpdateBanks(est *Estimator, indices []int) error {
	if b.bank == nil {
		return nil
	}
	if err := est.Banks.V1.Update(indices, b.bank.z1.Values()); err != nil {
		return err
	}
	return est.Banks.V2.Update(indices, b.bank.z2.Values())
}

// HasBank reports whether the bound draws negatives from memory banks.
func (b *Bound) HasBank() bool { return b.bank != nil }
