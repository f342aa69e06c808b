package nn

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Golden values for every gorgonia op the package composes: some gorgonia
// reductions are silently wrong, so each is pinned to hand-computed numbers.
func TestOpsGolden(t *testing.T) {
	x23 := []float64{1, 2, 3, 4, 5, 6} // [[1 2 3] [4 5 6]]
	x223 := seq(12, 1, 0)              // [[[0 1 2] [3 4 5]] [[6 7 8] [9 10 11]]]
	tests := []struct {
		name  string
		x     []float64
		shape []int
		f     func(g *Graph, x *G.Node) *G.Node
		want  []float64
	}{
		{"sum axis 0", x23, []int{2, 3}, func(g *Graph, x *G.Node) *G.Node { return SumAxis(g, x, 0) }, []float64{5, 7, 9}},
		{"sum axis 1", x23, []int{2, 3}, func(g *Graph, x *G.Node) *G.Node { return SumAxis(g, x, 1) }, []float64{6, 15}},
		{"mean axis 0", x23, []int{2, 3}, func(g *Graph, x *G.Node) *G.Node { return MeanAxis(g, x, 0) }, []float64{2.5, 3.5, 4.5}},
		{"mean axis 1", x23, []int{2, 3}, func(g *Graph, x *G.Node) *G.Node { return MeanAxis(g, x, 1) }, []float64{2, 5}},
		{"3d sum axis 2", x223, []int{2, 2, 3}, func(g *Graph, x *G.Node) *G.Node { return SumAxis(g, x, 2) }, []float64{3, 12, 21, 30}},
		{"3d mean axis 2", x223, []int{2, 2, 3}, func(g *Graph, x *G.Node) *G.Node { return MeanAxis(g, x, 2) }, []float64{1, 4, 7, 10}},
		{"3d mean axis 0", x223, []int{2, 2, 3}, func(g *Graph, x *G.Node) *G.Node { return MeanAxis(g, x, 0) }, []float64{3, 4, 5, 6, 7, 8}},
		{"3d sum axis 1", x223, []int{2, 2, 3}, func(g *Graph, x *G.Node) *G.Node { return SumAxis(g, x, 1) }, []float64{3, 5, 7, 15, 17, 19}},
		{"mean all", x223, []int{2, 2, 3}, func(g *Graph, x *G.Node) *G.Node { return Mean(g, x) }, []float64{5.5}},
		{"sum all", x223, []int{2, 2, 3}, func(g *Graph, x *G.Node) *G.Node { return Sum(g, x) }, []float64{66}},
		{"global avg pool", x223, []int{1, 2, 2, 3}, func(g *Graph, x *G.Node) *G.Node { return GlobalAvgPool(g, x) }, []float64{2.5, 8.5}},
		{"flatten", x223, []int{2, 2, 3}, func(g *Graph, x *G.Node) *G.Node { return Flatten(g, x) }, x223},
		{"relu", []float64{-1, 0, 2}, []int{3}, ReLU, []float64{0, 0, 2}},
		{"leaky relu", []float64{-1, 0.5, 2}, []int{3}, func(g *Graph, x *G.Node) *G.Node { return LeakyReLU(g, x, 0.1) }, []float64{-0.1, 0.5, 2}},
		{"broadcast add row", x23, []int{2, 3}, func(g *Graph, x *G.Node) *G.Node {
			return BroadcastAdd(g, x, g.Constant("b", []float64{10, 20, 30}, 1, 3), 0)
		}, []float64{11, 22, 33, 14, 25, 36}},
		{"broadcast div col", x23, []int{2, 3}, func(g *Graph, x *G.Node) *G.Node {
			return BroadcastDiv(g, x, g.Constant("b", []float64{1, 2}, 2, 1), 1)
		}, []float64{1, 2, 3, 2, 2.5, 3}},
		{"broadcast sub middle", x223, []int{2, 2, 3}, func(g *Graph, x *G.Node) *G.Node {
			return BroadcastSub(g, x, g.Constant("b", []float64{1, 2}, 1, 2, 1), 0, 2)
		}, []float64{-1, 0, 1, 1, 2, 3, 5, 6, 7, 7, 8, 9}},
		{"matmul T", x23, []int{2, 3}, func(g *Graph, x *G.Node) *G.Node { return MatMulT(g, x, x) }, []float64{14, 32, 32, 77}},
		{"l2 normalise", []float64{3, 4, 0, 2}, []int{2, 2}, func(g *Graph, x *G.Node) *G.Node { return L2Normalize(g, x, 0) }, []float64{0.6, 0.8, 0, 1}},
		{"logsumexp rows", x23, []int{2, 3}, func(g *Graph, x *G.Node) *G.Node { return LogSumExp(g, x, 1) },
			[]float64{math.Log(math.Exp(1) + math.Exp(2) + math.Exp(3)), math.Log(math.Exp(4) + math.Exp(5) + math.Exp(6))}},
		{"logsumexp cols", x23, []int{2, 3}, func(g *Graph, x *G.Node) *G.Node { return LogSumExp(g, x, 0) },
			[]float64{math.Log(math.Exp(1) + math.Exp(4)), math.Log(math.Exp(2) + math.Exp(5)), math.Log(math.Exp(3) + math.Exp(6))}},
		{"logsumexp large", []float64{1000, 1000, -1000, 0}, []int{2, 2}, func(g *Graph, x *G.Node) *G.Node { return LogSumExp(g, x, 1) },
			[]float64{1000 + math.Log(2), math.Log(1 + math.Exp(-1000))}},
		{"max pool 2x2", seq(16, 1, 0), []int{1, 1, 4, 4}, func(g *Graph, x *G.Node) *G.Node { return MaxPool2d(g, x, 2, 2, 0) }, []float64{5, 7, 13, 15}},
		{"stop gradient forward", x23, []int{2, 3}, func(g *Graph, x *G.Node) *G.Node { return StopGradient(g, x) }, x23},
		{"cross-entropy", []float64{1, 2, 3, 1, 1, 1}, []int{2, 3}, func(g *Graph, x *G.Node) *G.Node {
			return LogSoftmaxCE(g, x, g.Constant("t", []float64{0, 0, 1, 1, 0, 0}, 2, 3))
		}, []float64{((math.Log(math.Exp(1)+math.Exp(2)+math.Exp(3)) - 3) + math.Log(3)) / 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := runForward(t, Train, tc.x, tc.shape, tc.f)
			require.Len(t, got, len(tc.want))
			assert.InDeltaSlice(t, tc.want, got, 1e-9)
		})
	}
}

