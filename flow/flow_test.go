package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/viewgen"
)

// flowCase is one flow configuration under test.
type flowCase struct {
	kind, kernel, coupling string
}

func (c flowCase) String() string { return c.kind + "/" + c.kernel + "/" + c.coupling }

func (c flowCase) config() Config {
	hidden := 6
	if c.coupling == RevNet {
		hidden = 0 // the authors' widths: 1 and 2
	}
	return Config{Kind: c.kind, Blocks: 4, Hidden: hidden, Kernel3x3: c.kernel, Coupling: c.coupling}
}

// flowCases covers both kinds and both couplings, with 1×1 blocks only and
// with a 3×3 block.
var flowCases = []flowCase{
	{VP, "none", Rotate}, {VP, "first", Rotate}, {VP, "last", Rotate},
	{NVP, "none", Rotate}, {NVP, "first", Rotate}, {NVP, "last", Rotate},
	{VP, "none", RevNet}, {VP, "last", RevNet}, {NVP, "first", RevNet},
}

func newTestFlow(t *testing.T, dt tensor.Dtype, cfg Config, seed uint64) *Flow {
	t.Helper()
	f, err := New("g", dt, cfg, rand.New(rand.NewPCG(seed, 1)))
	require.NoError(t, err)
	return f
}

// flowInput returns n×3×h×w values uniform in [-1, 1).
func flowInput(seed uint64, n, h, w int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 9))
	x := make([]float32, n*3*h*w)
	for i := range x {
		x[i] = float32(2*rng.Float64() - 1)
	}
	return x
}

// runFlowGraph builds ForwardLogDet and Views into a fresh graph of dtype
// dt, runs it on x and returns g(x), the per-pixel log-determinant and the
// two views.
func runFlowGraph(t *testing.T, f *Flow, dt tensor.Dtype, x []float32, n, h, w int) (y, logdet, v1, v2 []float64) {
	t.Helper()
	g := nn.NewGraph(dt, nn.Train, 1)
	in := g.Input("x", n, 3, h, w)
	require.NoError(t, in.Set(x))
	yn, ldn := f.ForwardLogDet(g, in.Node())
	v1n, v2n := f.Views(g, in.Node())
	require.NoError(t, g.Err())
	assert.Equal(t, tensor.Shape{n, 3, h, w}, yn.Shape())
	assert.Equal(t, tensor.Shape{n, h, w}, ldn.Shape())
	assert.Equal(t, tensor.Shape{n, 1, h, w}, v1n.Shape())
	assert.Equal(t, tensor.Shape{n, 2, h, w}, v2n.Shape())
	wy, wl, w1, w2 := g.Watch(yn), g.Watch(ldn), g.Watch(v1n), g.Watch(v2n)
	prog, err := g.Compile(nil)
	require.NoError(t, err)
	defer prog.Close()
	require.NoError(t, prog.Run())
	return wy.Values(), wl.Values(), w1.Values(), w2.Values()
}

func flowMaxDiff[A, B float32 | float64](a []A, b []B) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// flowPerturb moves every parameter of f by N(0, std²) draws, so that tests
// see a flow away from its initial point (with large, not tiny, scales).
func flowPerturb(f *Flow, seed uint64, std float64) {
	rng := rand.New(rand.NewPCG(seed, 5))
	for _, p := range f.Params().Learnable() {
		v := p.Float64s()
		for i := range v {
			v[i] += std * rng.NormFloat64()
		}
		_ = p.SetFloat64s(v)
	}
}

func TestFlowConfigValidate(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string // "" for a valid config
	}{
		{Config{Coupling: Rotate}, ""},
		{Config{Coupling: Rotate, Kind: NVP, Blocks: 1, Hidden: 1, Kernel3x3: "last", LogScaleBound: 0.5}, ""},
		{Config{Coupling: Rotate, Kind: "affine"}, `kind "affine"`},
		{Config{Coupling: Rotate, Blocks: -1}, "-1 blocks"},
		{Config{Coupling: Rotate, Hidden: -3}, "hidden width -3"},
		{Config{Coupling: Rotate, Blocks: MaxBlocks, Hidden: MaxHidden}, ""},
		{Config{Coupling: Rotate, Blocks: MaxBlocks + 1}, "257 blocks, want 1 to 256"},
		{Config{Coupling: Rotate, Hidden: MaxHidden + 1}, "hidden width 4097, want 1 to 4096"},
		{Config{Coupling: Rotate, Kernel3x3: "middle"}, `kernel3x3 "middle"`},
		{Config{Coupling: Rotate, Kind: VP, LogScaleBound: 1}, "log-scale bound 1 given for a \"vp\" flow"},
		{Config{Coupling: Rotate, Kind: NVP, LogScaleBound: -2}, "log-scale bound -2"},
		{Config{Coupling: Rotate, Kind: NVP, LogScaleBound: math.NaN()}, "log-scale bound NaN"},
		{Config{Coupling: Rotate, Kind: NVP, LogScaleBound: math.Inf(1)}, "log-scale bound +Inf"},
		{Config{}, ""},
		{Config{Hidden: 0}, ""},
		{Config{Hidden: -1}, "hidden width -1, want 0 (the input's width) to 4096"},
		{Config{Coupling: "glow"}, `coupling "glow"`},
		{Config{Activation: "tanh"}, `activation "tanh"`},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if c.want == "" {
			assert.NoError(t, err, "%+v", c.cfg)
			continue
		}
		if assert.Error(t, err, "%+v", c.cfg) {
			assert.Contains(t, err.Error(), c.want)
		}
	}
	assert.Equal(t, Config{Coupling: Rotate, Kind: VP, Blocks: 4, Hidden: 16, Activation: Leaky, Kernel3x3: "none"}, Config{Coupling: Rotate}.WithDefaults())
	assert.Equal(t, Config{Coupling: Rotate, Kind: NVP, Blocks: 4, Hidden: 16, Activation: Leaky, Kernel3x3: "none", LogScaleBound: 2}, Config{Coupling: Rotate, Kind: NVP}.WithDefaults())
	assert.Equal(t, Config{Coupling: RevNet, Kind: VP, Blocks: 4, Hidden: 0, Activation: ReLU, Kernel3x3: "none"}, Config{}.WithDefaults(), "the authors' flow by default")
}

func TestNewFlowRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	_, err := New("g", tensor.Int, Config{Coupling: Rotate}, rng)
	assert.ErrorContains(t, err, "dtype int")
	_, err = New("g", tensor.Float32, Config{Coupling: Rotate}, nil)
	assert.ErrorContains(t, err, "nil random source")
	_, err = New("g", tensor.Float32, Config{Coupling: Rotate, Blocks: -2}, rng)
	assert.ErrorContains(t, err, "-2 blocks")
}

