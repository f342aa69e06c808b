package contrast

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// EstimatorConfig describes the estimator player: two encoders with heads,
// a critic and a bound.
type EstimatorConfig struct {
	F1, F2 ModelConfig // f1 sees v1, f2 sees v2; InChannels must match the views
	Critic string      // a name in Critics: "cosine" (default) or "bilinear"
	Tau    float64     // cosine critic temperature; default 0.07
	Bound  string      // a name in Bounds: "symmetric" (default), "infonce", "dv" or "membank"
	// Bank sizes the memory banks of the "membank" bound.
	Bank BankConfig
}

// BankConfig sizes the memory banks of the memory-bank bound.
type BankConfig struct {
	Size     int     // entries: the examples of the data set the batches index
	K        int     // negatives per anchor (CMC: 4096)
	Momentum float64 // weight of the old entry in an update (CMC: 0.5)
	Seed     uint64  // of the banks' initial entries and their draws
}

// Banks are the memory banks of a memory-bank estimator: the embeddings of
// v1 (f1's) and of v2 (f2's), one per example.
type Banks struct {
	V1, V2 *MemoryBank
}

// Estimator is f1, f2 and the critic: the player that maximises I_NCE.
type Estimator struct {
	F1, F2 *Model
	Critic Critic
	// Banks holds the memory banks of the "membank" bound (nil otherwise);
	// its state is the estimator's as much as its weights are.
	Banks *Banks
	bound BoundSpec
	cfg   EstimatorConfig
}

// NewEstimator builds the estimator's models, named "f1" and "f2".
func NewEstimator(dt tensor.Dtype, cfg EstimatorConfig, rng *rand.Rand) (*Estimator, error) {
	f1, err := NewModel("f1", dt, cfg.F1, rng)
	if err != nil {
		return nil, err
	}
	f2, err := NewModel("f2", dt, cfg.F2, rng)
	if err != nil {
		return nil, err
	}
	critic := cfg.Critic
	if critic == "" {
		critic = "cosine"
	}
	newCritic, err := Critics.Lookup(critic)
	if err != nil {
		return nil, fmt.Errorf("contrast: %w", err)
	}
	bound := cfg.Bound
	if bound == "" {
		bound = "symmetric"
	}
	b, err := Bounds.Lookup(bound)
	if err != nil {
		return nil, fmt.Errorf("contrast: %w", err)
	}
	if f1.Head.Dim() != f2.Head.Dim() {
		return nil, fmt.Errorf("contrast: f1 and f2 embed into %d and %d dimensions: the critic needs them equal", f1.Head.Dim(), f2.Head.Dim())
	}
	c, err := newCritic(dt, f1.Head.Dim(), cfg.Tau, rng)
	if err != nil {
		return nil, fmt.Errorf("contrast: %w", err)
	}
	e := &Estimator{F1: f1, F2: f2, Critic: c, bound: b, cfg: cfg}
	if b.Bank {
		if _, ok := c.(Cosine); !ok {
			return nil, fmt.Errorf("contrast: the memory-bank bound scores unit embeddings at a temperature: it needs the cosine critic, not %s", critic)
		}
		if cfg.Bank.K < 1 {
			return nil, fmt.Errorf("contrast: the memory-bank bound needs K ≥ 1 negatives, got %d", cfg.Bank.K)
		}
		d := f1.Head.Dim()
		e.Banks = &Banks{}
		if e.Banks.V1, err = NewMemoryBank(cfg.Bank.Size, d, cfg.Bank.Momentum, cfg.Bank.Seed); err != nil {
			return nil, err
		}
		if e.Banks.V2, err = NewMemoryBank(cfg.Bank.Size, d, cfg.Bank.Momentum, cfg.Bank.Seed+1); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Build adds the bound on views v1 (N, c1, H, W) and v2 (N, c2, H, W) to g.
// A memory-bank bound needs Prepare before each run of the program and
// UpdateBanks after the estimator's steps.
func (e *Estimator) Build(g *nn.Graph, v1, v2 *G.Node) *Bound {
	_, z1 := e.F1.Embed(g, v1)
	_, z2 := e.F2.Embed(g, v2)
	if e.bound.Bank {
		tau := e.Critic.(Cosine).Tau
		if tau == 0 {
			tau = DefaultTemperature
		}
		return bankBound(g, z1, z2, e.cfg.Bank.K, tau)
	}
	return e.bound.Scores(g, e.Critic.Scores(g, z1, z2))
}

// Params returns f1's, f2's and the critic's parameters.
func (e *Estimator) Params() nn.Params {
	return append(append(e.F1.Params(), e.F2.Params()...), e.Critic.Params()...)
}

// Trainer runs contrastive steps of an estimator on fixed views: the
// reference step of the benchmarks and the inner loop of the contrastive
// game.
type Trainer struct {
	Est    *Estimator
	Opt    nn.Optimizer
	Bound  *Bound
	v1, v2 *nn.Input
	prog   *nn.Program
}

// StepResult is what one step measured.
type StepResult struct {
	Loss, MI float64
}

// NewTrainer compiles the step for batches of n views of h×w pixels. opt
// must update the estimator's learnable parameters.
func NewTrainer(est *Estimator, opt nn.Optimizer, dt tensor.Dtype, n, h, w int, seed uint64) (*Trainer, error) {
	g := nn.NewGraph(dt, nn.Train, seed)
	t := &Trainer{Est: est, Opt: opt}
	t.v1 = g.Input("v1", n, est.cfg.F1.InChannels, h, w)
	t.v2 = g.Input("v2", n, est.cfg.F2.InChannels, h, w)
	t.Bound = est.Build(g, t.v1.Node(), t.v2.Node())
	prog, err := g.Compile(t.Bound.Loss, est.Params().Learnable()...)
	if err != nil {
		return nil, fmt.Errorf("contrast: compiling the contrastive step: %w", err)
	}
	t.prog = prog
	return t, nil
}

// Step runs forward and backward on one batch of views and updates the
// estimator.
func (t *Trainer) Step(v1, v2 []float32) (StepResult, error) {
	if err := t.v1.Set(v1); err != nil {
		return StepResult{}, err
	}
	if err := t.v2.Set(v2); err != nil {
		return StepResult{}, err
	}
	if err := t.prog.Run(); err != nil {
		return StepResult{}, err
	}
	if err := t.Opt.Step(); err != nil {
		return StepResult{}, err
	}
	return StepResult{Loss: t.Bound.LossValue(), MI: t.Bound.Estimate()}, nil
}

// Close releases the compiled program.
func (t *Trainer) Close() error { return t.prog.Close() }

// TensorBytes returns the bytes that the values of the step's graph
// occupy (see nn.Program.TensorBytes).
func (t *Trainer) TensorBytes() int64 { return t.prog.TensorBytes() }
