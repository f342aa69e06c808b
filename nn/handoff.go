package nn

import (
	G "gorgonia.org/gorgonia"
)

// Gradient hand-off. gorgonia sums the gradients of a node read by several
// differentiable ops with its stock Add, which allocates its result on
// every run: in a ResNet every block's input is read by the block's first
// convolution and by its shortcut (the residual sum, or the projection's
// 1×1 convolution), so each block paid one full-size allocation and one
// single-threaded pass per step. Instead, Compile pairs the two readers of
// such a node x: the giver (a convolution, or a plain term of a residual
// sum) hands the gradient it computes for x to the taker (a convolution),
// whose input-gradient op adds it to its own result as it writes it, and
// gorgonia sees a single gradient for x.
//
// The pairing is safe whatever order backpropagation differentiates the two
// readers in: the giver reports x as differentiable until its SymDiff has
// stored its gradient here (gorgonia reads DiffWRT again after SymDiff, and
// then leaves x alone), and hands nothing over once the taker has been
// differentiated; a taker differentiated first adds nothing, and gorgonia
// sums the two gradients as usual. Compile pairs only readers through which
// the loss is reached, so that a stored gradient is always taken.
type gradHandoff struct {
	grad  *G.Node // the giver's gradient, once stored
	taken bool    // the taker has been differentiated
}

// give stores the giver's gradient for the taker and reports whether it
// did: false (the caller returns the gradient to gorgonia) without a
// hand-off or once the taker has been differentiated.
func (h *gradHandoff) give(grad *G.Node) bool {
	if h == nil || h.taken || h.grad != nil {
		return false
	}
	h.grad = grad
	return true
}

// given reports whether the giver's gradient went to the taker.
func (h *gradHandoff) given() bool { return h != nil && h.grad != nil }

// take returns the gradient the giver stored (nil if none) and closes the
// hand-off.
func (h *gradHandoff) take() *G.Node {
	if h == nil {
		return nil
	}
	h.taken = true
	return h.grad
}

// handoffReader is a reader of x that can give or take x's gradient.
type handoffReader struct {
	node *G.Node
	conv *convOp  // a convolution reading x as its input
	res  *resTerm // or a plain term of a residual sum
	op   *resOp   // (the term's op)
	pos  int      // position in gorgonia's sort: backpropagation order
	take bool     // whether it can take
}

// pairHandoffs pairs the differentiable readers of every node read by
// exactly two of them, a convolution (the taker) and a convolution or a
// plain term of a residual sum (the giver). It runs before the graph is
// differentiated for the first time.
func (g *Graph) pairHandoffs(loss *G.Node) error {
	if g.differentiated || loss == nil {
		return nil
	}
	sorted, err := G.Sort(g.g) // outputs first: the order of gorgonia's Backpropagate
	if err != nil {
		return err
	}
	pos := make(map[*G.Node]int, len(sorted))
	for i, n := range sorted {
		pos[n] = i
	}
	// The nodes through which the loss is reached along differentiable
	// edges: gorgonia's forward analysis.
	reaches := map[*G.Node]bool{loss: true}
	for _, n := range sorted {
		if !reaches[n] || n.Op() == nil {
			continue
		}
		children := childrenOf(g, n)
		d := diffWRT(n, len(children))
		for j, c := range children {
			if d[j] {
				reaches[c] = true
			}
		}
	}
	for _, x := range sorted {
		if !reaches[x] {
			continue
		}
		var readers []handoffReader
		ok := true
		for it := g.g.To(x.ID()); it.Next() && ok; {
			r, isNode := it.Node().(*G.Node)
			if !isNode {
				ok = false
				break
			}
			if !reaches[r] {
				continue
			}
			children := childrenOf(g, r)
			d := diffWRT(r, len(children))
			for j, c := range children {
				if c != x || !d[j] {
					continue
				}
				hr, capable := handoffReaderOf(r, j)
				if !capable {
					ok = false
					break
				}
				hr.pos = pos[r]
				readers = append(readers, hr)
			}
		}
		if !ok || len(readers) != 2 || readers[0].node == readers[1].node {
			continue
		}
		// The giver is the reader that backpropagation reaches first.
		giver, taker := readers[0], readers[1]
		if giver.pos > taker.pos {
			giver, taker = taker, giver
		}
		if !taker.take {
			continue
		}
		h := &gradHandoff{}
		taker.conv.take = h
		if giver.conv != nil {
			giver.conv.give = h
		} else {
			giver.res.give = h
		}
	}
	return nil
}

// handoffReaderOf says whether the node r, reading x as its input j, can
// give or take x's gradient.
func handoffReaderOf(r *G.Node, j int) (handoffReader, bool) {
	switch op := r.Op().(type) {
	case *convOp:
		if j == 0 && op.needDX && op.give == nil && op.take == nil {
			return handoffReader{node: r, conv: op, take: true}, true
		}
	case *resOp:
		for i := range op.terms {
			t := &op.terms[i]
			if t.st == nil && t.at == j && t.give == nil {
				return handoffReader{node: r, res: t, op: op}, true
			}
		}
	}
	return handoffReader{}, false
}

// childrenOf returns n's inputs in order.
func childrenOf(g *Graph, n *G.Node) []*G.Node {
	var cs []*G.Node
	for it := g.g.From(n.ID()); it.Next(); {
		if c, ok := it.Node().(*G.Node); ok {
			cs = append(cs, c)
		}
	}
	return cs
}

// diffWRT returns what n's op says it is differentiable with respect to
// (nothing for an op that cannot be differentiated).
func diffWRT(n *G.Node, k int) []bool {
	if op, ok := n.Op().(G.SDOp); ok {
		if d := op.DiffWRT(k); len(d) == k {
			return d
		}
	}
	return make([]bool, k)
}
