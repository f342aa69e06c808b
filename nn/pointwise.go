package nn

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The pointwise MLP: a 1×1 convolution, a LeakyReLU and a second 1×1
// convolution (plus an optional residual), as one op per direction. With few
// channels (a flow's coupling networks: 1 or 2 in, 16 hidden, 1 or 2 out)
// the three layers are memory passes over a wide hidden tensor rather than
// arithmetic; the fused op works through each sample in blocks of
// pwBlock pixels whose hidden activations stay in L1 and are never written
// out. The backward op recomputes them from x and hands the parameter
// gradients out through four small ops, as the batch norm does.

// pwBlock is the number of pixels the pointwise MLP works on at once.
const pwBlock = 256

// PointwiseMLP returns out(LeakyReLU(hidden(x), slope)) + res for x of shape
// (N, Cin, H, W), where hidden (Cin → Hid) and out (Hid → Cout) are 1×1
// convolutions with stride 1 and no padding, and res, which may be nil, has
// the output's shape (N, Cout, H, W). The LeakyReLU keeps v where the sign
// bit of v is clear and gives slope·v elsewhere. With the fused layers (the
// default) it is one op per direction; with the composed layer set it
// composes the two convolutions, gorgonia's LeakyRelu and an addition.
func PointwiseMLP(g *Graph, x, res *G.Node, hidden, out *Conv2d, slope float64) *G.Node {
	if !g.Ok(x) || (res != nil && !g.Ok(res)) {
		return nil
	}
	if hidden == nil || out == nil {
		g.Fail("pointwise mlp", fmt.Errorf("nil layer"))
		return nil
	}
	for _, c := range []*Conv2d{hidden, out} {
		if c.K != 1 || c.Stride != 1 || c.Pad != 0 {
			g.Fail("pointwise mlp", fmt.Errorf("%s: kernel %d, stride %d, padding %d; want a 1×1 convolution with stride 1 and no padding", c.W.Name, c.K, c.Stride, c.Pad))
			return nil
		}
	}
	xs, w1s, w2s := x.Shape(), hidden.W.Shape(), out.W.Shape()
	if xs.Dims() != 4 || xs[1] != w1s[1] {
		g.Fail(hidden.W.Name, fmt.Errorf("input shape %v, want (N, %d, H, W)", xs, w1s[1]))
		return nil
	}
	if w2s[1] != w1s[0] {
		g.Fail(out.W.Name, fmt.Errorf("filters of shape %v after a layer of %d channels", w2s, w1s[0]))
		return nil
	}
	ys := tensor.Shape{xs[0], w2s[0], xs[2], xs[3]}
	if res != nil && !res.Shape().Eq(ys) {
		g.Fail("pointwise mlp", fmt.Errorf("residual of shape %v, want %v", res.Shape(), ys))
		return nil
	}
	if g.composed {
		y := out.Forward(g, LeakyReLU(g, hidden.Forward(g, x), slope))
		if res != nil {
			y = Add(g, res, y)
		}
		return y
	}
	st := &pwState{
		geom:   pwGeom{n: xs[0], cin: xs[1], hid: w1s[0], cout: w2s[0], hw: xs[2] * xs[3]},
		xShape: xs.Clone(), yShape: ys,
		slope: slope, hasB1: hidden.B != nil, hasB2: out.B != nil, hasRes: res != nil,
	}
	op := &pwOp{opID: newOpID("PointwiseMLP"), st: st, dt: g.dtype, needDX: !g.isInput(x), needRes: res != nil && !g.isInput(res)}
	ins := []*G.Node{x, g.Param(hidden.W), g.Param(out.W)}
	if st.hasB1 {
		ins = append(ins, g.Param(hidden.B))
	}
	if st.hasB2 {
		ins = append(ins, g.Param(out.B))
	}
	if res != nil {
		ins = append(ins, res)
	}
	if !g.Ok(ins...) {
		return nil
	}
	return g.Do("pointwise mlp", func() (*G.Node, error) { return G.ApplyOp(op, ins...) })
}

