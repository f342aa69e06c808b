package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// StopGradient returns x unchanged in the forward pass and blocks every
// gradient through it in the backward pass, like PyTorch's detach.
func StopGradient(g *Graph, x *G.Node) *G.Node {
	return g.Do("stop gradient", func() (*G.Node, error) { return G.ApplyOp(stopGradOp{}, x) })
}

type stopGradOp struct{}

func (stopGradOp) Arity() int { return 1 }

func (stopGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

func (stopGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("stop gradient: input is not a shape: %v", in[0])
	}
	return s.Clone(), nil
}

func (stopGradOp) Do(in ...G.Value) (G.Value, error) {
	switch v := in[0].(type) {
	case *tensor.Dense:
		return v.Clone().(*tensor.Dense), nil
	default:
		return G.CloneValue(v)
	}
}

func (stopGradOp) ReturnsPtr() bool      { return false }
func (stopGradOp) CallsExtern() bool     { return false }
func (stopGradOp) OverwritesInput() int  { return -1 }
func (stopGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "StopGradient") }
func (op stopGradOp) Hashcode() uint32   { return hashOf(op) }
func (stopGradOp) String() string        { return "StopGradient" }
func (stopGradOp) DiffWRT(int) []bool    { return []bool{false} }
func (stopGradOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{nil}, nil
}
