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

// A layer case builds a layer's parameters for a dtype (the same values
// for every dtype, from the seed) and its forward function.
type layerCase struct {
	name   string
	xShape []int
	mode   Mode
	build  func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node)
}

func convCase(n, cin, cout, k, stride, pad, h, w int, bias bool) layerCase {
	return layerCase{
		name:   fmt.Sprintf("conv %d×%d→%d k%d s%d p%d %dx%d bias=%v", n, cin, cout, k, stride, pad, h, w, bias),
		xShape: []int{n, cin, h, w},
		build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			c := NewConv2d("c", dt, cin, cout, k, stride, pad, bias, rng)
			return c.Params(), c.Forward
		},
	}
}

func fastCases() []layerCase {
	cases := []layerCase{
		// More samples than filterChunks, so that chunks sum several.
		convCase(11, 2, 3, 3, 1, 1, 8, 8, false),  // direct path (both dtypes)
		convCase(3, 3, 7, 3, 1, 1, 16, 16, true),  // direct, edge tiles in rows
		convCase(3, 2, 17, 3, 1, 1, 12, 12, true), // direct for float64, packed im2col for float32
		convCase(10, 3, 4, 3, 2, 1, 7, 7, false),  // stride 2: packed im2col, col2im
		convCase(3, 2, 3, 5, 1, 2, 6, 6, true),    // 5×5, not direct
		convCase(9, 4, 5, 1, 2, 0, 8, 8, false),   // 1×1 downsample
		convCase(3, 2, 3, 4, 2, 0, 8, 8, true),    // even kernel
		convCase(3, 1, 20, 3, 1, 0, 10, 10, false),
		convCase(10, 3, 16, 3, 2, 1, 9, 9, false), // stride 2 with full tiles
		convCase(10, 3, 40, 3, 1, 1, 8, 8, false), // several whole panels per kernel call
		convCase(5, 3, 4, 3, 3, 1, 10, 10, true),  // stride 3: im2col packed from the sample itself
		convCase(3, 2, 5, 3, 2, 1, 18, 18, false), // stride 2, odd padding, rows split by the vector kernel
		convCase(3, 4, 6, 1, 2, 0, 16, 16, true),  // 1×1 stride 2, even padding, the same
		{name: "batch norm 4d", xShape: []int{4, 3, 4, 5}, build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			b := NewBatchNorm("bn", dt, 3)
			b.Gamma.InitNormal(rng, 1)
			b.Beta.InitNormal(rng, 1)
			return b.Params(), b.Forward
		}},
		{name: "batch norm 2d", xShape: []int{6, 5}, build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			b := NewBatchNorm("bn", dt, 5)
			b.Gamma.InitNormal(rng, 1)
			b.Beta.InitNormal(rng, 1)
			return b.Params(), b.Forward
		}},
		{name: "batch norm + relu", xShape: []int{4, 3, 4, 5}, build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			b := NewBatchNorm("bn", dt, 3)
			b.Gamma.InitNormal(rng, 1)
			b.Beta.InitNormal(rng, 1)
			return b.Params(), func(g *Graph, x *G.Node) *G.Node { return ReLU(g, b.Forward(g, x)) }
		}},
		{name: "batch norm + relu 2d", xShape: []int{7, 5}, build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			b := NewBatchNorm("bn", dt, 5)
			b.Gamma.InitNormal(rng, 1)
			b.Beta.InitNormal(rng, 1)
			return b.Params(), func(g *Graph, x *G.Node) *G.Node { return ReLU(g, b.Forward(g, x)) }
		}},
		{name: "batch norm read by relu and add", xShape: []int{4, 3, 4, 5}, build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			b := NewBatchNorm("bn", dt, 3)
			b.Gamma.InitNormal(rng, 1)
			b.Beta.InitNormal(rng, 1)
			return b.Params(), func(g *Graph, x *G.Node) *G.Node {
				h := b.Forward(g, x)
				return Add(g, ReLU(g, h), h)
			}
		}},
		{name: "batch norm + relu + max pool", xShape: []int{4, 3, 16, 16}, build: bnReluPoolCase(3, 2, 2, 0, false)},
		{name: "batch norm + relu + max pool, odd sizes", xShape: []int{3, 2, 7, 9}, build: bnReluPoolCase(2, 2, 2, 0, false)},
		{name: "batch norm + relu + max pool to 4 wide", xShape: []int{3, 2, 10, 8}, build: bnReluPoolCase(2, 2, 2, 0, false)},
		{name: "batch norm + relu + max pool, relu read twice", xShape: []int{3, 2, 8, 16}, build: bnReluPoolCase(2, 2, 2, 0, true)},
		{name: "batch norm + relu + max pool 3x3", xShape: []int{3, 2, 8, 8}, build: bnReluPoolCase(2, 3, 2, 1, false)},
		{name: "relu", xShape: []int{3, 2, 5, 7}, build: func(tensor.Dtype, *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			return nil, ReLU
		}},
		{name: "relu 2d", xShape: []int{5, 9}, build: func(tensor.Dtype, *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			return nil, ReLU
		}},
		{name: "global average pool", xShape: []int{3, 4, 3, 5}, build: func(tensor.Dtype, *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			return nil, GlobalAvgPool
		}},
	}
	for _, p := range [][3]int{{2, 2, 0}, {3, 1, 1}, {3, 2, 1}, {2, 1, 0}} {
		p := p
		cases = append(cases, layerCase{name: fmt.Sprintf("max pool k%d s%d p%d", p[0], p[1], p[2]), xShape: []int{2, 3, 7, 6},
			build: func(tensor.Dtype, *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
				return nil, func(g *Graph, x *G.Node) *G.Node { return MaxPool2d(g, x, p[0], p[1], p[2]) }
			}})
	}
	cases = append(cases, layerCase{name: "relu, max pool 2x2 with ties", xShape: []int{3, 4, 16, 32},
		build: func(tensor.Dtype, *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			return nil, func(g *Graph, x *G.Node) *G.Node { return MaxPool2d(g, ReLU(g, x), 2, 2, 0) }
		}})
	cases = append(cases, layerCase{name: "conv-bn-relu-pool stack", xShape: []int{10, 2, 8, 8},
		build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			c1 := NewConv2d("c1", dt, 2, 6, 3, 1, 1, false, rng)
			b1 := NewBatchNorm("b1", dt, 6)
			c2 := NewConv2d("c2", dt, 6, 8, 3, 1, 1, false, rng)
			b2 := NewBatchNorm("b2", dt, 8)
			ps := append(append(append(c1.Params(), b1.Params()...), c2.Params()...), b2.Params()...)
			return ps, func(g *Graph, x *G.Node) *G.Node {
				h := MaxPool2d(g, ReLU(g, b1.Forward(g, c1.Forward(g, x))), 2, 2, 0)
				return GlobalAvgPool(g, ReLU(g, b2.Forward(g, c2.Forward(g, h))))
			}
		}})
	return cases
}

