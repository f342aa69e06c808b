package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// basicBlock is a ResNet basic block as contrast.ResNet builds it: conv,
// batch norm, ReLU, conv, batch norm, plus the shortcut (the identity, or a
// 1×1 convolution and a batch norm where the stride or width changes),
// ReLU.
type basicBlock struct {
	c1, c2, sc *Conv2d
	b1, b2, sb *BatchNorm
}

func newBasicBlock(name string, dt tensor.Dtype, cin, cout, stride int, rng *rand.Rand) *basicBlock {
	b := &basicBlock{
		c1: NewConv2d(name+".c1", dt, cin, cout, 3, stride, 1, false, rng),
		b1: NewBatchNorm(name+".b1", dt, cout),
		c2: NewConv2d(name+".c2", dt, cout, cout, 3, 1, 1, false, rng),
		b2: NewBatchNorm(name+".b2", dt, cout),
	}
	if stride != 1 || cin != cout {
		b.sc = NewConv2d(name+".sc", dt, cin, cout, 1, stride, 0, false, rng)
		b.sb = NewBatchNorm(name+".sb", dt, cout)
	}
	for _, bn := range []*BatchNorm{b.b1, b.b2, b.sb} {
		if bn != nil {
			bn.Gamma.InitNormal(rng, 1)
			bn.Beta.InitNormal(rng, 1)
		}
	}
	return b
}

func (b *basicBlock) params() Params {
	ps := append(append(append(b.c1.Params(), b.b1.Params()...), b.c2.Params()...), b.b2.Params()...)
	if b.sc != nil {
		ps = append(append(ps, b.sc.Params()...), b.sb.Params()...)
	}
	return ps
}

func (b *basicBlock) forward(g *Graph, x *G.Node) *G.Node {
	y := b.b2.Forward(g, b.c2.Forward(g, ReLU(g, b.b1.Forward(g, b.c1.Forward(g, x)))))
	sc := x
	if b.sc != nil {
		sc = b.sb.Forward(g, b.sc.Forward(g, x))
	}
	return ReLU(g, Add(g, y, sc))
}

func blockCase(name string, n, cin, cout, stride, hw int) layerCase {
	return layerCase{name: name, xShape: []int{n, cin, hw, hw},
		build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			b := newBasicBlock("blk", dt, cin, cout, stride, rng)
			return b.params(), b.forward
		}}
}

