package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"
)

func scalarParam(name string, v, grad float64) *Param {
	p := NewParam(name, tensor.Float64, 1)
	p.Value.Data().([]float64)[0] = v
	p.Grad.Data().([]float64)[0] = grad
	return p
}

func TestAdamHandComputed(t *testing.T) {
	p := scalarParam("w", 1, 0.5)
	a, err := NewAdam(AdamConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999}, Group{Params: Params{p}})
	require.NoError(t, err)
	require.NoError(t, a.Step())
	// Step 1: m̂ = g, v̂ = g², update = lr·g/(|g|+ε).
	w1 := 1 - 0.1*0.5/(0.5+1e-8)
	assert.InDelta(t, w1, p.Float64s()[0], 1e-12)
	assert.Equal(t, 0.0, Float64s(p.Grad)[0], "Step zeroes the gradient it used")
	// Step 2 with g = -1.
	p.Grad.Data().([]float64)[0] = -1
	require.NoError(t, a.Step())
	m := 0.9*0.1*0.5 + 0.1*-1
	v := 0.999*0.001*0.25 + 0.001*1
	w2 := w1 - 0.1*(m/(1-0.81))/(math.Sqrt(v/(1-0.999*0.999))+1e-8)
	assert.InDelta(t, w2, p.Float64s()[0], 1e-12)
}

func TestAdamWeightDecay(t *testing.T) {
	p := scalarParam("w", 2, 0)
	a, err := NewAdam(AdamConfig{LR: 0.1, WeightDecay: 0.5}, Group{Params: Params{p}})
	require.NoError(t, err)
	require.NoError(t, a.Step()) // L2: g = 0 + 0.5·2 = 1 → w = 2 - 0.1
	assert.InDelta(t, 1.9, p.Float64s()[0], 1e-7)

	q := scalarParam("w", 2, 0)
	aw, err := NewAdam(AdamConfig{LR: 0.1, WeightDecay: 0.5, Decoupled: true}, Group{Params: Params{q}})
	require.NoError(t, err)
	require.NoError(t, aw.Step()) // AdamW: w -= lr·wd·w; zero gradient moves nothing else
	assert.InDelta(t, 2-0.1*0.5*2, q.Float64s()[0], 1e-12)
}

func TestAdamGroupsAndLRScale(t *testing.T) {
	p, q := scalarParam("p", 0, 1), scalarParam("q", 0, 1)
	a, err := NewAdam(AdamConfig{LR: 0.1}, Group{Params: Params{p}}, Group{Params: Params{q}, LR: 0.01})
	require.NoError(t, err)
	a.SetLRScale(0.5)
	assert.InDelta(t, 0.05, a.LR(0), 1e-15)
	assert.InDelta(t, 0.005, a.LR(1), 1e-15)
	require.NoError(t, a.Step())
	assert.InDelta(t, -0.05, p.Float64s()[0], 1e-7)
	assert.InDelta(t, -0.005, q.Float64s()[0], 1e-7)

	_, err = NewAdam(AdamConfig{LR: 0.1}, Group{Params: Params{p}}, Group{Params: Params{p}})
	assert.ErrorContains(t, err, `duplicate parameter name "p"`)
	_, err = NewAdam(AdamConfig{LR: -1}, Group{Params: Params{p}})
	assert.ErrorContains(t, err, "negative")
	_, err = NewAdam(AdamConfig{Beta1: 1}, Group{Params: Params{p}})
	assert.ErrorContains(t, err, "beta1")
}

func TestSGDMomentumHandComputed(t *testing.T) {
	p := scalarParam("w", 1, 1)
	s, err := NewSGD(SGDConfig{LR: 0.1, Momentum: 0.9}, Group{Params: Params{p}})
	require.NoError(t, err)
	require.NoError(t, s.Step()) // buf = 1, w = 0.9
	p.Grad.Data().([]float64)[0] = 1
	require.NoError(t, s.Step()) // buf = 1.9, w = 0.71
	assert.InDelta(t, 0.71, p.Float64s()[0], 1e-12)
	p.Grad.Data().([]float64)[0] = 0
	require.NoError(t, s.Step()) // buf = 1.71, w = 0.539
	assert.InDelta(t, 0.539, p.Float64s()[0], 1e-12)

	n := scalarParam("w", 1, 1)
	sn, err := NewSGD(SGDConfig{LR: 0.1, Momentum: 0.9, Nesterov: true}, Group{Params: Params{n}})
	require.NoError(t, err)
	require.NoError(t, sn.Step()) // buf = 1, d = 1 + 0.9 = 1.9
	assert.InDelta(t, 0.81, n.Float64s()[0], 1e-12)
}

