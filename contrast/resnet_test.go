package contrast

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/nn"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"
)

// TestResNet18FastMatchComposed checks ResNet-18 encoders built on the
// fused ops (stride-2 and 1×1 convolutions, batch norms folded into the
// residual sums, the gradient hand-offs) against the same encoders composed
// from gorgonia's stock ops: loss, every parameter's gradient and the
// running statistics.
func TestResNet18FastMatchComposed(t *testing.T) {
	want := runEstimator(t, "resnet18", true)
	got := runEstimator(t, "resnet18", false)
	require.InDelta(t, want.loss, got.loss, 1e-10*math.Abs(want.loss))
	require.Equal(t, len(want.grads), len(got.grads))
	for name, w := range want.grads {
		requireNear(t, name, w, got.grads[name], 1e-8)
	}
	for name, w := range want.buffers {
		requireNear(t, name, w, got.buffers[name], 1e-10)
	}
}

// TestResNetStepOnFusedOps checks that the contrastive step with ResNet-18
// encoders runs every image-sized tensor through the package's fused ops:
// no node of its graph adds NCHW tensors with gorgonia's stock Add, neither
// the residual sums nor the gradients of the blocks' inputs.
func TestResNetStepOnFusedOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := ReferenceConfig()
	cfg.F1.Arch, cfg.F2.Arch = "resnet18", "resnet18"
	cfg.F1.Width, cfg.F2.Width = 4, 4
	est, err := NewEstimator(tensor.Float32, cfg, rng)
	require.NoError(t, err)
	g := nn.NewGraph(tensor.Float32, nn.Train, 1)
	v1 := g.Input("v1", 4, 1, 16, 16)
	v2 := g.Input("v2", 4, 2, 16, 16)
	b := est.Build(g, v1.Node(), v2.Node())
	prog, err := g.Compile(b.Loss, est.Params().Learnable()...)
	require.NoError(t, err)
	defer prog.Close()
	require.NoError(t, prog.Run())
	for _, n := range g.Expr().AllNodes() {
		if n.Op() != nil && strings.HasPrefix(n.Op().String(), "+ ") && n.Dims() == 4 {
			t.Errorf("stock Add of NCHW tensors: %v", n)
		}
	}
}
