package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Linear is a fully connected layer y = x·W + b. W is stored input-major,
// shape (in, out); PyTorch's nn.Linear keeps Wᵀ.
type Linear struct {
	W, B *Param // B is nil without bias
}

// NewLinear returns a Linear layer initialised as PyTorch does: W and b
// uniform in ±1/√in.
func NewLinear(name string, dt tensor.Dtype, in, out int, bias bool, rng *rand.Rand) *Linear {
	l := &Linear{W: NewParam(name+".weight", dt, in, out)}
	bound := 1 / math.Sqrt(float64(in))
	l.W.InitUniform(rng, bound)
	if bias {
		l.B = NewParam(name+".bias", dt, out)
		l.B.InitUniform(rng, bound)
	}
	return l
}

// Params returns the layer's parameters.
func (l *Linear) Params() Params {
	if l.B == nil {
		return Params{l.W}
	}
	return Params{l.W, l.B}
}

// Forward applies the layer to x of shape (N, in).
func (l *Linear) Forward(g *Graph, x *G.Node) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	if x.Dims() != 2 || x.Shape()[1] != l.W.Shape()[0] {
		g.Fail(l.W.Name, fmt.Errorf("input shape %v, want (N, %d)", x.Shape(), l.W.Shape()[0]))
		return nil
	}
	y := MatMul(g, x, g.Param(l.W))
	if l.B == nil {
		return y
	}
	out := l.W.Shape()[1]
	return BroadcastAdd(g, y, Reshape(g, g.Param(l.B), 1, out), 0)
}

// Conv2d is a 2-D convolution over NCHW input with square kernels. W has
// PyTorch's layout (out, in, k, k).
type Conv2d struct {
	W, B           *Param // B is nil without bias
	Stride, Pad, K int
}

// NewConv2d returns a convolution initialised as PyTorch does: uniform in
// ±1/√(in·k·k).
func NewConv2d(name string, dt tensor.Dtype, in, out, k, stride, pad int, bias bool, rng *rand.Rand) *Conv2d {
	c := &Conv2d{W: NewParam(name+".weight", dt, out, in, k, k), Stride: stride, Pad: pad, K: k}
	bound := 1 / math.Sqrt(float64(in*k*k))
	c.W.InitUniform(rng, bound)
	if bias {
		c.B = NewParam(name+".bias", dt, out)
		c.B.InitUniform(rng, bound)
	}
	return c
}

// Params returns the layer's parameters.
func (c *Conv2d) Params() Params {
	if c.B == nil {
		return Params{c.W}
	}
	return Params{c.W, c.B}
}

// OutSize returns the spatial size of the output for an input of size n.
func (c *Conv2d) OutSize(n int) int { return (n+2*c.Pad-c.K)/c.Stride + 1 }

// Forward applies the convolution to x of shape (N, in, H, W).
func (c *Conv2d) Forward(g *Graph, x *G.Node) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	ws := c.W.Shape()
	if x.Dims() != 4 || x.Shape()[1] != ws[1] {
		g.Fail(c.W.Name, fmt.Errorf("input shape %v, want (N, %d, H, W)", x.Shape(), ws[1]))
		return nil
	}
	if ws[2] != c.K || ws[3] != c.K {
		g.Fail(c.W.Name, fmt.Errorf("filters of shape %v, want %d×%d kernels", ws, c.K, c.K))
		return nil
	}
	if !g.composed {
		var b *G.Node
		if c.B != nil {
			b = g.Param(c.B)
		}
		y := conv2dFast(g, x, g.Param(c.W), b, c.K, c.Stride, c.Pad)
		if y == nil && g.err == nil {
			g.Fail(c.W.Name, fmt.Errorf("convolution failed"))
		}
		return y
	}
	if g.dnn {
		var b *G.Node
		if c.B != nil {
			b = g.Param(c.B)
		}
		return dnnConv2d(g, x, g.Param(c.W), b, c.K, c.Stride, c.Pad)
	}
	y := g.Do(c.W.Name, func() (*G.Node, error) {
		return G.Conv2d(x, g.Param(c.W), tensor.Shape{c.K, c.K}, []int{c.Pad, c.Pad}, []int{c.Stride, c.Stride}, []int{1, 1})
	})
	if c.B == nil {
		return y
	}
	return BroadcastAdd(g, y, Reshape(g, g.Param(c.B), 1, ws[0], 1, 1), 0, 2, 3)
}

// BatchNorm normalises each channel of an (N, C) or (N, C, H, W) input by
// its batch mean and (biased) variance in Train mode, and by its running
// statistics in Eval mode, then scales by γ and shifts by β. The running
// statistics are updated after each training run with the given momentum,
// the variance unbiased, as in PyTorch.
type BatchNorm struct {
	Gamma, Beta     *Param
	RunMean, RunVar *Param // buffers
	Momentum, Eps   float64
	channels        int
}

// NewBatchNorm returns a batch normalisation over c channels with γ = 1,
// β = 0, momentum 0.1 and ε = 1e-5.
func NewBatchNorm(name string, dt tensor.Dtype, c int) *BatchNorm {
	b := &BatchNorm{
		Gamma:    NewParam(name+".weight", dt, c),
		Beta:     NewParam(name+".bias", dt, c),
		RunMean:  NewBuffer(name+".running_mean", dt, c),
		RunVar:   NewBuffer(name+".running_var", dt, c),
		Momentum: 0.1,
		Eps:      1e-5,
		channels: c,
	}
	b.Gamma.Fill(1)
	b.RunVar.Fill(1)
	return b
}