type pwGeom struct{ n, cin, hid, cout, hw int }

// pwState is what the ops of one pointwise MLP share.
type pwState struct {
	geom                 pwGeom
	xShape, yShape       tensor.Shape
	slope                float64
	hasB1, hasB2, hasRes bool
	dw1, db1, dw2, db2   []float64 // left by the backward op
	computed             bool
}

// pwInputs are the forward op's inputs; b1, b2 and res may be nil.
type pwInputs[T float] struct{ x, w1, w2, b1, b2, res []T }

// pwSplit reads the forward op's inputs from in; for the backward op's
// inputs (forward false) it stops after b1.
func pwSplit[T float](st *pwState, in []G.Value, forward bool) (v pwInputs[T], err error) {
	g := st.geom
	if v.x, err = data[T](in[0], g.n*g.cin*g.hw); err != nil {
		return v, fmt.Errorf("pointwise mlp input: %w", err)
	}
	if v.w1, err = data[T](in[1], g.hid*g.cin); err != nil {
		return v, fmt.Errorf("pointwise mlp hidden filters: %w", err)
	}
	if v.w2, err = data[T](in[2], g.cout*g.hid); err != nil {
		return v, fmt.Errorf("pointwise mlp output filters: %w", err)
	}
	i := 3
	if st.hasB1 {
		if v.b1, err = data[T](in[i], g.hid); err != nil {
			return v, fmt.Errorf("pointwise mlp hidden bias: %w", err)
		}
		i++
	}
	if st.hasB2 && forward {
		if v.b2, err = data[T](in[i], g.cout); err != nil {
			return v, fmt.Errorf("pointwise mlp output bias: %w", err)
		}
		i++
	}
	if st.hasRes && forward {
		if v.res, err = data[T](in[i], g.n*g.cout*g.hw); err != nil {
			return v, fmt.Errorf("pointwise mlp residual: %w", err)
		}
	}
	return v, nil
}

// pwThread is one worker's scratch memory.
type pwThread[T float] struct {
	pre, h, dh []T // hid × pwBlock
	dots       []T
}

type pwWork[T float] struct {
	threads []pwThread[T]
	parts   [][]float64 // per chunk of samples: partial parameter gradients
}

func (w *pwWork[T]) thread(i int, hid, dots int) *pwThread[T] {
	if len(w.threads) <= i {
		w.threads = append(w.threads, make([]pwThread[T], i+1-len(w.threads))...)
	}
	t := &w.threads[i]
	if n := hid * pwBlock; len(t.pre) != n {
		// One buffer, the three parts offset by a few cache lines so that
		// the same pixel of two parts never lies a multiple of 4 KiB
		// apart (which makes loads wait on unrelated stores).
		const skew = 48
		buf := make([]T, 3*n+2*skew)
		t.pre, t.h, t.dh = buf[:n:n], buf[n+skew:2*n+skew:2*n+skew], buf[2*n+2*skew:]
	}
	t.dots = grow(t.dots, dots)
	return t
}

type pwWorks struct {
	f32 pwWork[float32]
	f64 pwWork[float64]
}

func pwWorkOf[T float](w *pwWorks) *pwWork[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(&w.f32).(*pwWork[T])
	}
	return any(&w.f64).(*pwWork[T])
}

func biasAt[T float](b []T, i int) T {
	if b == nil {
		return 0
	}
	return b[i]
}