// resnetCases are the patterns of a ResNet: basic blocks with the identity
// and the projection shortcut, sums with and without ReLU and batch norms,
// a small ResNet end to end.
func resnetCases() []layerCase {
	cases := []layerCase{
		convCase(3, 4, 6, 3, 2, 1, 8, 8, false),   // 3×3 stride 2, even size
		convCase(3, 4, 6, 1, 2, 0, 16, 16, false), // 1×1 stride 2
		convCase(3, 4, 6, 1, 1, 0, 16, 16, false), // 1×1 stride 1
		convCase(3, 4, 38, 3, 1, 1, 3, 16, false), // an odd number of whole tiles; two whole panels of filter gradients and a part
		convCase(2, 32, 10, 3, 1, 1, 8, 8, false), // depth in two blocks, a partial panel of rows accumulating
		convCase(3, 4, 8, 3, 2, 1, 16, 16, false), // stride 2 on the padded samples split by column parity
		convCase(2, 3, 7, 3, 2, 1, 16, 15, true),  // an odd width
		convCase(2, 3, 7, 3, 2, 1, 17, 17, false), // odd sizes, output rows not whole half-panels
		convCase(2, 3, 5, 5, 2, 2, 16, 16, true),  // an even padding
		convCase(2, 3, 5, 4, 2, 0, 18, 18, false), // an even kernel
		convCase(3, 4, 6, 1, 2, 0, 15, 16, false), // 1×1 stride 2, odd height
		blockCase("identity block", 3, 4, 4, 1, 8),
		blockCase("projection block, stride 2", 3, 4, 6, 2, 8),
		blockCase("projection block, stride 1", 3, 4, 6, 1, 8),
		blockCase("projection block, odd size", 2, 3, 5, 2, 7),
	}
	bnPair := func(relu, secondBN bool) func(tensor.Dtype, *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
		return func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			b1, b2 := NewBatchNorm("b1", dt, 3), NewBatchNorm("b2", dt, 3)
			for _, b := range []*BatchNorm{b1, b2} {
				b.Gamma.InitNormal(rng, 1)
				b.Beta.InitNormal(rng, 1)
			}
			ps := b1.Params()
			if secondBN {
				ps = append(ps, b2.Params()...)
			}
			return ps, func(g *Graph, x *G.Node) *G.Node {
				other := Scale(g, x, -0.5)
				if secondBN {
					other = b2.Forward(g, other)
				}
				y := Add(g, b1.Forward(g, x), other)
				if relu {
					y = ReLU(g, y)
				}
				return y
			}
		}
	}
	for _, relu := range []bool{false, true} {
		for _, second := range []bool{false, true} {
			cases = append(cases, layerCase{name: fmt.Sprintf("sum of batch norm and %s, relu=%v", map[bool]string{false: "tensor", true: "batch norm"}[second], relu),
				xShape: []int{4, 3, 5, 6}, build: bnPair(relu, second)})
		}
	}
	cases = append(cases,
		layerCase{name: "sum of two tensors, relu", xShape: []int{2, 3, 4, 5},
			build: func(tensor.Dtype, *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
				return nil, func(g *Graph, x *G.Node) *G.Node { return ReLU(g, Add(g, x, Scale(g, x, -0.3))) }
			}},
		layerCase{name: "sum read before and after relu", xShape: []int{2, 3, 4, 5},
			build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
				b := NewBatchNorm("b", dt, 3)
				b.Gamma.InitNormal(rng, 1)
				return b.Params(), func(g *Graph, x *G.Node) *G.Node {
					s := Add(g, b.Forward(g, x), x)
					return Add(g, ReLU(g, s), Scale(g, s, 0.5))
				}
			}},
		layerCase{name: "small resnet", xShape: []int{3, 2, 8, 8},
			build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
				stem := NewConv2d("stem", dt, 2, 4, 3, 1, 1, false, rng)
				sbn := NewBatchNorm("stem_bn", dt, 4)
				b1 := newBasicBlock("l1", dt, 4, 4, 1, rng)
				b2 := newBasicBlock("l2", dt, 4, 6, 2, rng)
				b3 := newBasicBlock("l3", dt, 6, 6, 1, rng)
				ps := append(append(stem.Params(), sbn.Params()...), b1.params()...)
				ps = append(append(ps, b2.params()...), b3.params()...)
				return ps, func(g *Graph, x *G.Node) *G.Node {
					h := ReLU(g, sbn.Forward(g, stem.Forward(g, x)))
					return GlobalAvgPool(g, b3.forward(g, b2.forward(g, b1.forward(g, h))))
				}
			}},
	)
	return cases
}

// TestResNetOpsMatchComposed checks the ResNet patterns on the fused ops
// against gorgonia's stock ops: output, loss, gradients with respect to the
// input and every parameter, running statistics, in float64.
func TestResNetOpsMatchComposed(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		for _, lc := range resnetCases() {
			t.Run(lc.name, func(t *testing.T) {
				want := runCase(t, lc, tensor.Float64, true)
				got := runCase(t, lc, tensor.Float64, false)
				compareResults(t, want, got, 1e-10)
			})
		}
	})
}

// TestResNetOpsFloat32 checks the float32 paths against float64.
func TestResNetOpsFloat32(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		for _, lc := range resnetCases() {
			t.Run(lc.name, func(t *testing.T) {
				want := runCase(t, lc, tensor.Float64, false)
				got := runCase(t, lc, tensor.Float32, false)
				compareResults(t, want, got, 2e-4)
			})
		}
	})
}

// TestResNetOpsGradients checks the gradients of the ResNet patterns
// against central finite differences in float64.
func TestResNetOpsGradients(t *testing.T) {
	for _, lc := range resnetCases() {
		t.Run(lc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			params, forward := lc.build(tensor.Float64, rng)
			checkLayerGrad(t, lc.mode, lc.xShape, params, forward)
		})
	}
}

// countOps counts the nodes of g whose op satisfies f.
func countOps(g *Graph, f func(G.Op) bool) int {
	n := 0
	for _, node := range g.Expr().AllNodes() {
		if node.Op() != nil && f(node.Op()) {
			n++
		}
	}
	return n
}

// isStockAdd reports whether op is gorgonia's element-wise Add.
func isStockAdd(op G.Op) bool { return strings.HasPrefix(op.String(), "+ ") }