// Gradients of every composed op against finite differences.
func TestOpsGradients(t *testing.T) {
	tests := []struct {
		name  string
		shape []int
		f     func(g *Graph, x *G.Node) *G.Node
	}{
		{"sum axis 0", []int{3, 4}, func(g *Graph, x *G.Node) *G.Node { return SumAxis(g, x, 0) }},
		{"mean axis 1", []int{3, 4}, func(g *Graph, x *G.Node) *G.Node { return MeanAxis(g, x, 1) }},
		{"3d mean axis 2", []int{2, 3, 4}, func(g *Graph, x *G.Node) *G.Node { return MeanAxis(g, x, 2) }},
		{"3d mean axis 0", []int{2, 3, 4}, func(g *Graph, x *G.Node) *G.Node { return MeanAxis(g, x, 0) }},
		{"global avg pool", []int{2, 3, 4, 5}, GlobalAvgPool},
		{"l2 normalise", []int{4, 5}, func(g *Graph, x *G.Node) *G.Node { return L2Normalize(g, x, 1e-12) }},
		{"logsumexp rows", []int{4, 5}, func(g *Graph, x *G.Node) *G.Node { return LogSumExp(g, x, 1) }},
		{"logsumexp cols", []int{4, 5}, func(g *Graph, x *G.Node) *G.Node { return LogSumExp(g, x, 0) }},
		{"matmul T", []int{3, 4}, func(g *Graph, x *G.Node) *G.Node { return MatMulT(g, x, x) }},
		{"relu", []int{3, 4}, ReLU},
		{"leaky relu", []int{3, 4}, func(g *Graph, x *G.Node) *G.Node { return LeakyReLU(g, x, 0.2) }},
		{"tanh", []int{3, 4}, Tanh},
		{"max pool", []int{2, 2, 6, 6}, func(g *Graph, x *G.Node) *G.Node { return MaxPool2d(g, x, 2, 2, 0) }},
		{"max pool 3 stride 2 pad 1", []int{2, 2, 7, 7}, func(g *Graph, x *G.Node) *G.Node { return MaxPool2d(g, x, 3, 2, 1) }},
		{"broadcast mul", []int{2, 3, 4}, func(g *Graph, x *G.Node) *G.Node {
			return BroadcastMul(g, x, g.Constant("b", []float64{2, -1, 0.5}, 1, 3, 1), 0, 2)
		}},
		{"cross-entropy", []int{4, 3}, func(g *Graph, x *G.Node) *G.Node {
			return LogSoftmaxCE(g, x, g.Constant("t", []float64{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1}, 4, 3))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkLayerGrad(t, Train, tc.shape, nil, tc.f) })
	}
}

// StopGradient must cut the gradient: d/dx Σ x ⊙ stop(x) = x, not 2x.
func TestStopGradientBlocks(t *testing.T) {
	x := NewParam("x", tensor.Float64, 2, 3)
	require.NoError(t, x.SetFloat64s([]float64{1, -2, 3, 0.5, 4, -1}))
	g := NewGraph(tensor.Float64, Train, 1)
	xn := g.Param(x)
	loss := Sum(g, Mul(g, xn, StopGradient(g, xn)))
	prog, err := g.Compile(loss, x)
	require.NoError(t, err)
	require.NoError(t, prog.Run())
	assert.InDelta(t, 1+4+9+0.25+16+1, prog.Loss(), 1e-12)
	assert.InDeltaSlice(t, []float64{1, -2, 3, 0.5, 4, -1}, Float64s(x.Grad), 1e-12)
}
