package nn

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ReLU, max pooling and global average pooling as single ops with their own
// backward ops, split over the cores.

// chunked calls f on [lo, hi) ranges covering [0, n), in parallel.
func chunked(n int, f func(lo, hi int)) {
	const grain = 1 << 15
	items := max(1, (n+grain-1)/grain)
	parallelItems(items, workers(), func(_, i int) {
		f(i*n/items, (i+1)*n/items)
	})
}

// planes calls f on ranges [lo, hi) of n planes of hw elements each, in
// parallel, each range about 32K elements.
func planes(n, hw int, f func(lo, hi int)) {
	per := max(1, (1<<15)/max(hw, 1))
	items := (n + per - 1) / per
	parallelItems(items, workers(), func(_, i int) { f(i*per, min(n, (i+1)*per)) })
}

// reluOp is x → max(x, 0).
type reluOp struct {
	opID
	shape tensor.Shape
	dt    tensor.Dtype
	out   outputs
}

func (op *reluOp) Arity() int { return 1 }
func (op *reluOp) Type() hm.Type {
	return fnType(op.shape.Dims(), op.shape.Dims())
}
func (op *reluOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (op *reluOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return reluDo[float32](op, in) }, func() (G.Value, error) { return reluDo[float64](op, in) })
}

func reluDo[T float](op *reluOp, in []G.Value) (G.Value, error) {
	x, err := data[T](in[0], op.shape.TotalSize())
	if err != nil {
		return nil, fmt.Errorf("relu: %w", err)
	}
	y, out := outputOf[T](&op.out).get(op.shape, in...)
	chunked(len(x), func(lo, hi int) { vRelu(y[lo:hi], x[lo:hi]) })
	return out, nil
}

func (op *reluOp) DiffWRT(int) []bool { return []bool{true} }
func (op *reluOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&reluBackOp{opID: newOpID("ReLUGrad"), shape: op.shape, dt: op.dt}, out, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

// reluBackOp is (y, dy) → dy·[y > 0].
type reluBackOp struct {
	opID
	noGradOp
	shape tensor.Shape
	dt    tensor.Dtype
	out   outputs
}

func (op *reluBackOp) Arity() int { return 2 }
func (op *reluBackOp) Type() hm.Type {
	d := op.shape.Dims()
	return fnType(d, d, d)
}
func (op *reluBackOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (op *reluBackOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return reluBackDo[float32](op, in) }, func() (G.Value, error) { return reluBackDo[float64](op, in) })
}

func reluBackDo[T float](op *reluBackOp, in []G.Value) (G.Value, error) {
	n := op.shape.TotalSize()
	y, err := data[T](in[0], n)
	if err != nil {
		return nil, fmt.Errorf("relu gradient: %w", err)
	}
	dy, err := data[T](in[1], n)
	if err != nil {
		return nil, fmt.Errorf("relu gradient: %w", err)
	}
	dx, out := outputOf[T](&op.out).get(op.shape, in...)
	if op.skip {
		return out, nil
	}
	chunked(n, func(lo, hi int) { vReluBack(dx[lo:hi], y[lo:hi], dy[lo:hi]) })
	return out, nil
}

func reluFast(g *Graph, x *G.Node) *G.Node {
	op := &reluOp{opID: newOpID("ReLU"), shape: x.Shape().Clone(), dt: g.dtype}
	return g.Do("relu", func() (*G.Node, error) { return G.ApplyOp(op, x) })
}

// poolGeom describes a k×k max pooling of (n, c, h, w).
type poolGeom struct {
	n, c, h, w, k, stride, pad, oh, ow int
}

func (p poolGeom) inShape() tensor.Shape  { return tensor.Shape{p.n, p.c, p.h, p.w} }
func (p poolGeom) outShape() tensor.Shape { return tensor.Shape{p.n, p.c, p.oh, p.ow} }

// maxPoolOp is x → y, recording the arg-max of each window.
type maxPoolOp struct {
	opID
	p      poolGeom
	dt     tensor.Dtype
	argmax []int32 // index within the input plane, per output element
	ran    bool
	out    outputs
}

func (op *maxPoolOp) Arity() int                                     { return 1 }
func (op *maxPoolOp) Type() hm.Type                                  { return fnType(4, 4) }
func (op *maxPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.p.outShape(), nil }
func (op *maxPoolOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return maxPoolDo[float32](op, in) }, func() (G.Value, error) { return maxPoolDo[float64](op, in) })
}