// bnReluPoolCase is max pooling of ReLU of a batch norm over c channels;
// with readTwice the ReLU's output also feeds an addition, so that the
// fused op cannot replace it.
func bnReluPoolCase(c, k, stride, pad int, readTwice bool) func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
	return func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
		b := NewBatchNorm("bn", dt, c)
		b.Gamma.InitNormal(rng, 1)
		b.Beta.InitNormal(rng, 1)
		return b.Params(), func(g *Graph, x *G.Node) *G.Node {
			h := ReLU(g, b.Forward(g, x))
			y := MaxPool2d(g, h, k, stride, pad)
			if readTwice {
				y = Add(g, y, MaxPool2d(g, Scale(g, h, 0.5), k, stride, pad))
			}
			return y
		}
	}
}

// runCase builds loss = Σ r ⊙ layer(x) for a fixed random r and returns the
// layer output, the loss and the gradients with respect to x and to every
// learnable parameter, after one run.
type caseResult struct {
	out, xGrad []float64
	loss       float64
	grads      [][]float64
	buffers    [][]float64
}

func runCase(t *testing.T, lc layerCase, dt tensor.Dtype, composed bool) caseResult {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	params, forward := lc.build(dt, rng)
	x := NewParam("x", dt, lc.xShape...)
	x.InitNormal(rng, 1)
	g := NewGraph(dt, lc.mode, 5)
	g.UseComposedOps(composed)
	y := forward(g, g.Param(x))
	require.NoError(t, g.Err())
	wy := g.Watch(y)
	loss := weightedSum(g, rand.New(rand.NewPCG(13, 14)), y)
	wrt := append(Params{x}, params.Learnable()...)
	prog, err := g.Compile(loss, wrt...)
	require.NoError(t, err)
	defer prog.Close()
	xBefore := x.Float64s()
	var pBefore [][]float64
	for _, p := range params.Learnable() {
		pBefore = append(pBefore, p.Float64s())
	}
	require.NoError(t, prog.Run())
	// Running a program never writes into its inputs or parameters.
	require.Equal(t, xBefore, x.Float64s(), "the program changed its input")
	for i, p := range params.Learnable() {
		require.Equal(t, pBefore[i], p.Float64s(), "the program changed %s", p.Name)
	}
	res := caseResult{out: wy.Values(), loss: prog.Loss(), xGrad: Float64s(x.Grad)}
	for _, p := range params.Learnable() {
		res.grads = append(res.grads, Float64s(p.Grad))
	}
	for _, p := range params {
		if p.Buffer {
			res.buffers = append(res.buffers, p.Float64s())
		}
	}
	return res
}

