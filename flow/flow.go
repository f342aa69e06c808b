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

// Couplings that Config.Coupling names.
const (
	// RevNet is the authors' RevBlockV2: the channels split 0 | 1,2 in even
	// blocks and 0,1 | 2 in odd ones, each coupling network conv → act →
	// conv with a hidden width equal to its input's (Hidden 0), and the
	// second network G with an activation before its first convolution.
	RevNet = "revnet"
	// Rotate couples the single channel k mod 3 against the other two in
	// block k, each network conv → act → conv of width Hidden (default 16).
	Rotate = "rotate"
)

// Activations that Config.Activation names.
const (
	ReLU = "relu"
	// Leaky is LeakyReLU with slope 0.2 for negative inputs. Unlike a ReLU
	// it leaves no hidden unit dead over the whole colour range, which a
	// small coupling network started from PyTorch's initialisation would
	// otherwise often have.
	Leaky = "leaky"
)

// leakySlope is the negative slope of Leaky.
const leakySlope = 0.2

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
	// Coupling is RevNet (the default) or Rotate: how the channels are
	// split from block to block, and the networks' shapes.
	Coupling string `json:"coupling"`
	// Hidden is the width of the hidden layer of each coupling network, at
	// most MaxHidden. 0 means the width of the network's input for RevNet
	// (the authors' choice: 1 or 2) and DefaultHidden for Rotate.
	Hidden int `json:"hidden"`
	// Activation is ReLU or Leaky, inside every coupling network. Default
	// ReLU for RevNet, Leaky for Rotate.
	Activation string `json:"activation"`
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
	if c.Coupling == "" {
		c.Coupling = RevNet
	}
	if c.Hidden == 0 && c.Coupling == Rotate {
		c.Hidden = DefaultHidden
	}
	if c.Activation == "" {
		c.Activation = ReLU
		if c.Coupling == Rotate {
			c.Activation = Leaky
		}
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
	switch c.Coupling {
	case RevNet:
		if c.Hidden < 0 || c.Hidden > MaxHidden {
			return fmt.Errorf("flow: hidden width %d, want 0 (the input's width) to %d", c.Hidden, MaxHidden)
		}
	case Rotate:
		if c.Hidden < 1 || c.Hidden > MaxHidden {
			return fmt.Errorf("flow: hidden width %d, want 1 to %d", c.Hidden, MaxHidden)
		}
	default:
		return fmt.Errorf("flow: coupling %q, want %q or %q", c.Coupling, RevNet, Rotate)
	}
	switch c.Activation {
	case ReLU, Leaky:
	default:
		return fmt.Errorf("flow: activation %q, want %q or %q", c.Activation, ReLU, Leaky)
	}
	switch c.Kernel3x3 {
	case "none", "first", "last":
	default:
		return fmt.Errorf("flow: kernel3x3 %q, want \"none\", \"first\" or \"last\"", c.Kernel3x3)
	}
	return nil
}

// slope is the negative slope of the coupling networks' activation.
func (c Config) slope() float64 {
	if c.Activation == Leaky {
		return leakySlope
	}
	return 0
}

// blockLayout is how block k splits the channels and sizes its networks:
// the first half x1 (updated first, from x2) and the second half x2; one
// of them is the single channel a, the other the pair rest.
type blockLayout struct {
	a         int
	rest      [2]int
	pairFirst bool // x1 is the pair
	n1, n2    int  // channels of x1 and x2
	hf, hg    int  // hidden widths of F (x2 → x1) and G (y1 → x2)
	preact    bool // G starts with the activation
}