func maxPoolDo[T float](op *maxPoolOp, in []G.Value) (G.Value, error) {
	p := op.p
	x, err := data[T](in[0], p.n*p.c*p.h*p.w)
	if err != nil {
		return nil, fmt.Errorf("max pool: %w", err)
	}
	y, out := outputOf[T](&op.out).get(p.outShape(), in...)
	if len(op.argmax) != len(y) {
		op.argmax = make([]int32, len(y))
	}
	ohw, hw := p.oh*p.ow, p.h*p.w
	parallelItems(p.n*p.c, workers(), func(_, plane int) {
		xs := x[plane*hw : (plane+1)*hw]
		ys := y[plane*ohw : (plane+1)*ohw]
		am := op.argmax[plane*ohw : (plane+1)*ohw]
		if p.k == 2 && p.stride == 2 && p.pad == 0 && p.ow%8 == 0 && asm32[T]() {
			for oy := 0; oy < p.oh; oy++ {
				r0 := any(xs[2*oy*p.w : 2*oy*p.w+2*p.ow]).([]float32)
				r1 := any(xs[(2*oy+1)*p.w : (2*oy+1)*p.w+2*p.ow]).([]float32)
				maxPool2x2Row32(any(ys[oy*p.ow:(oy+1)*p.ow]).([]float32), am[oy*p.ow:(oy+1)*p.ow], r0, r1, int32(2*oy*p.w), int32(p.w))
			}
			return
		}
		if p.k == 2 && p.stride == 2 && p.pad == 0 {
			for oy := 0; oy < p.oh; oy++ {
				r0 := xs[2*oy*p.w : 2*oy*p.w+p.w]
				r1 := xs[(2*oy+1)*p.w : (2*oy+1)*p.w+p.w]
				for ox := 0; ox < p.ow; ox++ {
					best, bi := r0[2*ox], 2*oy*p.w+2*ox
					if v := r0[2*ox+1]; v > best {
						best, bi = v, 2*oy*p.w+2*ox+1
					}
					if v := r1[2*ox]; v > best {
						best, bi = v, (2*oy+1)*p.w+2*ox
					}
					if v := r1[2*ox+1]; v > best {
						best, bi = v, (2*oy+1)*p.w+2*ox+1
					}
					ys[oy*p.ow+ox], am[oy*p.ow+ox] = best, int32(bi)
				}
			}
			return
		}
		for oy := 0; oy < p.oh; oy++ {
			for ox := 0; ox < p.ow; ox++ {
				best, bi := T(math.Inf(-1)), -1
				for ki := 0; ki < p.k; ki++ {
					iy := oy*p.stride + ki - p.pad
					if iy < 0 || iy >= p.h {
						continue
					}
					for kj := 0; kj < p.k; kj++ {
						ix := ox*p.stride + kj - p.pad
						if ix < 0 || ix >= p.w {
							continue
						}
						if v := xs[iy*p.w+ix]; bi < 0 || v > best {
							best, bi = v, iy*p.w+ix
						}
					}
				}
				ys[oy*p.ow+ox], am[oy*p.ow+ox] = best, int32(bi)
			}
		}
	})
	op.ran = true
	return out, nil
}

func (op *maxPoolOp) DiffWRT(int) []bool { return []bool{true} }
func (op *maxPoolOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&maxPoolBackOp{opID: newOpID("MaxPoolGrad"), fwd: op, dt: op.dt}, out, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

// maxPoolBackOp is (y, dy) → dx, routing each gradient to its window's
// arg-max. y is read only to order it after the forward op.
type maxPoolBackOp struct {
	opID
	noGradOp
	fwd *maxPoolOp
	dt  tensor.Dtype
	out outputs
}

func (op *maxPoolBackOp) Arity() int    { return 2 }
func (op *maxPoolBackOp) Type() hm.Type { return fnType(4, 4, 4) }
func (op *maxPoolBackOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.fwd.p.inShape(), nil
}
func (op *maxPoolBackOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return maxPoolBackDo[float32](op, in) }, func() (G.Value, error) { return maxPoolBackDo[float64](op, in) })
}