// pwForward computes y = W2·leaky(W1·x + b1) + b2 (+ res) block by block.
func pwForward[T float](st *pwState, w *pwWork[T], v pwInputs[T], y []T) {
	g := st.geom
	nb := (g.hw + pwBlock - 1) / pwBlock
	nw := workers()
	for i := 0; i < nw; i++ {
		w.thread(i, g.hid, 0)
	}
	slope := T(st.slope)
	parallelItems(g.n*nb, nw, func(wi, it int) {
		t := &w.threads[wi]
		s, p0 := it/nb, (it%nb)*pwBlock
		pn := min(pwBlock, g.hw-p0)
		xs := v.x[s*g.cin*g.hw+p0:]
		for j := 0; j < g.hid; j++ {
			pwRow(g.cin, pn, v.w1[j*g.cin:], 1, xs, g.hw, biasAt(v.b1, j), t.h[j*pwBlock:], false, true, slope)
		}
		ys := y[s*g.cout*g.hw+p0:]
		for o := 0; o < g.cout; o++ {
			yo := ys[o*g.hw : o*g.hw+pn]
			if v.res != nil {
				copy(yo, v.res[(s*g.cout+o)*g.hw+p0:])
			}
			pwRow(g.hid, pn, v.w2[o*g.hid:], 1, t.h, pwBlock, biasAt(v.b2, o), yo, v.res != nil, false, 0)
		}
	})
}

// pwBackward computes dx (when needDX) and leaves the parameter gradients
// in st. The parameter gradients sum fixed chunks of samples, each in
// float64, and add the chunks in order: the result does not depend on the
// number of cores.
func pwBackward[T float](st *pwState, w *pwWork[T], v pwInputs[T], dy, dx []T, needDX bool) {
	g := st.geom
	nb := (g.hw + pwBlock - 1) / pwBlock
	chunks := max(1, min(filterChunks, g.n))
	nparts := g.hid*g.cin + g.hid + g.cout*g.hid + g.cout
	for len(w.parts) < chunks {
		w.parts = append(w.parts, nil)
	}
	for c := 0; c < chunks; c++ {
		w.parts[c] = grow(w.parts[c], nparts)
	}
	nw := min(workers(), chunks)
	for i := 0; i < nw; i++ {
		w.thread(i, g.hid, max(g.hid, g.cin))
	}
	slope := T(st.slope)
	o1, o2, o3 := g.hid*g.cin, g.hid*g.cin+g.hid, g.hid*g.cin+g.hid+g.cout*g.hid
	parallelItems(chunks, nw, func(wi, ch int) {
		t := &w.threads[wi]
		part := w.parts[ch]
		clear(part)
		pw1, pb1, pw2, pb2 := part[:o1], part[o1:o2], part[o2:o3], part[o3:]
		for s := ch * g.n / chunks; s < (ch+1)*g.n/chunks; s++ {
			for b := 0; b < nb; b++ {
				p0 := b * pwBlock
				pn := min(pwBlock, g.hw-p0)
				xs := v.x[s*g.cin*g.hw+p0:]
				dys := dy[s*g.cout*g.hw+p0:]
				for j := 0; j < g.hid; j++ {
					pre := t.pre[j*pwBlock : j*pwBlock+pn]
					pwRow(g.cin, pn, v.w1[j*g.cin:], 1, xs, g.hw, biasAt(v.b1, j), pre, false, false, 0)
					vLeakyMul(t.h[j*pwBlock:], pre, pre, slope)
				}
				// ∂L/∂W2 and ∂L/∂b2.
				for o := 0; o < g.cout; o++ {
					dyo := dys[o*g.hw : o*g.hw+pn]
					pwDots(g.hid, pn, dyo, t.h, pwBlock, t.dots)
					for j, d := range t.dots[:g.hid] {
						pw2[o*g.hid+j] += float64(d)
					}
					pb2[o] += float64(vSum(dyo))
				}
				// dh = leaky'(pre) ⊙ W2ᵀ·dy, then ∂L/∂W1 and ∂L/∂b1.
				for j := 0; j < g.hid; j++ {
					dh := t.dh[j*pwBlock : j*pwBlock+pn]
					pwRow(g.cout, pn, v.w2[j:], g.hid, dys, g.hw, 0, dh, false, false, 0)
					vLeakyMul(dh, t.pre[j*pwBlock:j*pwBlock+pn], dh, slope)
					pwDots(g.cin, pn, dh, xs, g.hw, t.dots)
					for c, d := range t.dots[:g.cin] {
						pw1[j*g.cin+c] += float64(d)
					}
					pb1[j] += float64(vSum(dh))
				}
				if needDX {
					dxs := dx[s*g.cin*g.hw+p0:]
					for c := 0; c < g.cin; c++ {
						pwRow(g.hid, pn, v.w1[c:], g.cin, t.dh, pwBlock, 0, dxs[c*g.hw:c*g.hw+pn], false, false, 0)
					}
				}
			}
		}
	})
	st.dw1, st.db1 = grow(st.dw1, o1), grow(st.db1, g.hid)
	st.dw2, st.db2 = grow(st.dw2, g.cout*g.hid), grow(st.db2, g.cout)
	for i := 0; i < nparts; i++ {
		var sum float64
		for c := 0; c < chunks; c++ {
			sum += w.parts[c][i]
		}
		switch {
		case i < o1:
			st.dw1[i] = sum
		case i < o2:
			st.db1[i-o1] = sum
		case i < o3:
			st.dw2[i-o2] = sum
		default:
			st.db2[i-o3] = sum
		}
	}
}

