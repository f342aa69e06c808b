package flow

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// Kinds of flow that Config.Kind names.
const (
	// VP is a volume-preserving flow of additive couplings.
	VP = "vp"
	// NVP is a non-volume-preserving flow of affine couplings with
	// learned invertible 1×1 convolutions between them.
	NVP = "nvp"
)

// flowLeakySlope is the slope of the LeakyReLU inside the coupling networks
// for negative inputs. Unlike a ReLU it leaves no hidden unit dead over the
// whole colour range, which a small coupling network started from PyTorch's
// initialisation would otherwise often have.
const flowLeakySlope = 0.2

// Defaults that Config.WithDefaults fills in.
const (
	DefaultBlocks        = 4
	DefaultHidden        = 16
	DefaultLogScaleBound = 2.0
)

// Upper bounds that Config.Validate puts on the size of a flow, far above
// any flow the experiments use, so that a configuration (such as one read
// from a file) cannot ask for more memory than a machine has: a flow at both
// bounds has about 13 million parameters.
const (
	MaxBlocks = 256
	MaxHidden = 4096
)

// Config describes a learned view generator g: an invertible, pixel-wise
// (or, with Kernel3x3, nearly pixel-wise) map of a 3-channel image onto a
// 3-channel image.
//
// The zero value of every field but Identity means "the default": see
// WithDefaults.
type Config struct {
	// Kind is VP ("vp", additive couplings, log|det J| = 0) or NVP
	// ("nvp", affine couplings and learned 1×1 convolutions). Default "vp".
	Kind string `json:"kind"`
	// Blocks is the number of coupling blocks, at most MaxBlocks.
	// Default 4.
	Blocks int `json:"blocks"`
	// Hidden is the width of the hidden layer of each coupling network, at
	// most MaxHidden. Default 16.
	Hidden int `json:"hidden"`
	// Kernel3x3 is "none", "first" or "last": which block, if any, uses 3×3
	// convolutions (padding 1) instead of 1×1 in its coupling networks, so
	// that g looks at each pixel's neighbours. Default "none".
	Kernel3x3 string `json:"kernel3x3"`
	// Identity starts g as the identity map: the last layer of every
	// coupling network is zero and every 1×1 mixing convolution is the
	// identity matrix. Otherwise every layer starts as PyTorch initialises
	// it and every mixing convolution at a random rotation.
	Identity bool `json:"identity"`
	// LogScaleBound is B in the NVP log-scale s = B·tanh(r/B), which keeps
	// every scale factor exp(s) within [e^-B, e^B]. NVP only; default 2.
	LogScaleBound float64 `json:"log_scale_bound,omitempty"`
}

// WithDefaults returns c with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.Kind == "" {
		c.Kind = VP
	}
	if c.Blocks == 0 {
		c.Blocks = DefaultBlocks
	}
	if c.Hidden == 0 {
		c.Hidden = DefaultHidden
	}
	if c.Kernel3x3 == "" {
		c.Kernel3x3 = "none"
	}
	if c.Kind == NVP && c.LogScaleBound == 0 {
		c.LogScaleBound = DefaultLogScaleBound
	}
	return c
}

// Validate reports the first field of c (after defaults) that is out of
// range.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch c.Kind {
	case VP:
		if c.LogScaleBound != 0 {
			return fmt.Errorf("flow: log-scale bound %v given for a %q flow, which has no scale (use %q)", c.LogScaleBound, VP, NVP)
		}
	case NVP:
		if !(c.LogScaleBound > 0) || math.IsInf(c.LogScaleBound, 0) {
			return fmt.Errorf("flow: log-scale bound %v, want a finite value > 0", c.LogScaleBound)
		}
	default:
		return fmt.Errorf("flow: kind %q, want %q or %q", c.Kind, VP, NVP)
	}
	if c.Blocks < 1 || c.Blocks > MaxBlocks {
		return fmt.Errorf("flow: %d blocks, want 1 to %d", c.Blocks, MaxBlocks)
	}
	if c.Hidden < 1 || c.Hidden > MaxHidden {
		return fmt.Errorf("flow: hidden width %d, want 1 to %d", c.Hidden, MaxHidden)
	}
	switch c.Kernel3x3 {
	case "none", "first", "last":
	default:
		return fmt.Errorf("flow: kernel3x3 %q, want \"none\", \"first\" or \"last\"", c.Kernel3x3)
	}
	return nil
}

