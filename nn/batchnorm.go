package nn

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Batch normalisation in training mode as one op per direction: the forward
// op computes each channel's batch mean and biased variance (accumulated in
// float64) and normalises, scales and shifts in one more pass; the backward
// op computes ∂L/∂x, ∂L/∂γ and ∂L/∂β together, the last two handed out by two
// small ops. Channels are split over the cores. In evaluation mode the same
// ops normalise with the running statistics, read when the forward op runs
// and constants to the gradients; they fuse as in training.
//
// A ReLU applied to a batch norm's output fuses into it (bnOp.relu), and a
// 2×2, stride-2 max pooling applied to that fuses too (bnOp.pool): the
// fused op writes only the pooled output and the arg-max of each window,
// and its gradient needs no full-size intermediate. The replaced nodes stay
// in the graph; Compile marks them skipped when nothing else reads them.

type bnState struct {
	n, c, hw int
	eps      float64
	mean     []float64 // batch mean per channel
	variance []float64 // biased batch variance per channel
	invstd   []float64 // 1/sqrt(variance + eps)
	computed bool
	twoD     bool // input (N, C) rather than (N, C, H, W)
	// running, set in evaluation mode, returns the running statistics that
	// the op normalises with instead of the batch's (constants to its
	// gradient).
	running func() (mean, variance []float64)
}

// load fills mean, variance and invstd from the running statistics of an
// evaluation-mode batch norm, once per run, before the channels are
// normalised; it does nothing in training mode.
func (st *bnState) load() error {
	if st.running == nil {
		return nil
	}
	mean, variance := st.running()
	if len(mean) != st.c || len(variance) != st.c {
		return fmt.Errorf("running statistics of %d and %d channels, want %d", len(mean), len(variance), st.c)
	}
	copy(st.mean, mean)
	copy(st.variance, variance)
	for c, v := range variance {
		st.invstd[c] = 1 / math.Sqrt(v+st.eps)
	}
	return nil
}

// bnPool is the 2×2, stride-2 max pooling fused into a batch norm + ReLU.
type bnPool struct {
	h, w, oh, ow int
	argmax       []int32 // per output: the window's arg-max within its plane
}

// bnOp is (x, γ, β) → y = γ·x̂ + β, or max(y, 0) when relu is set (a batch
// norm fused with the ReLU that follows it), or the 2×2 max pooling of that
// when pool is set.
type bnOp struct {
	opID
	st    *bnState
	shape tensor.Shape // input shape
	dt    tensor.Dtype
	out   outputs
	relu  bool
	pool  *bnPool
	in    [3]*G.Node // x, γ, β
	// skip is set at compile time on a batch norm whose output nothing
	// reads because a fused op replaced it: its run only returns its
	// (stale) output memory.
	skip bool
}

func (op *bnOp) outShape() tensor.Shape {
	if op.pool != nil {
		return tensor.Shape{op.shape[0], op.shape[1], op.pool.oh, op.pool.ow}
	}
	return op.shape.Clone()
}

func (op *bnOp) Arity() int    { return 3 }
func (op *bnOp) Type() hm.Type { return fnType(op.shape.Dims(), op.shape.Dims(), 1, 1) }
func (op *bnOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.outShape(), nil
}
func (op *bnOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return bnDo[float32](op, in) }, func() (G.Value, error) { return bnDo[float64](op, in) })
}

func bnDo[T float](op *bnOp, in []G.Value) (G.Value, error) {
	st := op.st
	size := st.n * st.c * st.hw
	x, err := data[T](in[0], size)
	if err != nil {
		return nil, fmt.Errorf("batch norm input: %w", err)
	}
	gamma, err := data[T](in[1], st.c)
	if err != nil {
		return nil, fmt.Errorf("batch norm scale: %w", err)
	}
	beta, err := data[T](in[2], st.c)
	if err != nil {
		return nil, fmt.Errorf("batch norm shift: %w", err)
	}
	y, out := outputOf[T](&op.out).get(op.outShape(), in...)
	if op.skip {
		return out, nil
	}
	if err := st.load(); err != nil {
		return nil, fmt.Errorf("batch norm: %w", err)
	}
	pl := op.pool
	if pl != nil && len(pl.argmax) != len(y) {
		pl.argmax = make([]int32, len(y))
	}
	plane := st.c * st.hw
	parallelItems(st.c, workers(), func(_, c int) {
		scale, shift := bnChannel(st, x, gamma, beta, c)
		for s := 0; s < st.n; s++ {
			o := s*plane + c*st.hw
			switch {
			case pl != nil:
				ohw := pl.oh * pl.ow
				po := (s*st.c + c) * ohw
				bnReluPoolPlane(y[po:po+ohw], pl.argmax[po:po+ohw], x[o:o+st.hw], pl, scale, shift)
			case op.relu:
				vAffineRelu(y[o:o+st.hw], x[o:o+st.hw], scale, shift)
			default:
				vAffine(y[o:o+st.hw], x[o:o+st.hw], scale, shift)
			}
		}
	})
	st.computed = true
	return out, nil
}

