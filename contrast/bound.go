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

// Bounds holds the bounds by the names critic.bound takes.
var Bounds = registry.New[BoundFunc]("critic.bound")

func init() {
	Bounds.Register("symmetric", "InfoNCE in both directions, L(1→2) + L(2→1); I_NCE = log N − L/2 (the paper's training loss)", SymmetricInfoNCE)
	Bounds.Register("infonce", "InfoNCE from v1 to v2 only; I_NCE = log N − L", InfoNCE)
	Bounds.Register("dv", "Donsker-Varadhan: mean positive score − log mean exp of the negatives; not capped by log N", DonskerVaradhan)
}
