package nn

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// evalCases are the layer cases whose batch norms behave differently in
// evaluation mode: every ResNet pattern and the conv-bn-relu-pool stacks.
func evalCases() []layerCase {
	var cases []layerCase
	for _, lc := range append(fastCases(), resnetCases()...) {
		if strings.Contains(lc.name, "block") || strings.Contains(lc.name, "resnet") ||
			strings.Contains(lc.name, "batch norm") || strings.Contains(lc.name, "bn") {
			cases = append(cases, lc)
		}
	}
	return cases
}

// runEval runs lc's layers in evaluation mode, with running statistics
// drawn from seed, and returns the output, the loss Σ r ⊙ y with its
// gradients with respect to the input and every learnable parameter, and
// the program's arena size.
func runEval(t *testing.T, lc layerCase, dt tensor.Dtype, composed bool, seed uint64) (caseResult, int64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	params, forward := lc.build(dt, rng)
	x := NewParam("x", dt, lc.xShape...)
	x.InitNormal(rng, 1)
	stats := rand.New(rand.NewPCG(seed, 7))
	for _, p := range params {
		if !p.Buffer {
			continue
		}
		v := p.Float64s()
		for i := range v {
			if strings.HasSuffix(p.Name, "var") {
				v[i] = 0.2 + 2*stats.Float64()
			} else {
				v[i] = stats.NormFloat64()
			}
		}
		require.NoError(t, p.SetFloat64s(v))
	}
	g := NewGraph(dt, Eval, 5)
	g.UseComposedOps(composed)
	y := forward(g, g.Param(x))
	require.NoError(t, g.Err())
	wy := g.Watch(y)
	wrt := append(Params{x}, params.Learnable()...)
	prog, err := g.Compile(weightedSum(g, rand.New(rand.NewPCG(13, 14)), y), wrt...)
	require.NoError(t, err)
	defer prog.Close()
	require.NoError(t, prog.Run())
	res := caseResult{out: wy.Values(), loss: prog.Loss(), xGrad: Float64s(x.Grad)}
	for _, p := range params.Learnable() {
		res.grads = append(res.grads, Float64s(p.Grad))
	}
	require.NoError(t, prog.Run())
	require.Equal(t, res.out, wy.Values(), "a second run computes the same")
	return res, prog.ArenaBytes()
}

// TestEvalModeMatchesComposed checks the fused batch norms in evaluation
// mode (normalising with the running statistics, ReLU, pooling and
// residual sums folded in) against gorgonia's stock ops: output, loss and
// gradients, with the assembly and the portable kernels, in float64 and
// float32.
func TestEvalModeMatchesComposed(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		for _, lc := range evalCases() {
			t.Run(lc.name, func(t *testing.T) {
				want, _ := runEval(t, lc, tensor.Float64, true, 1)
				got, arena := runEval(t, lc, tensor.Float64, false, 1)
				compareResults(t, want, got, 1e-10)
				require.Positive(t, arena, "the fused outputs are planned in an arena")
				got32, _ := runEval(t, lc, tensor.Float32, false, 1)
				compareResults(t, want, got32, 2e-4)
				other, _ := runEval(t, lc, tensor.Float64, false, 2)
				require.NotEqual(t, got.out, other.out, "the running statistics are read at run time")
			})
		}
	})
}

// TestEvalModeGradients checks the gradients of the evaluation-mode
// patterns against central finite differences in float64.
func TestEvalModeGradients(t *testing.T) {
	for _, lc := range evalCases() {
		t.Run(lc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			params, forward := lc.build(tensor.Float64, rng)
			for _, p := range params {
				if p.Buffer && strings.HasSuffix(p.Name, "mean") {
					p.InitNormal(rng, 1)
				}
			}
			checkLayerGrad(t, Eval, lc.xShape, params, forward)
		})
	}
}

// In evaluation mode a ResNet block is fused as in training: one sum +
// ReLU with the batch norms folded in, and no stock op of gorgonia's left
// but the convolutions' neighbours.
func TestEvalModeResidualFusion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := newBasicBlock("b", tensor.Float32, 4, 6, 2, rng)
	x := NewParam("x", tensor.Float32, 2, 4, 8, 8)
	x.InitNormal(rng, 1)
	g := NewGraph(tensor.Float32, Eval, 1)
	y := b.forward(g, g.Param(x))
	require.NoError(t, g.Err())
	res, ok := y.Op().(*resOp)
	require.True(t, ok, "the block's output is a fused sum")
	require.True(t, res.relu)
	for _, tm := range res.terms {
		require.NotNil(t, tm.st, "both batch norms folded into the sum")
		require.NotNil(t, tm.st.running, "with the running statistics")
	}
	stock := countOps(g, func(op G.Op) bool {
		s := op.String()
		return strings.Contains(s, "Broadcast") || isStockAdd(op) || strings.HasPrefix(s, "ReLU") || strings.HasPrefix(s, "Reshape")
	})
	require.Zero(t, stock, "stock ops in the evaluation graph")
}
