package contrast

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// encoderRun is what one run of an estimator's loss gave.
type encoderRun struct {
	loss    float64
	grads   map[string][]float64
	buffers map[string][]float64
}

// runEstimator builds both encoders with their heads and the symmetric
// InfoNCE loss on fixed views, with the fused ops or with gorgonia's
// composed ones, and runs it once.
func runEstimator(t *testing.T, arch string, composed bool) encoderRun {
	t.Helper()
	rng := rand.New(rand.NewPCG(8, 9))
	est, err := NewEstimator(tensor.Float64, EstimatorConfig{
		F1: ModelConfig{Arch: arch, InChannels: 1, Width: 4, EmbedDim: 8},
		F2: ModelConfig{Arch: arch, InChannels: 2, Width: 4, EmbedDim: 8, HeadHidden: 6},
	}, rng)
	require.NoError(t, err)
	g := nn.NewGraph(tensor.Float64, nn.Train, 1)
	g.UseComposedOps(composed)
	v1 := g.Input("v1", 6, 1, 16, 16)
	v2 := g.Input("v2", 6, 2, 16, 16)
	for _, in := range []*nn.Input{v1, v2} {
		x := make([]float64, in.Shape().TotalSize())
		for i := range x {
			x[i] = rng.Float64()
		}
		require.NoError(t, in.SetFloat64s(x))
	}
	b := est.Build(g, v1.Node(), v2.Node())
	prog, err := g.Compile(b.Loss, est.Params().Learnable()...)
	require.NoError(t, err)
	defer prog.Close()
	require.NoError(t, prog.Run())
	r := encoderRun{loss: b.LossValue(), grads: map[string][]float64{}, buffers: map[string][]float64{}}
	for _, p := range est.Params() {
		if p.Buffer {
			r.buffers[p.Name] = p.Float64s()
		} else {
			r.grads[p.Name] = nn.Float64s(p.Grad)
		}
	}
	return r
}

// TestEncodersFastMatchComposed checks whole encoders built on the fused
// ops against the same encoders composed from gorgonia's stock ops: the
// same loss, gradients for every parameter and batch-norm running
// statistics.
func TestEncodersFastMatchComposed(t *testing.T) {
	for _, arch := range []string{"convnet", "resnet10"} {
		t.Run(arch, func(t *testing.T) {
			want := runEstimator(t, arch, true)
			got := runEstimator(t, arch, false)
			require.InDelta(t, want.loss, got.loss, 1e-10*math.Abs(want.loss))
			require.Equal(t, len(want.grads), len(got.grads))
			for name, w := range want.grads {
				requireNear(t, name, w, got.grads[name], 1e-8)
			}
			for name, w := range want.buffers {
				requireNear(t, name, w, got.buffers[name], 1e-10)
			}
		})
	}
}

func requireNear(t *testing.T, what string, want, got []float64, rel float64) {
	t.Helper()
	require.Equal(t, len(want), len(got), what)
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range want {
		require.LessOrEqual(t, math.Abs(want[i]-got[i]), rel*scale+1e-300, "%s[%d]: got %v, want %v", what, i, got[i], want[i])
	}
}

// TestReferenceStepMemory checks the reference step's memory after
// warm-up: each step allocates less than 5% of the bytes its tensors
// occupy, and the live heap does not grow from step to step.
func TestReferenceStepMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the full reference step")
	}
	tr, views, err := NewReferenceTrainer(ReferenceConfig(), 128, 32, 1)
	require.NoError(t, err)
	defer tr.Close()
	v1, v2 := views()
	step := func(n int) {
		for i := 0; i < n; i++ {
			_, err := tr.Step(v1, v2)
			require.NoError(t, err)
		}
	}
	step(2)
	var a, b, c runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	const n = 3
	step(n)
	runtime.GC()
	runtime.ReadMemStats(&b)
	step(n)
	runtime.GC()
	runtime.ReadMemStats(&c)
	perStep := float64(c.TotalAlloc-b.TotalAlloc) / n
	tensors := float64(tr.TensorBytes())
	t.Logf("tensors %.1f MB; allocated per step %.2f MB (%.2f%%), %d allocations; live heap %.1f → %.1f → %.1f MB",
		tensors/1e6, perStep/1e6, 100*perStep/tensors, (c.Mallocs-b.Mallocs)/n, float64(a.HeapAlloc)/1e6, float64(b.HeapAlloc)/1e6, float64(c.HeapAlloc)/1e6)
	require.Less(t, perStep, 0.05*tensors)
	require.LessOrEqual(t, float64(c.HeapAlloc), float64(b.HeapAlloc)+0.01*tensors, "the live heap grows from step to step")
}
