package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Reshape returns x with a new shape of the same size.
//
// Gorgonia's own Reshape returns a view that shares memory with its input
// and marks itself as overwriting it; when the input is a parameter or an
// input node, an in-place op downstream then writes into the parameter
// itself. This Reshape copies, which costs one pass over the data and makes
// aliasing impossible.
func Reshape(g *Graph, x *G.Node, shape ...int) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	from := x.Shape().Clone()
	to := tensor.Shape(shape).Clone()
	if from.TotalSize() != to.TotalSize() {
		g.Fail("reshape", fmt.Errorf("cannot reshape %v to %v", from, to))
		return nil
	}
	return g.Do("reshape", func() (*G.Node, error) { return G.ApplyOp(reshapeCopyOp{from: from, to: to}, x) })
}

type reshapeCopyOp struct{ from, to tensor.Shape }

func tensorType(dims int) hm.Type {
	if dims == 0 {
		return hm.TypeVariable('a')
	}
	return &G.TensorType{Dims: dims, Of: hm.TypeVariable('a')}
}

func (reshapeCopyOp) Arity() int { return 1 }

func (op reshapeCopyOp) Type() hm.Type {
	return hm.NewFnType(tensorType(op.from.Dims()), tensorType(op.to.Dims()))
}

func (op reshapeCopyOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.to.Clone(), nil }

func (op reshapeCopyOp) Do(in ...G.Value) (G.Value, error) {
	var out *tensor.Dense
	switch v := in[0].(type) {
	case *tensor.Dense:
		if v.IsView() {
			out = v.Materialize().(*tensor.Dense)
		} else {
			out = v.Clone().(*tensor.Dense)
		}
	case *G.F32:
		out = tensor.New(tensor.WithBacking([]float32{float32(*v)}))
	case *G.F64:
		out = tensor.New(tensor.WithBacking([]float64{float64(*v)}))
	default:
		return nil, fmt.Errorf("reshape: unsupported value %T", in[0])
	}
	if err := out.Reshape(op.to...); err != nil {
		return nil, fmt.Errorf("reshape %v to %v: %w", op.from, op.to, err)
	}
	return out, nil
}

func (reshapeCopyOp) ReturnsPtr() bool     { return false }
func (reshapeCopyOp) CallsExtern() bool    { return false }
func (reshapeCopyOp) OverwritesInput() int { return -1 }
func (op reshapeCopyOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "ReshapeCopy%v->%v", op.from, op.to)
}
func (op reshapeCopyOp) Hashcode() uint32 { return hashOf(op) }
func (op reshapeCopyOp) String() string   { return fmt.Sprintf("ReshapeCopy%v", op.to) }

func (reshapeCopyOp) DiffWRT(int) []bool { return []bool{true} }

func (op reshapeCopyOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	back, err := G.ApplyOp(reshapeCopyOp{from: op.to, to: op.from}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{back}, nil
}
