package nn

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randParam returns a float64 parameter filled with N(0,1) draws, used as a
// differentiable input in tests.
func randParam(rng *rand.Rand, name string, shape ...int) *Param {
	p := NewParam(name, tensor.Float64, shape...)
	p.InitNormal(rng, 1)
	return p
}

// weightedSum returns Σ x ⊙ r for a fixed random r, a scalar whose gradient
// with respect to x is r: unlike a plain sum it does not vanish through
// normalising layers.
func weightedSum(g *Graph, rng *rand.Rand, x *G.Node) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	if x.IsScalar() {
		return x
	}
	s := x.Shape()
	r := make([]float64, s.TotalSize())
	for i := range r {
		r[i] = rng.NormFloat64()
	}
	return Sum(g, Mul(g, x, g.Constant("r", r, s...)))
}

// checkLayerGrad builds loss = weightedSum(forward(x)) in a float64 graph and
// checks the gradients with respect to the input and every learnable param.
func checkLayerGrad(t *testing.T, mode Mode, xShape []int, params Params, forward func(g *Graph, x *G.Node) *G.Node) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	x := randParam(rng, "x", xShape...)
	g := NewGraph(tensor.Float64, mode, 7)
	loss := weightedSum(g, rng, forward(g, g.Param(x)))
	wrt := append(Params{x}, params.Learnable()...)
	prog, err := g.Compile(loss, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	before := x.Float64s()
	if err := CheckGradients(prog, wrt, GradCheck{MaxElems: 40, BeforeEach: func() { g.SetSeed(3) }}); err != nil {
		t.Fatal(err)
	}
	// No op may write into its inputs' memory.
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	if got := x.Float64s(); !equalFloats(before, got) {
		t.Fatalf("running the program changed its input: %v -> %v", before[:3], got[:3])
	}
}

// forward runs forward(x) once in a float64 graph and returns the output
// values and shape.
func runForward(t *testing.T, mode Mode, x []float64, xShape []int, forward func(g *Graph, x *G.Node) *G.Node) ([]float64, tensor.Shape) {
	t.Helper()
	g := NewGraph(tensor.Float64, mode, 7)
	in := g.Input("x", xShape...)
	if err := in.SetFloat64s(x); err != nil {
		t.Fatal(err)
	}
	y := forward(g, in.Node())
	prog, err := g.Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	return Values(y), y.Shape()
}

func seq(n int, scale, offset float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i)*scale + offset
	}
	return v
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
