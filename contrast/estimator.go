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
	Bound  string      // a name in Bounds: "symmetric" (default), "infonce" or "dv"
}

// Estimator is f1, f2 and the critic: the player that maximises I_NCE.
type Estimator struct {
	F1, F2 *Model
	Critic Critic
	bound  BoundFunc
	cfg    EstimatorConfig
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
	return &Estimator{F1: f1, F2: f2, Critic: c, bound: b, cfg: cfg}, nil
}

// Build adds the bound on views v1 (N, c1, H, W) and v2 (N, c2, H, W) to g.
func (e *Estimator) Build(g *nn.Graph, v1, v2 *G.Node) *Bound {
	_, z1 := e.F1.Embed(g, v1)
	_, z2 := e.F2.Embed(g, v2)
	return e.bound(g, e.Critic.Scores(g, z1, z2))
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