func TestFlowParams(t *testing.T) {
	vp := newTestFlow(t, tensor.Float32, Config{Coupling: Rotate, Blocks: 2, Hidden: 5, Kernel3x3: "last"}, 1)
	shapes := map[string]tensor.Shape{}
	for _, p := range vp.Params() {
		shapes[p.Name] = p.Shape()
	}
	assert.Equal(t, map[string]tensor.Shape{
		"g.blocks.0.f.hidden.weight": {5, 2, 1, 1}, "g.blocks.0.f.hidden.bias": {5},
		"g.blocks.0.f.shift.weight": {1, 5, 1, 1}, "g.blocks.0.f.shift.bias": {1},
		"g.blocks.0.g.hidden.weight": {5, 1, 1, 1}, "g.blocks.0.g.hidden.bias": {5},
		"g.blocks.0.g.shift.weight": {2, 5, 1, 1}, "g.blocks.0.g.shift.bias": {2},
		"g.blocks.1.f.hidden.weight": {5, 2, 3, 3}, "g.blocks.1.f.hidden.bias": {5},
		"g.blocks.1.f.shift.weight": {1, 5, 3, 3}, "g.blocks.1.f.shift.bias": {1},
		"g.blocks.1.g.hidden.weight": {5, 1, 3, 3}, "g.blocks.1.g.hidden.bias": {5},
		"g.blocks.1.g.shift.weight": {2, 5, 3, 3}, "g.blocks.1.g.shift.bias": {2},
	}, shapes)
	assert.Len(t, vp.Params().Learnable(), len(vp.Params()), "a VP flow has no buffers")

	nvp := newTestFlow(t, tensor.Float64, Config{Coupling: Rotate, Kind: NVP, Blocks: 3, Hidden: 4}, 1)
	ps := nvp.Params()
	require.NoError(t, ps.Check())
	// 3 blocks × 2 nets × 3 convolutions × (weight, bias) + 2 mixes × 5.
	assert.Len(t, ps, 3*2*3*2+2*5)
	for _, name := range []string{"g.blocks.2.g.scale.weight", "g.mixes.1.lower", "g.mixes.1.upper", "g.mixes.1.log_scale"} {
		assert.NotNil(t, ps.ByName(name), name)
	}
	for _, name := range []string{"g.mixes.0.perm", "g.mixes.0.sign"} {
		if assert.NotNil(t, ps.ByName(name), name) {
			assert.True(t, ps.ByName(name).Buffer, "%s is a buffer", name)
		}
	}
	assert.Nil(t, ps.ByName("g.mixes.2.lower"), "no mix after the last block")
	assert.Equal(t, tensor.Float64, nvp.Dtype())
	assert.Equal(t, "g", nvp.Name())
	assert.Equal(t, 2.0, nvp.Config().LogScaleBound)
}

func TestFlowIdentityInit(t *testing.T) {
	n, h, w := 2, 3, 4
	x := flowInput(1, n, h, w)
	for _, c := range flowCases {
		for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
			cfg := c.config()
			cfg.Identity = true
			f := newTestFlow(t, dt, cfg, 2)
			y, ld, v1, v2 := runFlowGraph(t, f, dt, x, n, h, w)
			what := fmt.Sprintf("%v %v", c, dt)
			assert.Equal(t, flowTo64(x), y, "%s: graph g(x) = x", what)
			assert.Equal(t, make([]float64, n*h*w), ld, "%s: log-det = 0", what)
			hw := h * w
			for b := range n {
				assert.Equal(t, flowTo64(x[b*3*hw:b*3*hw+hw]), v1[b*hw:(b+1)*hw], "%s: v1 = channel 0", what)
				assert.Equal(t, flowTo64(x[b*3*hw+hw:(b+1)*3*hw]), v2[b*2*hw:(b+1)*2*hw], "%s: v2 = channels 1, 2", what)
			}
			ya, lda, err := f.ApplyLogDet(x, n, h, w)
			require.NoError(t, err)
			assert.Equal(t, x, ya, "%s: Apply", what)
			assert.Equal(t, make([]float64, n*h*w), lda, "%s: ApplyLogDet", what)
		}
	}
	// Away from the identity the same flows are not the identity.
	f := newTestFlow(t, tensor.Float64, Config{Coupling: Rotate, Kind: NVP, Identity: true}, 2)
	flowPerturb(f, 3, 0.1)
	y, err := f.Apply(x, n, h, w)
	require.NoError(t, err)
	assert.Greater(t, flowMaxDiff(y, x), 0.01)
}

// TestFlowInverseAndApply checks, for every configuration, that Apply
// matches the graph's Forward and ForwardLogDet, and that Inverse undoes
// both.
func TestFlowInverseAndApply(t *testing.T) {
	n, h, w := 2, 5, 4
	x := flowInput(2, n, h, w)
	tols := map[tensor.Dtype]struct{ match, inverse float64 }{
		tensor.Float32: {1e-5, 1e-5},
		tensor.Float64: {1e-12, 1e-10},
	}
	for _, c := range flowCases {
		for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
			what := fmt.Sprintf("%v %v", c, dt)
			f := newTestFlow(t, dt, c.config(), 3)
			flowPerturb(f, 4, 0.1)
			tol := tols[dt]

			y, ld, v1, v2 := runFlowGraph(t, f, dt, x, n, h, w)
			assert.Greater(t, flowMaxDiff(y, x), 0.1, "%s: g is far from the identity", what)
			y64, ld64 := f.apply64(flowTo64(x), n, h, w)
			assert.LessOrEqual(t, flowMaxDiff(y, y64), tol.match, "%s: Apply matches Forward", what)
			assert.LessOrEqual(t, flowMaxDiff(ld, ld64), tol.match, "%s: ApplyLogDet matches ForwardLogDet", what)
			ya, lda, err := f.ApplyLogDet(x, n, h, w)
			require.NoError(t, err)
			assert.Equal(t, flowTo32(y64), ya)
			assert.Equal(t, ld64, lda)
			if c.kind == VP {
				assert.Equal(t, make([]float64, n*h*w), ld, "%s: VP log-det is exactly 0", what)
			} else {
				assert.Greater(t, flowMaxDiff(ld, make([]float64, n*h*w)), 0.1, "%s: NVP log-det is not 0", what)
			}
			hw := h * w
			for b := range n {
				assert.Equal(t, y[b*3*hw:b*3*hw+hw], v1[b*hw:(b+1)*hw], "%s: v1 = g(x)_0", what)
				assert.Equal(t, y[b*3*hw+hw:(b+1)*3*hw], v2[b*2*hw:(b+1)*2*hw], "%s: v2 = g(x)_{1:2}", what)
			}

			if dt == tensor.Float64 {
				// The graph's float64 output inverted in float64.
				assert.LessOrEqual(t, flowMaxDiff(f.inverse64(y, n, h, w), x), tol.inverse, "%s: inverse(Forward(x))", what)
				x64 := flowTo64(x)
				assert.LessOrEqual(t, flowMaxDiff(f.inverse64(y64, n, h, w), x64), tol.inverse, "%s: inverse(apply(x))", what)
				yy, _ := f.apply64(f.inverse64(x64, n, h, w), n, h, w)
				assert.LessOrEqual(t, flowMaxDiff(yy, x64), tol.inverse, "%s: apply(inverse(y))", what)
			} else {
				xi, err := f.Inverse(flowTo32(y), n, h, w)
				require.NoError(t, err)
				assert.LessOrEqual(t, flowMaxDiff(xi, x), tol.inverse, "%s: Inverse(Forward(x))", what)
				xi, err = f.Inverse(ya, n, h, w)
				require.NoError(t, err)
				assert.LessOrEqual(t, flowMaxDiff(xi, x), tol.inverse, "%s: Inverse(Apply(x))", what)
			}
		}
	}
}

