package flow

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"unsafe"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// flowMerge returns the (N, 3, H, W) tensor whose channel a is the single
// channel of x1 (N, 1, H, W) and whose channels rest[0], rest[1] are the two
// channels of x2 (N, 2, H, W): the inverse of splitting a coupling block's
// input with nn.SelectChannels. The output is fresh memory; the gradient
// with respect to each input is the matching nn.SelectChannels of the
// output's gradient.
func flowMerge(g *nn.Graph, x1, x2 *G.Node, a int, rest [2]int) *G.Node {
	if !g.Ok(x1, x2) {
		return nil
	}
	s1, s2 := x1.Shape(), x2.Shape()
	if s1.Dims() != 4 || s2.Dims() != 4 || s1[1] != 1 || s2[1] != 2 ||
		s1[0] != s2[0] || s1[2] != s2[2] || s1[3] != s2[3] {
		g.Fail("flow merge", fmt.Errorf("halves of shapes %v and %v, want (N, 1, H, W) and (N, 2, H, W)", s1, s2))
		return nil
	}
	op := &flowMergeOp{g: g, shape: tensor.Shape{s1[0], 3, s1[2], s1[3]}, a: a, rest: rest}
	return g.Do("flow merge", func() (*G.Node, error) { return G.ApplyOp(op, x1, x2) })
}

type flowMergeOp struct {
	g     *nn.Graph // for building the gradient
	shape tensor.Shape
	a     int
	rest  [2]int
	// The output memory, kept from one run to the next: the tape machine
	// is done with a run's values before the next run starts.
	buf32 []float32
	buf64 []float64
}

func (*flowMergeOp) Arity() int { return 2 }

func (*flowMergeOp) Type() hm.Type {
	t := &G.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}

func (op *flowMergeOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

func (op *flowMergeOp) Do(in ...G.Value) (G.Value, error) {
	x1, ok1 := in[0].(*tensor.Dense)
	x2, ok2 := in[1].(*tensor.Dense)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("flow merge: unsupported values %T, %T", in[0], in[1])
	}
	n, hw := op.shape[0], op.shape[2]*op.shape[3]
	switch x1.Data().(type) {
	case []float32:
		a, aok := x1.Data().([]float32)
		b, bok := x2.Data().([]float32)
		if !aok || !bok || len(a) != n*hw || len(b) != 2*n*hw {
			return nil, fmt.Errorf("flow merge: inputs %v and %v do not fit %v", x1.Shape(), x2.Shape(), op.shape)
		}
		op.buf32 = reuseBuffer(op.buf32, 3*n*hw, a, b)
		flowMergeData(op.buf32, a, b, n, hw, op.a, op.rest)
		return tensor.New(tensor.WithShape(op.shape...), tensor.WithBacking(op.buf32)), nil
	case []float64:
		a, aok := x1.Data().([]float64)
		b, bok := x2.Data().([]float64)
		if !aok || !bok || len(a) != n*hw || len(b) != 2*n*hw {
			return nil, fmt.Errorf("flow merge: inputs %v and %v do not fit %v", x1.Shape(), x2.Shape(), op.shape)
		}
		op.buf64 = reuseBuffer(op.buf64, 3*n*hw, a, b)
		flowMergeData(op.buf64, a, b, n, hw, op.a, op.rest)
		return tensor.New(tensor.WithShape(op.shape...), tensor.WithBacking(op.buf64)), nil
	}
	return nil, fmt.Errorf("flow merge: unsupported dtype %v", x1.Dtype())
}

// reuseBuffer returns buf if it holds n elements and overlaps none of the
// inputs (a run without a reset between runs could hand an op its own
// output), and fresh memory otherwise.
func reuseBuffer[T float32 | float64](buf []T, n int, in ...[]T) []T {
	if len(buf) != n {
		return make([]T, n)
	}
	var z T
	size := uintptr(unsafe.Sizeof(z))
	lo := uintptr(unsafe.Pointer(&buf[0]))
	hi := lo + uintptr(n)*size
	for _, s := range in {
		if len(s) == 0 {
			continue
		}
		a := uintptr(unsafe.Pointer(&s[0]))
		if a < hi && lo < a+uintptr(len(s))*size {
			return make([]T, n)
		}
	}
	return buf
}

func flowMergeData[T float32 | float64](dst, x1, x2 []T, n, hw, a int, rest [2]int) {
	for b := range n {
		copy(dst[(b*3+a)*hw:(b*3+a+1)*hw], x1[b*hw:(b+1)*hw])
		for j, c := range rest {
			copy(dst[(b*3+c)*hw:(b*3+c+1)*hw], x2[(b*2+j)*hw:(b*2+j+1)*hw])
		}
	}
}

// In a cuda build the flow's ops run on the GPU (flowops_cuda.go), where
// gorgonia hands an op preallocated device memory only if it says it returns
// a pointer and calls an extern.
func (*flowMergeOp) ReturnsPtr() bool     { return nn.CUDABuild() }
func (*flowMergeOp) CallsExtern() bool    { return nn.CUDABuild() }
func (*flowMergeOp) OverwritesInput() int { return -1 }