// kernel returns the convolution size of block k.
func (c Config) kernel(k int) int {
	if (c.Kernel3x3 == "first" && k == 0) || (c.Kernel3x3 == "last" && k == c.Blocks-1) {
		return 3
	}
	return 1
}

// Flow is the learned view generator g of the InfoMin view-learning game: an
// invertible map of (N, 3, H, W) images whose output is split into the views
// v1 = g(x)_0 (channel 0) and v2 = g(x)_{1:2} (channels 1 and 2).
//
// Block k (k = 0, 1, ...) couples the single channel a = k mod 3 against the
// pair b = (k+1) mod 3, c = (k+2) mod 3, so that the roles of the channels
// rotate from block to block while each channel stays in its place. With
// x1 = x_a and x2 = (x_b, x_c), a VP block computes
//
//	y1 = x1 + F(x2)
//	y2 = x2 + G(y1)
//
// with the exact inverse x2 = y2 − G(y1), x1 = y1 − F(x2); its Jacobian is
// triangular with a unit diagonal, so log|det J| = 0. An NVP block computes
//
//	y1 = x1 ⊙ exp(s1(x2)) + t1(x2)
//	y2 = x2 ⊙ exp(s2(y1)) + t2(y1)
//
// with s = B·tanh(r/B) for the raw network output r and the bound B of
// Config.LogScaleBound; its inverse is x2 = (y2 − t2(y1)) ⊙ exp(−s2(y1)),
// x1 = (y1 − t1(x2)) ⊙ exp(−s1(x2)) and its log|det J| per pixel is
// Σ s1 + Σ s2. Between NVP blocks a learned invertible 1×1 convolution mixes
// the channels, y = W·x at each pixel, with Glow's LU parameterisation
//
//	W = P · L · (U + diag(sign ⊙ exp(logs)))
//
// where P is a fixed permutation, L unit lower triangular, U strictly upper
// triangular and sign a fixed vector of ±1; it adds Σ logs to each pixel's
// log|det J|.
//
// Each coupling network (F, G, s and t) is conv → LeakyReLU(0.2) → conv with
// biases; s and t of the same half share the hidden layer. Its convolutions
// are 1×1, which makes g pixel-wise, except in the block that
// Config.Kernel3x3 picks, whose convolutions are 3×3 with zero padding 1.
// Such a block is still exactly invertible (each half is computed from the
// other one only), and the per-pixel log-determinants still add up to the
// log-determinant of the whole image's Jacobian.
//
// Parameters live outside any graph (see nn.Param), so the same Flow can be
// built into the generator's graph, the encoders' graph (with its output
// detached) and evaluated in plain Go by Apply and Inverse.
type Flow struct {
	name   string
	dtype  tensor.Dtype
	cfg    Config
	blocks []*flowBlock
	mixes  []*flowMix // NVP: mixes[k] sits between blocks k and k+1
}

// flowBlock is one coupling block.
type flowBlock struct {
	a    int    // the single channel x1
	rest [2]int // the pair x2
	f    *flowNet
	g    *flowNet
}

// flowNet is one coupling network: hidden = LeakyReLU(conv(x)), then the
// shift t = conv(hidden) and, for NVP, the raw log-scale r = conv(hidden).
type flowNet struct {
	hidden, shift, scale *nn.Conv2d // scale is nil for VP
}

// New returns a flow whose parameters are named name+".blocks.<k>.f…",
// name+".blocks.<k>.g…" and, for NVP, name+".mixes.<k>…". dt is
// tensor.Float32 or tensor.Float64; rng draws the initial weights.
func New(name string, dt tensor.Dtype, cfg Config, rng *rand.Rand) (*Flow, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return nil, fmt.Errorf("flow %s: dtype %v, want float32 or float64", name, dt)
	}
	if rng == nil {
		return nil, fmt.Errorf("flow %s: nil random source", name)
	}
	f := &Flow{name: name, dtype: dt, cfg: cfg}
	nvp := cfg.Kind == NVP
	for k := range cfg.Blocks {
		a := k % 3
		b := &flowBlock{a: a, rest: [2]int{(a + 1) % 3, (a + 2) % 3}}
		prefix := fmt.Sprintf("%s.blocks.%d", name, k)
		ks := cfg.kernel(k)
		b.f = newFlowNet(prefix+".f", dt, 2, 1, cfg.Hidden, ks, nvp, cfg.Identity, rng)
		b.g = newFlowNet(prefix+".g", dt, 1, 2, cfg.Hidden, ks, nvp, cfg.Identity, rng)
		f.blocks = append(f.blocks, b)
		if nvp && k < cfg.Blocks-1 {
			m, err := newFlowMix(fmt.Sprintf("%s.mixes.%d", name, k), dt, cfg.Identity, rng)
			if err != nil {
				return nil, fmt.Errorf("flow %s: %w", name, err)
			}
			f.mixes = append(f.mixes, m)
		}
	}
	if err := f.Params().Check(); err != nil {
		return nil, fmt.Errorf("flow %s: %w", name, err)
	}
	return f, nil
}

