package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The functions in this file compose gorgonia ops into the building blocks
// that layers and losses need, avoiding the ops known to be silently wrong:
// every reduction here runs over a single axis.

// ReLU returns max(x, 0).
func ReLU(g *Graph, x *G.Node) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	if !g.composed && !x.IsScalar() {
		if y := fuseReLU(g, x); y != nil || g.err != nil {
			return y
		}
		if y := fuseAddReLU(g, x); y != nil || g.err != nil {
			return y
		}
		return reluFast(g, x)
	}
	if g.dnn && x.Dims() == 4 {
		return dnnReLU(g, x)
	}
	return g.Do("relu", func() (*G.Node, error) { return G.Rectify(x) })
}

// LeakyReLU returns x for x > 0 and alpha·x otherwise.
func LeakyReLU(g *Graph, x *G.Node, alpha float64) *G.Node {
	return g.Do("leaky relu", func() (*G.Node, error) { return G.LeakyRelu(x, alpha) })
}

// MaxPool2d takes the maximum over k×k windows of an NCHW tensor.
func MaxPool2d(g *Graph, x *G.Node, k, stride, pad int) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	if !g.composed {
		if x.Dims() != 4 {
			g.Fail("max pool", fmt.Errorf("input shape %v, want NCHW", x.Shape()))
			return nil
		}
		if y := fusePool(g, x, k, stride, pad); y != nil || g.err != nil {
			return y
		}
		return maxPoolFast(g, x, k, stride, pad)
	}
	if g.dnn && x.Dims() == 4 {
		return dnnMaxPool2d(g, x, k, stride, pad)
	}
	return g.Do("max pool", func() (*G.Node, error) {
		return G.MaxPool2D(x, tensor.Shape{k, k}, []int{pad, pad}, []int{stride, stride})
	})
}

// Flatten reshapes (N, ...) to (N, rest).
func Flatten(g *Graph, x *G.Node) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	s := x.Shape()
	return Reshape(g, x, s[0], s.TotalSize()/s[0])
}

// SumAxis sums over one axis, removing it.
func SumAxis(g *Graph, x *G.Node, axis int) *G.Node {
	return g.Do(fmt.Sprintf("sum over axis %d", axis), func() (*G.Node, error) { return G.Sum(x, axis) })
}

// MeanAxis averages over one axis, removing it.
func MeanAxis(g *Graph, x *G.Node, axis int) *G.Node {
	return g.Do(fmt.Sprintf("mean over axis %d", axis), func() (*G.Node, error) { return G.Mean(x, axis) })
}

// Mean averages every element to a scalar, one axis at a time.
func Mean(g *Graph, x *G.Node) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	for x != nil && x.Dims() > 1 {
		x = MeanAxis(g, x, x.Dims()-1)
	}
	if x == nil {
		return nil
	}
	return MeanAxis(g, x, 0)
}

// Sum adds every element to a scalar, one axis at a time.
func Sum(g *Graph, x *G.Node) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	for x != nil && x.Dims() > 1 {
		x = SumAxis(g, x, x.Dims()-1)
	}
	if x == nil {
		return nil
	}
	return SumAxis(g, x, 0)
}

// GlobalAvgPool averages an NCHW tensor over H and W, giving (N, C). Unlike
// gorgonia's GlobalAveragePool2D it has a gradient.
func GlobalAvgPool(g *Graph, x *G.Node) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	s := x.Shape()
	if len(s) != 4 {
		g.Fail("global average pool", fmt.Errorf("input shape %v, want NCHW", s))
		return nil
	}
	if !g.composed {
		return globalAvgPoolFast(g, x)
	}
	if g.dnn {
		return dnnGlobalAvgPool(g, x)
	}
	return MeanAxis(g, Reshape(g, x, s[0], s[1], s[2]*s[3]), 2)
}