// flowLogAbsDet returns log|det a| of the k×k row-major matrix a by Gaussian
// elimination with partial pivoting.
func flowLogAbsDet(a []float64, k int) float64 {
	a = append([]float64(nil), a...)
	var s float64
	for c := range k {
		p := c
		for r := c + 1; r < k; r++ {
			if math.Abs(a[r*k+c]) > math.Abs(a[p*k+c]) {
				p = r
			}
		}
		for j := range k {
			a[c*k+j], a[p*k+j] = a[p*k+j], a[c*k+j]
		}
		d := a[c*k+c]
		s += math.Log(math.Abs(d))
		for r := c + 1; r < k; r++ {
			f := a[r*k+c] / d
			for j := c; j < k; j++ {
				a[r*k+j] -= f * a[c*k+j]
			}
		}
	}
	return s
}

// flowJacobian returns the Jacobian of the float64 flow on one image x of
// shape (3, h, w) by central differences, (3hw)×(3hw) row-major with
// J[i][j] = ∂y_i/∂x_j.
func flowJacobian(f *Flow, x []float64, h, w int, eps float64) []float64 {
	k := len(x)
	jac := make([]float64, k*k)
	for j := range k {
		xp := append([]float64(nil), x...)
		xm := append([]float64(nil), x...)
		xp[j] += eps
		xm[j] -= eps
		yp, _ := f.apply64(xp, 1, h, w)
		ym, _ := f.apply64(xm, 1, h, w)
		for i := range k {
			jac[i*k+j] = (yp[i] - ym[i]) / (2 * eps)
		}
	}
	return jac
}

// TestFlowLogDetJacobian checks the log-determinant against numerical
// Jacobians: per pixel (a 3×3 Jacobian) for pixel-wise flows, and over the
// whole image for flows with a 3×3 block, whose image Jacobian is not block
// diagonal but whose log-determinant is still the sum of the per-pixel
// values.
func TestFlowLogDetJacobian(t *testing.T) {
	h, w := 3, 3
	hw := h * w
	x := flowTo64(flowInput(5, 1, h, w))
	for _, c := range flowCases {
		f := newTestFlow(t, tensor.Float64, c.config(), 6)
		flowPerturb(f, 7, 0.3)
		_, ld := f.apply64(x, 1, h, w)
		_, gld, _, _ := runFlowGraph(t, f, tensor.Float64, flowTo32(x), 1, h, w)
		jac := flowJacobian(f, x, h, w, 1e-5)
		k := 3 * hw
		var total float64
		for p := range hw {
			total += ld[p]
		}
		if c.kernel == "none" {
			// Pixel-wise: no output depends on another pixel's input, and
			// each pixel's 3×3 Jacobian has the reported log-determinant.
			for i := range k {
				for j := range k {
					if i%hw != j%hw {
						require.InDelta(t, 0, jac[i*k+j], 1e-9, "%v: ∂y%d/∂x%d", c, i, j)
					}
				}
			}
			for p := range hw {
				var px []float64
				for ci := range 3 {
					for cj := range 3 {
						px = append(px, jac[(ci*hw+p)*k+cj*hw+p])
					}
				}
				num := flowLogAbsDet(px, 3)
				assert.InDelta(t, num, ld[p], 1e-6, "%v: pixel %d", c, p)
				assert.InDelta(t, num, gld[p], 1e-6, "%v: graph, pixel %d", c, p)
			}
		} else {
			offDiag := 0.0
			for i := range k {
				for j := range k {
					if i%hw != j%hw {
						offDiag = math.Max(offDiag, math.Abs(jac[i*k+j]))
					}
				}
			}
			assert.Greater(t, offDiag, 1e-3, "%v: a 3×3 block couples neighbouring pixels", c)
		}
		assert.InDelta(t, flowLogAbsDet(jac, k), total, 1e-5, "%v: image log-determinant", c)
		if c.kind == VP {
			assert.InDelta(t, 0, flowLogAbsDet(jac, k), 1e-6, "%v: volume preserving", c)
		}
	}
}

// TestFlowGradients checks the gradients of a loss of the split views (and,
// for NVP, of the log-determinant) with respect to every learnable
// parameter and to the input against central differences.
func TestFlowGradients(t *testing.T) {
	cases := []struct {
		flowCase
		identity bool
	}{
		{flowCase{VP, "none", Rotate}, false},
		{flowCase{VP, "first", Rotate}, false},
		{flowCase{VP, "none", Rotate}, true},
		{flowCase{NVP, "none", Rotate}, false},
		{flowCase{NVP, "last", Rotate}, false},
		{flowCase{NVP, "none", Rotate}, true},
		{flowCase{VP, "none", RevNet}, false},
		{flowCase{VP, "first", RevNet}, false},
		{flowCase{NVP, "none", RevNet}, false},
	}
	n, h, w := 2, 3, 3
	for _, c := range cases {
		cfg := c.config()
		cfg.Blocks, cfg.Identity = 2, c.identity
		if c.coupling == Rotate {
			cfg.Hidden = 2
		} else {
			// A ReLU unit of a one-wide network can be dead over the few
			// test pixels; the leaky slope keeps every parameter reached.
			cfg.Activation = Leaky
		}
		f := newTestFlow(t, tensor.Float64, cfg, 8)
		if !c.identity {
			flowPerturb(f, 9, 0.2)
		}
		rng := rand.New(rand.NewPCG(10, 10))
		xp := nn.NewParam("x", tensor.Float64, n, 3, h, w)
		_ = xp.SetFloat64s(flowTo64(flowInput(11, n, h, w)))

		g := nn.NewGraph(tensor.Float64, nn.Train, 1)
		x := g.Param(xp)
		v1, v2 := f.Views(g, x)
		terms := []*G.Node{flowWeightedSum(g, rng, v1), flowWeightedSum(g, rng, v2)}
		if c.kind == NVP {
			terms = append(terms, flowWeightedSum(g, rng, f.LogDet(g, x)))
		}
		loss := terms[0]
		for _, tm := range terms[1:] {
			loss = nn.Add(g, loss, tm)
		}
		wrt := append(nn.Params{xp}, f.Params().Learnable()...)
		prog, err := g.Compile(loss, wrt...)
		require.NoError(t, err, "%v", c)

		before := f.Params().Snapshot()
		xBefore := xp.Float64s()
		err = nn.CheckGradients(prog, wrt, nn.GradCheck{MaxElems: 6})
		assert.NoError(t, err, "%v identity=%v", c, c.identity)

		// Every learnable parameter gets a gradient, except at the identity
		// the hidden layers, whose outputs are multiplied by the zero last
		// layers: there the last layers move first.
		for _, p := range f.Params().Learnable() {
			norm := flowMaxDiff(nn.Float64s(p.Grad), make([]float64, p.Size()))
			if c.identity && strings.Contains(p.Name, ".hidden.") {
				assert.Zero(t, norm, "%v: gradient of %s at the identity", c, p.Name)
				continue
			}
			assert.Greater(t, norm, 0.0, "%v identity=%v: gradient of %s", c, c.identity, p.Name)
		}
		// Running the program writes into neither the input nor the flow.
		require.NoError(t, prog.Run())
		assert.Equal(t, xBefore, xp.Float64s(), "%v: input unchanged", c)
		assert.Equal(t, before, f.Params().Snapshot(), "%v: parameters unchanged", c)
		require.NoError(t, prog.Close())
	}
}