// layout returns block k's layout (defaults filled in).
func (c Config) layout(k int) blockLayout {
	l := blockLayout{a: k % 3, rest: [2]int{(k + 1) % 3, (k + 2) % 3}, n1: 1, n2: 2}
	if c.Coupling == RevNet {
		l.a, l.rest, l.preact = 0, [2]int{1, 2}, true
		if k%2 == 1 {
			l.a, l.rest, l.pairFirst, l.n1, l.n2 = 2, [2]int{0, 1}, true, 2, 1
		}
	}
	l.hf, l.hg = c.Hidden, c.Hidden
	if c.Hidden == 0 {
		l.hf, l.hg = l.n2, l.n1
	}
	return l
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
// Each block splits the channels into a first half x1 and a second half x2,
// one the single channel a and the other a pair; each channel stays in its
// place. With the RevNet coupling (the authors' RevBlockV2) even blocks
// take x1 = x_0, x2 = (x_1, x_2) and odd blocks x1 = (x_0, x_1), x2 = x_2;
// with the Rotate coupling block k takes x1 = x_a with a = k mod 3 and
// x2 = (x_{a+1}, x_{a+2}) (mod 3). A VP block computes
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
// Each coupling network (F, G, s and t) is conv → act → conv with biases,
// act a ReLU or a LeakyReLU(0.2) (Config.Activation); with the RevNet
// coupling G starts with act too, G(y1) = conv(act(conv(act(y1)))), as the
// authors' G does. s and t of the same half share the hidden layer. Its convolutions
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
	input  *Input     // what it reads, when known
}

// flowBlock is one coupling block.
type flowBlock struct {
	blockLayout
	slope float64
	f     *flowNet // x1 += F(x2)
	g     *flowNet // x2 += G(y1)
}

// flowNet is one coupling network: hidden = act(conv(x)) (x itself first
// through act when preact is set), then the shift t = conv(hidden) and,
// for NVP, the raw log-scale r = conv(hidden).
type flowNet struct {
	hidden, shift, scale *nn.Conv2d // scale is nil for VP
	preact               bool
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
		l := cfg.layout(k)
		b := &flowBlock{blockLayout: l, slope: cfg.slope()}
		prefix := fmt.Sprintf("%s.blocks.%d", name, k)
		ks := cfg.kernel(k)
		b.f = newFlowNet(prefix+".f", dt, l.n2, l.n1, l.hf, ks, nvp, cfg.Identity, rng)
		b.g = newFlowNet(prefix+".g", dt, l.n1, l.n2, l.hg, ks, nvp, cfg.Identity, rng)
		b.g.preact = l.preact
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
	single := nn.SelectChannels(g, x, []int{b.a})
	pair := nn.SelectChannels(g, x, b.rest[:])
	x1, x2 := single, pair
	if b.pairFirst {
		x1, x2 = pair, single
	}
	merge := func(y1, y2 *G.Node) *G.Node {
		if b.pairFirst {
			return flowMerge(g, y2, y1, b.a, b.rest)
		}
		return flowMerge(g, y1, y2, b.a, b.rest)
	}
	if b.f.pointwise() && b.g.pointwise() && g.Layers() == nn.LayersFused {
		// An additive coupling of 1×1 networks: each half is one fused op,
		// network and addition together.
		y1 := nn.PointwiseMLP(g, x2, x1, b.f.hidden, b.f.shift, b.slope)
		in := y1
		if b.g.preact {
			in = flowLeakyReLU(g, y1, b.slope)
		}
		y2 := nn.PointwiseMLP(g, in, x2, b.g.hidden, b.g.shift, b.slope)
		return merge(y1, y2), nil
	}
	t1, s1 := b.f.forward(g, x2, bound, b.slope)
	y1 := flowCouple(g, x1, t1, s1)
	t2, s2 := b.g.forward(g, y1, bound, b.slope)
	y2 := flowCouple(g, x2, t2, s2)
	y = merge(y1, y2)
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
func (n *flowNet) forward(g *nn.Graph, x *G.Node, bound, slope float64) (t, s *G.Node) {
	if n.preact {
		x = flowLeakyReLU(g, x, slope)
	}
	h := flowLeakyReLU(g, n.hidden.Forward(g, x), slope)
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
