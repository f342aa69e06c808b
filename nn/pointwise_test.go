package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// pointwiseCase is out(LeakyReLU(hidden(x))) (+ a residual parameter) on
// x of shape (n, cin, h, w).
func pointwiseCase(n, cin, hid, cout, h, w int, bias, res bool) layerCase {
	return layerCase{
		name:   fmt.Sprintf("pointwise mlp %d×%d→%d→%d %dx%d bias=%v res=%v", n, cin, hid, cout, h, w, bias, res),
		xShape: []int{n, cin, h, w},
		build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			c1 := NewConv2d("c1", dt, cin, hid, 1, 1, 0, bias, rng)
			c2 := NewConv2d("c2", dt, hid, cout, 1, 1, 0, bias, rng)
			ps := append(c1.Params(), c2.Params()...)
			var r *Param
			if res {
				r = NewParam("r", dt, n, cout, h, w)
				r.InitNormal(rng, 1)
				ps = append(ps, r)
			}
			return ps, func(g *Graph, x *G.Node) *G.Node {
				var rn *G.Node
				if r != nil {
					rn = g.Param(r)
				}
				return PointwiseMLP(g, x, rn, c1, c2, 0.2)
			}
		},
	}
}

func pointwiseCases() []layerCase {
	return []layerCase{
		pointwiseCase(3, 2, 16, 1, 5, 7, true, false),   // fewer pixels than a vector loop, tails
		pointwiseCase(2, 1, 16, 2, 16, 20, true, true),  // two blocks, the second partial
		pointwiseCase(11, 2, 16, 1, 8, 8, true, true),   // more samples than chunks
		pointwiseCase(3, 3, 5, 4, 4, 18, false, false),  // no biases
		pointwiseCase(2, 2, 7, 3, 9, 9, false, true),    // no biases, a residual
		pointwiseCase(2, 4, 6, 2, 1, 1, true, false),    // one pixel
		pointwiseCase(1, 2, 16, 2, 32, 32, true, false), // the flow's size
	}
}

// TestPointwiseMLPMatchesComposed checks the fused op against the two
// convolutions, gorgonia's LeakyRelu and the addition it replaces, in
// float64, with the assembly and the portable loops.
func TestPointwiseMLPMatchesComposed(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		for _, lc := range pointwiseCases() {
			t.Run(lc.name, func(t *testing.T) {
				want := runCase(t, lc, tensor.Float64, true)
				got := runCase(t, lc, tensor.Float64, false)
				compareResults(t, want, got, 1e-10)
			})
		}
	})
}

// TestPointwiseMLPFloat32 checks the float32 paths against float64.
func TestPointwiseMLPFloat32(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		for _, lc := range pointwiseCases() {
			t.Run(lc.name, func(t *testing.T) {
				want := runCase(t, lc, tensor.Float64, false)
				got := runCase(t, lc, tensor.Float32, false)
				compareResults(t, want, got, 2e-4)
			})
		}
	})
}

// TestPointwiseMLPGradients checks the fused op's gradients against central
// finite differences.
func TestPointwiseMLPGradients(t *testing.T) {
	for _, lc := range pointwiseCases() {
		t.Run(lc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			params, forward := lc.build(tensor.Float64, rng)
			checkLayerGrad(t, lc.mode, lc.xShape, params, forward)
		})
	}
}

// TestPointwiseMLPDeterministic checks bit-identical results whatever the
// number of cores.
func TestPointwiseMLPDeterministic(t *testing.T) {
	lc := pointwiseCase(19, 2, 16, 2, 16, 20, true, true)
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	want := runCase(t, lc, tensor.Float32, false)
	for _, procs := range []int{2, 3} {
		runtime.GOMAXPROCS(procs)
		got := runCase(t, lc, tensor.Float32, false)
		compareResults(t, want, got, 0)
	}
}