// flowWeightedSum returns Σ x ⊙ r for a fixed random r.
func flowWeightedSum(g *nn.Graph, rng *rand.Rand, x *G.Node) *G.Node {
	r := make([]float64, x.Shape().TotalSize())
	for i := range r {
		r[i] = rng.NormFloat64()
	}
	return nn.Sum(g, nn.Mul(g, x, g.Constant("r", r, x.Shape()...)))
}

// TestFlowViewsInTrainingGraph runs a compiled generator step several times:
// the views must not change between runs, the input must survive, and the
// masked triangles of the mixing matrices must get no gradient.
func TestFlowViewsInTrainingGraph(t *testing.T) {
	n, h, w := 3, 4, 4
	x := flowInput(12, n, h, w)
	f := newTestFlow(t, tensor.Float32, Config{Coupling: Rotate, Kind: NVP, Blocks: 3, Hidden: 4, Kernel3x3: "first"}, 13)
	g := nn.NewGraph(tensor.Float32, nn.Train, 1)
	in := g.Input("x", n, 3, h, w)
	require.NoError(t, in.Set(x))
	v1, v2 := f.Views(g, in.Node())
	w1, w2 := g.Watch(v1), g.Watch(v2)
	loss := nn.Add(g, nn.Mean(g, nn.Square(g, v1)), nn.Mean(g, nn.Square(g, v2)))
	prog, err := g.Compile(loss, f.Params().Learnable()...)
	require.NoError(t, err)
	defer prog.Close()
	var first1, first2 []float64
	for run := range 3 {
		require.NoError(t, prog.Run())
		if run == 0 {
			first1, first2 = w1.Values(), w2.Values()
			continue
		}
		assert.Equal(t, first1, w1.Values(), "run %d", run)
		assert.Equal(t, first2, w2.Values(), "run %d", run)
	}
	assert.Equal(t, x, in.Value().Data().([]float32), "input unchanged")
	y, err := f.Apply(x, n, h, w)
	require.NoError(t, err)
	hw := h * w
	for b := range n {
		assert.LessOrEqual(t, flowMaxDiff(y[b*3*hw:b*3*hw+hw], first1[b*hw:(b+1)*hw]), 1e-5)
		assert.LessOrEqual(t, flowMaxDiff(y[b*3*hw+hw:(b+1)*3*hw], first2[b*2*hw:(b+1)*2*hw]), 1e-5)
	}
	for _, m := range f.mixes {
		lo, up := nn.Float64s(m.lower.Grad), nn.Float64s(m.upper.Grad)
		for i := range 3 {
			for j := range 3 {
				if j >= i {
					assert.Zero(t, lo[i*3+j], "%s[%d,%d]", m.lower.Name, i, j)
				}
				if j <= i {
					assert.Zero(t, up[i*3+j], "%s[%d,%d]", m.upper.Name, i, j)
				}
			}
		}
	}
}

func TestFlowRejectsBadInput(t *testing.T) {
	f := newTestFlow(t, tensor.Float32, Config{Coupling: Rotate, Blocks: 1, Hidden: 2}, 1)
	_, err := f.Apply(make([]float32, 10), 1, 2, 2)
	assert.ErrorContains(t, err, "10 values, want 12 for shape (1, 3, 2, 2)")
	_, err = f.Inverse(nil, 0, 2, 2)
	assert.ErrorContains(t, err, "batch shape (0, 3, 2, 2)")
	_, _, err = f.ApplyLogDet(make([]float32, 12), 1, -2, -2)
	assert.ErrorContains(t, err, "want positive sizes")
	var none *Flow
	_, err = none.Apply(nil, 1, 1, 1)
	assert.Error(t, err)

	g := nn.NewGraph(tensor.Float32, nn.Eval, 1)
	in := g.Input("x", 2, 1, 4, 4)
	assert.Nil(t, f.Forward(g, in.Node()))
	assert.ErrorContains(t, g.Err(), "input shape (2, 1, 4, 4), want (N, 3, H, W)")

	g = nn.NewGraph(tensor.Float64, nn.Eval, 1)
	in = g.Input("x", 2, 3, 4, 4)
	v1, v2 := f.Views(g, in.Node())
	assert.Nil(t, v1)
	assert.Nil(t, v2)
	assert.ErrorContains(t, g.Err(), "flow g: parameters of dtype float32 in a float64 graph")
}

func TestFlowLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	mats := [][3][3]float64{flowEye3(), {{0, 1, 0}, {0, 0, 1}, {1, 0, 0}}, {{0, 0, 2}, {0, 3, 0}, {-1, 0, 0}}}
	for range 20 {
		var m [3][3]float64
		for i := range 3 {
			for j := range 3 {
				m[i][j] = rng.NormFloat64()
			}
		}
		mats = append(mats, m, flowRandomRotation(rng))
	}
	for _, m := range mats {
		p, l, u := flowLU3(m)
		got := flowMatMul(flowMatMul(p, l), u)
		inv := flowMatMul(m, flowInverse3(m))
		for i := range 3 {
			var rowSum, colSum float64
			for j := range 3 {
				assert.InDelta(t, m[i][j], got[i][j], 1e-12, "P·L·U = W for %v", m)
				assert.InDelta(t, flowIf(i == j, 1), inv[i][j], 1e-10, "W·W⁻¹ = I for %v", m)
				assert.Contains(t, []float64{0, 1}, p[i][j])
				rowSum += p[i][j]
				colSum += p[j][i]
				switch {
				case j > i:
					assert.Zero(t, l[i][j])
				case j == i:
					assert.Equal(t, 1.0, l[i][j])
				default:
					assert.Zero(t, u[i][j])
					assert.LessOrEqual(t, math.Abs(l[i][j]), 1.0, "pivoting bounds L")
				}
			}
			assert.Equal(t, 1.0, rowSum)
			assert.Equal(t, 1.0, colSum)
		}
	}
	// A random initial mixing matrix is a rotation: W·Wᵀ = I, |det W| = 1;
	// the identity initialisation is exactly I.
	for _, identity := range []bool{false, true} {
		m, err := newFlowMix("m", tensor.Float64, identity, rng)
		require.NoError(t, err)
		require.NoError(t, m.check())
		w := m.matrix()
		var wt [3][3]float64
		for i := range 3 {
			for j := range 3 {
				wt[i][j] = w[j][i]
			}
		}
		wwt := flowMatMul(w, wt)
		for i := range 3 {
			for j := range 3 {
				assert.InDelta(t, flowIf(i == j, 1), wwt[i][j], 1e-12)
				if identity {
					assert.Equal(t, flowIf(i == j, 1), w[i][j])
				}
			}
		}
		assert.InDelta(t, 0, m.logDet(), 1e-12)
	}
}

