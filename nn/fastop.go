package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"
	"unsafe"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The fast ops (convolution, batch norm, ReLU, pooling) are custom gorgonia
// ops written directly on the tensors' backing slices. They share these
// conventions:
//
//   - Each op node owns its output memory, allocated on the first run and
//     reused by every later run; Do returns a fresh tensor header over it.
//     The tape machine clears its registers before each run and only writes
//     into a register's value once that value is dead, so the memory is never
//     in use twice at once. ReturnsPtr is false and OverwritesInput is -1:
//     no op writes into its inputs.
//   - A backward op that reads state saved by its forward op (batch
//     statistics, pooling arg-maxes) takes the forward output as an extra
//     input, so the tape always runs the forward op first.
//   - Every node gets a unique hash, so that gorgonia never merges two op
//     nodes whose state differs.

var fastOpSeq atomic.Uint64

type opID struct {
	name string
	id   uint64
}

// hashOf hashes what an op writes with WriteHash: the Hashcode of every op
// in the package.
func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func newOpID(name string) opID { return opID{name: name, id: fastOpSeq.Add(1)} }

func (o opID) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s#%d", o.name, o.id) }
func (o opID) Hashcode() uint32      { return hashOf(o) }
func (o opID) String() string        { return o.name }
func (opID) ReturnsPtr() bool        { return false }
func (opID) CallsExtern() bool       { return false }
func (opID) OverwritesInput() int    { return -1 }

// fnType returns the type of an op from tensors of the given ranks to a
// tensor of rank out, all of one element type.
func fnType(out int, in ...int) hm.Type {
	ts := make([]hm.Type, 0, len(in)+1)
	for _, d := range in {
		ts = append(ts, tensorType(d))
	}
	ts = append(ts, tensorType(out))
	return hm.NewFnType(ts...)
}

// data returns the backing slice of a dense value of element type T.
func data[T float](v G.Value, size int) ([]T, error) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("expected a dense tensor, got %T", v)
	}
	if d.IsView() {
		d = d.Materialize().(*tensor.Dense)
	}
	s, ok := d.Data().([]T)
	if !ok {
		var z T
		return nil, fmt.Errorf("expected %T elements, got %v", z, d.Dtype())
	}
	if len(s) < size {
		return nil, fmt.Errorf("tensor of shape %v has %d elements, want %d", d.Shape(), len(s), size)
	}
	return s[:size], nil
}

// output is memory an op node owns for its result, or the place a memory
// plan gives it (slot; see memPlan).
type output[T float] struct {
	buf  []T
	slot *planSlot
}

// get returns the buffer (allocated on first use, or the plan's) and a
// tensor over it. If the buffer overlaps the memory of one of the op's
// inputs in, which a tape machine run without a reset between runs could
// arrange, it takes a new buffer rather than write over its input.
func (o *output[T]) get(shape tensor.Shape, in ...G.Value) ([]T, *tensor.Dense) {
	n := shape.TotalSize()
	if o.slot != nil {
		if buf, ok := plannedBuf[T](o.slot, n, in); ok {
			return buf, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(buf))
		}
	}
	if len(o.buf) != n || o.overlaps(in) {
		o.buf = make([]T, n)
	}
	return o.buf, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(o.buf))
}

func (o *output[T]) overlaps(in []G.Value) bool {
	if len(o.buf) == 0 {
		return false
	}
	var z T
	return overlapsAny(unsafe.Pointer(&o.buf[0]), uintptr(len(o.buf))*unsafe.Sizeof(z), in)
}

// overlapsAny reports whether the bytes [p, p+size) overlap the memory of a
// dense tensor among in.
func overlapsAny(p unsafe.Pointer, size uintptr, in []G.Value) bool {
	lo := uintptr(p)
	hi := lo + size
	for _, v := range in {
		d, ok := v.(*tensor.Dense)
		if !ok || d.MemSize() == 0 {
			continue
		}
		if a := d.Uintptr(); a < hi && lo < a+d.MemSize() {
			return true
		}
	}
	return false
}

// outputs holds an op's result memory for either element type.
type outputs struct {
	f32 output[float32]
	f64 output[float64]
}

func outputOf[T float](o *outputs) *output[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(&o.f32).(*output[T])
	}
	return any(&o.f64).(*output[T])
}

// dispatch runs f32 or f64 according to dt.
func dispatch(dt tensor.Dtype, f32, f64 func() (G.Value, error)) (G.Value, error) {
	switch dt {
	case tensor.Float32:
		return f32()
	case tensor.Float64:
		return f64()
	}
	return nil, fmt.Errorf("unsupported dtype %v", dt)
}

func shapeOf(n *G.Node) tensor.Shape { return n.Shape().Clone() }

// noGradOp is embedded by backward ops, which are never differentiated.
// Compile marks a backward op skipped when no node reads its result, directly
// or through other skipped ops (the filter gradients of encoders that a
// program does not step, the input gradient of a layer whose input is
// detached): its run then only returns its (stale) output memory.
type noGradOp struct{ skip bool }

func (noGradOp) DiffWRT(n int) []bool { return make([]bool, n) }
func (noGradOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("second derivatives are not supported")
}

func (o *noGradOp) setSkip(on bool) { o.skip = on }
func (o *noGradOp) skipped() bool   { return o.skip }

// skipper is an op that Compile may mark skipped.
type skipper interface {
	setSkip(bool)
	skipped() bool
}

// markDeadSkipped marks skipped every skipper node of the graph whose
// readers are all skipped (or that has none), and clears the mark on the
// others.
func (g *Graph) markDeadSkipped() {
	var cands []*G.Node
	for _, n := range g.g.AllNodes() {
		if s, ok := n.Op().(skipper); ok {
			s.setSkip(false)
			cands = append(cands, n)
		}
	}
	for changed := true; changed; {
		changed = false
		for _, n := range cands {
			s := n.Op().(skipper)
			if s.skipped() {
				continue
			}
			dead := true
			for readers := g.g.To(n.ID()); readers.Next(); {
				r, ok := readers.Node().(*G.Node)
				if !ok {
					dead = false
					break
				}
				if rs, isSkipper := r.Op().(skipper); !isSkipper || !rs.skipped() {
					dead = false
					break
				}
			}
			if dead {
				s.setSkip(true)
				changed = true
			}
		}
	}
}