func requireClose(t *testing.T, what string, want, got []float64, rel float64) {
	t.Helper()
	require.Equal(t, len(want), len(got), what)
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range want {
		if d := math.Abs(want[i] - got[i]); d > rel*(scale+1e-30) || math.IsNaN(got[i]) {
			t.Fatalf("%s[%d]: got %.10g, want %.10g (|diff| %.3g, scale %.3g)", what, i, got[i], want[i], d, scale)
		}
	}
}

func compareResults(t *testing.T, want, got caseResult, rel float64) {
	t.Helper()
	requireClose(t, "output", want.out, got.out, rel)
	requireClose(t, "loss", []float64{want.loss}, []float64{got.loss}, rel)
	requireClose(t, "input gradient", want.xGrad, got.xGrad, rel)
	require.Equal(t, len(want.grads), len(got.grads))
	for i := range want.grads {
		requireClose(t, fmt.Sprintf("gradient %d", i), want.grads[i], got.grads[i], rel)
	}
	require.Equal(t, len(want.buffers), len(got.buffers))
	for i := range want.buffers {
		requireClose(t, fmt.Sprintf("buffer %d", i), want.buffers[i], got.buffers[i], rel)
	}
}

// withKernels runs f with the assembly kernels (where the CPU has them:
// AVX-512, then AVX2 alone) and with the portable Go kernels.
func withKernels(t *testing.T, f func(t *testing.T)) {
	t.Run(GemmKernel(), f)
	if useAVX512 {
		useAVX512 = false
		t.Run(GemmKernel(), f)
		useAVX512 = true
	}
	if useAsmKernels {
		useAsmKernels = false
		defer func() { useAsmKernels = true }()
		t.Run("go", f)
	}
}

// TestFastOpsMatchComposed checks every fused op against the composition of
// gorgonia's stock ops it replaces: the same output, loss, gradients with
// respect to the input and the parameters, and running statistics, in
// float64.
func TestFastOpsMatchComposed(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		for _, lc := range fastCases() {
			t.Run(lc.name, func(t *testing.T) {
				want := runCase(t, lc, tensor.Float64, true)
				got := runCase(t, lc, tensor.Float64, false)
				compareResults(t, want, got, 1e-10)
			})
		}
	})
}

// TestFastOpsFloat32 checks the float32 paths (the assembly micro-kernels
// and vector loops) against the float64 ones.
func TestFastOpsFloat32(t *testing.T) {
	withKernels(t, func(t *testing.T) {
		for _, lc := range fastCases() {
			t.Run(lc.name, func(t *testing.T) {
				want := runCase(t, lc, tensor.Float64, false)
				got := runCase(t, lc, tensor.Float32, false)
				compareResults(t, want, got, 2e-4)
			})
		}
	})
}

// TestFastOpsGradients checks each fused op's gradients against central
// finite differences in float64.
func TestFastOpsGradients(t *testing.T) {
	for _, lc := range fastCases() {
		t.Run(lc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			params, forward := lc.build(tensor.Float64, rng)
			checkLayerGrad(t, lc.mode, lc.xShape, params, forward)
		})
	}
}

// TestFastOpsDeterministic checks that the parallel ops give bit-identical
// results whatever the number of cores and however the work is shared out.
func TestFastOpsDeterministic(t *testing.T) {
	lc := fastCases()[len(fastCases())-1]
	lc.xShape = []int{19, 2, 8, 8}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	want := runCase(t, lc, tensor.Float32, false)
	for _, procs := range []int{2, 3} {
		runtime.GOMAXPROCS(procs)
		got := runCase(t, lc, tensor.Float32, false)
		compareResults(t, want, got, 0)
	}
}

