package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The residual addition of a basic block, relu(bn₂(x₂) + s) with s the
// block's input (the identity shortcut) or bn_s(x_s) (a projection
// shortcut), as one op per direction. Add of two NCHW tensors of one shape
// builds a resOp; a batch norm feeding it folds in (the op reads the batch
// norm's input, computes its statistics, or reads its running ones in
// evaluation mode, and applies its scale and shift on the way), and a ReLU
// applied to it fuses into it, as a ReLU fuses into a batch norm. The replaced nodes stay in the graph;
// Compile marks them skipped when nothing else reads them.
//
// The backward direction needs no op of its own: a batch-norm term's
// gradient is the batch norm's backward op, its ReLU mask read from the
// sum's output, and a plain term's is the ReLU's backward op (or the
// incoming gradient itself without ReLU), shared by both terms when both
// are plain.

// resTerm is one summand of a resOp: its input at index at, as is, or
// normalised by the batch norm whose state is st (inputs at, at+1, at+2: x,
// γ, β).
type resTerm struct {
	st *bnState
	at int
	// give, on a plain term, hands its gradient to the input's other
	// reader (see gradHandoff).
	give *gradHandoff
}

// resOp is (terms' inputs) → Σ terms, or max(Σ terms, 0) with relu.
type resOp struct {
	opID
	shape tensor.Shape // every term's shape, and the output's
	dt    tensor.Dtype
	terms [2]resTerm
	relu  bool
	in    []*G.Node
	out   outputs
	// skip is set at compile time on a sum that a fused ReLU replaced and
	// that nothing reads: its run only returns its (stale) output memory.
	skip bool
}

func (op *resOp) Arity() int { return len(op.in) }
func (op *resOp) Type() hm.Type {
	dims := make([]int, len(op.in))
	for i := range dims {
		dims[i] = 4
	}
	for _, t := range op.terms {
		if t.st != nil {
			dims[t.at+1], dims[t.at+2] = 1, 1
		}
	}
	return fnType(4, dims...)
}
func (op *resOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (op *resOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return resDo[float32](op, in) }, func() (G.Value, error) { return resDo[float64](op, in) })
}

func resDo[T float](op *resOp, in []G.Value) (G.Value, error) {
	n, c, hw := op.shape[0], op.shape[1], op.shape[2]*op.shape[3]
	size := n * c * hw
	var xs, gammas, betas [2][]T
	var err error
	for i, t := range op.terms {
		if xs[i], err = data[T](in[t.at], size); err != nil {
			return nil, fmt.Errorf("residual sum, term %d: %w", i, err)
		}
		if t.st == nil {
			continue
		}
		if gammas[i], err = data[T](in[t.at+1], c); err != nil {
			return nil, fmt.Errorf("residual sum, term %d scale: %w", i, err)
		}
		if betas[i], err = data[T](in[t.at+2], c); err != nil {
			return nil, fmt.Errorf("residual sum, term %d shift: %w", i, err)
		}
	}
	y, out := outputOf[T](&op.out).get(op.shape, in...)
	if op.skip {
		return out, nil
	}
	for i, t := range op.terms {
		if t.st != nil {
			if err := t.st.load(); err != nil {
				return nil, fmt.Errorf("residual sum, term %d: %w", i, err)
			}
		}
	}
	parallelItems(c, workers(), func(_, ch int) {
		var a [2]T
		var b T
		for i, t := range op.terms {
			a[i] = 1
			if t.st != nil {
				scale, shift := bnChannel(t.st, xs[i], gammas[i], betas[i], ch)
				a[i] = scale
				b += shift
			}
		}
		for s := 0; s < n; s++ {
			o := (s*c + ch) * hw
			vAffine2(y[o:o+hw], xs[0][o:o+hw], xs[1][o:o+hw], a[0], a[1], b, op.relu)
		}
	})
	for _, t := range op.terms {
		if t.st != nil {
			t.st.computed = true
		}
	}
	return out, nil
}

func (op *resOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	for _, t := range op.terms {
		if t.st == nil && t.give.given() && t.at < n {
			d[t.at] = false
		}
	}
	return d
}

func (op *resOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	grads := make(G.Nodes, len(in))
	var plain *G.Node // the gradient of a plain term
	for _, t := range op.terms {
		if t.st != nil {
			dx, dgamma, dbeta, err := newBNBack(t.st, op.shape, op.dt, op.relu, nil, in[t.at], in[t.at+1], out, grad)
			if err != nil {
				return nil, err
			}
			grads[t.at], grads[t.at+1], grads[t.at+2] = dx, dgamma, dbeta
			continue
		}
		if plain == nil {
			plain = grad
			if op.relu {
				var err error
				if plain, err = G.ApplyOp(&reluBackOp{opID: newOpID("ReLUGrad"), shape: op.shape.Clone(), dt: op.dt}, out, grad); err != nil {
					return nil, err
				}
			}
		}
		if t.give.give(plain) {
			continue // DiffWRT is false for it from now on
		}
		grads[t.at] = plain
	}
	return grads, nil
}

// bnTermOf returns the batch-norm op of x when Add may fold it into a sum: a
// batch norm of an NCHW tensor without ReLU or pooling.
func bnTermOf(x *G.Node) (*bnOp, bool) {
	op, ok := x.Op().(*bnOp)
	if !ok || op.relu || op.pool != nil || len(op.shape) != 4 {
		return nil, false
	}
	return op, true
}

// addFast builds the resOp of a + b, folding the batch norms that feed it.
func addFast(g *Graph, a, b *G.Node) *G.Node {
	op := &resOp{opID: newOpID("Add"), shape: a.Shape().Clone(), dt: g.dtype}
	for i, x := range [2]*G.Node{a, b} {
		op.terms[i].at = len(op.in)
		if bn, ok := bnTermOf(x); ok {
			op.terms[i].st = bn.st
			op.in = append(op.in, bn.in[0], bn.in[1], bn.in[2])
			g.fused = append(g.fused, x)
			continue
		}
		op.in = append(op.in, x)
	}
	return g.Do("add", func() (*G.Node, error) { return G.ApplyOp(op, op.in...) })
}

// fuseAddReLU returns max(x, 0) as one fused op when x is a sum built by
// addFast, and nil otherwise.
func fuseAddReLU(g *Graph, x *G.Node) *G.Node {
	op, ok := x.Op().(*resOp)
	if !ok || op.relu {
		return nil
	}
	fused := &resOp{opID: newOpID("AddReLU"), shape: op.shape.Clone(), dt: op.dt, terms: op.terms, relu: true, in: op.in}
	y := g.Do("add + relu", func() (*G.Node, error) { return G.ApplyOp(fused, fused.in...) })
	if y != nil {
		g.fused = append(g.fused, x)
	}
	return y
}

// vAffine2 sets dst = a·x + c·z + b, or max(that, 0) with relu.
func vAffine2[T float](dst, x, z []T, a, c, b T, relu bool) {
	checkLen(len(dst), len(x), len(z))
	if asm32[T]() {
		r := 0
		if relu {
			r = 1
		}
		affine2x32(any(dst).([]float32), any(x).([]float32), any(z).([]float32), float32(a), float32(c), float32(b), r)
		return
	}
	affine2Go(dst, x, z, a, c, b, relu)
}

func affine2Go[T float](dst, x, z []T, a, c, b T, relu bool) {
	x, z = x[:len(dst)], z[:len(dst)]
	if !relu {
		for i := range dst {
			dst[i] = a*x[i] + c*z[i] + b
		}
		return
	}
	for i := range dst {
		if v := a*x[i] + c*z[i] + b; v > 0 || v != v {
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
}
