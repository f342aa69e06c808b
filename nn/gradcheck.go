package nn

import (
	"fmt"
	"math"
)

// GradCheck configures CheckGradients.
type GradCheck struct {
	Eps      float64 // central-difference step; default 1e-6
	AbsTol   float64 // default 1e-6
	RelTol   float64 // default 1e-4
	MaxElems int     // elements checked per parameter, spread evenly; 0 = all
	// BeforeEach, if set, runs before every evaluation of the loss (e.g. to
	// reseed a graph that draws dropout masks).
	BeforeEach func()
}

// CheckGradients compares the gradients that prog computes for params with
// central finite differences of prog's loss, and returns an error naming the
// parameter and element with the worst mismatch. prog must be a float64
// program compiled with a scalar loss and with params among its wrt.
// Element i passes when |analytic − numeric| ≤ AbsTol + RelTol·max(|a|, |n|).
func CheckGradients(prog *Program, params Params, c GradCheck) error {
	if c.Eps == 0 {
		c.Eps = 1e-6
	}
	if c.AbsTol == 0 {
		c.AbsTol = 1e-6
	}
	if c.RelTol == 0 {
		c.RelTol = 1e-4
	}
	if prog.loss == nil {
		return fmt.Errorf("nn: gradient check needs a program compiled with a loss")
	}
	run := func() (float64, error) {
		if c.BeforeEach != nil {
			c.BeforeEach()
		}
		if err := prog.Run(); err != nil {
			return 0, err
		}
		return prog.Loss(), nil
	}
	if _, err := run(); err != nil {
		return err
	}
	analytic := make([][]float64, len(params))
	for i, p := range params {
		if p.Grad == nil {
			return fmt.Errorf("nn: %s has no gradient", p.Name)
		}
		analytic[i] = Float64s(p.Grad)
	}
	worst, worstMsg := 0.0, ""
	for i, p := range params {
		vals := p.Float64s()
		step := 1
		if c.MaxElems > 0 && len(vals) > c.MaxElems {
			step = len(vals) / c.MaxElems
		}
		for j := 0; j < len(vals); j += step {
			orig := vals[j]
			vals[j] = orig + c.Eps
			_ = p.SetFloat64s(vals)
			up, err := run()
			if err != nil {
				return err
			}
			vals[j] = orig - c.Eps
			_ = p.SetFloat64s(vals)
			down, err := run()
			if err != nil {
				return err
			}
			vals[j] = orig
			_ = p.SetFloat64s(vals)
			num := (up - down) / (2 * c.Eps)
			a := analytic[i][j]
			diff := math.Abs(a - num)
			allowed := c.AbsTol + c.RelTol*math.Max(math.Abs(a), math.Abs(num))
			if math.IsNaN(diff) || diff > allowed {
				if excess := diff / allowed; math.IsNaN(excess) || excess > worst {
					worst = excess
					if math.IsNaN(excess) {
						worst = math.Inf(1)
					}
					worstMsg = fmt.Sprintf("%s[%d]: analytic %.8g, numeric %.8g (|diff| %.3g > %.3g)", p.Name, j, a, num, diff, allowed)
				}
			}
		}
	}
	// Leave the program's gradients as at the unperturbed point.
	if _, err := run(); err != nil {
		return err
	}
	if worstMsg != "" {
		return fmt.Errorf("nn: gradient check failed: %s", worstMsg)
	}
	return nil
}

// SetSeed restarts the graph's random source, so that the next runs draw the
// same masks as after an earlier SetSeed with the same seed.
func (g *Graph) SetSeed(seed uint64) { g.src.Seed(seed, 0x6e6e) }