func newFlowNet(prefix string, dt tensor.Dtype, in, out, hidden, k int, nvp, identity bool, rng *rand.Rand) *flowNet {
	pad := k / 2
	n := &flowNet{
		hidden: nn.NewConv2d(prefix+".hidden", dt, in, hidden, k, 1, pad, true, rng),
		shift:  nn.NewConv2d(prefix+".shift", dt, hidden, out, k, 1, pad, true, rng),
	}
	if nvp {
		n.scale = nn.NewConv2d(prefix+".scale", dt, hidden, out, k, 1, pad, true, rng)
	}
	if identity {
		for _, p := range n.heads() {
			p.Fill(0)
		}
	}
	return n
}

// heads returns the parameters of the output layers.
func (n *flowNet) heads() nn.Params {
	ps := n.shift.Params()
	if n.scale != nil {
		ps = append(ps, n.scale.Params()...)
	}
	return ps
}

func (n *flowNet) params() nn.Params {
	return append(n.hidden.Params(), n.heads()...)
}

// Name returns the prefix of the flow's parameter names.
func (f *Flow) Name() string { return f.name }

// Dtype returns the element type of the flow's parameters.
func (f *Flow) Dtype() tensor.Dtype { return f.dtype }

// Config returns the flow's configuration with every default filled in.
func (f *Flow) Config() Config { return f.cfg }

// Params returns every parameter of the flow in a fixed order: block 0, mix
// 0, block 1, and so on. The permutations and signs of the mixing
// convolutions are buffers: saved with the flow, never stepped.
func (f *Flow) Params() nn.Params {
	var ps nn.Params
	for k, b := range f.blocks {
		ps = append(ps, b.f.params()...)
		ps = append(ps, b.g.params()...)
		if k < len(f.mixes) {
			ps = append(ps, f.mixes[k].params()...)
		}
	}
	return ps
}

// Forward returns g(x) for x of shape (N, 3, H, W).
func (f *Flow) Forward(g *nn.Graph, x *G.Node) *G.Node {
	y, _ := f.forward(g, x, false)
	return y
}

// ForwardLogDet returns g(x) and log|det ∂g(x)/∂x| per pixel, of shape
// (N, H, W): each pixel's share of the log-determinant, whose sum over an
// image is the log-determinant of that image's Jacobian (for a pixel-wise
// flow, each value is the log-determinant of that pixel's 3×3 Jacobian).
// For a VP flow the log-determinant is a constant zero.
func (f *Flow) ForwardLogDet(g *nn.Graph, x *G.Node) (y, logdet *G.Node) {
	return f.forward(g, x, true)
}

// LogDet returns the per-pixel log|det J| of ForwardLogDet alone.
func (f *Flow) LogDet(g *nn.Graph, x *G.Node) *G.Node {
	_, ld := f.forward(g, x, true)
	return ld
}

// Views returns the two views of g(x): v1 = channel 0, of shape
// (N, 1, H, W), and v2 = channels 1 and 2, of shape (N, 2, H, W). Both are
// fresh tensors, so gradients flow from each into g and x, and nothing
// downstream can write into g(x) or x.
func (f *Flow) Views(g *nn.Graph, x *G.Node) (v1, v2 *G.Node) {
	y := f.Forward(g, x)
	return nn.SelectChannels(g, y, []int{0}), nn.SelectChannels(g, y, []int{1, 2})
}