// bnChannel computes channel c's batch mean and biased variance over x
// (accumulated in float64), records them in st and returns the scale and
// shift that normalise, scale by γ and shift by β: y = scale·x + shift. In
// evaluation mode it uses the running statistics that st.load read.
func bnChannel[T float](st *bnState, x, gamma, beta []T, c int) (scale, shift T) {
	if st.running != nil {
		inv := st.invstd[c]
		return T(inv * float64(gamma[c])), T(float64(beta[c]) - st.mean[c]*inv*float64(gamma[c]))
	}
	count := float64(st.n * st.hw)
	plane := st.c * st.hw
	var sum float64
	for s := 0; s < st.n; s++ {
		sum += float64(vSum(x[s*plane+c*st.hw : s*plane+(c+1)*st.hw]))
	}
	mean := sum / count
	var ss float64
	m := T(mean)
	for s := 0; s < st.n; s++ {
		ss += float64(vSumSqDev(x[s*plane+c*st.hw:s*plane+(c+1)*st.hw], m))
	}
	variance := ss / count
	inv := 1 / math.Sqrt(variance+st.eps)
	st.mean[c], st.variance[c], st.invstd[c] = mean, variance, inv
	return T(inv * float64(gamma[c])), T(float64(beta[c]) - mean*inv*float64(gamma[c]))
}

// bnReluPoolPlane writes the 2×2, stride-2 max pooling of max(a·x + b, 0)
// over one plane x (h×w) into y (oh×ow), with each window's arg-max (the
// first of its largest values, row by row) in am.
func bnReluPoolPlane[T float](y []T, am []int32, x []T, pl *bnPool, a, b T) {
	if asm32[T]() && pl.ow%8 == 0 {
		xs := any(x).([]float32)
		for oy := 0; oy < pl.oh; oy++ {
			r0 := xs[2*oy*pl.w : 2*oy*pl.w+2*pl.ow]
			r1 := xs[(2*oy+1)*pl.w : (2*oy+1)*pl.w+2*pl.ow]
			bnReluPool2x2Row32(any(y[oy*pl.ow:(oy+1)*pl.ow]).([]float32), am[oy*pl.ow:(oy+1)*pl.ow], r0, r1, int32(2*oy*pl.w), int32(pl.w), float32(a), float32(b))
		}
		return
	}
	oy0 := 0
	if asm32[T]() && pl.ow == 4 && pl.w >= 8 {
		// Two output rows of 4 windows per call.
		xs, ys := any(x).([]float32), any(y).([]float32)
		for ; oy0+1 < pl.oh; oy0 += 2 {
			w := pl.w
			r := 2 * oy0 * w
			_ = xs[r+3*w+7]
			idx := [8]int32{int32(r), int32(r + 2), int32(r + 4), int32(r + 6), int32(r + 2*w), int32(r + 2*w + 2), int32(r + 2*w + 4), int32(r + 2*w + 6)}
			o := oy0 * 4
			_, _ = ys[o+7], am[o+7]
			bnReluPool2x2Quad32(&ys[o], &am[o], &xs[r], &xs[r+w], &xs[r+2*w], &xs[r+3*w], &idx[0], int32(w), float32(a), float32(b))
		}
	}
	act := func(v T) T {
		if r := v*a + b; r > 0 || r != r {
			return r
		}
		return 0
	}
	for oy := oy0; oy < pl.oh; oy++ {
		for ox := 0; ox < pl.ow; ox++ {
			i0 := 2*oy*pl.w + 2*ox
			best, bi := act(x[i0]), i0
			for _, i := range [3]int{i0 + 1, i0 + pl.w, i0 + pl.w + 1} {
				if v := act(x[i]); v > best {
					best, bi = v, i
				}
			}
			y[oy*pl.ow+ox], am[oy*pl.ow+ox] = best, int32(bi)
		}
	}
}