// Two optimisers over disjoint parameter sets, as the two players of a game:
// each step touches only its own parameters and gradients.
func TestOptimizersStepIndependently(t *testing.T) {
	p, q := scalarParam("f.w", 1, 1), scalarParam("g.w", 1, 1)
	op, err := NewAdam(AdamConfig{LR: 0.1}, Group{Params: Params{p}})
	require.NoError(t, err)
	oq, err := NewSGD(SGDConfig{LR: 0.1}, Group{Params: Params{q}})
	require.NoError(t, err)
	require.NoError(t, op.Step())
	assert.NotEqual(t, 1.0, p.Float64s()[0])
	assert.Equal(t, 1.0, q.Float64s()[0], "the other player's weights are untouched")
	assert.Equal(t, 1.0, Float64s(q.Grad)[0], "and so are its gradients")
	oq.ZeroGrad()
	assert.Equal(t, 0.0, Float64s(q.Grad)[0])
}

// Adam trains a linear model through a gorgonia graph: the loss of a
// least-squares fit must fall close to zero.
func TestAdamLearnsLinearRegression(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	l := NewLinear("fc", tensor.Float32, 3, 1, true, rng)
	g := NewGraph(tensor.Float32, Train, 1)
	x := g.Input("x", 64, 3)
	y := g.Input("y", 64, 1)
	diff := Sub(g, l.Forward(g, x.Node()), y.Node())
	loss := Mean(g, Square(g, diff))
	prog, err := g.Compile(loss, l.Params()...)
	require.NoError(t, err)
	opt, err := NewAdam(AdamConfig{LR: 0.05}, Group{Params: l.Params()})
	require.NoError(t, err)
	xs, ys := make([]float32, 64*3), make([]float32, 64)
	var first, last float64
	for step := 0; step < 300; step++ {
		for i := 0; i < 64; i++ {
			a, b, c := rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
			xs[3*i], xs[3*i+1], xs[3*i+2] = float32(a), float32(b), float32(c)
			ys[i] = float32(2*a - b + 0.5*c + 3)
		}
		require.NoError(t, x.Set(xs))
		require.NoError(t, y.Set(ys))
		require.NoError(t, prog.Run())
		if step == 0 {
			first = prog.Loss()
		}
		last = prog.Loss()
		require.NoError(t, opt.Step())
	}
	assert.Greater(t, first, 1.0)
	assert.Less(t, last, 1e-3)
	assert.InDeltaSlice(t, []float64{2, -1, 0.5}, l.W.Float64s(), 0.02)
}

func TestOptimizerStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, kind := range []string{"adam", "sgd"} {
		t.Run(kind, func(t *testing.T) {
			mk := func() (*Param, Optimizer) {
				p := NewParam("w", tensor.Float32, 2, 2)
				require.NoError(t, p.SetFloat64s([]float64{1, 2, 3, 4}))
				var o Optimizer
				var err error
				if kind == "adam" {
					o, err = NewAdam(AdamConfig{LR: 0.1}, Group{Params: Params{p}})
				} else {
					o, err = NewSGD(SGDConfig{LR: 0.1, Momentum: 0.9}, Group{Params: Params{p}})
				}
				require.NoError(t, err)
				return p, o
			}
			grads := [][]float64{{1, -1, 0.5, 2}, {0.3, 0.2, -1, 1}, {-2, 1, 1, 0}, {1, 1, 1, 1}}
			step := func(p *Param, o Optimizer, g []float64) {
				setFloat64s(p.Grad, g)
				require.NoError(t, o.Step())
			}
			// Uninterrupted.
			p1, o1 := mk()
			for _, g := range grads {
				step(p1, o1, g)
			}
			// Interrupted after two steps: save params and state, load into fresh ones.
			p2, o2 := mk()
			step(p2, o2, grads[0])
			step(p2, o2, grads[1])
			o2.SetLRScale(1) // explicit, and saved
			pf, of := filepath.Join(dir, kind+".safetensors"), filepath.Join(dir, kind+".optim.safetensors")
			require.NoError(t, Params{p2}.Save(pf, nil))
			require.NoError(t, SaveOptimizer(of, o2))
			p3, o3 := mk()
			_, err := Params{p3}.Load(pf)
			require.NoError(t, err)
			require.NoError(t, LoadOptimizer(of, o3))
			step(p3, o3, grads[2])
			step(p3, o3, grads[3])
			assert.Equal(t, p1.Float64s(), p3.Float64s())
		})
	}
	p := NewParam("w", tensor.Float32, 2)
	a, _ := NewAdam(AdamConfig{}, Group{Params: Params{p}})
	s, _ := NewSGD(SGDConfig{}, Group{Params: Params{p}})
	require.NoError(t, SaveOptimizer(filepath.Join(dir, "s"), s))
	assert.ErrorContains(t, LoadOptimizer(filepath.Join(dir, "s"), a), `for "sgd", not adam`)
}

