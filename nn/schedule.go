package nn

import (
	"fmt"
	"math"
)

// Schedule gives the factor by which a base learning rate is multiplied at
// a step (counted from 0).
type Schedule interface {
	Factor(step int) float64
}

// Constant keeps the learning rate fixed.
type Constant struct{}

// Factor returns 1.
func (Constant) Factor(int) float64 { return 1 }

// StepDecay multiplies the learning rate by Gamma at each milestone step, as
// the paper does (×0.2 at epochs 60 and 80 of 100).
type StepDecay struct {
	Milestones []int
	Gamma      float64
}

// Factor returns Gamma^(number of milestones ≤ step).
func (s StepDecay) Factor(step int) float64 {
	f := 1.0
	for _, m := range s.Milestones {
		if step >= m {
			f *= s.Gamma
		}
	}
	return f
}

// Cosine warms up linearly over Warmup steps, then decays along a half
// cosine from 1 to MinFactor at Total steps.
type Cosine struct {
	Total, Warmup int
	MinFactor     float64
}

// Factor returns the cosine schedule's factor.
func (c Cosine) Factor(step int) float64 {
	if c.Warmup > 0 && step < c.Warmup {
		return float64(step+1) / float64(c.Warmup)
	}
	if c.Total <= c.Warmup {
		return 1
	}
	t := math.Min(1, float64(step-c.Warmup)/float64(c.Total-c.Warmup))
	return c.MinFactor + (1-c.MinFactor)*0.5*(1+math.Cos(math.Pi*t))
}

// NewSchedule returns a schedule by name: "constant", "step" (milestones,
// gamma) or "cosine" (total, warmup).
func NewSchedule(name string, total, warmup int, milestones []int, gamma float64) (Schedule, error) {
	switch name {
	case "", "constant":
		return Constant{}, nil
	case "step":
		if gamma <= 0 {
			return nil, fmt.Errorf("nn: step schedule: gamma %v must be positive", gamma)
		}
		return StepDecay{Milestones: milestones, Gamma: gamma}, nil
	case "cosine":
		if total <= 0 {
			return nil, fmt.Errorf("nn: cosine schedule: total steps %d must be positive", total)
		}
		return Cosine{Total: total, Warmup: warmup}, nil
	}
	return nil, fmt.Errorf("nn: unknown schedule %q (known: constant, step, cosine)", name)
}