func (op *bnOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (op *bnOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, dgamma, dbeta, err := newBNBack(op.st, op.shape, op.dt, op.relu, op.pool, in[0], in[1], out, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dgamma, dbeta}, nil
}

// bnBackOp is (x, γ, y, dy) → dx; it leaves ∂L/∂γ and ∂L/∂β in the state. y
// orders it after the forward op and, with relu, masks dy where y = 0; with
// pool, y and dy are pooled and each dy goes to its window's arg-max.
type bnBackOp struct {
	opID
	noGradOp
	st    *bnState
	shape tensor.Shape // input shape
	dt    tensor.Dtype
	out   outputs
	relu  bool
	pool  *bnPool
	dz    outputs // with pool: the masked pooled gradient
	// ∂L/∂γ and ∂L/∂β, which the two bnParamGradOps hand out: each backward
	// op has its own, so that two backward ops of one batch norm (its
	// output read by two fused ops) never overwrite each other's.
	dgamma, dbeta []float64
}

// newBNBack returns the backward op of a batch norm with state st over
// inputs of the given shape, and the nodes of its three gradients: dx from
// (x, γ, y, dy), and ∂L/∂γ, ∂L/∂β read from the op.
func newBNBack(st *bnState, shape tensor.Shape, dt tensor.Dtype, relu bool, pool *bnPool, x, gamma, y, dy *G.Node) (dx, dgamma, dbeta *G.Node, err error) {
	back := &bnBackOp{opID: newOpID("BatchNormGrad"), st: st, shape: shape, dt: dt, relu: relu, pool: pool,
		dgamma: make([]float64, st.c), dbeta: make([]float64, st.c)}
	if dx, err = G.ApplyOp(back, x, gamma, y, dy); err != nil {
		return nil, nil, nil, err
	}
	if dgamma, err = G.ApplyOp(&bnParamGradOp{opID: newOpID("BatchNormGradScale"), st: st, dt: dt, src: back.dgamma}, dx); err != nil {
		return nil, nil, nil, err
	}
	if dbeta, err = G.ApplyOp(&bnParamGradOp{opID: newOpID("BatchNormGradShift"), st: st, dt: dt, src: back.dbeta}, dx); err != nil {
		return nil, nil, nil, err
	}
	return dx, dgamma, dbeta, nil
}

func (op *bnBackOp) Arity() int { return 4 }
func (op *bnBackOp) Type() hm.Type {
	d := op.shape.Dims()
	return fnType(d, d, 1, d, d)
}
func (op *bnBackOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}
func (op *bnBackOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return bnBackDo[float32](op, in) }, func() (G.Value, error) { return bnBackDo[float64](op, in) })
}

func bnBackDo[T float](op *bnBackOp, in []G.Value) (G.Value, error) {
	st := op.st
	if op.skip {
		_, out := outputOf[T](&op.out).get(op.shape, in...)
		return out, nil
	}
	if !st.computed {
		return nil, fmt.Errorf("batch norm gradient: the forward pass has not run")
	}
	size := st.n * st.c * st.hw
	x, err := data[T](in[0], size)
	if err != nil {
		return nil, fmt.Errorf("batch norm gradient: %w", err)
	}
	gamma, err := data[T](in[1], st.c)
	if err != nil {
		return nil, fmt.Errorf("batch norm gradient: %w", err)
	}
	if op.pool != nil {
		return bnPoolBackDo(op, x, gamma, in)
	}
	dy, err := data[T](in[3], size)
	if err != nil {
		return nil, fmt.Errorf("batch norm gradient: %w", err)
	}
	var y []T
	if op.relu {
		if y, err = data[T](in[2], size); err != nil {
			return nil, fmt.Errorf("batch norm gradient: %w", err)
		}
	}
	dx, out := outputOf[T](&op.out).get(op.shape, in...)
	count := float64(st.n * st.hw)
	plane := st.c * st.hw
	parallelItems(st.c, workers(), func(_, c int) {
		m, inv := st.mean[c], st.invstd[c]
		mT := T(m)
		// Σ dy and Σ dy·(x − mean); xhat = (x − mean)·inv.
		var sdy, sdyx float64
		for s := 0; s < st.n; s++ {
			o := s*plane + c*st.hw
			var a, b T
			if op.relu {
				a, b = vBNReluBackSums(dy[o:o+st.hw], y[o:o+st.hw], x[o:o+st.hw], mT)
			} else {
				a, b = vBNBackSums(dy[o:o+st.hw], x[o:o+st.hw], mT)
			}
			sdy += float64(a)
			sdyx += float64(b)
		}
		op.dbeta[c] = sdy
		op.dgamma[c] = sdyx * inv
		// dx = γ·inv·(dy − Σdy/M − xhat·Σ(dy·xhat)/M)
		//    = k1·dy + kx·x + (k0 − kx·mean)
		g := float64(gamma[c]) * inv
		kx := -g * sdyx * inv * inv / count
		k1, k0 := T(g), T(-g*sdy/count-kx*m)
		if st.running != nil { // the statistics are constants: dx = γ·inv·dy
			kx, k0 = 0, 0
		}
		for s := 0; s < st.n; s++ {
			o := s*plane + c*st.hw
			if op.relu {
				vBNReluBackApply(dx[o:o+st.hw], dy[o:o+st.hw], y[o:o+st.hw], x[o:o+st.hw], k1, T(kx), k0)
			} else {
				vBNBackApply(dx[o:o+st.hw], dy[o:o+st.hw], x[o:o+st.hw], k1, T(kx), k0)
			}
		}
	})
	return out, nil
}

