package contrast

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

func TestEncodersShapesAndNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		cfg      ModelConfig
		h        int
		features int
		params   int
	}{
		{ModelConfig{Arch: "convnet", InChannels: 1, Width: 4, EmbedDim: 8}, 32, 16, 4*5 + 2 + 2},
		{ModelConfig{Arch: "convnet", InChannels: 2, Width: 4, EmbedDim: 8, HeadHidden: 16}, 64, 16, 4*5 + 2 + 4},
		{ModelConfig{Arch: "resnet10", InChannels: 2, Width: 2, EmbedDim: 8}, 32, 16, 0},
		{ModelConfig{Arch: "resnet18", InChannels: 1, Width: 2, EmbedDim: 8}, 16, 16, 0},
	}
	for _, tc := range cases {
		m, err := NewModel("f1", tensor.Float32, tc.cfg, rng)
		require.NoError(t, err)
		ps := m.Params()
		require.NoError(t, ps.Check(), "parameter names are unique")
		if tc.params > 0 {
			assert.Len(t, ps, tc.params, "%+v", tc.cfg)
		}
		for _, p := range ps {
			assert.Regexp(t, `^f1\.`, p.Name)
		}
		assert.Equal(t, tc.features, m.Encoder.FeatureDim())
		g := nn.NewGraph(tensor.Float32, nn.Train, 1)
		x := g.Input("x", 3, tc.cfg.InChannels, tc.h, tc.h)
		f, z := m.Embed(g, x.Node())
		require.NoError(t, g.Err())
		assert.Equal(t, tensor.Shape{3, tc.features}, f.Shape())
		assert.Equal(t, tensor.Shape{3, 8}, z.Shape())
	}
	_, err := NewModel("f", tensor.Float32, ModelConfig{Arch: "vgg", InChannels: 1}, rng)
	assert.ErrorContains(t, err, `encoder.arch "vgg" is not known`)
	_, err = NewModel("f", tensor.Float32, ModelConfig{InChannels: 0}, rng)
	assert.ErrorContains(t, err, "in_channels 0")
}

// ResNet-18 has two blocks per stage and downsampling shortcuts at the
// start of stages 2-4.
func TestResNet18Structure(t *testing.T) {
	r, err := NewResNet("r", tensor.Float32, ResNetConfig{InChannels: 3, Width: 4, Blocks: []int{2, 2, 2, 2}}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	assert.Len(t, r.blocks, 8)
	shortcuts := 0
	for _, b := range r.blocks {
		if b.sc != nil {
			shortcuts++
		}
	}
	assert.Equal(t, 3, shortcuts)
	assert.Equal(t, 32, r.FeatureDim())
}

// End-to-end gradient check of each encoder with its head and the
// symmetric InfoNCE loss, in float64.
func TestEncoderGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, arch := range []string{"convnet", "resnet10"} {
		t.Run(arch, func(t *testing.T) {
			f1, err := NewModel("f1", tensor.Float64, ModelConfig{Arch: arch, InChannels: 1, Width: 2, EmbedDim: 4}, rng)
			require.NoError(t, err)
			f2, err := NewModel("f2", tensor.Float64, ModelConfig{Arch: arch, InChannels: 2, Width: 2, EmbedDim: 4, HeadHidden: 3}, rng)
			require.NoError(t, err)
			g := nn.NewGraph(tensor.Float64, nn.Train, 1)
			x1 := nn.NewParam("x1", tensor.Float64, 4, 1, 8, 8)
			x2 := nn.NewParam("x2", tensor.Float64, 4, 2, 8, 8)
			x1.InitNormal(rng, 1)
			x2.InitNormal(rng, 1)
			_, z1 := f1.Embed(g, g.Param(x1))
			_, z2 := f2.Embed(g, g.Param(x2))
			b := SymmetricInfoNCE(g, Cosine{Tau: 0.5}.Scores(g, z1, z2))
			wrt := append(append(nn.Params{x1, x2}, f1.Params().Learnable()...), f2.Params().Learnable()...)
			prog, err := g.Compile(b.Loss, wrt...)
			require.NoError(t, err)
			elems := 6
			if arch != "convnet" {
				elems = 2 // ResNet-10 has ~60 tensors; two elements each keeps the test short
			}
			require.NoError(t, nn.CheckGradients(prog, wrt, nn.GradCheck{MaxElems: elems, RelTol: 1e-3}))
		})
	}
}

// Each encoder's size estimate counts its parameters exactly.
func TestEncoderSizeCountsParameters(t *testing.T) {
	for _, arch := range Encoders.Names() {
		spec, err := Encoders.Lookup(arch)
		require.NoError(t, err)
		for _, cfg := range []ModelConfig{{Arch: arch, InChannels: 1, Width: 4}, {Arch: arch, InChannels: 2, Width: 8}} {
			enc, err := spec.New("f", tensor.Float32, cfg, rand.New(rand.NewPCG(1, 1)))
			require.NoError(t, err)
			var n int64
			for _, p := range enc.Params() {
				n += int64(p.Size())
			}
			size := spec.Size(cfg, 32, 32)
			assert.Equal(t, n, size.Params, "%s width %d", arch, cfg.Width)
			assert.Greater(t, size.Activations, int64(0))
		}
	}
}