// pwRow sets y[p] = b + (acc ? y[p] : 0) + Σ_c<k a[c·acs]·x[c·ldx + p] for
// p < n and, with leaky, multiplies each result whose sign bit is set by
// slope.
func pwRow[T float](k, n int, a []T, acs int, x []T, ldx int, b T, y []T, acc, leaky bool, slope T) {
	if n <= 0 {
		return
	}
	if k > 0 {
		checkLen((k-1)*acs+1, len(a))
		checkLen((k-1)*ldx+n, len(x))
	}
	checkLen(n, len(y))
	n8 := 0
	if asm32[T]() {
		if n8 = n &^ 7; n8 > 0 {
			flags := 0
			if acc {
				flags |= 1
			}
			if leaky {
				flags |= 2
			}
			pwRow32(k, n8, ptr32(a, k), acs, ptr32(x, k), ldx, float32(b), ptr32(y, 1), flags, float32(slope))
		}
	}
	if n8 < n {
		pwRowGo(k, n8, n, a, acs, x, ldx, b, y, acc, leaky, slope)
	}
}

// ptr32 returns the address of s[0] as a float32 pointer, or nil when the
// loop that reads it runs zero times.
func ptr32[T float](s []T, count int) *float32 {
	if count == 0 || len(s) == 0 {
		return nil
	}
	return (*float32)(unsafe.Pointer(&s[0]))
}

func pwRowGo[T float](k, lo, hi int, a []T, acs int, x []T, ldx int, b T, y []T, acc, leaky bool, slope T) {
	yy := y[lo:hi]
	for i := range yy {
		if acc {
			yy[i] += b
		} else {
			yy[i] = b
		}
	}
	for c := 0; c < k; c++ {
		w := a[c*acs]
		for i, v := range x[c*ldx+lo : c*ldx+hi] {
			yy[i] += w * v
		}
	}
	if leaky {
		for i, v := range yy {
			if math.Signbit(float64(v)) {
				yy[i] = v * slope
			}
		}
	}
}

// pwDots sets out[c] = Σ_p<n a[p]·x[c·ldx + p] for c < k.
func pwDots[T float](k, n int, a, x []T, ldx int, out []T) {
	if k == 0 {
		return
	}
	checkLen(n, len(a))
	checkLen((k-1)*ldx+n, len(x))
	checkLen(k, len(out))
	n8 := 0
	if asm32[T]() && n >= 8 {
		n8 = n &^ 7
		pwDots32(k, n8, ptr32(a, 1), ptr32(x, 1), ldx, ptr32(out, 1))
	} else {
		clear(out[:k])
	}
	if n8 < n {
		for c := 0; c < k; c++ {
			var s T
			for i, v := range x[c*ldx+n8 : c*ldx+n] {
				s += a[n8+i] * v
			}
			out[c] += s
		}
	}
}