// TestFastOpsRepeatedRuns checks that a program's workspaces carry nothing
// from one run into the next: new inputs give the same results as a fresh
// program given them first.
func TestFastOpsRepeatedRuns(t *testing.T) {
	lc := fastCases()[len(fastCases())-1]
	rng := rand.New(rand.NewPCG(3, 4))
	params, forward := lc.build(tensor.Float32, rng)
	run := func(g *Graph, in *Input, prog *Program, seed uint64) []float64 {
		r := rand.New(rand.NewPCG(seed, 1))
		v := make([]float32, in.Shape().TotalSize())
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		require.NoError(t, in.Set(v))
		require.NoError(t, prog.Run())
		var all []float64
		for _, p := range params.Learnable() {
			all = append(all, Float64s(p.Grad)...)
		}
		return all
	}
	build := func() (*Graph, *Input, *Program) {
		g := NewGraph(tensor.Float32, Train, 1)
		in := g.Input("x", lc.xShape...)
		loss := weightedSum(g, rand.New(rand.NewPCG(5, 6)), forward(g, in.Node()))
		prog, err := g.Compile(loss, params.Learnable()...)
		require.NoError(t, err)
		return g, in, prog
	}
	g1, in1, p1 := build()
	defer p1.Close()
	run(g1, in1, p1, 1)
	second := run(g1, in1, p1, 2)
	g2, in2, p2 := build()
	defer p2.Close()
	fresh := run(g2, in2, p2, 2)
	require.Equal(t, fresh, second)
}

// TestBatchNormFusion checks that ReLU of a training-mode batch norm, and a
// 2×2 max pooling of that, become one fused op each, and that a replaced
// node is skipped at run time only when nothing else reads it.
func TestBatchNormFusion(t *testing.T) {
	cases := []struct {
		name                 string
		pool, readBN, readRL bool
		skipBN, skipReLU     bool
	}{
		{name: "relu", skipBN: true},
		{name: "relu, batch norm read twice", readBN: true},
		{name: "relu, pool", pool: true, skipBN: true, skipReLU: true},
		{name: "relu, pool, relu read twice", pool: true, readRL: true, skipBN: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBatchNorm("bn", tensor.Float32, 3)
			g := NewGraph(tensor.Float32, Train, 1)
			x := g.Input("x", 4, 3, 4, 4)
			h := b.Forward(g, x.Node())
			r := ReLU(g, h)
			y := r
			if tc.pool {
				y = MaxPool2d(g, r, 2, 2, 0)
				if tc.readRL {
					y = Add(g, y, MaxPool2d(g, Scale(g, r, 2), 2, 2, 0))
				}
			}
			if tc.readBN {
				// (an Add would fold the batch norm into itself)
				y = Add(g, y, Scale(g, h, 2))
			}
			prog, err := g.Compile(Sum(g, y))
			require.NoError(t, err)
			defer prog.Close()
			require.NoError(t, prog.Run())
			bn, ok := h.Op().(*bnOp)
			require.True(t, ok)
			require.Equal(t, tc.skipBN, bn.skip, "batch norm skipped")
			rl, ok := r.Op().(*bnOp)
			require.True(t, ok, "ReLU fused into the batch norm")
			require.True(t, rl.relu)
			require.Equal(t, tc.skipReLU, rl.skip, "batch norm + ReLU skipped")
			pooled := 0
			for _, n := range g.Expr().AllNodes() {
				if op, ok := n.Op().(*bnOp); ok && op.pool != nil {
					pooled++
				}
			}
			want := 0
			if tc.pool {
				want = 1
			}
			require.Equal(t, want, pooled, "fused pooling nodes")
		})
	}
}