func TestSchedules(t *testing.T) {
	tests := []struct {
		name string
		s    Schedule
		step int
		want float64
	}{
		{"constant", Constant{}, 1000, 1},
		{"step before", StepDecay{[]int{60, 80}, 0.2}, 59, 1},
		{"step at first", StepDecay{[]int{60, 80}, 0.2}, 60, 0.2},
		{"step after both", StepDecay{[]int{60, 80}, 0.2}, 99, 0.04},
		{"cosine start", Cosine{Total: 100}, 0, 1},
		{"cosine middle", Cosine{Total: 100}, 50, 0.5},
		{"cosine end", Cosine{Total: 100}, 100, 0},
		{"cosine past end", Cosine{Total: 100, MinFactor: 0.1}, 200, 0.1},
		{"cosine warmup", Cosine{Total: 100, Warmup: 10}, 4, 0.5},
		{"cosine after warmup", Cosine{Total: 110, Warmup: 10}, 60, 0.5},
	}
	for _, tc := range tests {
		assert.InDelta(t, tc.want, tc.s.Factor(tc.step), 1e-12, tc.name)
	}
	_, err := NewSchedule("linear", 10, 0, nil, 0)
	assert.ErrorContains(t, err, `unknown schedule "linear"`)
}

func TestClipGradNorm(t *testing.T) {
	p, q := scalarParam("p", 0, 3), scalarParam("q", 0, 4)
	ps := Params{p, q}
	assert.InDelta(t, 5, ps.ClipGradNorm(1), 1e-12)
	assert.InDelta(t, 1, ps.GradNorm(), 1e-12)
	assert.InDelta(t, 0.6, Float64s(p.Grad)[0], 1e-12)
	assert.InDelta(t, 1, ps.ClipGradNorm(0), 1e-12, "0 disables clipping")
}

// TestOptimizerStateCopy checks that RestoreState puts back exactly the
// state CopyState copied, whatever steps came between, and that a copy
// does not restore into another optimiser.
func TestOptimizerStateCopy(t *testing.T) {
	for _, kind := range []string{"adam", "sgd"} {
		t.Run(kind, func(t *testing.T) {
			mk := func() (*Param, Optimizer) {
				p := NewParam("w", tensor.Float32, 2, 2)
				require.NoError(t, p.SetFloat64s([]float64{1, 2, 3, 4}))
				var o Optimizer
				var err error
				if kind == "adam" {
					o, err = NewAdam(AdamConfig{LR: 0.1}, Group{Params: Params{p}})
				} else {
					o, err = NewSGD(SGDConfig{LR: 0.1, Momentum: 0.9}, Group{Params: Params{p}})
				}
				require.NoError(t, err)
				return p, o
			}
			step := func(p *Param, o Optimizer, g []float64) {
				setFloat64s(p.Grad, g)
				require.NoError(t, o.Step())
			}
			p, o := mk()
			step(p, o, []float64{1, -1, 0.5, 2})
			wantT, wantM := o.State()
			var c StateCopy
			o.(StateCopier).CopyState(&c)
			o.SetLRScale(0.25)
			step(p, o, []float64{0.3, 0.2, -1, 1})
			step(p, o, []float64{-2, 1, 1, 0})
			require.NoError(t, o.(StateCopier).RestoreState(&c))
			gotT, gotM := o.State()
			assert.Equal(t, wantM, gotM)
			assert.Equal(t, wantT, gotT)
			_, other := mk()
			assert.Error(t, other.(StateCopier).RestoreState(&c))
		})
	}
}

