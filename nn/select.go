package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SelectChannels returns the listed channels of an NCHW tensor, in the
// order given, as a new (N, len(chans), H, W) tensor: how a view keeps
// channels of the generator's output. Its gradient scatters back into the
// selected channels.
func SelectChannels(g *Graph, x *G.Node, chans []int) *G.Node {
	if !g.Ok(x) {
		return nil
	}
	s := x.Shape()
	if len(s) != 4 {
		g.Fail("select channels", fmt.Errorf("input shape %v, want NCHW", s))
		return nil
	}
	if len(chans) == 0 {
		g.Fail("select channels", fmt.Errorf("no channels selected"))
		return nil
	}
	for _, c := range chans {
		if c < 0 || c >= s[1] {
			g.Fail("select channels", fmt.Errorf("channel %d outside [0, %d)", c, s[1]))
			return nil
		}
	}
	op := selectOp{in: s.Clone(), chans: append([]int(nil), chans...), out: new(outputs)}
	return g.Do("select channels", func() (*G.Node, error) { return G.ApplyOp(op, x) })
}

// selectOp and scatterOp keep their output memory from one run to the next
// (see outputs).
type selectOp struct {
	in    tensor.Shape
	chans []int
	out   *outputs
}

func (selectOp) Arity() int { return 1 }
func (selectOp) Type() hm.Type {
	t := &G.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}
func (op selectOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.in[0], len(op.chans), op.in[2], op.in[3]}, nil
}

func (op selectOp) Do(in ...G.Value) (G.Value, error) {
	x, ok := in[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("select channels: unsupported value %T", in[0])
	}
	return dispatch(x.Dtype(), func() (G.Value, error) { return selectDo[float32](op, in) }, func() (G.Value, error) { return selectDo[float64](op, in) })
}

func selectDo[T float](op selectOp, in []G.Value) (G.Value, error) {
	n, c, hw := op.in[0], op.in[1], op.in[2]*op.in[3]
	src, err := data[T](in[0], n*c*hw)
	if err != nil {
		return nil, fmt.Errorf("select channels: %w", err)
	}
	k := len(op.chans)
	dst, out := outputOf[T](op.out).get(tensor.Shape{n, k, op.in[2], op.in[3]}, in...)
	for i := 0; i < n; i++ {
		for j, ch := range op.chans {
			copy(dst[(i*k+j)*hw:(i*k+j+1)*hw], src[(i*c+ch)*hw:(i*c+ch+1)*hw])
		}
	}
	return out, nil
}

// In a cuda build the op runs on the GPU (kernels_cuda.go), where gorgonia
// hands it preallocated device memory only if it says it returns a pointer
// and calls an extern.
func (selectOp) ReturnsPtr() bool     { return cudaBuild }
func (selectOp) CallsExtern() bool    { return cudaBuild }
func (selectOp) OverwritesInput() int { return -1 }
func (op selectOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "SelectChannels%v%v", op.in, op.chans)
}
func (op selectOp) Hashcode() uint32 { return hashOf(op) }
func (op selectOp) String() string   { return fmt.Sprintf("SelectChannels%v", op.chans) }
func (selectOp) DiffWRT(int) []bool  { return []bool{true} }
func (op selectOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	back, err := G.ApplyOp(scatterOp{sel: op, out: new(outputs)}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{back}, nil
}

// scatterOp is selectOp's gradient: it places (N, k, H, W) back into the
// selected channels of a zero (N, C, H, W) tensor, adding where a channel
// was selected twice.
type scatterOp struct {
	sel selectOp
	out *outputs
}

func (scatterOp) Arity() int                                        { return 1 }
func (op scatterOp) Type() hm.Type                                  { return op.sel.Type() }
func (op scatterOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.sel.in.Clone(), nil }
func (op scatterOp) Do(in ...G.Value) (G.Value, error) {
	gr, ok := in[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("select channels gradient: unsupported value %T", in[0])
	}
	return dispatch(gr.Dtype(), func() (G.Value, error) { return scatterDo[float32](op, in) }, func() (G.Value, error) { return scatterDo[float64](op, in) })
}

func scatterDo[T float](op scatterOp, in []G.Value) (G.Value, error) {
	s := op.sel.in
	n, c, hw := s[0], s[1], s[2]*s[3]
	k := len(op.sel.chans)
	src, err := data[T](in[0], n*k*hw)
	if err != nil {
		return nil, fmt.Errorf("select channels gradient: %w", err)
	}
	dst, out := outputOf[T](op.out).get(s, in...)
	for i := 0; i < n; i++ {
		// Channels selected once are copied, the others cleared first and
		// then summed into.
		for ch := 0; ch < c; ch++ {
			if op.sel.count(ch) != 1 {
				clear(dst[(i*c+ch)*hw : (i*c+ch+1)*hw])
			}
		}
		for j, ch := range op.sel.chans {
			d, sv := dst[(i*c+ch)*hw:(i*c+ch+1)*hw], src[(i*k+j)*hw:(i*k+j+1)*hw]
			if op.sel.count(ch) == 1 {
				copy(d, sv)
				continue
			}
			for p := range d {
				d[p] += sv[p]
			}
		}
	}
	return out, nil
}

// count returns how many times channel ch is selected.
func (op selectOp) count(ch int) int {
	k := 0
	for _, c := range op.chans {
		if c == ch {
			k++
		}
	}
	return k
}

func (scatterOp) ReturnsPtr() bool     { return cudaBuild }
func (scatterOp) CallsExtern() bool    { return cudaBuild }
func (scatterOp) OverwritesInput() int { return -1 }
func (op scatterOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "ScatterChannels%v%v", op.sel.in, op.sel.chans)
}
func (op scatterOp) Hashcode() uint32 { return hashOf(op) }
func (op scatterOp) String() string   { return fmt.Sprintf("ScatterChannels%v", op.sel.chans) }