func (f *Flow) forward(g *nn.Graph, x *G.Node, wantLogDet bool) (y, logdet *G.Node) {
	if !g.Ok(x) {
		return nil, nil
	}
	s := x.Shape()
	if s.Dims() != 4 || s[1] != 3 {
		g.Fail("flow "+f.name, fmt.Errorf("input shape %v, want (N, 3, H, W)", s))
		return nil, nil
	}
	if g.Dtype() != f.dtype {
		// Checked here: a parameter of the wrong dtype would fail to bind
		// deep inside a layer.
		g.Fail("flow "+f.name, fmt.Errorf("parameters of dtype %v in a %v graph", f.dtype, g.Dtype()))
		return nil, nil
	}
	n, h, w := s[0], s[2], s[3]
	y = x
	for k, b := range f.blocks {
		var ld *G.Node
		y, ld = b.forward(g, y, f.cfg.LogScaleBound)
		if wantLogDet && ld != nil {
			logdet = flowAccumulate(g, logdet, ld)
		}
		if k < len(f.mixes) {
			var sumLogs *G.Node
			y, sumLogs = f.mixes[k].forward(g, y)
			if wantLogDet {
				logdet = flowAccumulate(g, logdet, sumLogs)
			}
		}
	}
	if wantLogDet && logdet == nil && g.Ok() {
		logdet = g.Constant(f.name+".logdet", make([]float64, n*h*w), n, h, w)
	}
	if !g.Ok() {
		return nil, nil
	}
	return y, logdet
}

func flowAccumulate(g *nn.Graph, acc, v *G.Node) *G.Node {
	if acc == nil {
		return v
	}
	return nn.Add(g, acc, v)
}

// forward applies the block to the (N, 3, H, W) tensor x; for NVP it also
// returns Σ s1 + Σ s2 per pixel, of shape (N, H, W).
func (b *flowBlock) forward(g *nn.Graph, x *G.Node, bound float64) (y, logdet *G.Node) {
	x1 := nn.SelectChannels(g, x, []int{b.a})
	x2 := nn.SelectChannels(g, x, b.rest[:])
	if b.f.pointwise() && b.g.pointwise() && g.Layers() == nn.LayersFused {
		// An additive coupling of 1×1 networks: each half is one fused op,
		// network and addition together.
		y1 := nn.PointwiseMLP(g, x2, x1, b.f.hidden, b.f.shift, flowLeakySlope)
		y2 := nn.PointwiseMLP(g, y1, x2, b.g.hidden, b.g.shift, flowLeakySlope)
		return flowMerge(g, y1, y2, b.a, b.rest), nil
	}
	t1, s1 := b.f.forward(g, x2, bound)
	y1 := flowCouple(g, x1, t1, s1)
	t2, s2 := b.g.forward(g, y1, bound)
	y2 := flowCouple(g, x2, t2, s2)
	y = flowMerge(g, y1, y2, b.a, b.rest)
	if s1 != nil {
		logdet = nn.Add(g, nn.SumAxis(g, s1, 1), nn.SumAxis(g, s2, 1))
	}
	return y, logdet
}

// pointwise reports whether the network is a VP network of 1×1
// convolutions, which nn.PointwiseMLP runs as one op.
func (n *flowNet) pointwise() bool { return n.scale == nil && n.hidden.K == 1 && n.shift.K == 1 }

// forward returns the shift t and, for NVP, the bounded log-scale
// s = B·tanh(r/B).
func (n *flowNet) forward(g *nn.Graph, x *G.Node, bound float64) (t, s *G.Node) {
	h := flowLeakyReLU(g, n.hidden.Forward(g, x), flowLeakySlope)
	t = n.shift.Forward(g, h)
	if n.scale != nil {
		s = nn.Scale(g, nn.Tanh(g, nn.Scale(g, n.scale.Forward(g, h), 1/bound)), bound)
	}
	return t, s
}

// flowCouple returns x ⊙ exp(s) + t, or x + t when s is nil.
func flowCouple(g *nn.Graph, x, t, s *G.Node) *G.Node {
	if s != nil {
		x = nn.Mul(g, x, nn.Exp(g, s))
	}
	return nn.Add(g, x, t)
}

// flowConv1x1 applies a 1×1 convolution without bias, whose weight has
// PyTorch's layout (out, in, 1, 1).
func flowConv1x1(g *nn.Graph, x, wt *G.Node) *G.Node {
	if !g.Ok(x, wt) {
		return nil
	}
	return g.Do("flow 1x1 convolution", func() (*G.Node, error) {
		return G.Conv2d(x, wt, tensor.Shape{1, 1}, []int{0, 0}, []int{1, 1}, []int{1, 1})
	})
}

// errFlowShape reports plain-Go input of the wrong size.
func errFlowShape(what string, got, n, h, w int) error {
	if n < 1 || h < 1 || w < 1 {
		return fmt.Errorf("flow %s: batch shape (%d, 3, %d, %d), want positive sizes", what, n, h, w)
	}
	return fmt.Errorf("flow %s: %d values, want %d for shape (%d, 3, %d, %d)", what, got, n*3*h*w, n, h, w)
}

var errFlowNil = errors.New("flow: nil flow")