func TestFlowSaveLoad(t *testing.T) {
	dir := t.TempDir()
	n, h, w := 2, 4, 3
	x := flowInput(15, n, h, w)
	cfg := Config{Coupling: Rotate, Kind: NVP, Blocks: 3, Hidden: 5, Kernel3x3: "last", LogScaleBound: 1.5}
	f := newTestFlow(t, tensor.Float32, cfg, 16)
	flowPerturb(f, 17, 0.2)
	path := filepath.Join(dir, "g.safetensors")
	require.NoError(t, f.Save(path))
	want, err := f.Apply(x, n, h, w)
	require.NoError(t, err)

	got, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, f.Config(), got.Config())
	assert.Equal(t, "g", got.Name())
	assert.Equal(t, tensor.Float32, got.Dtype())
	assert.Equal(t, f.Params().Snapshot(), got.Params().Snapshot())
	y, err := got.Apply(x, n, h, w)
	require.NoError(t, err)
	assert.Equal(t, want, y, "a reloaded flow computes the same map")

	// Load into a flow of the same configuration, another seed and dtype.
	other := newTestFlow(t, tensor.Float64, cfg, 99)
	require.NoError(t, other.Load(path))
	yg, _, _, _ := runFlowGraph(t, other, tensor.Float64, x, n, h, w)
	assert.LessOrEqual(t, flowMaxDiff(yg, want), 1e-6)

	// Errors that name what is wrong. Each writes a variant of the file.
	ts, _, meta, err := nn.LoadSafetensors(path)
	require.NoError(t, err)
	write := func(name string, edit func(ts map[string]*tensor.Dense, meta map[string]string)) string {
		t2 := map[string]*tensor.Dense{}
		for k, v := range ts {
			t2[k] = v.Clone().(*tensor.Dense)
		}
		m2 := map[string]string{}
		for k, v := range meta {
			m2[k] = v
		}
		edit(t2, m2)
		var list []nn.NamedTensor
		for _, p := range f.Params() {
			if v, ok := t2[p.Name]; ok {
				list = append(list, nn.NamedTensor{Name: p.Name, Tensor: v})
				delete(t2, p.Name)
			}
		}
		for k, v := range t2 {
			list = append(list, nn.NamedTensor{Name: k, Tensor: v})
		}
		p := filepath.Join(dir, name+".safetensors")
		require.NoError(t, nn.SaveSafetensors(p, list, m2))
		return p
	}
	setConfig := func(meta map[string]string, edit func(c map[string]any)) {
		var c map[string]any
		require.NoError(t, json.Unmarshal([]byte(meta[MetaConfig]), &c))
		edit(c)
		b, err := json.Marshal(c)
		require.NoError(t, err)
		meta[MetaConfig] = string(b)
	}
	loadCases := []struct {
		name string
		edit func(ts map[string]*tensor.Dense, meta map[string]string)
		want string
	}{
		{"misshaped", func(ts map[string]*tensor.Dense, _ map[string]string) {
			ts["g.blocks.1.g.hidden.weight"] = tensor.New(tensor.WithShape(5, 1, 3, 3), tensor.Of(tensor.Float32))
		}, `tensor "g.blocks.1.g.hidden.weight" has shape (5, 1, 3, 3), want (5, 1, 1, 1)`},
		{"missing", func(ts map[string]*tensor.Dense, _ map[string]string) {
			delete(ts, "g.mixes.1.log_scale")
		}, `missing tensor "g.mixes.1.log_scale"`},
		{"extra", func(ts map[string]*tensor.Dense, _ map[string]string) {
			ts["g.mixes.2.lower"] = tensor.New(tensor.WithShape(3, 3), tensor.Of(tensor.Float32))
		}, `unexpected tensor "g.mixes.2.lower"`},
		{"blocks", func(_ map[string]*tensor.Dense, meta map[string]string) {
			setConfig(meta, func(c map[string]any) { c["blocks"] = 2 })
		}, `tensor "g.blocks.1.f.hidden.weight" has shape (5, 2, 1, 1), want (5, 2, 3, 3)`},
		{"kernel", func(_ map[string]*tensor.Dense, meta map[string]string) {
			setConfig(meta, func(c map[string]any) { c["kernel3x3"] = "none" })
		}, `tensor "g.blocks.2.f.hidden.weight" has shape (5, 2, 3, 3), want (5, 2, 1, 1)`},
		{"kind", func(_ map[string]*tensor.Dense, meta map[string]string) {
			setConfig(meta, func(c map[string]any) { c["kind"] = "glow" })
		}, `kind "glow"`},
		{"unknown-field", func(_ map[string]*tensor.Dense, meta map[string]string) {
			setConfig(meta, func(c map[string]any) { c["depth"] = 3 })
		}, `unknown field "depth"`},
		{"no-config", func(_ map[string]*tensor.Dense, meta map[string]string) {
			delete(meta, MetaConfig)
		}, `metadata key "viewgen.flow.config" missing`},
		{"dtype", func(_ map[string]*tensor.Dense, meta map[string]string) {
			meta[MetaDtype] = "int8"
		}, `"viewgen.flow.dtype" is "int8"`},
		{"perm", func(ts map[string]*tensor.Dense, _ map[string]string) {
			ts["g.mixes.0.perm"] = tensor.New(tensor.WithShape(3, 3), tensor.WithBacking([]float32{1, 0, 0, 1, 0, 0, 0, 0, 1}))
		}, `tensor "g.mixes.0.perm" is not a permutation matrix`},
		{"sign", func(ts map[string]*tensor.Dense, _ map[string]string) {
			ts["g.mixes.1.sign"] = tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{1, 0.5, -1}))
		}, `tensor "g.mixes.1.sign" holds 0.5`},
	}
	for _, c := range loadCases {
		p := write(c.name, c.edit)
		_, err := Load(p)
		if assert.Error(t, err, c.name) {
			assert.Contains(t, err.Error(), c.want, c.name)
			assert.Contains(t, err.Error(), p, "%s: the error names the file", c.name)
		}
	}
	_, err = Load(filepath.Join(dir, "absent.safetensors"))
	assert.ErrorContains(t, err, "absent.safetensors")

	// Loading into a flow of another configuration or name fails and leaves
	// it unchanged.
	mismatch := []struct {
		name string
		cfg  Config
		want string
	}{
		{"g", Config{Coupling: Rotate, Kind: NVP, Blocks: 4, Hidden: 5, Kernel3x3: "last", LogScaleBound: 1.5}, "blocks 3 saved, 4 here"},
		{"g", Config{Coupling: Rotate, Kind: NVP, Blocks: 3, Hidden: 5, Kernel3x3: "last"}, "log_scale_bound 1.5 saved, 2 here"},
		{"g", Config{Coupling: Rotate, Kind: VP, Blocks: 3, Hidden: 8, Kernel3x3: "last"}, `kind nvp saved, vp here; hidden 5 saved, 8 here; log_scale_bound 1.5 saved, 0 here`},
		{"h", cfg, `the file holds flow "g", want "h"`},
	}
	for _, c := range mismatch {
		g, err := New(c.name, tensor.Float32, c.cfg, rand.New(rand.NewPCG(1, 1)))
		require.NoError(t, err)
		before := g.Params().Snapshot()
		assert.ErrorContains(t, g.Load(path), c.want)
		assert.Equal(t, before, g.Params().Snapshot())
	}
}

