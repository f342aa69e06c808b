package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// planRun builds lc's layer into a float32 graph with loss Σ r ⊙ y, runs
// it on three batches and returns the loss and every gradient of each run,
// and the program's arena and tensor bytes.
func planRun(t *testing.T, lc layerCase, plan bool) (runs [][]float64, arena, tensors int64) {
	t.Helper()
	params, forward := lc.build(tensor.Float32, rand.New(rand.NewPCG(3, 4)))
	g := NewGraph(tensor.Float32, Train, 1)
	g.noPlan = !plan
	in := g.Input("x", lc.xShape...)
	x := NewParam("x0", tensor.Float32, lc.xShape...) // a differentiable copy of the input
	y := forward(g, Add(g, in.Node(), g.Param(x)))
	require.NoError(t, g.Err())
	out := g.Watch(y)
	loss := weightedSum(g, rand.New(rand.NewPCG(5, 6)), y)
	wrt := append(Params{x}, params.Learnable()...)
	prog, err := g.Compile(loss, wrt...)
	require.NoError(t, err)
	defer prog.Close()
	for run := 0; run < 3; run++ {
		r := rand.New(rand.NewPCG(uint64(run), 7))
		v := make([]float32, in.Shape().TotalSize())
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		require.NoError(t, in.Set(v))
		require.NoError(t, prog.Run())
		all := append([]float64{prog.Loss()}, out.Values()...)
		for _, p := range wrt {
			all = append(all, Float64s(p.Grad)...)
		}
		runs = append(runs, all)
	}
	return runs, prog.ArenaBytes(), prog.TensorBytes()
}

// TestMemoryPlan checks that a program whose fused ops share memory by
// lifetime computes exactly what the same program computes with every op
// owning its output, run after run, and that the sharing saves memory.
func TestMemoryPlan(t *testing.T) {
	cases := append(fastCases(), resnetCases()...)
	for _, lc := range cases {
		t.Run(lc.name, func(t *testing.T) {
			want, none, _ := planRun(t, lc, false)
			got, arena, tensors := planRun(t, lc, true)
			require.Zero(t, none, "arena without a plan")
			require.Equal(t, want, got)
			require.Positive(t, arena)
			require.Less(t, arena, tensors)
		})
	}
}

// TestMemoryPlanSavesMemory checks the saving on a stack of ResNet blocks:
// the arena holds much less than the fused ops' outputs together.
func TestMemoryPlanSavesMemory(t *testing.T) {
	var lc layerCase
	for _, c := range resnetCases() {
		if c.name == "small resnet" {
			lc = c
		}
	}
	lc.xShape = []int{8, 2, 16, 16}
	_, arena, tensors := planRun(t, lc, true)
	t.Logf("arena %d bytes, tensors %d bytes", arena, tensors)
	require.Less(t, float64(arena), 0.5*float64(tensors))
}

// TestMemoryPlanInPlaceAdd covers a gorgonia op that writes its result into
// a fused op's output (an Add whose first input is dead): that memory must
// stay reserved while the Add's result is alive, although the fused op's
// own readers are done with it.
func TestMemoryPlanInPlaceAdd(t *testing.T) {
	lc := layerCase{name: "in-place add", xShape: []int{3, 2, 8, 8},
		build: func(dt tensor.Dtype, rng *rand.Rand) (Params, func(g *Graph, x *G.Node) *G.Node) {
			c1 := NewConv2d("c1", dt, 2, 4, 3, 1, 1, false, rng)
			c2 := NewConv2d("c2", dt, 4, 4, 3, 1, 1, false, rng)
			c3 := NewConv2d("c3", dt, 4, 4, 3, 1, 1, false, rng)
			return append(append(c1.Params(), c2.Params()...), c3.Params()...), func(g *Graph, x *G.Node) *G.Node {
				h := ReLU(g, c1.Forward(g, x))
				a := c2.Forward(g, h)
				s := g.Do("add", func() (*G.Node, error) { return G.Add(a, h) }) // gorgonia's, in place into a
				b := ReLU(g, c3.Forward(g, ReLU(g, s)))
				return g.Do("add", func() (*G.Node, error) { return G.Add(b, s) })
			}
		}}
	want, _, _ := planRun(t, lc, false)
	got, _, _ := planRun(t, lc, true)
	require.Equal(t, want, got)
}