// bnPoolBackDo is bnBackDo for the fused batch norm, ReLU and max pooling:
// dz (the gradient at the ReLU's output) is dy at each window's arg-max
// where the pooled output is positive and zero elsewhere, so the sums run
// over the pooled outputs and dx = kx·x + k0 + k1·dz is one affine pass plus
// one addition per window.
func bnPoolBackDo[T float](op *bnBackOp, x, gamma []T, in []G.Value) (G.Value, error) {
	st, pl := op.st, op.pool
	ohw := pl.oh * pl.ow
	y, err := data[T](in[2], st.n*st.c*ohw)
	if err != nil {
		return nil, fmt.Errorf("batch norm gradient: %w", err)
	}
	dy, err := data[T](in[3], st.n*st.c*ohw)
	if err != nil {
		return nil, fmt.Errorf("batch norm gradient: %w", err)
	}
	if len(pl.argmax) != len(y) {
		return nil, fmt.Errorf("batch norm gradient: the forward pass has not run")
	}
	dx, out := outputOf[T](&op.out).get(op.shape, in...)
	dz := outputOf[T](&op.dz)
	dzs, _ := dz.get(tensor.Shape{st.n * st.c * ohw})
	count := float64(st.n * st.hw)
	parallelItems(st.c, workers(), func(_, c int) {
		m, inv := st.mean[c], st.invstd[c]
		mT := T(m)
		var sdz, sdzx float64
		for s := 0; s < st.n; s++ {
			xo, po := (s*st.c+c)*st.hw, (s*st.c+c)*ohw
			xs, am, d := x[xo:xo+st.hw], pl.argmax[po:po+ohw], dzs[po:po+ohw]
			// dz = dy where the pooled output is positive (the ReLU's
			// mask at the arg-max), computed without branches.
			vReluBack(d, y[po:po+ohw], dy[po:po+ohw])
			var a, b T
			for i, v := range d {
				a += v
				b += v * (xs[am[i]] - mT)
			}
			sdz += float64(a)
			sdzx += float64(b)
		}
		op.dbeta[c] = sdz
		op.dgamma[c] = sdzx * inv
		g := float64(gamma[c]) * inv
		kx := -g * sdzx * inv * inv / count
		k1, k0 := T(g), T(-g*sdz/count-kx*m)
		if st.running != nil {
			kx, k0 = 0, 0
		}
		for s := 0; s < st.n; s++ {
			xo, po := (s*st.c+c)*st.hw, (s*st.c+c)*ohw
			dxs := dx[xo : xo+st.hw]
			vAffine(dxs, x[xo:xo+st.hw], T(kx), k0)
			am := pl.argmax[po : po+ohw]
			for i, v := range dzs[po : po+ohw] {
				dxs[am[i]] += k1 * v
			}
		}
	})
	return out, nil
}

// bnParamGradOp is dx → ∂L/∂γ (or ∂L/∂β), read from src, which the backward
// op that computes dx fills.
type bnParamGradOp struct {
	opID
	noGradOp
	st  *bnState
	dt  tensor.Dtype
	src []float64
	out outputs
}