// flowFileBytes encodes f as Flow.Save does, after edit has changed its
// tensors (in the order of f.Params) and metadata.
func flowFileBytes(t testing.TB, f *Flow, edit func(ts []nn.NamedTensor, meta map[string]string)) []byte {
	t.Helper()
	cfg, err := json.Marshal(f.cfg)
	require.NoError(t, err)
	meta := map[string]string{MetaConfig: string(cfg), MetaName: f.name, MetaDtype: f.dtype.String()}
	var ts []nn.NamedTensor
	for _, p := range f.Params() {
		ts = append(ts, nn.NamedTensor{Name: p.Name, Tensor: p.Value.Clone().(*tensor.Dense)})
	}
	if edit != nil {
		edit(ts, meta)
	}
	var buf bytes.Buffer
	require.NoError(t, nn.WriteSafetensors(&buf, ts, meta))
	return buf.Bytes()
}

// setFlowElement sets element i of a float32 or float64 tensor.
func setFlowElement(t *tensor.Dense, i int, v float64) {
	if t.Dtype() == tensor.Float32 {
		t.Set(i, float32(v))
	} else {
		t.Set(i, v)
	}
}

// setFlowConfigField sets one field of the configuration in a flow's
// metadata.
func setFlowConfigField(t testing.TB, meta map[string]string, field string, v any) {
	t.Helper()
	var c map[string]any
	require.NoError(t, json.Unmarshal([]byte(meta[MetaConfig]), &c))
	c[field] = v
	b, err := json.Marshal(c)
	require.NoError(t, err)
	meta[MetaConfig] = string(b)
}

// The tensors Load expects from a configuration are those New builds.
func TestFlowTensorShapesMatchNewFlow(t *testing.T) {
	for _, kind := range []string{VP, NVP} {
		for _, kernel := range []string{"none", "first", "last"} {
			for _, blocks := range []int{1, 2, 5} {
				cfg := Config{Coupling: Rotate, Kind: kind, Blocks: blocks, Hidden: 3, Kernel3x3: kernel}.WithDefaults()
				f := newTestFlow(t, tensor.Float32, cfg, 1)
				var want []flowTensor
				for _, p := range f.Params() {
					want = append(want, flowTensor{p.Name, p.Shape()})
				}
				assert.Equal(t, want, slices.Collect(flowTensorShapes("g", cfg)), "%+v", cfg)
			}
		}
	}
}

// A small file whose configuration asks for a large flow fails before the
// flow is built, naming the field or the first tensor at fault.
func TestLoadFlowChecksConfigBeforeBuilding(t *testing.T) {
	dir := t.TempDir()
	f := newTestFlow(t, tensor.Float32, Config{Coupling: Rotate}, 3)
	cases := []struct {
		name   string
		fields map[string]any
		want   string
	}{
		{"blocks-over-bound", map[string]any{"blocks": 3000000}, "3000000 blocks, want 1 to 256"},
		{"hidden-over-bound", map[string]any{"hidden": 300000000}, "hidden width 300000000, want 1 to 4096"},
		{"blocks-at-bound", map[string]any{"blocks": MaxBlocks}, `missing tensor "g.blocks.4.f.hidden.weight"`},
		{"hidden-at-bound", map[string]any{"hidden": MaxHidden}, `tensor "g.blocks.0.f.hidden.weight" has shape (16, 2, 1, 1), want (4096, 2, 1, 1)`},
		{"both-at-bound", map[string]any{"blocks": MaxBlocks, "hidden": MaxHidden, "kind": NVP, "kernel3x3": "first"},
			`tensor "g.blocks.0.f.hidden.weight" has shape (16, 2, 1, 1), want (4096, 2, 3, 3)`},
		{"kernel", map[string]any{"kernel3x3": "first"}, `tensor "g.blocks.0.f.hidden.weight" has shape (16, 2, 1, 1), want (16, 2, 3, 3)`},
	}
	for _, c := range cases {
		b := flowFileBytes(t, f, func(_ []nn.NamedTensor, meta map[string]string) {
			for k, v := range c.fields {
				setFlowConfigField(t, meta, k, v)
			}
		})
		p := filepath.Join(dir, c.name+".safetensors")
		require.NoError(t, os.WriteFile(p, b, 0o644))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Load(p)
		runtime.ReadMemStats(&after)
		if assert.Error(t, err, c.name) {
			assert.Contains(t, err.Error(), p+": ", c.name)
			assert.Contains(t, err.Error(), c.want, c.name)
		}
		// Reading the file and checking it allocates in proportion to the
		// file; building the flow the configuration asks for would not.
		allocated := after.TotalAlloc - before.TotalAlloc
		assert.Less(t, allocated, uint64(64*len(b)), "%s: %d bytes allocated for a %d-byte file", c.name, allocated, len(b))
	}
}