// Params returns γ, β and the two running-statistics buffers.
func (b *BatchNorm) Params() Params { return Params{b.Gamma, b.Beta, b.RunMean, b.RunVar} }

// Forward normalises x.
func (b *BatchNorm) Forward(g *Graph, x *G.Node) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	s := x.Shape()
	if (len(s) != 2 && len(s) != 4) || s[1] != b.channels {
		g.Fail(b.Gamma.Name, fmt.Errorf("input shape %v, want (N, %d) or (N, %d, H, W)", s, b.channels, b.channels))
		return nil
	}
	n, c := s[0], s[1]
	if !g.Training() && !g.composed && !g.dnn {
		y, _ := batchNormFast(g, x, g.Param(b.Gamma), g.Param(b.Beta), b.Eps, func() ([]float64, []float64) {
			return b.RunMean.Float64s(), b.RunVar.Float64s()
		})
		return y
	}
	if g.Training() && !g.composed {
		y, st := batchNormFast(g, x, g.Param(b.Gamma), g.Param(b.Beta), b.Eps, nil)
		if y == nil {
			return nil
		}
		count := n
		if len(s) == 4 {
			count *= s[2] * s[3]
		}
		g.AfterRun(func() error {
			if !st.computed {
				return b.updateRunning(nil, nil, count)
			}
			return b.updateRunning(st.mean, st.variance, count)
		})
		return y
	}
	if g.Training() && g.dnn && len(s) == 4 {
		y, stats := dnnBatchNorm(g, x, g.Param(b.Gamma), g.Param(b.Beta), b.Eps)
		if y == nil {
			return nil
		}
		ws := g.Watch(stats)
		count := n * s[2] * s[3]
		g.AfterRun(func() error {
			v := ws.Values()
			if len(v) != 2*c {
				return b.updateRunning(nil, nil, count)
			}
			mean, variance := v[:c], make([]float64, c)
			for i, inv := range v[c:] {
				variance[i] = 1/(inv*inv) - b.Eps
			}
			return b.updateRunning(mean, variance, count)
		})
		return y
	}
	hw := 1
	if len(s) == 4 {
		hw = s[2] * s[3]
	}
	x3 := Reshape(g, x, n, c, hw)
	var mean, variance *G.Node
	if g.Training() {
		mean = MeanAxis(g, MeanAxis(g, x3, 2), 0)
		centred := BroadcastSub(g, x3, Reshape(g, mean, 1, c, 1), 0, 2)
		variance = MeanAxis(g, MeanAxis(g, Square(g, centred), 2), 0)
		count := n * hw
		wm, wv := g.Watch(mean), g.Watch(variance)
		g.AfterRun(func() error { return b.updateRunning(wm.Values(), wv.Values(), count) })
	} else {
		mean = g.Param(b.RunMean)
		variance = g.Param(b.RunVar)
	}
	inv := Sqrt(g, AddScalar(g, variance, b.Eps))
	xhat := BroadcastDiv(g, BroadcastSub(g, x3, Reshape(g, mean, 1, c, 1), 0, 2), Reshape(g, inv, 1, c, 1), 0, 2)
	y := BroadcastAdd(g, BroadcastMul(g, xhat, Reshape(g, g.Param(b.Gamma), 1, c, 1), 0, 2), Reshape(g, g.Param(b.Beta), 1, c, 1), 0, 2)
	return Reshape(g, y, s...)
}

func (b *BatchNorm) updateRunning(m, v []float64, count int) error {
	if len(m) != b.channels || len(v) != b.channels {
		return fmt.Errorf("nn: %s: batch statistics not computed", b.Gamma.Name)
	}
	rm, rv := b.RunMean.Float64s(), b.RunVar.Float64s()
	unbias := 1.0
	if count > 1 {
		unbias = float64(count) / float64(count-1)
	}
	for i := range rm {
		rm[i] = (1-b.Momentum)*rm[i] + b.Momentum*m[i]
		rv[i] = (1-b.Momentum)*rv[i] + b.Momentum*v[i]*unbias
	}
	if err := b.RunMean.SetFloat64s(rm); err != nil {
		return err
	}
	return b.RunVar.SetFloat64s(rv)
}

// Dropout zeroes each element with probability P in Train mode and scales
// the rest by 1/(1-P); in Eval mode it is the identity. Masks are drawn from
// the graph's seeded source before each run.
type Dropout struct{ P float64 }

// Forward applies dropout to x.
func (d Dropout) Forward(g *Graph, x *G.Node) *G.Node {
	if !g.Ok(x) || !g.Training() || d.P == 0 {
		return x
	}
	if d.P < 0 || d.P >= 1 {
		g.Fail("dropout", fmt.Errorf("probability %v outside [0, 1)", d.P))
		return nil
	}
	mask := g.Input("dropout.mask", x.Shape()...)
	keep := 1 - d.P
	g.BeforeRun(func() error {
		rng := g.Rand()
		switch v := mask.Value().Data().(type) {
		case []float32:
			for i := range v {
				v[i] = 0
				if rng.Float64() < keep {
					v[i] = float32(1 / keep)
				}
			}
		case []float64:
			for i := range v {
				v[i] = 0
				if rng.Float64() < keep {
					v[i] = 1 / keep
				}
			}
		}
		return nil
	})
	return Mul(g, x, mask.Node())
}