// Add, Sub, Mul and Div are element-wise operations on equal shapes. With
// the fused layers, Add of two NCHW tensors is a residual sum: the batch
// norms that feed it and a ReLU applied to it fuse into it (see resOp).
func Add(g *Graph, a, b *G.Node) *G.Node {
	if g.Ok(a, b) && !g.composed && a.Dims() == 4 && a.Shape().Eq(b.Shape()) && a.Dtype() == g.dtype && b.Dtype() == g.dtype {
		return addFast(g, a, b)
	}
	return g.Do("add", func() (*G.Node, error) { return G.Add(a, b) })
}

// Sub returns a - b element-wise.
func Sub(g *Graph, a, b *G.Node) *G.Node {
	return g.Do("sub", func() (*G.Node, error) { return G.Sub(a, b) })
}

// Mul returns a ⊙ b element-wise.
func Mul(g *Graph, a, b *G.Node) *G.Node {
	return g.Do("hadamard product", func() (*G.Node, error) { return G.HadamardProd(a, b) })
}

// Scale multiplies x by a constant.
func Scale(g *Graph, x *G.Node, c float64) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	var s *G.Node
	if g.dtype == tensor.Float32 {
		s = G.NewConstant(float32(c))
	} else {
		s = G.NewConstant(c)
	}
	return g.Do("scale", func() (*G.Node, error) { return G.Mul(x, s) })
}

// AddScalar adds a constant to every element.
func AddScalar(g *Graph, x *G.Node, c float64) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	var s *G.Node
	if g.dtype == tensor.Float32 {
		s = G.NewConstant(float32(c))
	} else {
		s = G.NewConstant(c)
	}
	return g.Do("add scalar", func() (*G.Node, error) { return G.Add(x, s) })
}

// MatMul returns the matrix product a·b.
func MatMul(g *Graph, a, b *G.Node) *G.Node {
	return g.Do("matmul", func() (*G.Node, error) { return G.Mul(a, b) })
}

// MatMulT returns a·bᵀ.
func MatMulT(g *Graph, a, b *G.Node) *G.Node {
	bt := g.Do("transpose", func() (*G.Node, error) { return G.Transpose(b, 1, 0) })
	return MatMul(g, a, bt)
}

// Exp, Log, Square, Sqrt and Tanh are element-wise.
func Exp(g *Graph, x *G.Node) *G.Node {
	return g.Do("exp", func() (*G.Node, error) { return G.Exp(x) })
}

// Log returns the natural logarithm element-wise.
func Log(g *Graph, x *G.Node) *G.Node {
	return g.Do("log", func() (*G.Node, error) { return G.Log(x) })
}

// Square returns x² element-wise.
func Square(g *Graph, x *G.Node) *G.Node {
	return g.Do("square", func() (*G.Node, error) { return G.Square(x) })
}

// Sqrt returns √x element-wise.
func Sqrt(g *Graph, x *G.Node) *G.Node {
	return g.Do("sqrt", func() (*G.Node, error) { return G.Sqrt(x) })
}

// Tanh returns tanh(x) element-wise.
func Tanh(g *Graph, x *G.Node) *G.Node {
	return g.Do("tanh", func() (*G.Node, error) { return G.Tanh(x) })
}

// Neg returns -x.
func Neg(g *Graph, x *G.Node) *G.Node {
	return g.Do("neg", func() (*G.Node, error) { return G.Neg(x) })
}

// broadcast applies op to a (full shape) and b, where b has size 1 along the
// axes listed in pattern.
func broadcast(g *Graph, name string, op func(a, b *G.Node, l, r []byte) (*G.Node, error), a, b *G.Node, pattern ...byte) *G.Node {
	return g.Do(name, func() (*G.Node, error) { return op(a, b, nil, pattern) })
}

// BroadcastAdd returns a + b, where b has size 1 along the axes in pattern.
func BroadcastAdd(g *Graph, a, b *G.Node, pattern ...byte) *G.Node {
	return broadcast(g, "broadcast add", G.BroadcastAdd, a, b, pattern...)
}