// TestPointwiseMLPWithoutInputGradient checks that a program that steps
// only the parameters of an MLP whose input is computed (so the op could
// give its input gradient) computes no input gradient, and gives the
// parameter gradients of the composed version.
func TestPointwiseMLPWithoutInputGradient(t *testing.T) {
	run := func(composed bool) ([][]float64, *Graph) {
		rng := rand.New(rand.NewPCG(5, 6))
		c1 := NewConv2d("c1", tensor.Float64, 2, 8, 1, 1, 0, true, rng)
		c2 := NewConv2d("c2", tensor.Float64, 8, 1, 1, 1, 0, true, rng)
		g := NewGraph(tensor.Float64, Train, 1)
		g.UseComposedOps(composed)
		in := g.Input("x", 3, 2, 4, 4)
		v := make([]float64, 3*2*4*4)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		require.NoError(t, in.SetFloat64s(v))
		y := PointwiseMLP(g, Scale(g, in.Node(), 2), nil, c1, c2, 0.2)
		ps := append(c1.Params(), c2.Params()...)
		prog, err := g.Compile(weightedSum(g, rng, y), ps...)
		require.NoError(t, err)
		defer prog.Close()
		require.NoError(t, prog.Run())
		var grads [][]float64
		for _, p := range ps {
			grads = append(grads, Float64s(p.Grad))
		}
		return grads, g
	}
	want, _ := run(true)
	got, g := run(false)
	for i := range want {
		requireClose(t, fmt.Sprintf("gradient %d", i), want[i], got[i], 1e-10)
	}
	backs := 0
	for _, n := range g.Expr().AllNodes() {
		if op, ok := n.Op().(*pwBackOp); ok {
			backs++
			require.True(t, op.needDX, "the input is computed")
			require.True(t, op.noDX, "nothing reads the input gradient")
		}
	}
	require.Equal(t, 1, backs)
}

// TestPointwiseMLPRejects checks the shapes and layers it refuses.
func TestPointwiseMLPRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	c1 := NewConv2d("c1", tensor.Float32, 2, 8, 1, 1, 0, true, rng)
	c2 := NewConv2d("c2", tensor.Float32, 8, 1, 1, 1, 0, true, rng)
	c3 := NewConv2d("c3", tensor.Float32, 8, 1, 3, 1, 1, true, rng)
	for name, f := range map[string]func(g *Graph, x *G.Node) *G.Node{
		"3×3 output layer": func(g *Graph, x *G.Node) *G.Node { return PointwiseMLP(g, x, nil, c1, c3, 0.2) },
		"input channels":   func(g *Graph, x *G.Node) *G.Node { return PointwiseMLP(g, x, nil, c2, c1, 0.2) },
		"residual shape": func(g *Graph, x *G.Node) *G.Node {
			return PointwiseMLP(g, x, x, c1, c2, 0.2)
		},
	} {
		g := NewGraph(tensor.Float32, Train, 1)
		x := g.Input("x", 2, 2, 4, 4)
		require.Nil(t, f(g, x.Node()), name)
		require.Error(t, g.Err(), name)
	}
}

// TestPointwiseLoops checks the assembly loops of the pointwise MLP against
// their Go versions for every length up to a few vectors.
func TestPointwiseLoops(t *testing.T) {
	if !useAsmKernels {
		t.Skip("no assembly loops on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	near := func(a, b float32, n int) bool {
		return math.Abs(float64(a-b)) <= 1e-5*float64(n+1)*(1+math.Abs(float64(a)))
	}
	for _, k := range []int{0, 1, 2, 5, 16} {
		for n := 0; n < 150; n += 1 + n/20 {
			const ldx, acs = 160, 3
			a, x := vec(max(1, k*acs)), vec(max(1, k*ldx))
			for _, flags := range []int{0, 1, 2, 3} {
				acc, leaky := flags&1 != 0, flags&2 != 0
				y0 := vec(n)
				y1, y2 := append([]float32(nil), y0...), append([]float32(nil), y0...)
				pwRow(k, n, a, acs, x, ldx, 0.3, y1, acc, leaky, 0.2)
				pwRowGo(k, 0, n, a, acs, x, ldx, 0.3, y2, acc, leaky, 0.2)
				for i := range y1 {
					if !near(y1[i], y2[i], k) || math.Signbit(float64(y1[i])) != math.Signbit(float64(y2[i])) {
						t.Fatalf("row k=%d n=%d flags=%d [%d]: %v vs %v", k, n, flags, i, y1[i], y2[i])
					}
				}
			}
			if k == 0 {
				continue
			}
			d1, d2 := make([]float32, k), make([]float32, k)
			av := vec(n)
			pwDots(k, n, av, x, ldx, d1)
			for c := 0; c < k; c++ {
				var s float32
				for i := 0; i < n; i++ {
					s += av[i] * x[c*ldx+i]
				}
				d2[c] = s
			}
			for c := range d1 {
				if !near(d1[c], d2[c], n) {
					t.Fatalf("dots k=%d n=%d [%d]: %v vs %v", k, n, c, d1[c], d2[c])
				}
			}
		}
	}
	for n := 0; n < 75; n++ {
		pre, src := vec(n), vec(n)
		if n > 3 {
			pre[1], pre[2] = 0, float32(math.Copysign(0, -1))
		}
		d1, d2 := make([]float32, n), make([]float32, n)
		vLeakyMul(d1, pre, src, 0.2)
		for i := range d2 {
			f := float32(1)
			if math.Signbit(float64(pre[i])) {
				f = 0.2
			}
			d2[i] = src[i] * f
		}
		require.Equal(t, d2, d1, "leaky n=%d", n)
	}
}