// TestVecLoops checks the float32 vector loops against their Go versions
// for every length up to a few vectors (the scalar tails included).
func TestVecLoops(t *testing.T) {
	if !useAsmKernels {
		t.Skip("no assembly loops on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
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
	for n := 0; n < 75; n++ {
		x, y, dy := vec(n), vec(n), vec(n)
		if n > 3 {
			x[3] = float32(math.NaN())
			y[2] = 0
		}
		d1, d2 := make([]float32, n), make([]float32, n)
		relu32(d1, x)
		reluGo(d2, x)
		for i := range d1 {
			if !(d1[i] == d2[i] || (d1[i] != d1[i] && d2[i] != d2[i])) {
				t.Fatalf("relu n=%d [%d]: %v vs %v", n, i, d1[i], d2[i])
			}
		}
		reluBack32(d1, y, dy)
		reluBackGo(d2, y, dy)
		require.Equal(t, d2, d1, "relu back n=%d", n)
		x = vec(n)
		if s1, s2 := sum32(x), sumGo(x); !near(s1, s2, n) {
			t.Fatalf("sum n=%d: %v vs %v", n, s1, s2)
		}
		if s1, s2 := sumSqDev32(x, 0.3), sumSqDevGo(x, 0.3); !near(s1, s2, n) {
			t.Fatalf("sum sq dev n=%d: %v vs %v", n, s1, s2)
		}
		affine32(d1, x, 1.5, -0.25)
		affineGo(d2, x, 1.5, -0.25)
		for i := range d1 {
			require.InDelta(t, d2[i], d1[i], 1e-6)
		}
		a1, b1 := bnBackSums32(dy, x, 0.2)
		a2, b2 := bnBackSumsGo(dy, x, 0.2)
		if !near(a1, a2, n) || !near(b1, b2, n) {
			t.Fatalf("bn sums n=%d: %v %v vs %v %v", n, a1, b1, a2, b2)
		}
		bnBackApply32(d1, dy, x, 0.7, -0.3, 0.1)
		bnBackApplyGo(d2, dy, x, 0.7, -0.3, 0.1)
		for i := range d1 {
			require.InDelta(t, d2[i], d1[i], 1e-6)
		}
		copy(d1, y)
		copy(d2, y)
		add32(d1, x)
		addGo(d2, x)
		require.Equal(t, d2, d1)
		affineRelu32(d1, x, 1.5, -0.25)
		affineReluGo(d2, x, 1.5, -0.25)
		for i := range d1 {
			require.InDelta(t, d2[i], d1[i], 1e-6)
		}
		a1, b1 = bnReluBackSums32(dy, y, x, 0.2)
		a2, b2 = bnReluBackSumsGo(dy, y, x, 0.2)
		if !near(a1, a2, n) || !near(b1, b2, n) {
			t.Fatalf("bn relu sums n=%d: %v %v vs %v %v", n, a1, b1, a2, b2)
		}
		bnReluBackApply32(d1, dy, y, x, 0.7, -0.3, 0.1)
		bnReluBackApplyGo(d2, dy, y, x, 0.7, -0.3, 0.1)
		for i := range d1 {
			require.InDelta(t, d2[i], d1[i], 1e-6)
		}
	}
}

// TestFastOpsWithoutReset runs a program's graph on a bare tape machine,
// several times without resetting it between runs (so that registers keep
// their values from one run to the next), and checks that every run gives
// the loss and gradients of a normal run.
func TestFastOpsWithoutReset(t *testing.T) {
	lc := fastCases()[len(fastCases())-1]
	rng := rand.New(rand.NewPCG(31, 32))
	params, forward := lc.build(tensor.Float64, rng)
	x := NewParam("x", tensor.Float64, lc.xShape...)
	x.InitNormal(rng, 1)
	g := NewGraph(tensor.Float64, Train, 1)
	loss := weightedSum(g, rand.New(rand.NewPCG(33, 34)), forward(g, g.Param(x)))
	wrt := append(Params{x}, params.Learnable()...)
	prog, err := g.Compile(loss, wrt...)
	require.NoError(t, err)
	defer prog.Close()
	require.NoError(t, prog.Run())
	want := prog.Loss()
	var wantGrads [][]float64
	for _, n := range prog.grads {
		wantGrads = append(wantGrads, n.Values())
	}
	vm := G.NewTapeMachine(g.Expr())
	defer vm.Close()
	for run := 0; run < 3; run++ {
		require.NoError(t, vm.RunAll())
		require.InDelta(t, want, prog.loss.Scalar(), 1e-12, "run %d", run)
		for i, n := range prog.grads {
			requireClose(t, fmt.Sprintf("run %d gradient %d", run, i), wantGrads[i], n.Values(), 1e-12)
		}
	}
}

// TestOutputNeverOverwritesInput checks that an op's output memory is
// replaced when a run hands the op that same memory as an input.
func TestOutputNeverOverwritesInput(t *testing.T) {
	var o output[float32]
	buf, first := o.get(tensor.Shape{2, 3})
	same, _ := o.get(tensor.Shape{2, 3}, tensor.New(tensor.WithShape(4), tensor.WithBacking(make([]float32, 4))))
	require.True(t, &buf[0] == &same[0], "an unrelated input keeps the buffer")
	view := tensor.New(tensor.WithShape(2), tensor.WithBacking(buf[3:5]))
	moved, _ := o.get(tensor.Shape{2, 3}, first, view)
	require.True(t, &buf[0] != &moved[0], "an input inside the buffer moves it")
}