// A flow whose weights are not all finite is rejected, naming the tensor.
func TestLoadFlowRejectsNonFiniteWeights(t *testing.T) {
	dir := t.TempDir()
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		f := newTestFlow(t, dt, Config{Coupling: Rotate, Kind: NVP, Blocks: 2, Hidden: 3}, 4)
		for _, c := range []struct {
			tensor string
			index  int
			value  float64
			want   string
		}{
			{"g.blocks.0.f.hidden.weight", 0, math.NaN(), "element 0 is NaN"},
			{"g.blocks.1.g.shift.bias", 1, math.Inf(1), "element 1 is +Inf"},
			{"g.mixes.0.log_scale", 2, math.Inf(-1), "element 2 is -Inf"},
		} {
			b := flowFileBytes(t, f, func(ts []nn.NamedTensor, _ map[string]string) {
				for _, nt := range ts {
					if nt.Name == c.tensor {
						setFlowElement(nt.Tensor, c.index, c.value)
					}
				}
			})
			p := filepath.Join(dir, fmt.Sprintf("%v-%s.safetensors", dt, c.tensor))
			require.NoError(t, os.WriteFile(p, b, 0o644))
			_, err := Load(p)
			if assert.Error(t, err, "%v %s", dt, c.tensor) {
				assert.Contains(t, err.Error(), p+": ")
				assert.Contains(t, err.Error(), fmt.Sprintf("tensor %q: %s, want a finite value", c.tensor, c.want))
			}
			g := newTestFlow(t, dt, Config{Coupling: Rotate, Kind: NVP, Blocks: 2, Hidden: 3}, 5)
			before := g.Params().Snapshot()
			assert.Error(t, g.Load(p))
			assert.Equal(t, before, g.Params().Snapshot(), "a failed Load leaves the flow unchanged")
		}
	}
}