// vLeakyMul sets dst = src·(slope where the sign bit of pre is set, 1
// elsewhere), for the length of pre.
func vLeakyMul[T float](dst, pre, src []T, slope T) {
	n := len(pre)
	checkLen(n, len(dst), len(src))
	n8 := 0
	if asm32[T]() {
		if n8 = n &^ 7; n8 > 0 {
			leakyMul32(any(dst[:n8]).([]float32), any(pre[:n8]).([]float32), any(src[:n8]).([]float32), float32(slope))
		}
	}
	for i := n8; i < n; i++ {
		f := T(1)
		if math.Signbit(float64(pre[i])) {
			f = slope
		}
		dst[i] = src[i] * f
	}
}

// pwOp is (x, W1, W2[, b1][, b2][, res]) → y.
type pwOp struct {
	opID
	st      *pwState
	dt      tensor.Dtype
	needDX  bool
	needRes bool
	out     outputs
	work    pwWorks
}

func (op *pwOp) Arity() int {
	n := 3
	for _, b := range []bool{op.st.hasB1, op.st.hasB2, op.st.hasRes} {
		if b {
			n++
		}
	}
	return n
}

func (op *pwOp) Type() hm.Type {
	ins := []int{4, 4, 4}
	if op.st.hasB1 {
		ins = append(ins, 1)
	}
	if op.st.hasB2 {
		ins = append(ins, 1)
	}
	if op.st.hasRes {
		ins = append(ins, 4)
	}
	return fnType(4, ins...)
}

func (op *pwOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.st.yShape.Clone(), nil }

func (op *pwOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return pwDo[float32](op, in) }, func() (G.Value, error) { return pwDo[float64](op, in) })
}

func pwDo[T float](op *pwOp, in []G.Value) (G.Value, error) {
	v, err := pwSplit[T](op.st, in, true)
	if err != nil {
		return nil, err
	}
	y, out := outputOf[T](&op.out).get(op.st.yShape, in...)
	pwForward(op.st, pwWorkOf[T](&op.work), v, y)
	op.st.computed = true
	return out, nil
}

func (op *pwOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	d[0] = op.needDX
	if op.st.hasRes {
		d[n-1] = op.needRes
	}
	return d
}

func (op *pwOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	st := op.st
	back := &pwBackOp{opID: newOpID("PointwiseMLPGrad"), st: st, dt: op.dt, needDX: op.needDX}
	bins := G.Nodes{in[0], in[1], in[2]}
	if st.hasB1 {
		bins = append(bins, in[3])
	}
	bins = append(bins, out, grad)
	dx, err := G.ApplyOp(back, bins...)
	if err != nil {
		return nil, err
	}
	grads := make(G.Nodes, len(in))
	if op.needDX {
		grads[0] = dx
	}
	which := []int{pwGradW1, pwGradW2}
	if st.hasB1 {
		which = append(which, pwGradB1)
	}
	if st.hasB2 {
		which = append(which, pwGradB2)
	}
	for i, w := range which {
		if grads[1+i], err = G.ApplyOp(&pwGradOp{opID: newOpID("PointwiseMLPGradParam"), st: st, dt: op.dt, which: w}, dx); err != nil {
			return nil, err
		}
	}
	if st.hasRes && op.needRes {
		grads[len(in)-1] = grad
	}
	return grads, nil
}

// pwBackOp is (x, W1, W2[, b1], y, dy) → dx; it leaves the parameter
// gradients in the state. y orders it after the forward op. Compile sets
// noDX when only the parameter gradients read its result.
type pwBackOp struct {
	opID
	noGradOp
	st     *pwState
	dt     tensor.Dtype
	needDX bool
	noDX   bool
	out    outputs
	work   pwWorks
}