// TestResidualFusion checks what a basic block becomes: one fused sum +
// ReLU with both batch norms folded in, the replaced nodes skipped, and no
// gradient summed by gorgonia's Add: the shortcut's gradient is handed to
// the first convolution's input gradient.
func TestResidualFusion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stride int
		cout   int
	}{{"identity", 1, 4}, {"projection", 2, 6}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			b := newBasicBlock("b", tensor.Float32, 4, tc.cout, tc.stride, rng)
			x := NewParam("x", tensor.Float32, 2, 4, 8, 8)
			x.InitNormal(rng, 1)
			g := NewGraph(tensor.Float32, Train, 1)
			y := b.forward(g, g.Param(x))
			require.NoError(t, g.Err())
			res, ok := y.Op().(*resOp)
			require.True(t, ok, "the block's output is a fused sum")
			require.True(t, res.relu)
			bnTerms := 0
			for _, tm := range res.terms {
				if tm.st != nil {
					bnTerms++
				}
			}
			require.Equal(t, map[bool]int{false: 1, true: 2}[b.sc != nil], bnTerms, "batch norms folded into the sum")
			loss := weightedSum(g, rand.New(rand.NewPCG(3, 4)), y)
			prog, err := g.Compile(loss, append(Params{x}, b.params().Learnable()...)...)
			require.NoError(t, err)
			defer prog.Close()
			require.NoError(t, prog.Run())
			require.Zero(t, countOps(g, isStockAdd), "gradients summed by gorgonia's Add")
			accs := countOps(g, func(op G.Op) bool { d, ok := op.(*convDataOp); return ok && d.acc })
			require.Equal(t, 1, accs, "input gradients that take the other reader's")
			for _, n := range g.fused {
				switch op := n.Op().(type) {
				case *bnOp:
					require.True(t, op.skip, "folded batch norm %v skipped", n)
				case *resOp:
					require.True(t, op.skip, "sum replaced by sum + relu skipped")
				}
			}
		})
	}
}

// TestIsStockAdd checks that isStockAdd recognises what gorgonia's
// backpropagation sums gradients with, as the composed layers use it.
func TestIsStockAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := newBasicBlock("b", tensor.Float32, 4, 4, 1, rng)
	g := NewGraph(tensor.Float32, Train, 1)
	g.UseComposedOps(true)
	x := NewParam("x", tensor.Float32, 2, 4, 8, 8)
	loss := weightedSum(g, rng, b.forward(g, g.Param(x)))
	prog, err := g.Compile(loss, x)
	require.NoError(t, err)
	defer prog.Close()
	require.NotZero(t, countOps(g, isStockAdd))
}

// TestHandoffOnlyInputGradient differentiates a projection block with
// respect to its input only (the generator's program in a view-learning
// game, which does not step the encoders): the shortcut convolution's
// gradient must still reach the input.
func TestHandoffOnlyInputGradient(t *testing.T) {
	lc := blockCase("projection", 3, 4, 6, 2, 8)
	grad := func(composed bool) []float64 {
		rng := rand.New(rand.NewPCG(5, 6))
		_, forward := lc.build(tensor.Float64, rng)
		x := NewParam("x", tensor.Float64, lc.xShape...)
		x.InitNormal(rng, 1)
		g := NewGraph(tensor.Float64, Train, 1)
		g.UseComposedOps(composed)
		loss := weightedSum(g, rand.New(rand.NewPCG(7, 8)), forward(g, g.Param(x)))
		prog, err := g.Compile(loss, x)
		require.NoError(t, err)
		defer prog.Close()
		require.NoError(t, prog.Run())
		return Float64s(x.Grad)
	}
	requireClose(t, "input gradient", grad(true), grad(false), 1e-10)
}

// TestAffine2Loop checks the residual sum's float32 loop against its Go
// version for every length up to a few vectors, NaN included.
func TestAffine2Loop(t *testing.T) {
	if !useAsmKernels {
		t.Skip("no assembly loops on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for n := 0; n < 75; n++ {
		x, z := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], z[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		if n > 5 {
			x[5] = float32(math.NaN())
		}
		for _, relu := range []bool{false, true} {
			d1, d2 := make([]float32, n), make([]float32, n)
			r := 0
			if relu {
				r = 1
			}
			affine2x32(d1, x, z, 1.5, -0.75, 0.25, r)
			affine2Go(d2, x, z, 1.5, -0.75, 0.25, relu)
			for i := range d1 {
				if d1[i] != d1[i] && d2[i] != d2[i] {
					continue
				}
				require.InDelta(t, d2[i], d1[i], 1e-6, "n=%d relu=%v [%d]", n, relu, i)
			}
		}
	}
}