// FuzzLoadFlow fuzzes the reading of a saved flow: whatever loads is a flow
// whose tensors are those of the file.
func FuzzLoadFlow(f *testing.F) {
	vp, err := New("g", tensor.Float32, Config{Coupling: Rotate, Blocks: 1, Hidden: 2}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(f, err)
	nvp, err := New("g", tensor.Float64, Config{Coupling: Rotate, Kind: NVP, Blocks: 2, Hidden: 1, Kernel3x3: "first"}, rand.New(rand.NewPCG(2, 1)))
	require.NoError(f, err)
	f.Add(flowFileBytes(f, vp, nil))
	f.Add(flowFileBytes(f, nvp, nil))
	f.Add(flowFileBytes(f, vp, func(_ []nn.NamedTensor, meta map[string]string) {
		setFlowConfigField(f, meta, "blocks", 3000000)
	}))
	f.Add(flowFileBytes(f, vp, func(ts []nn.NamedTensor, _ map[string]string) {
		setFlowElement(ts[0].Tensor, 0, math.NaN())
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, _, meta, err := nn.ReadSafetensors(bytes.NewReader(data))
		if err != nil {
			return
		}
		g, err := flowFromTensors(ts, meta)
		if err != nil {
			return
		}
		ps := g.Params()
		if len(ps) != len(ts) {
			t.Fatalf("flow of %d tensors from a file of %d", len(ps), len(ts))
		}
		for _, p := range ps {
			if !p.Finite() || !p.Shape().Eq(ts[p.Name].Shape()) {
				t.Fatalf("tensor %q: shape %v, finite %v", p.Name, p.Shape(), p.Finite())
			}
		}
	})
}

// TestFlowOps checks the two ops the flow adds to gorgonia, the fused
// LeakyReLU and the merge of a block's halves, against their definitions
// and central differences.
func TestFlowOps(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		g := nn.NewGraph(dt, nn.Eval, 1)
		x := g.Constant("x", []float64{-2, -0.5, 0, 0.5, 3, -1}, 1, 1, 2, 3)
		y := g.Watch(flowLeakyReLU(g, x, 0.2))
		// (N=2, 1, 1, 2) and (N=2, 2, 1, 2) merged with channel 1 single.
		a := g.Constant("a", []float64{1, 2, 3, 4}, 2, 1, 1, 2)
		b := g.Constant("b", []float64{10, 20, 30, 40, 50, 60, 70, 80}, 2, 2, 1, 2)
		m := g.Watch(flowMerge(g, a, b, 1, [2]int{2, 0}))
		prog, err := g.Compile(nil)
		require.NoError(t, err)
		require.NoError(t, prog.Run())
		assert.InDeltaSlice(t, []float64{-0.4, -0.1, 0, 0.5, 3, -0.2}, y.Values(), 1e-7, "%v", dt)
		assert.Equal(t, []float64{30, 40, 1, 2, 10, 20, 70, 80, 3, 4, 50, 60}, m.Values(), "%v", dt)
		require.NoError(t, prog.Close())
	}

	rng := rand.New(rand.NewPCG(20, 20))
	x1 := nn.NewParam("x1", tensor.Float64, 2, 1, 2, 3)
	x2 := nn.NewParam("x2", tensor.Float64, 2, 2, 2, 3)
	x1.InitNormal(rng, 1)
	x2.InitNormal(rng, 1)
	g := nn.NewGraph(tensor.Float64, nn.Train, 1)
	merged := flowMerge(g, g.Param(x1), g.Param(x2), 0, [2]int{1, 2})
	loss := flowWeightedSum(g, rng, flowLeakyReLU(g, merged, 0.2))
	prog, err := g.Compile(loss, x1, x2)
	require.NoError(t, err)
	assert.NoError(t, nn.CheckGradients(prog, nn.Params{x1, x2}, nn.GradCheck{}))
	require.NoError(t, prog.Close())

	g = nn.NewGraph(tensor.Float64, nn.Train, 1)
	assert.Nil(t, flowMerge(g, g.Param(x2), g.Param(x1), 0, [2]int{1, 2}))
	assert.ErrorContains(t, g.Err(), "halves of shapes (2, 2, 2, 3) and (2, 1, 2, 3)")
}

// BenchmarkFlowStep times one generator step (forward and backward through
// g and the view split) on a batch of 64 images of 32×32.
func BenchmarkFlowStep(b *testing.B) {
	for _, kind := range []string{VP, NVP} {
		b.Run(kind, func(b *testing.B) {
			n, hw := 64, 32
			f, err := New("g", tensor.Float32, Config{Coupling: Rotate, Kind: kind}, rand.New(rand.NewPCG(1, 1)))
			require.NoError(b, err)
			g := nn.NewGraph(tensor.Float32, nn.Train, 1)
			in := g.Input("x", n, 3, hw, hw)
			require.NoError(b, in.Set(flowInput(1, n, hw, hw)))
			v1, v2 := f.Views(g, in.Node())
			loss := nn.Add(g, nn.Mean(g, nn.Square(g, v1)), nn.Mean(g, nn.Square(g, v2)))
			prog, err := g.Compile(loss, f.Params().Learnable()...)
			require.NoError(b, err)
			defer prog.Close()
			b.ResetTimer()
			for range b.N {
				if err := prog.Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFlowApply times the plain-Go map on the same batch.
func BenchmarkFlowApply(b *testing.B) {
	n, hw := 64, 32
	f, err := New("g", tensor.Float32, Config{Coupling: Rotate, Kind: NVP}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(b, err)
	x := flowInput(1, n, hw, hw)
	b.ResetTimer()
	for range b.N {
		if _, err := f.Apply(x, n, hw, hw); err != nil {
			b.Fatal(err)
		}
	}
}

// The RevNet coupling is the authors' RevBlockV2: the split alternates
// 0 | 1,2 and 0,1 | 2, each network is as wide as its input, and four
// blocks hold 60 parameters.
func TestRevNetLayout(t *testing.T) {
	f := newTestFlow(t, tensor.Float64, Config{}, 3)
	shapes := map[string]tensor.Shape{}
	total := 0
	for _, p := range f.Params() {
		shapes[p.Name] = p.Value.Shape()
		total += p.Value.Shape().TotalSize()
	}
	assert.Equal(t, 60, total)
	for name, want := range map[string]tensor.Shape{
		"g.blocks.0.f.hidden.weight": {2, 2, 1, 1}, "g.blocks.0.f.shift.weight": {1, 2, 1, 1},
		"g.blocks.0.g.hidden.weight": {1, 1, 1, 1}, "g.blocks.0.g.shift.weight": {2, 1, 1, 1},
		"g.blocks.1.f.hidden.weight": {1, 1, 1, 1}, "g.blocks.1.f.shift.weight": {2, 1, 1, 1},
		"g.blocks.1.g.hidden.weight": {2, 2, 1, 1}, "g.blocks.1.g.shift.weight": {1, 2, 1, 1},
	} {
		assert.Equal(t, want, shapes[name], name)
	}
}

// A RevNet flow computes the authors' formulas: in an even block
// y0 = x0 + F(x1, x2), (y1, y2) = (x1, x2) + G(y0), in an odd block
// (y0, y1) = (x0, x1) + F(x2), y2 = x2 + G(y0, y1), with F = conv·relu·conv
// and G = conv·relu·conv·relu.
func TestRevNetFormulas(t *testing.T) {
	f := newTestFlow(t, tensor.Float64, Config{Blocks: 2}, 7)
	flowPerturb(f, 3, 0.5)
	relu := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = math.Max(x, 0)
		}
		return out
	}
	// dense applies a 1×1 convolution (out, in) with bias to one pixel.
	dense := func(c *nn.Conv2d, v []float64) []float64 {
		w, b := c.W.Float64s(), c.B.Float64s()
		out := make([]float64, len(b))
		for o := range out {
			out[o] = b[o]
			for i, x := range v {
				out[o] += w[o*len(v)+i] * x
			}
		}
		return out
	}
	F := func(n *flowNet, v []float64) []float64 { return dense(n.shift, relu(dense(n.hidden, v))) }
	G := func(n *flowNet, v []float64) []float64 { return dense(n.shift, relu(dense(n.hidden, relu(v)))) }
	x := []float64{0.3, -0.7, 0.9}
	want := append([]float64(nil), x...)
	b0, b1 := f.blocks[0], f.blocks[1]
	want[0] += F(b0.f, want[1:3])[0]
	g0 := G(b0.g, want[0:1])
	want[1], want[2] = want[1]+g0[0], want[2]+g0[1]
	f1 := F(b1.f, want[2:3])
	want[0], want[1] = want[0]+f1[0], want[1]+f1[1]
	want[2] += G(b1.g, want[0:2])[0]
	got, err := f.Apply([]float32{float32(x[0]), float32(x[1]), float32(x[2])}, 1, 1, 1)
	require.NoError(t, err)
	assert.InDeltaSlice(t, want, []float64{float64(got[0]), float64(got[1]), float64(got[2])}, 1e-5)
	back, err := f.Inverse(got, 1, 1, 1)
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float32{0.3, -0.7, 0.9}, back, 1e-5)
}

// A file written before the coupling was a setting holds a Rotate flow
// with LeakyReLU, and loads as one.
func TestLoadLegacyFlow(t *testing.T) {
	f := newTestFlow(t, tensor.Float32, Config{Coupling: Rotate, Blocks: 2, Hidden: 4}, 1)
	flowPerturb(f, 2, 0.3)
	path := filepath.Join(t.TempDir(), "g.safetensors")
	meta := map[string]string{MetaConfig: `{"kind":"vp","blocks":2,"hidden":4,"kernel3x3":"none","identity":false}`, MetaName: "g", MetaDtype: "float32"}
	require.NoError(t, f.Params().Save(path, meta))
	g, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, Rotate, g.Config().Coupling)
	assert.Equal(t, Leaky, g.Config().Activation)
	x := flowInput(1, 2, 3, 3)
	a, err := f.Apply(x, 2, 3, 3)
	require.NoError(t, err)
	b, err := g.Apply(x, 2, 3, 3)
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

// A flow's input survives a save and a load, and ApplyRGB converts and
// standardises an RGB image before g, as a run's feeds do.
func TestInputSavedAndApplied(t *testing.T) {
	f := newTestFlow(t, tensor.Float32, Config{}, 5)
	flowPerturb(f, 6, 0.3)
	in := Input{Space: "ydbdr", Mean: [3]float64{0.4, -0.05, 0.03}, Std: [3]float64{0.25, 0.5, 0.6}}
	require.NoError(t, f.SetInput(in))
	assert.ErrorContains(t, f.SetInput(Input{Space: "ydbdr", Std: [3]float64{1, 0, 1}}), "std of channel 1 is 0")
	assert.ErrorContains(t, f.SetInput(Input{Space: "cmyk", Std: [3]float64{1, 1, 1}}), "cmyk")
	path := filepath.Join(t.TempDir(), "g.safetensors")
	require.NoError(t, f.Save(path))
	g, err := Load(path)
	require.NoError(t, err)
	got, ok := g.Input()
	require.True(t, ok)
	assert.Equal(t, in, got)

	img := chw.New(3, 2, 2)
	for i := range img.Pix {
		img.Pix[i] = float32(i) / 12
	}
	out, err := g.ApplyRGB(img)
	require.NoError(t, err)
	// By hand: YDbDr, standardised, then g.
	ydbdr, err := viewgen.YDbDr.Convert(img)
	require.NoError(t, err)
	for c := range 3 {
		p := ydbdr.Plane(c)
		for i := range p {
			p[i] = float32((float64(p[i]) - in.Mean[c]) / in.Std[c])
		}
	}
	want, err := f.Apply(ydbdr.Pix, 1, 2, 2)
	require.NoError(t, err)
	assert.InDeltaSlice(t, want, out.Pix, 1e-5)

	// A flow without an input reads RGB as it is.
	raw := newTestFlow(t, tensor.Float32, Config{}, 5)
	_, ok = raw.Input()
	assert.False(t, ok)
	out, err = raw.ApplyRGB(img)
	require.NoError(t, err)
	want, err = raw.Apply(img.Pix, 1, 2, 2)
	require.NoError(t, err)
	assert.Equal(t, want, out.Pix)
}