func (op *pwBackOp) Arity() int {
	if op.st.hasB1 {
		return 6
	}
	return 5
}

func (op *pwBackOp) Type() hm.Type {
	if op.st.hasB1 {
		return fnType(4, 4, 4, 4, 1, 4, 4)
	}
	return fnType(4, 4, 4, 4, 4, 4)
}

func (op *pwBackOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.st.xShape.Clone(), nil
}

func (op *pwBackOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return pwBackDo[float32](op, in) }, func() (G.Value, error) { return pwBackDo[float64](op, in) })
}

func pwBackDo[T float](op *pwBackOp, in []G.Value) (G.Value, error) {
	st := op.st
	dx, out := outputOf[T](&op.out).get(st.xShape, in...)
	if op.skip {
		return out, nil
	}
	if !st.computed {
		return nil, fmt.Errorf("pointwise mlp gradient: the forward pass has not run")
	}
	v, err := pwSplit[T](st, in, false)
	if err != nil {
		return nil, err
	}
	g := st.geom
	dy, err := data[T](in[len(in)-1], g.n*g.cout*g.hw)
	if err != nil {
		return nil, fmt.Errorf("pointwise mlp gradient: %w", err)
	}
	pwBackward(st, pwWorkOf[T](&op.work), v, dy, dx, op.needDX && !op.noDX)
	return out, nil
}

// Which parameter gradient a pwGradOp hands out.
const (
	pwGradW1 = iota
	pwGradW2
	pwGradB1
	pwGradB2
)

// pwGradOp is dx → one parameter gradient, read from the state the backward
// op filled.
type pwGradOp struct {
	opID
	noGradOp
	st    *pwState
	dt    tensor.Dtype
	which int
	out   outputs
}

func (op *pwGradOp) shape() tensor.Shape {
	g := op.st.geom
	switch op.which {
	case pwGradW1:
		return tensor.Shape{g.hid, g.cin, 1, 1}
	case pwGradW2:
		return tensor.Shape{g.cout, g.hid, 1, 1}
	case pwGradB1:
		return tensor.Shape{g.hid}
	}
	return tensor.Shape{g.cout}
}

func (op *pwGradOp) Arity() int    { return 1 }
func (op *pwGradOp) Type() hm.Type { return fnType(op.shape().Dims(), 4) }
func (op *pwGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.shape(), nil
}

func (op *pwGradOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return pwGradDo[float32](op, in) }, func() (G.Value, error) { return pwGradDo[float64](op, in) })
}

func pwGradDo[T float](op *pwGradOp, in []G.Value) (G.Value, error) {
	d, out := outputOf[T](&op.out).get(op.shape(), in...)
	if op.skip {
		return out, nil
	}
	src := [...][]float64{op.st.dw1, op.st.dw2, op.st.db1, op.st.db2}[op.which]
	if len(src) != len(d) {
		return nil, fmt.Errorf("pointwise mlp gradient: the backward pass has not run")
	}
	for i, v := range src {
		d[i] = T(v)
	}
	return out, nil
}

// markPointwiseDX sets noDX on every pointwise MLP backward op whose input
// gradient only its own parameter gradients read (the input is detached or
// not differentiated).
func (g *Graph) markPointwiseDX() {
	for _, n := range g.g.AllNodes() {
		op, ok := n.Op().(*pwBackOp)
		if !ok {
			continue
		}
		op.noDX = true
		for readers := g.g.To(n.ID()); readers.Next(); {
			r, ok := readers.Node().(*G.Node)
			if !ok {
				op.noDX = false
				break
			}
			if _, isGrad := r.Op().(*pwGradOp); isGrad {
				continue
			}
			if s, isSkipper := r.Op().(skipper); isSkipper && s.skipped() {
				continue
			}
			op.noDX = false
			break
		}
	}
}
