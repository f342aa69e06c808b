package games

import (
	"errors"
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/rundir"
)

// Player is one side of a game.
type Player struct {
	Name   string
	Params nn.Params // learnable parameters it steps (buffers are ignored)
	Opt    nn.Optimizer
	Sched  nn.Schedule // may be nil: constant
	// Sign is +1 when the player minimises the shared objective (the
	// generator minimises I_NCE) and -1 when it maximises it (the
	// estimator). The loss each player's program minimises already carries
	// the sign; it is recorded for metrics and documentation.
	Sign float64
	// Clip bounds the gradient norm of each step; 0 disables it. The norm
	// is that of each network of ClipNets separately, or of all Params
	// when ClipNets is empty.
	Clip     float64
	ClipNets []nn.Params
	// MaxFailures is how many non-finite steps are recovered from (by
	// restoring the last good state and multiplying the learning rate by
	// Backoff) before the game stops.
	MaxFailures int
	Backoff     float64

	Failures  int     // recoveries so far
	BackScale float64 // product of the back-offs applied so far (1 at start)
	Steps     int     // optimiser steps taken

	saved guardCopy // what Step restores after a failed step
}

// guardCopy is the parameters and optimiser state that Step copies before
// each step, in memory kept from one step to the next.
type guardCopy struct {
	f32 [][]float32 // per parameter, float32 values
	f64 [][]float64 // per parameter, float64 values
	opt nn.StateCopy
	// The optimiser's State, for an optimiser that is no nn.StateCopier.
	optT map[string]*tensor.Dense
	optM map[string]string
}

func (c *guardCopy) save(ps nn.Params, opt nn.Optimizer) {
	if len(c.f32) != len(ps) {
		c.f32, c.f64 = make([][]float32, len(ps)), make([][]float64, len(ps))
	}
	for i, q := range ps {
		switch d := q.Value.Data().(type) {
		case []float32:
			c.f32[i] = append(c.f32[i][:0], d...)
		case []float64:
			c.f64[i] = append(c.f64[i][:0], d...)
		}
	}
	if sc, ok := opt.(nn.StateCopier); ok {
		sc.CopyState(&c.opt)
		c.optT, c.optM = nil, nil
		return
	}
	stT, stMeta := opt.State()
	c.optT, c.optM = make(map[string]*tensor.Dense, len(stT)), stMeta
	for _, t := range stT {
		c.optT[t.Name] = t.Tensor
	}
}

func (c *guardCopy) restore(ps nn.Params, opt nn.Optimizer) error {
	if len(c.f32) != len(ps) {
		return fmt.Errorf("games: the saved state is for %d parameters, not %d", len(c.f32), len(ps))
	}
	for i, q := range ps {
		switch d := q.Value.Data().(type) {
		case []float32:
			if len(c.f32[i]) != len(d) {
				return fmt.Errorf("games: the saved state of %s does not match it", q.Name)
			}
			copy(d, c.f32[i])
		case []float64:
			if len(c.f64[i]) != len(d) {
				return fmt.Errorf("games: the saved state of %s does not match it", q.Name)
			}
			copy(d, c.f64[i])
		}
	}
	if c.optT != nil {
		return opt.LoadState(c.optT, c.optM)
	}
	sc, ok := opt.(nn.StateCopier)
	if !ok {
		return fmt.Errorf("games: the optimiser changed since its state was saved")
	}
	return sc.RestoreState(&c.opt)
}

// ErrDiverged is wrapped by the error a player returns when it has failed
// more than MaxFailures times.
var ErrDiverged = errors.New("training diverged")

// SetIteration applies the learning-rate schedule (and any back-off) for
// iteration step of the game.
func (p *Player) SetIteration(step int) {
	f := 1.0
	if p.Sched != nil {
		f = p.Sched.Factor(step)
	}
	if p.BackScale == 0 {
		p.BackScale = 1
	}
	p.Opt.SetLRScale(f * p.BackScale)
}

// Step runs one guarded optimiser step of the player at iteration step: run
// computes the forward and backward pass (filling the player's gradients)
// and returns the losses it wants checked; then the gradients are clipped
// (Clip) and the optimiser steps. If a loss, a gradient or (after the
// update) a parameter is NaN or Inf, the parameters and optimiser state are
// restored, the learning rate is lowered and the step is reported as failed
// (ok = false) with the reason; after MaxFailures recoveries Step returns
// an error wrapping ErrDiverged that says what blew up where.
func (p *Player) Step(step int, run func() (map[string]float64, error)) (losses map[string]float64, ok bool, err error) {
	// The copy goes into memory kept from the last step: no allocation.
	p.saved.save(p.Params, p.Opt)
	losses, err = run()
	if err != nil {
		return nil, false, fmt.Errorf("%s step %d: %w", p.Name, step, err)
	}
	bad := ""
	for k, v := range losses {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad = fmt.Sprintf("%s is %v", k, v)
			break
		}
	}
	if bad == "" {
		for _, q := range p.Params {
			if q.Grad != nil && !nn.AllFinite(q.Grad) {
				bad = "the gradient of " + q.Name + " is not finite"
				break
			}
		}
	}
	if bad == "" {
		if p.Clip > 0 {
			if len(p.ClipNets) == 0 {
				p.Params.ClipGradNorm(p.Clip)
			}
			for _, net := range p.ClipNets {
				net.ClipGradNorm(p.Clip)
			}
		}
		if err := p.Opt.Step(); err != nil {
			return nil, false, fmt.Errorf("%s step %d: %w", p.Name, step, err)
		}
		p.Steps++
		for _, q := range p.Params {
			if !nn.AllFinite(q.Value) {
				bad = "parameter " + q.Name + " is not finite after the update"
				break
			}
		}
	}
	if bad == "" {
		return losses, true, nil
	}
	// Recover: restore, back off, count.
	if err := p.saved.restore(p.Params, p.Opt); err != nil {
		return nil, false, err
	}
	p.Params.ZeroGrad()
	p.Failures++
	if p.Backoff <= 0 {
		p.Backoff = 0.5
	}
	if p.BackScale == 0 {
		p.BackScale = 1
	}
	p.BackScale *= p.Backoff
	p.SetIteration(step)
	if p.Failures > p.MaxFailures {
		return losses, false, fmt.Errorf("%s step %d: %s; gave up after %d recoveries (lr now %.3g): %w",
			p.Name, step, bad, p.MaxFailures, p.Opt.LR(0), ErrDiverged)
	}
	return losses, false, nil
}

// State returns the player's counters, as a checkpoint keeps them.
func (p *Player) State() rundir.PlayerState {
	return rundir.PlayerState{Failures: p.Failures, BackScale: p.BackScale, Steps: p.Steps}
}

// Restore sets the player's counters.
func (p *Player) Restore(s rundir.PlayerState) {
	p.Failures, p.BackScale, p.Steps = s.Failures, s.BackScale, s.Steps
}