// BroadcastSub returns a - b, where b has size 1 along the axes in pattern.
func BroadcastSub(g *Graph, a, b *G.Node, pattern ...byte) *G.Node {
	return broadcast(g, "broadcast sub", G.BroadcastSub, a, b, pattern...)
}

// BroadcastMul returns a ⊙ b, where b has size 1 along the axes in pattern.
func BroadcastMul(g *Graph, a, b *G.Node, pattern ...byte) *G.Node {
	return broadcast(g, "broadcast mul", G.BroadcastHadamardProd, a, b, pattern...)
}

// BroadcastDiv returns a ⊘ b, where b has size 1 along the axes in pattern.
func BroadcastDiv(g *Graph, a, b *G.Node, pattern ...byte) *G.Node {
	return broadcast(g, "broadcast div", G.BroadcastHadamardDiv, a, b, pattern...)
}

// L2Normalize divides each row of an (N, D) matrix by its Euclidean norm
// (plus eps inside the square root, so that a zero row stays finite).
func L2Normalize(g *Graph, x *G.Node, eps float64) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	s := x.Shape()
	if len(s) != 2 {
		g.Fail("l2 normalise", fmt.Errorf("input shape %v, want (N, D)", s))
		return nil
	}
	norm := Sqrt(g, AddScalar(g, SumAxis(g, Square(g, x), 1), eps))
	return BroadcastDiv(g, x, Reshape(g, norm, s[0], 1), 1)
}

// LogSumExp returns log Σ_j exp(x_ij) along axis (0 or 1) of a matrix. The
// maximum of each row (or column) is subtracted first for stability; it is
// fed in as a constant computed before the run, which leaves the value and
// the gradient unchanged.
func LogSumExp(g *Graph, x *G.Node, axis int) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	s := x.Shape()
	if len(s) != 2 || (axis != 0 && axis != 1) {
		g.Fail("logsumexp", fmt.Errorf("input shape %v along axis %d, want a matrix and axis 0 or 1", s, axis))
		return nil
	}
	m := g.Do("row max", func() (*G.Node, error) { return G.Max(x, axis) })
	// The maximum is a shift: stop its gradient by routing it through a
	// zero-gradient identity.
	m = StopGradient(g, m)
	var mb *G.Node
	if axis == 1 {
		mb = Reshape(g, m, s[0], 1)
	} else {
		mb = Reshape(g, m, 1, s[1])
	}
	shifted := BroadcastSub(g, x, mb, byte(axis))
	lse := Log(g, SumAxis(g, Exp(g, shifted), axis))
	return Add(g, lse, m)
}

// LogSoftmaxCE returns the mean cross-entropy of logits (N, C) against the
// one-hot targets (N, C): mean_i [logsumexp_j x_ij - Σ_j t_ij x_ij].
func LogSoftmaxCE(g *Graph, logits, onehot *G.Node) *G.Node {
	if !g.Ok(logits, onehot) {
		return nil
	}
	lse := LogSumExp(g, logits, 1)
	picked := SumAxis(g, Mul(g, logits, onehot), 1)
	return MeanAxis(g, Sub(g, lse, picked), 0)
}

// OneHot returns an (N, C) matrix of one-hot rows for labels.
func OneHot(labels []int, classes int) ([]float64, error) {
	out := make([]float64, len(labels)*classes)
	for i, y := range labels {
		if y < 0 || y >= classes {
			return nil, fmt.Errorf("nn: label %d at index %d is outside [0, %d)", y, i, classes)
		}
		out[i*classes+y] = 1
	}
	return out, nil
}

// Identity returns the n×n identity matrix as a constant input.
func Identity(g *Graph, name string, n int) *G.Node {
	v := make([]float64, n*n)
	for i := 0; i < n; i++ {
		v[i*n+i] = 1
	}
	return g.Constant(name, v, n, n)
}

func logf(x float64) float64 { return math.Log(x) }