// BenchmarkAdamStep times one Adam update of 5.66 M float32 parameters in
// the shapes of two width-32 ResNet-18 halves (a few large filters and
// many small vectors).
func BenchmarkAdamStep(b *testing.B) {
	var ps Params
	sizes := []int{256 * 256 * 9, 256 * 256 * 9, 256 * 256 * 9, 128 * 256 * 9, 128 * 128 * 9, 128 * 128 * 9, 128 * 128 * 9, 64 * 128 * 9}
	total := 0
	for i := 0; total < 5_660_000; i++ {
		n := sizes[i%len(sizes)]
		if i%3 == 2 {
			n = 256 // batch-norm scales and shifts
		}
		n = min(n, 5_660_000-total)
		total += n
		p := NewParam("p"+string(rune('a'+i%26))+string(rune('a'+i/26)), tensor.Float32, n)
		ps = append(ps, p)
	}
	a, err := NewAdam(AdamConfig{LR: 2e-4, Beta1: 0.5}, Group{Params: ps})
	require.NoError(b, err)
	b.SetBytes(int64(total) * (4 + 4 + 8 + 8))
	b.ResetTimer()
	for range b.N {
		if err := a.Step(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAdamMatchesScalarBitForBit checks the chunked, parallel update (and
// its AVX2 kernel for float32, where the CPU has one) against the textbook
// formula element by element, for sizes around the kernel's width and the
// chunk size, both dtypes, and coupled and decoupled weight decay: the
// same bits, every element, over three steps.
func TestAdamMatchesScalarBitForBit(t *testing.T) {
	sizes := []int{1, 3, 4, 7, 33, adamChunk + 5}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, decoupled := range []bool{false, true} {
			withAsm(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(7, uint64(len(sizes))))
				cfg := AdamConfig{LR: 3e-3, Beta1: 0.5, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.01, Decoupled: decoupled}
				var ps Params
				for i, n := range sizes {
					p := NewParam(fmt.Sprintf("p%d", i), dt, n)
					p.InitNormal(rng, 1)
					ps = append(ps, p)
				}
				a, err := NewAdam(cfg, Group{Params: ps[:3]}, Group{Params: ps[3:], LR: 1e-2})
				require.NoError(t, err)
				w := make([][]float64, len(ps))
				m := make([][]float64, len(ps))
				v := make([][]float64, len(ps))
				for i, p := range ps {
					w[i], m[i], v[i] = p.Float64s(), make([]float64, p.Size()), make([]float64, p.Size())
				}
				for step := 1; step <= 3; step++ {
					c1, c2 := 1-math.Pow(cfg.Beta1, float64(step)), 1-math.Pow(cfg.Beta2, float64(step))
					for i, p := range ps {
						lr := cfg.LR
						if i >= 3 {
							lr = 1e-2
						}
						grads := make([]float64, p.Size())
						for j := range grads {
							grads[j] = rng.NormFloat64()
						}
						setFloat64s(p.Grad, grads)
						grads = Float64s(p.Grad) // rounded to the dtype
						for j := range w[i] {
							wj, gj := w[i][j], grads[j]
							if decoupled {
								wj -= lr * cfg.WeightDecay * wj
							} else {
								gj += cfg.WeightDecay * wj
							}
							m[i][j] = cfg.Beta1*m[i][j] + (1-cfg.Beta1)*gj
							v[i][j] = cfg.Beta2*v[i][j] + (1-cfg.Beta2)*gj*gj
							wj -= lr * (m[i][j] / c1) / (math.Sqrt(v[i][j]/c2) + cfg.Eps)
							if dt == tensor.Float32 {
								wj = float64(float32(wj))
							}
							w[i][j] = wj
						}
					}
					require.NoError(t, a.Step())
					for i, p := range ps {
						got := p.Float64s()
						for j := range got {
							if math.Float64bits(got[j]) != math.Float64bits(w[i][j]) || a.m[p][j] != m[i][j] || a.v[p][j] != v[i][j] {
								t.Fatalf("%v decoupled=%v step %d: %s[%d] = %v (m %v, v %v), want %v (m %v, v %v)",
									dt, decoupled, step, p.Name, j, got[j], a.m[p][j], a.v[p][j], w[i][j], m[i][j], v[i][j])
							}
						}
						require.Equal(t, make([]float64, p.Size()), Float64s(p.Grad), "Step zeroes %s's gradient", p.Name)
					}
				}
			})
		}
	}
}

// withAsm runs f with the assembly kernels, where the CPU has them, and
// with the portable Go code.
func withAsm(t *testing.T, f func(t *testing.T)) {
	t.Run("asm="+fmt.Sprint(useAsmKernels), f)
	if useAsmKernels {
		useAsmKernels = false
		defer func() { useAsmKernels = true }()
		t.Run("go", f)
	}
}
