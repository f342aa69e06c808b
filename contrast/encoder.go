package contrast

import (
	"fmt"
	"math/rand/v2"

	"github.com/learnviews/learnviews/registry"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// Encoder maps an image batch (N, C, H, W) to features (N, FeatureDim).
// ConvNet and ResNet implement it; a user's own encoder only needs these
// three methods.
type Encoder interface {
	Forward(g *nn.Graph, x *G.Node) *G.Node
	Params() nn.Params
	FeatureDim() int
}

// ConvNetConfig sizes a ConvNet.
type ConvNetConfig struct {
	InChannels int // channels of the view it sees (1 for v1, 2 for v2)
	Width      int // channels of the first stage; later stages use 2× and 4×. Default 32.
	FeatureDim int // output features. Default 4·Width.
}

// ConvNet is a small convolutional encoder in the spirit of CMC's AlexNet
// halves, scaled for 32-64 px views: four 3×3 conv-BN-ReLU stages of width
// w, 2w, 4w, 4w with 2×2 max pooling after the first, second and fourth,
// global average pooling and a linear layer to FeatureDim.
type ConvNet struct {
	cfg   ConvNetConfig
	convs [4]*nn.Conv2d
	bns   [4]*nn.BatchNorm
	fc    *nn.Linear
}

// NewConvNet returns a ConvNet whose parameter names start with name.
func NewConvNet(name string, dt tensor.Dtype, cfg ConvNetConfig, rng *rand.Rand) (*ConvNet, error) {
	if cfg.InChannels <= 0 {
		return nil, fmt.Errorf("contrast: convnet %s: in_channels %d must be positive", name, cfg.InChannels)
	}
	if cfg.Width == 0 {
		cfg.Width = 32
	}
	if cfg.Width < 0 || cfg.FeatureDim < 0 {
		return nil, fmt.Errorf("contrast: convnet %s: width %d and feature_dim %d must be positive", name, cfg.Width, cfg.FeatureDim)
	}
	w := cfg.Width
	if cfg.FeatureDim == 0 {
		cfg.FeatureDim = 4 * w
	}
	c := &ConvNet{cfg: cfg}
	chans := []int{cfg.InChannels, w, 2 * w, 4 * w, 4 * w}
	for i := 0; i < 4; i++ {
		c.convs[i] = nn.NewConv2d(fmt.Sprintf("%s.conv%d", name, i+1), dt, chans[i], chans[i+1], 3, 1, 1, false, rng)
		c.bns[i] = nn.NewBatchNorm(fmt.Sprintf("%s.bn%d", name, i+1), dt, chans[i+1])
	}
	c.fc = nn.NewLinear(name+".fc", dt, 4*w, cfg.FeatureDim, true, rng)
	return c, nil
}

// Forward computes features of x.
func (c *ConvNet) Forward(g *nn.Graph, x *G.Node) *G.Node {
	h := x
	for i := 0; i < 4; i++ {
		h = nn.ReLU(g, c.bns[i].Forward(g, c.convs[i].Forward(g, h)))
		if i != 2 && g.Ok(h) && h.Shape()[2] >= 2 {
			h = nn.MaxPool2d(g, h, 2, 2, 0)
		}
	}
	return c.fc.Forward(g, nn.GlobalAvgPool(g, h))
}

// Params returns every parameter and buffer.
func (c *ConvNet) Params() nn.Params {
	var ps nn.Params
	for i := range c.convs {
		ps = append(ps, c.convs[i].Params()...)
		ps = append(ps, c.bns[i].Params()...)
	}
	return append(ps, c.fc.Params()...)
}

// FeatureDim returns the output feature size.
func (c *ConvNet) FeatureDim() int { return c.cfg.FeatureDim }

// ResNetConfig sizes a ResNet.
type ResNetConfig struct {
	InChannels int
	Width      int   // channels of the first stage; stages use w, 2w, 4w, 8w. Default 16.
	Blocks     []int // basic blocks per stage: [1 1 1 1] is ResNet-10 (default), [2 2 2 2] ResNet-18
}

// ResNet is a width-configurable small residual network for 32-64 px
// inputs: a 3×3 stem without max pooling, four stages of basic blocks with
// strides 1, 2, 2, 2 and global average pooling. Its features are 8·Width.
// With nn's fused layers (the default on the CPU) each block runs as its
// convolutions (stride 1 or 2, the 1×1 projection), a fused batch norm +
// ReLU and one residual sum with the block's last batch norms and ReLU
// folded in, and the gradient of a block's input is summed by its
// convolutions rather than by gorgonia.
type ResNet struct {
	cfg    ResNetConfig
	stem   *nn.Conv2d
	stemBN *nn.BatchNorm
	blocks []*basicBlock
}

type basicBlock struct {
	c1, c2 *nn.Conv2d
	b1, b2 *nn.BatchNorm
	sc     *nn.Conv2d // nil for the identity shortcut
	scBN   *nn.BatchNorm
}

// NewResNet returns a ResNet whose parameter names start with name.
func NewResNet(name string, dt tensor.Dtype, cfg ResNetConfig, rng *rand.Rand) (*ResNet, error) {
	if cfg.InChannels <= 0 {
		return nil, fmt.Errorf("contrast: resnet %s: in_channels %d must be positive", name, cfg.InChannels)
	}
	if cfg.Width == 0 {
		cfg.Width = 16
	}
	if len(cfg.Blocks) == 0 {
		cfg.Blocks = []int{1, 1, 1, 1}
	}
	if len(cfg.Blocks) != 4 || cfg.Width < 0 {
		return nil, fmt.Errorf("contrast: resnet %s: want 4 stages and a positive width, got blocks %v width %d", name, cfg.Blocks, cfg.Width)
	}
	w := cfg.Width
	r := &ResNet{
		cfg:    cfg,
		stem:   nn.NewConv2d(name+".stem", dt, cfg.InChannels, w, 3, 1, 1, false, rng),
		stemBN: nn.NewBatchNorm(name+".stem_bn", dt, w),
	}
	in := w
	for s, n := range cfg.Blocks {
		out := w << s
		for b := 0; b < n; b++ {
			stride := 1
			if s > 0 && b == 0 {
				stride = 2
			}
			p := fmt.Sprintf("%s.layer%d.%d", name, s+1, b)
			blk := &basicBlock{
				c1: nn.NewConv2d(p+".conv1", dt, in, out, 3, stride, 1, false, rng),
				b1: nn.NewBatchNorm(p+".bn1", dt, out),
				c2: nn.NewConv2d(p+".conv2", dt, out, out, 3, 1, 1, false, rng),
				b2: nn.NewBatchNorm(p+".bn2", dt, out),
			}
			if stride != 1 || in != out {
				blk.sc = nn.NewConv2d(p+".downsample", dt, in, out, 1, stride, 0, false, rng)
				blk.scBN = nn.NewBatchNorm(p+".downsample_bn", dt, out)
			}
			r.blocks = append(r.blocks, blk)
			in = out
		}
	}
	return r, nil
}

// Forward computes features of x.
func (r *ResNet) Forward(g *nn.Graph, x *G.Node) *G.Node {
	h := nn.ReLU(g, r.stemBN.Forward(g, r.stem.Forward(g, x)))
	for _, b := range r.blocks {
		y := b.b2.Forward(g, b.c2.Forward(g, nn.ReLU(g, b.b1.Forward(g, b.c1.Forward(g, h)))))
		sc := h
		if b.sc != nil {
			sc = b.scBN.Forward(g, b.sc.Forward(g, h))
		}
		h = nn.ReLU(g, nn.Add(g, y, sc))
	}
	return nn.GlobalAvgPool(g, h)
}

// Params returns every parameter and buffer.
func (r *ResNet) Params() nn.Params {
	ps := append(r.stem.Params(), r.stemBN.Params()...)
	for _, b := range r.blocks {
		ps = append(ps, b.c1.Params()...)
		ps = append(ps, b.b1.Params()...)
		ps = append(ps, b.c2.Params()...)
		ps = append(ps, b.b2.Params()...)
		if b.sc != nil {
			ps = append(ps, b.sc.Params()...)
			ps = append(ps, b.scBN.Params()...)
		}
	}
	return ps
}

// FeatureDim returns 8·Width.
func (r *ResNet) FeatureDim() int { return 8 * r.cfg.Width }

// Head projects features to an L2-normalised embedding: one linear layer,
// or an MLP (linear, ReLU, linear) when Hidden > 0.
type Head struct {
	l1, l2 *nn.Linear
	dim    int
}

// NewHead returns a projection head from in features to dim. Hidden = 0
// gives a linear head.
func NewHead(name string, dt tensor.Dtype, in, hidden, dim int, rng *rand.Rand) *Head {
	h := &Head{dim: dim}
	if hidden > 0 {
		h.l1 = nn.NewLinear(name+".fc1", dt, in, hidden, true, rng)
		h.l2 = nn.NewLinear(name+".fc2", dt, hidden, dim, true, rng)
	} else {
		h.l2 = nn.NewLinear(name+".fc", dt, in, dim, true, rng)
	}
	return h
}

// Forward returns the normalised embedding of features.
func (h *Head) Forward(g *nn.Graph, x *G.Node) *G.Node {
	if h.l1 != nil {
		x = nn.ReLU(g, h.l1.Forward(g, x))
	}
	return nn.L2Normalize(g, h.l2.Forward(g, x), 1e-12)
}

// Params returns the head's parameters.
func (h *Head) Params() nn.Params {
	if h.l1 != nil {
		return append(h.l1.Params(), h.l2.Params()...)
	}
	return h.l2.Params()
}

// Dim returns the embedding size.
func (h *Head) Dim() int { return h.dim }

// Model is an encoder with its projection head: one of f1, f2.
type Model struct {
	Encoder Encoder
	Head    *Head
}

// Embed returns the features and the normalised embedding of x.
func (m *Model) Embed(g *nn.Graph, x *G.Node) (features, z *G.Node) {
	f := m.Encoder.Forward(g, x)
	return f, m.Head.Forward(g, f)
}

// Params returns the encoder's and the head's parameters.
func (m *Model) Params() nn.Params { return append(m.Encoder.Params(), m.Head.Params()...) }

// ModelConfig describes an encoder and its head.
type ModelConfig struct {
	Arch       string // a name in Encoders: "convnet" (default), "resnet10", "resnet18"
	InChannels int
	Width      int
	EmbedDim   int // default 128
	HeadHidden int // 0: linear head
}

// EncoderFactory builds an encoder whose parameter names start with name,
// for views of cfg.InChannels channels at width cfg.Width.
type EncoderFactory func(name string, dt tensor.Dtype, cfg ModelConfig, rng *rand.Rand) (Encoder, error)

// Size is what an encoder holds and costs: its parameters, the values its
// layers produce for one sample (the activations a training step keeps),
// and the multiply-adds of its forward pass on one sample.
type Size struct {
	Params, Activations, MACs int64
}

// EncoderSpec is one kind of encoder: how to build it and how large it is
// for views of h×w pixels (the memory estimate of a run reads it).
type EncoderSpec struct {
	New  EncoderFactory
	Size func(cfg ModelConfig, h, w int) Size
}

// Encoders holds the encoders by the names encoder.arch takes. A new
// encoder is one Register call: the configuration, the runs and the
// benchmarks find it by name.
var Encoders = registry.New[EncoderSpec]("encoder.arch")

func init() {
	Encoders.Register("convnet", "four 3×3 conv-BN-ReLU stages of width w, 2w, 4w, 4w with max pooling (CMC's AlexNet halves, scaled down)",
		EncoderSpec{New: func(name string, dt tensor.Dtype, cfg ModelConfig, rng *rand.Rand) (Encoder, error) {
			return NewConvNet(name, dt, ConvNetConfig{InChannels: cfg.InChannels, Width: cfg.Width}, rng)
		}, Size: convNetSize})
	resnet := func(blocks []int) EncoderSpec {
		return EncoderSpec{New: func(name string, dt tensor.Dtype, cfg ModelConfig, rng *rand.Rand) (Encoder, error) {
			return NewResNet(name, dt, ResNetConfig{InChannels: cfg.InChannels, Width: cfg.Width, Blocks: blocks}, rng)
		}, Size: func(cfg ModelConfig, h, w int) Size { return resNetSize(cfg, blocks, h, w) }}
	}
	Encoders.Register("resnet10", "residual network of one basic block per stage, widths w, 2w, 4w, 8w", resnet([]int{1, 1, 1, 1}))
	Encoders.Register("resnet18", "ResNet-18: two basic blocks per stage, widths w, 2w, 4w, 8w (w = 32 is the paper's half width)", resnet([]int{2, 2, 2, 2}))
}

// convNetSize counts a ConvNet's parameters and per-sample activations:
// each stage's convolution output and its normalised, rectified copy.
func convNetSize(cfg ModelConfig, h, w int) Size {
	width := cfg.Width
	if width == 0 {
		width = 32
	}
	chans := []int{cfg.InChannels, width, 2 * width, 4 * width, 4 * width}
	var s Size
	area := int64(h * w)
	for i := range 4 {
		s.Params += int64(chans[i]*chans[i+1]*9 + 4*chans[i+1]) // weights, then γ, β and the running statistics
		s.Activations += 2 * int64(chans[i+1]) * area
		s.MACs += int64(chans[i]*chans[i+1]*9) * area
		if i != 2 {
			area /= 4
		}
	}
	s.Params += int64(4*width*4*width + 4*width)
	return s
}

// resNetSize counts a ResNet's parameters and per-sample activations: the
// stem, and in each basic block its two convolutions, their batch norms,
// the shortcut and the sum.
func resNetSize(cfg ModelConfig, blocks []int, h, w int) Size {
	width := cfg.Width
	if width == 0 {
		width = 16
	}
	var s Size
	area := int64(h * w)
	s.Params += int64(cfg.InChannels*width*9 + 4*width)
	s.Activations += 2 * int64(width) * area
	s.MACs += int64(cfg.InChannels*width*9) * area
	in := width
	for st, n := range blocks {
		out := width << st
		for b := range n {
			if st > 0 && b == 0 {
				area /= 4
			}
			s.Params += int64(in*out*9 + out*out*9 + 8*out)
			s.Activations += 6 * int64(out) * area
			s.MACs += int64(in*out*9+out*out*9) * area
			if in != out || (st > 0 && b == 0) {
				s.Params += int64(in*out + 4*out)
				s.Activations += 2 * int64(out) * area
				s.MACs += int64(in*out) * area
			}
			in = out
		}
	}
	return s
}

// NewModel builds an encoder and head from cfg.
func NewModel(name string, dt tensor.Dtype, cfg ModelConfig, rng *rand.Rand) (*Model, error) {
	if cfg.EmbedDim == 0 {
		cfg.EmbedDim = 128
	}
	arch := cfg.Arch
	if arch == "" {
		arch = "convnet"
	}
	spec, err := Encoders.Lookup(arch)
	if err != nil {
		return nil, fmt.Errorf("contrast: %w", err)
	}
	enc, err := spec.New(name, dt, cfg, rng)
	if err != nil {
		return nil, err
	}
	return &Model{Encoder: enc, Head: NewHead(name+".head", dt, enc.FeatureDim(), cfg.HeadHidden, cfg.EmbedDim, rng)}, nil
}