func (op *flowMergeOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "FlowMerge%v@%d%v", op.shape, op.a, op.rest)
}

func (op *flowMergeOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *flowMergeOp) String() string { return fmt.Sprintf("FlowMerge@%d%v", op.a, op.rest) }

func (*flowMergeOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op *flowMergeOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	g1 := nn.SelectChannels(op.g, grad, []int{op.a})
	g2 := nn.SelectChannels(op.g, grad, op.rest[:])
	if g1 == nil || g2 == nil {
		if err := op.g.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("flow merge: gradient not built")
	}
	return G.Nodes{g1, g2}, nil
}

// flowLeakyReLU returns x where x ≥ 0 and slope·x elsewhere, as one op (and
// one op for its gradient) rather than the six that gorgonia's LeakyRelu
// composes.
func flowLeakyReLU(g *nn.Graph, x *G.Node, slope float64) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	op := flowLeakyOp{slope: slope, shape: x.Shape().Clone()}
	return g.Do("flow leaky relu", func() (*G.Node, error) { return G.ApplyOp(op, x) })
}

// flowLeakyOp is the forward op of flowLeakyReLU; with grad set it is the
// backward op instead, mapping (x, dy) to dy where x ≥ 0 and slope·dy
// elsewhere.
type flowLeakyOp struct {
	slope float64
	shape tensor.Shape
	grad  bool
}

func (op flowLeakyOp) Arity() int {
	if op.grad {
		return 2
	}
	return 1
}

func (op flowLeakyOp) Type() hm.Type {
	t := &G.TensorType{Dims: op.shape.Dims(), Of: hm.TypeVariable('a')}
	if op.grad {
		return hm.NewFnType(t, t, t)
	}
	return hm.NewFnType(t, t)
}

func (op flowLeakyOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

func (op flowLeakyOp) Do(in ...G.Value) (G.Value, error) {
	x, ok := in[0].(*tensor.Dense)
	src := x
	if op.grad {
		src, ok = in[1].(*tensor.Dense)
	}
	if !ok || x.Shape().TotalSize() != op.shape.TotalSize() || src.Shape().TotalSize() != op.shape.TotalSize() {
		return nil, fmt.Errorf("%v: inputs %v do not fit shape %v", op, in, op.shape)
	}
	out := tensor.New(tensor.WithShape(op.shape...), tensor.Of(x.Dtype()))
	switch dst := out.Data().(type) {
	case []float32:
		xs, ok1 := x.Data().([]float32)
		ss, ok2 := src.Data().([]float32)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%v: mixed dtypes", op)
		}
		flowLeaky32(dst, xs, ss, float32(op.slope))
	case []float64:
		xs, ok1 := x.Data().([]float64)
		ss, ok2 := src.Data().([]float64)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%v: mixed dtypes", op)
		}
		flowLeaky64(dst, xs, ss, op.slope)
	default:
		return nil, fmt.Errorf("%v: unsupported dtype %v", op, x.Dtype())
	}
	return out, nil
}

// flowLeaky32 sets dst = src where x ≥ 0 and slope·src where x < 0 (the
// two agree at x = 0 in the forward pass, where src = x). The factor is
// looked up by the sign bit rather than branched on, since the sign of x is
// as good as random.
func flowLeaky32(dst, x, src []float32, slope float32) {
	factor := [2]float32{1, slope}
	src, dst = src[:len(x)], dst[:len(x)]
	for i, v := range x {
		dst[i] = factor[math.Float32bits(v)>>31] * src[i]
	}
}

// flowLeaky64 is flowLeaky32 for float64.
func flowLeaky64(dst, x, src []float64, slope float64) {
	factor := [2]float64{1, slope}
	src, dst = src[:len(x)], dst[:len(x)]
	for i, v := range x {
		dst[i] = factor[math.Float64bits(v)>>63] * src[i]
	}
}

func (flowLeakyOp) ReturnsPtr() bool     { return nn.CUDABuild() }
func (flowLeakyOp) CallsExtern() bool    { return nn.CUDABuild() }
func (flowLeakyOp) OverwritesInput() int { return -1 }

func (op flowLeakyOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "FlowLeakyReLU(%v, grad=%v)%v", op.slope, op.grad, op.shape)
}

func (op flowLeakyOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op flowLeakyOp) String() string {
	if op.grad {
		return fmt.Sprintf("FlowLeakyReLUGrad(%v)", op.slope)
	}
	return fmt.Sprintf("FlowLeakyReLU(%v)", op.slope)
}

func (op flowLeakyOp) DiffWRT(n int) []bool {
	// The backward op is not differentiated again: it is piecewise linear
	// in dy with a mask that is constant almost everywhere.
	return []bool{!op.grad, false}[:n]
}

func (op flowLeakyOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if op.grad {
		return nil, fmt.Errorf("%v: no second derivative", op)
	}
	back := op
	back.grad = true
	dx, err := G.ApplyOp(back, in[0], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}