func maxPoolBackDo[T float](op *maxPoolBackOp, in []G.Value) (G.Value, error) {
	p := op.fwd.p
	if !op.fwd.ran {
		return nil, fmt.Errorf("max pool gradient: the forward pass has not run")
	}
	dy, err := data[T](in[1], p.n*p.c*p.oh*p.ow)
	if err != nil {
		return nil, fmt.Errorf("max pool gradient: %w", err)
	}
	dx, out := outputOf[T](&op.out).get(p.inShape(), in...)
	if op.skip {
		return out, nil
	}
	ohw, hw := p.oh*p.ow, p.h*p.w
	parallelItems(p.n*p.c, workers(), func(_, plane int) {
		dxs := dx[plane*hw : (plane+1)*hw]
		clear(dxs)
		ds := dy[plane*ohw : (plane+1)*ohw]
		for i, a := range op.fwd.argmax[plane*ohw : (plane+1)*ohw] {
			if a >= 0 {
				dxs[a] += ds[i]
			}
		}
	})
	return out, nil
}

func maxPoolFast(g *Graph, x *G.Node, k, stride, pad int) *G.Node {
	s := x.Shape()
	p := poolGeom{n: s[0], c: s[1], h: s[2], w: s[3], k: k, stride: stride, pad: pad}
	if k > 0 && stride > 0 {
		p.oh = (p.h+2*pad-k)/stride + 1
		p.ow = (p.w+2*pad-k)/stride + 1
	}
	if p.oh <= 0 || p.ow <= 0 || k <= 0 || stride <= 0 || pad < 0 {
		g.Fail("max pool", fmt.Errorf("input %v too small for a %d×%d window with padding %d and stride %d", s, k, k, pad, stride))
		return nil
	}
	op := &maxPoolOp{opID: newOpID("MaxPool2d"), p: p, dt: g.dtype}
	return g.Do("max pool", func() (*G.Node, error) { return G.ApplyOp(op, x) })
}

// gapOp is (N, C, H, W) → (N, C), the mean over each plane.
type gapOp struct {
	opID
	shape tensor.Shape // input shape
	dt    tensor.Dtype
	out   outputs
}

func (op *gapOp) Arity() int    { return 1 }
func (op *gapOp) Type() hm.Type { return fnType(2, 4) }
func (op *gapOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.shape[0], op.shape[1]}, nil
}
func (op *gapOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return gapDo[float32](op, in) }, func() (G.Value, error) { return gapDo[float64](op, in) })
}

func gapDo[T float](op *gapOp, in []G.Value) (G.Value, error) {
	s := op.shape
	hw := s[2] * s[3]
	x, err := data[T](in[0], s.TotalSize())
	if err != nil {
		return nil, fmt.Errorf("global average pool: %w", err)
	}
	y, out := outputOf[T](&op.out).get(tensor.Shape{s[0], s[1]}, in...)
	planes(len(y), hw, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var sum T
			for _, v := range x[i*hw : (i+1)*hw] {
				sum += v
			}
			y[i] = sum / T(hw)
		}
	})
	return out, nil
}

func (op *gapOp) DiffWRT(int) []bool { return []bool{true} }
func (op *gapOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&gapBackOp{opID: newOpID("GlobalAvgPoolGrad"), shape: op.shape, dt: op.dt}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

// gapBackOp is dy (N, C) → dx (N, C, H, W) = dy/(H·W) on every pixel.
type gapBackOp struct {
	opID
	noGradOp
	shape tensor.Shape
	dt    tensor.Dtype
	out   outputs
}

func (op *gapBackOp) Arity() int                                     { return 1 }
func (op *gapBackOp) Type() hm.Type                                  { return fnType(4, 2) }
func (op *gapBackOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (op *gapBackOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return gapBackDo[float32](op, in) }, func() (G.Value, error) { return gapBackDo[float64](op, in) })
}

func gapBackDo[T float](op *gapBackOp, in []G.Value) (G.Value, error) {
	s := op.shape
	hw := s[2] * s[3]
	dy, err := data[T](in[0], s[0]*s[1])
	if err != nil {
		return nil, fmt.Errorf("global average pool gradient: %w", err)
	}
	dx, out := outputOf[T](&op.out).get(s, in...)
	if op.skip {
		return out, nil
	}
	planes(len(dy), hw, func(lo, hi int) {
		for i, d := range dy[lo:hi] {
			v := d / T(hw)
			row := dx[(lo+i)*hw : (lo+i+1)*hw]
			for j := range row {
				row[j] = v
			}
		}
	})
	return out, nil
}

func globalAvgPoolFast(g *Graph, x *G.Node) *G.Node {
	op := &gapOp{opID: newOpID("GlobalAvgPool"), shape: x.Shape().Clone(), dt: g.dtype}
	return g.Do("global average pool", func() (*G.Node, error) { return G.ApplyOp(op, x) })
}