// TestMemoryPlanOrder checks what an op that runs out of the planned order
// gets: memory of its own, and the plan marked broken.
func TestMemoryPlanOrder(t *testing.T) {
	p := &memPlan{size: 64}
	p.slots = []planSlot{{plan: p, i: 0, off: 0, size: 32}, {plan: p, i: 1, off: 32, size: 32}, {plan: p, i: 2, off: 0, size: 32}}
	buf, ok := plannedBuf[float32](&p.slots[0], 32, nil)
	require.True(t, ok)
	require.Len(t, buf, 32)
	_, ok = plannedBuf[float32](&p.slots[2], 32, nil) // skips slot 1
	require.False(t, ok)
	require.True(t, p.bad)
	// Memory that overlaps an input is refused too.
	p.bad = false
	_, ok = plannedBuf[float32](&p.slots[0], 32, nil)
	require.True(t, ok)
	in := tensor.New(tensor.WithShape(8), tensor.WithBacking(p.f32[40:48]))
	_, ok = plannedBuf[float32](&p.slots[1], 32, []G.Value{in})
	require.False(t, ok)
	require.True(t, p.bad)
}

// TestMemoryPlanProgramsShareArenas runs two programs of different graphs
// one after the other, as a game's two players do: they take turns on the
// pooled arenas, and each computes what it computes alone.
func TestMemoryPlanProgramsShareArenas(t *testing.T) {
	var block, resnet layerCase
	for _, c := range resnetCases() {
		switch c.name {
		case "projection block, stride 2":
			block = c
		case "small resnet":
			resnet = c
		}
	}
	type prog struct {
		in   *Input
		p    *Program
		grad *Param
	}
	build := func(lc layerCase, plan bool) prog {
		params, forward := lc.build(tensor.Float32, rand.New(rand.NewPCG(3, 4)))
		g := NewGraph(tensor.Float32, Train, 1)
		g.noPlan = !plan
		in := g.Input("x", lc.xShape...)
		x := NewParam("x0", tensor.Float32, lc.xShape...)
		loss := weightedSum(g, rand.New(rand.NewPCG(5, 6)), forward(g, Add(g, in.Node(), g.Param(x))))
		p, err := g.Compile(loss, append(Params{x}, params.Learnable()...)...)
		require.NoError(t, err)
		return prog{in: in, p: p, grad: x}
	}
	run := func(pr prog, seed uint64) []float64 {
		r := rand.New(rand.NewPCG(seed, 7))
		v := make([]float32, pr.in.Shape().TotalSize())
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		require.NoError(t, pr.in.Set(v))
		require.NoError(t, pr.p.Run())
		return append([]float64{pr.p.Loss()}, Float64s(pr.grad.Grad)...)
	}
	a, b := build(block, true), build(resnet, true)
	a0, b0 := build(block, false), build(resnet, false)
	for _, pr := range []prog{a, b, a0, b0} {
		defer pr.p.Close()
	}
	for seed := uint64(0); seed < 3; seed++ {
		require.Equal(t, run(a0, seed), run(a, seed))
		require.Equal(t, run(b0, seed), run(b, seed))
	}
}

// TestArenaPool checks the pool's choice: the largest free arena, replaced
// by a new one when it is too small.
func TestArenaPool(t *testing.T) {
	var p arenaPool[float32]
	small, big := p.get(10), p.get(100)
	require.Len(t, small, 10)
	p.put(small)
	p.put(big)
	got := p.get(50)
	require.True(t, &got[0] == &big[0], "the largest free arena")
	again := p.get(20)
	require.Len(t, again, 20, "the small one is too small: a new one")
	require.Empty(t, p.free, "the too small arena is dropped")
}

// TestArenaSharedFromTheFirstRun checks that two programs compiled before
// either runs, the smaller run first (a game's estimator, then its
// generator), run on one arena: the first arena made is as large as the
// larger plan, so no smaller one stays alive beside it.
func TestArenaSharedFromTheFirstRun(t *testing.T) {
	build := func(n int) (*Program, *Input) {
		rng := rand.New(rand.NewPCG(1, 2))
		c1 := NewConv2d("c1", tensor.Float32, 2, 4, 3, 1, 1, false, rng)
		c2 := NewConv2d("c2", tensor.Float32, 4, 4, 3, 1, 1, false, rng)
		g := NewGraph(tensor.Float32, Train, 1)
		in := g.Input("x", n, 2, 8, 8)
		y := c2.Forward(g, ReLU(g, c1.Forward(g, in.Node())))
		prog, err := g.Compile(weightedSum(g, rand.New(rand.NewPCG(3, 4)), y), append(c1.Params(), c2.Params()...)...)
		require.NoError(t, err)
		return prog, in
	}
	small, _ := build(2)
	defer small.Close()
	large, _ := build(32)
	require.Greater(t, large.ArenaBytes(), small.ArenaBytes())
	require.NoError(t, small.Run())
	require.GreaterOrEqual(t, len(small.plan.f32), large.plan.size, "the first arena fits the larger program")
	require.NoError(t, large.Run())
	require.Same(t, &small.plan.f32[0], &large.plan.f32[0], "both programs on one arena")
	// Once the large program is closed, new arenas are made for what is
	// still open.
	large.Close()
	arenas32.mu.Lock()
	want := arenas32.want()
	arenas32.mu.Unlock()
	require.Less(t, want, large.plan.size)
}
