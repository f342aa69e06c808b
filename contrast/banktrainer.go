package contrast

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// BankTrainer trains an estimator with memory-bank negatives, as CMC does:
// one bank per view; anchors of v1 are contrasted with their positive in v2
// and K negatives from v2's bank, and symmetrically. The loss is the sum of
// both directions and the estimate their mean,
//
//	I_NCE = log(K+1) − (L(1→2) + L(2→1)) / 2.
//
// After each step the banks move towards the batch's embeddings at the
// examples' indices.
type BankTrainer struct {
	Est          *Estimator
	Opt          nn.Optimizer
	Bank1, Bank2 *MemoryBank
	K            int
	v1, v2       *nn.Input
	n1, n2       *nn.Input // negatives for anchors of v1 (from bank 2) and of v2 (from bank 1)
	z1, z2       *nn.Watched
	b12, b21     *Bound
	loss         *G.Node
	prog         *nn.Program
	dim          int
}

// NewBankTrainer compiles the step for batches of n views of h×w pixels,
// with banks of size entries (the training set's size) and k negatives per
// anchor.
func NewBankTrainer(est *Estimator, opt nn.Optimizer, dt tensor.Dtype, n, h, w, size, k int, tau, momentum float64, seed uint64) (*BankTrainer, error) {
	d := est.F1.Head.Dim()
	if est.F2.Head.Dim() != d {
		return nil, fmt.Errorf("contrast: bank trainer needs equal embedding dims, got %d and %d", d, est.F2.Head.Dim())
	}
	b1, err := NewMemoryBank(size, d, momentum, seed)
	if err != nil {
		return nil, err
	}
	b2, err := NewMemoryBank(size, d, momentum, seed+1)
	if err != nil {
		return nil, err
	}
	g := nn.NewGraph(dt, nn.Train, seed)
	t := &BankTrainer{Est: est, Opt: opt, Bank1: b1, Bank2: b2, K: k, dim: d}
	t.v1 = g.Input("v1", n, est.cfg.F1.InChannels, h, w)
	t.v2 = g.Input("v2", n, est.cfg.F2.InChannels, h, w)
	t.n1 = g.Input("negatives_for_v1", k, d)
	t.n2 = g.Input("negatives_for_v2", k, d)
	_, z1 := est.F1.Embed(g, t.v1.Node())
	_, z2 := est.F2.Embed(g, t.v2.Node())
	t.z1, t.z2 = g.Watch(z1), g.Watch(z2)
	t.b12 = BankNCE(g, z1, z2, t.n1.Node(), tau)
	t.b21 = BankNCE(g, z2, z1, t.n2.Node(), tau)
	t.loss = nn.Add(g, t.b12.Loss, t.b21.Loss)
	prog, err := g.Compile(t.loss, est.Params().Learnable()...)
	if err != nil {
		return nil, fmt.Errorf("contrast: compiling the memory-bank step: %w", err)
	}
	t.prog = prog
	return t, nil
}

// Step trains on one batch whose examples have the given dataset indices.
func (t *BankTrainer) Step(v1, v2 []float32, indices []int) (StepResult, error) {
	if err := t.v1.Set(v1); err != nil {
		return StepResult{}, err
	}
	if err := t.v2.Set(v2); err != nil {
		return StepResult{}, err
	}
	neg := make([]float32, t.K*t.dim)
	t.Bank2.Sample(neg, t.K)
	if err := t.n1.Set(neg); err != nil {
		return StepResult{}, err
	}
	t.Bank1.Sample(neg, t.K)
	if err := t.n2.Set(neg); err != nil {
		return StepResult{}, err
	}
	if err := t.prog.Run(); err != nil {
		return StepResult{}, err
	}
	if err := t.Opt.Step(); err != nil {
		return StepResult{}, err
	}
	if err := t.Bank1.Update(indices, t.z1.Values()); err != nil {
		return StepResult{}, err
	}
	if err := t.Bank2.Update(indices, t.z2.Values()); err != nil {
		return StepResult{}, err
	}
	l12, l21 := t.b12.LossValue(), t.b21.LossValue()
	return StepResult{Loss: l12 + l21, MI: t.b12.Ceiling - (l12+l21)/2}, nil
}

// Prime runs the encoders on a batch without training and writes its
// embeddings into both banks at the given indices, replacing the random
// initial entries (so that the first negatives are real embeddings).
func (t *BankTrainer) Prime(v1, v2 []float32, indices []int) error {
	if err := t.v1.Set(v1); err != nil {
		return err
	}
	if err := t.v2.Set(v2); err != nil {
		return err
	}
	if err := t.prog.Run(); err != nil {
		return err
	}
	t.Opt.ZeroGrad()
	for i, k := range indices {
		if k < 0 || k >= t.Bank1.Size() {
			return fmt.Errorf("contrast: prime: index %d outside [0, %d)", k, t.Bank1.Size())
		}
		z1, z2 := t.z1.Values(), t.z2.Values()
		for j := 0; j < t.dim; j++ {
			t.Bank1.Row(k)[j] = float32(z1[i*t.dim+j])
			t.Bank2.Row(k)[j] = float32(z2[i*t.dim+j])
		}
	}
	return nil
}

// Close releases the compiled program.
func (t *BankTrainer) Close() error { return t.prog.Close() }