func (op *bnParamGradOp) Arity() int { return 1 }
func (op *bnParamGradOp) Type() hm.Type {
	d := 4
	if op.st.twoD {
		d = 2
	}
	return fnType(1, d)
}
func (op *bnParamGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.st.c}, nil
}
func (op *bnParamGradOp) Do(in ...G.Value) (G.Value, error) {
	src := op.src
	switch op.dt {
	case tensor.Float32:
		d, out := op.out.f32.get(tensor.Shape{op.st.c}, in...)
		if op.skip {
			return out, nil
		}
		for i, v := range src {
			d[i] = float32(v)
		}
		return out, nil
	case tensor.Float64:
		d, out := op.out.f64.get(tensor.Shape{op.st.c}, in...)
		if !op.skip {
			copy(d, src)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported dtype %v", op.dt)
}

// batchNormFast builds the batch norm of x (N, C) or (N, C, H, W) and
// returns its output and state: in training mode (running nil) with the
// batch's statistics, in evaluation mode with those running returns.
func batchNormFast(g *Graph, x, gamma, beta *G.Node, eps float64, running func() (mean, variance []float64)) (*G.Node, *bnState) {
	s := x.Shape()
	st := &bnState{n: s[0], c: s[1], hw: 1, eps: eps, twoD: len(s) == 2, running: running}
	if len(s) == 4 {
		st.hw = s[2] * s[3]
	}
	st.mean = make([]float64, st.c)
	st.variance = make([]float64, st.c)
	st.invstd = make([]float64, st.c)
	op := &bnOp{opID: newOpID("BatchNorm"), st: st, shape: s.Clone(), dt: g.dtype, in: [3]*G.Node{x, gamma, beta}}
	y := g.Do("batch norm", func() (*G.Node, error) { return G.ApplyOp(op, x, gamma, beta) })
	return y, st
}

// fuseReLU returns max(bn, 0) as one fused op when bn is a batch norm node
// made by batchNormFast, and nil otherwise. The unfused
// node stays in the graph; Compile marks it skipped if nothing reads it.
func fuseReLU(g *Graph, bn *G.Node) *G.Node {
	op, ok := bn.Op().(*bnOp)
	if !ok || op.relu {
		return nil
	}
	fused := &bnOp{opID: newOpID("BatchNormReLU"), st: op.st, shape: op.shape.Clone(), dt: op.dt, relu: true, in: op.in}
	y := g.Do("batch norm + relu", func() (*G.Node, error) { return G.ApplyOp(fused, op.in[0], op.in[1], op.in[2]) })
	if y != nil {
		g.fused = append(g.fused, bn)
	}
	return y
}

// fusePool returns the 2×2, stride-2 max pooling of x as one fused op when x
// is a fused batch norm + ReLU node, and nil otherwise.
func fusePool(g *Graph, x *G.Node, k, stride, pad int) *G.Node {
	op, ok := x.Op().(*bnOp)
	if !ok || !op.relu || op.pool != nil || k != 2 || stride != 2 || pad != 0 || len(op.shape) != 4 || op.shape[2] < 2 || op.shape[3] < 2 {
		return nil
	}
	h, w := op.shape[2], op.shape[3]
	pl := &bnPool{h: h, w: w, oh: h / 2, ow: w / 2}
	fused := &bnOp{opID: newOpID("BatchNormReLUMaxPool"), st: op.st, shape: op.shape.Clone(), dt: op.dt, relu: true, pool: pl, in: op.in}
	y := g.Do("batch norm + relu + max pool", func() (*G.Node, error) { return G.ApplyOp(fused, op.in[0], op.in[1], op.in[2]) })
	if y != nil {
		g.fused = append(g.fused, x)
	}
	return y
}

// markSkipped sets skip on every batch norm that a fused batch norm + ReLU
// replaced and that no node reads, and on every backward op whose result
// nothing reads (markDeadSkipped); it also spares the pointwise MLPs the
// input gradients nothing reads (markPointwiseDX).
func (g *Graph) markSkipped() {
	for _, n := range g.fused {
		switch op := n.Op().(type) {
		case *bnOp:
			op.skip = g.g.To(n.ID()).Len() == 0
		case *resOp:
			op.skip = g.g.To(n.ID()).Len() == 0
		}
	}
	g.markDeadSkipped()
	g.markPointwiseDX()
}
