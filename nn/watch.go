package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Watched holds a copy of a node's value taken at the moment the node was
// computed.
//
// Gorgonia's tape machine recycles the memory of intermediate nodes: once a
// node's last consumer has run, later instructions may overwrite it, so
// reading Node.Value() after a run returns another node's data for anything
// but inputs and gradients. Watch inserts an op that copies the value out
// while it is still valid.
type Watched struct {
	value *tensor.Dense
	node  *G.Node
}

// Watch arranges for x's value to be copied out every time the program runs.
func (g *Graph) Watch(x *G.Node) *Watched {
	if !g.Ok(x) {
		return &Watched{node: x}
	}
	shape := x.Shape().Clone()
	if x.IsScalar() {
		shape = tensor.Shape{1}
	}
	return g.watchInto(x, tensor.New(tensor.WithShape(shape...), tensor.Of(g.dtype)))
}

// watchInto is Watch with the tensor the values are copied into given: it
// must hold as many elements of the graph's dtype as x.
//
// Every value leaves the graph this way, gradients included. Besides
// surviving the tape machine's recycling, the copy works wherever the value
// was computed: in a cuda build gorgonia moves a node's value from the device
// to the host before it calls an op that has no CUDA side, such as this one,
// whereas Node.Value() of a gradient would hand out device memory.
func (g *Graph) watchInto(x *G.Node, dst *tensor.Dense) *Watched {
	w := &Watched{node: x}
	if !g.Ok(x) {
		return w
	}
	if n := x.Shape().TotalSize(); n != dst.Shape().TotalSize() || dst.Dtype() != g.dtype {
		g.Fail("watch "+x.Name(), fmt.Errorf("%d %v values into %d %v", n, g.dtype, dst.Shape().TotalSize(), dst.Dtype()))
		return w
	}
	w.value = dst
	g.Do("watch", func() (*G.Node, error) { return G.ApplyOp(&watchOp{dst: dst}, x) })
	return w
}

// Values returns the watched values after the last run, row-major.
func (w *Watched) Values() []float64 {
	if w == nil || w.value == nil {
		return nil
	}
	return Float64s(w.value)
}

// Scalar returns the first watched value.
func (w *Watched) Scalar() float64 {
	v := w.Values()
	if len(v) == 0 {
		return nan()
	}
	return v[0]
}

// Tensor returns the tensor the values are copied into.
func (w *Watched) Tensor() *tensor.Dense { return w.value }

// Node returns the watched node.
func (w *Watched) Node() *G.Node { return w.node }

type watchOp struct{ dst *tensor.Dense }

func (*watchOp) Arity() int { return 1 }

func (*watchOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

func (*watchOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("watch: input is not a shape: %v", in[0])
	}
	return s.Clone(), nil
}

func (op *watchOp) Do(in ...G.Value) (G.Value, error) {
	switch v := in[0].(type) {
	case *tensor.Dense:
		if err := copyInto(op.dst, v); err != nil {
			return nil, fmt.Errorf("watch: %w", err)
		}
		return v, nil
	case *G.F32:
		op.dst.Data().([]float32)[0] = float32(*v)
		return v, nil
	case *G.F64:
		op.dst.Data().([]float64)[0] = float64(*v)
		return v, nil
	}
	return nil, fmt.Errorf("watch: unsupported value %T", in[0])
}

func (*watchOp) ReturnsPtr() bool         { return true }
func (*watchOp) CallsExtern() bool        { return false }
func (*watchOp) OverwritesInput() int     { return -1 }
func (op *watchOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "Watch%p", op.dst) }
func (op *watchOp) Hashcode() uint32      { return hashOf(op) }
func (*watchOp) String() string           { return "Watch" }

func (*watchOp) DiffWRT(int) []bool { return []bool{false} }
func (*watchOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{nil}, nil
}
