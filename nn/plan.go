package nn

import (
	"errors"
	"slices"
	"sync"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Memory planning. gorgonia's tape machine runs a compiled graph's nodes in
// one fixed order and keeps every node's value, so a fused op that owned
// its output memory held it for the life of the program: a ResNet step's
// activations, gradients and every intermediate result at once. Compile
// instead plans where each fused op's output lives in one arena per
// program: from the order the tape runs the nodes in (the reverse of
// gorgonia's Sort, which is how its compiler orders them) it computes when
// each output is written and when it is last read, and gives outputs whose
// lifetimes do not overlap the same memory (greedily, the largest first,
// each at the lowest offset free for its whole lifetime).
//
// A value outlives its last reader when
//   - a gorgonia op that may return its input's memory (ReturnsPtr, such as
//     the Add that sums gradients, in place when its first input is dead)
//     reads it: the value then lives as long as that op's result does;
//   - nothing reads it (the graph's outputs, which Values reads after a
//     run): it lives to the end of the run, unless its op is skipped.
//
// Watch ops copy their input out while it is valid; values are read after
// a run through them (gradients included), never from an intermediate
// node.
//
// The arena belongs to the program only while it runs: Run takes one from a
// pool the package keeps (the largest free one, grown if too small) and
// gives it back at the end, so that programs run one after the other (the
// two players of a game) need the memory of the largest, not of all. The
// graph's outputs therefore keep their values until the next run of any
// program; Watch copies values out for longer.
//
// Each run installs the program's plan into its ops (programs compiled from
// one graph share its ops), and the ops check that they run in the planned
// order; one that does not, or whose planned memory would overlap one of
// its inputs, gets memory of its own and makes Run report an error, and the
// program runs without a plan from then on.

// planned is an op whose output memory a plan may place.
type planned interface{ planOutput() *outputs }

func (op *convOp) planOutput() *outputs        { return &op.out }
func (op *convDataOp) planOutput() *outputs    { return &op.out }
func (op *convFilterOp) planOutput() *outputs  { return &op.out }
func (op *convBiasOp) planOutput() *outputs    { return &op.out }
func (op *bnOp) planOutput() *outputs          { return &op.out }
func (op *bnBackOp) planOutput() *outputs      { return &op.out }
func (op *bnParamGradOp) planOutput() *outputs { return &op.out }
func (op *reluOp) planOutput() *outputs        { return &op.out }
func (op *reluBackOp) planOutput() *outputs    { return &op.out }
func (op *maxPoolOp) planOutput() *outputs     { return &op.out }
func (op *maxPoolBackOp) planOutput() *outputs { return &op.out }
func (op *gapOp) planOutput() *outputs         { return &op.out }
func (op *gapBackOp) planOutput() *outputs     { return &op.out }
func (op *resOp) planOutput() *outputs         { return &op.out }

// deadOutput reports whether op is skipped at run time (its output is
// never written nor read).
func deadOutput(op G.Op) bool {
	switch op := op.(type) {
	case *bnOp:
		return op.skip
	case *resOp:
		return op.skip
	case skipper:
		return op.skipped()
	}
	return false
}

// planAlign is the alignment of planned outputs, in elements (64 bytes of
// float32).
const planAlign = 16

// memPlan is a program's memory plan.
type memPlan struct {
	slots []planSlot
	outs  []*outputs // the op outputs the slots belong to
	size  int        // arena elements
	f32   []float32  // the arena of the current run (or the last)
	f64   []float64
	next  int  // the slot of the next op to run
	bad   bool // an op ran out of order or would have overlapped an input
}

// planSlot is where one op's output lives: size elements at off.
type planSlot struct {
	plan      *memPlan
	i         int // position among the planned ops, in running order
	off, size int
}

// planMemory plans the outputs of g's planned ops.
func (g *Graph) planMemory() (*memPlan, error) {
	sorted, err := G.Sort(g.g)
	if err != nil {
		return nil, err
	}
	order := slices.Clone(sorted)
	slices.Reverse(order) // the order the tape runs the nodes in
	type buf struct {
		out             *outputs
		size, def, last int
		off             int
	}
	var bufs []buf
	roots := make(map[*G.Node][]int) // the planned outputs a node's value may share memory with
	end := len(order)
	for i, n := range order {
		op := n.Op()
		if op == nil {
			continue
		}
		children := childrenOf(g, n)
		for _, c := range children {
			for _, r := range roots[c] {
				bufs[r].last = max(bufs[r].last, i)
			}
		}
		switch p := op.(type) {
		case planned:
			size := 1
			if !n.IsScalar() {
				size = max(1, n.Shape().TotalSize())
			}
			roots[n] = []int{len(bufs)}
			bufs = append(bufs, buf{out: p.planOutput(), size: roundUp(size, planAlign), def: i, last: i})
		case *watchOp:
			// copies its input out; its own value is never read
		default:
			if op.ReturnsPtr() {
				var rs []int
				for _, c := range children {
					rs = append(rs, roots[c]...)
				}
				slices.Sort(rs)
				roots[n] = slices.Compact(rs)
			}
		}
	}
	for _, n := range order {
		if n.Op() == nil || len(roots[n]) == 0 || g.g.To(n.ID()).Len() > 0 || deadOutput(n.Op()) {
			continue
		}
		if _, ok := n.Op().(*watchOp); ok {
			continue
		}
		for _, r := range roots[n] {
			bufs[r].last = end
		}
	}
	// Largest first, each at the lowest offset that no output alive at the
	// same time occupies.
	idx := make([]int, len(bufs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return bufs[b].size - bufs[a].size })
	var placed []int
	p := &memPlan{}
	for _, i := range idx {
		b := &bufs[i]
		var live []int
		for _, j := range placed {
			if c := bufs[j]; c.def <= b.last && b.def <= c.last {
				live = append(live, j)
			}
		}
		slices.SortFunc(live, func(x, y int) int { return bufs[x].off - bufs[y].off })
		off := 0
		for _, j := range live {
			c := bufs[j]
			if off+b.size <= c.off {
				break
			}
			off = max(off, c.off+c.size)
		}
		b.off = off
		p.size = max(p.size, off+b.size)
		placed = append(placed, i)
	}
	p.slots = make([]planSlot, len(bufs))
	p.outs = make([]*outputs, len(bufs))
	for i, b := range bufs {
		p.slots[i] = planSlot{plan: p, i: i, off: b.off, size: b.size}
		p.outs[i] = b.out
	}
	return p, nil
}

// install points every planned op's output at its slot and takes an arena
// from the pool, for the next run of a program of dtype dt.
func (p *memPlan) install(dt tensor.Dtype) {
	for i, o := range p.outs {
		o.setSlot(&p.slots[i])
	}
	p.next = 0
	switch dt {
	case tensor.Float32:
		p.f32 = arenas32.get(p.size)
	case tensor.Float64:
		p.f64 = arenas64.get(p.size)
	}
}

// reserve tells the pool of dtype dt that a program compiled with the plan
// will run on it (on with Compile, off with Close).
func (p *memPlan) reserve(dt tensor.Dtype, on bool) {
	switch dt {
	case tensor.Float32:
		arenas32.reserve(p.size, on)
	case tensor.Float64:
		arenas64.reserve(p.size, on)
	}
}

// release gives the run's arena back to the pool. The plan keeps it too:
// a tape machine run outside Program.Run uses it.
func (p *memPlan) release(dt tensor.Dtype) {
	switch dt {
	case tensor.Float32:
		arenas32.put(p.f32)
	case tensor.Float64:
		arenas64.put(p.f64)
	}
}

// arenaPool keeps the arenas that no program is running on. It makes each
// new arena as large as the largest plan of the programs open now, not
// just as the running program's: a smaller arena made first would stay
// alive beside the larger one that replaces it, since the plan that ran on
// it, and its graph's outputs, still point into it. A game's two programs,
// compiled before either runs, thus share one arena from the first run on.
type arenaPool[T float] struct {
	mu   sync.Mutex
	free [][]T
	open map[int]int // the plans' sizes of the open programs, and how many
}

// reserve counts an open program whose plan needs n elements (on), or one
// closed (off).
func (a *arenaPool[T]) reserve(n int, on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.open == nil {
		a.open = map[int]int{}
	}
	if on {
		a.open[n]++
	} else if a.open[n]--; a.open[n] <= 0 {
		delete(a.open, n)
	}
}

// want is the size of the largest plan of the open programs.
func (a *arenaPool[T]) want() int {
	w := 0
	for n := range a.open {
		w = max(w, n)
	}
	return w
}

var (
	arenas32 arenaPool[float32]
	arenas64 arenaPool[float64]
)

// get returns a free arena of at least n elements: the largest free one,
// replaced by a new one of n elements if it is smaller.
func (a *arenaPool[T]) get(n int) []T {
	a.mu.Lock()
	defer a.mu.Unlock()
	best := -1
	for i, f := range a.free {
		if best < 0 || len(f) > len(a.free[best]) {
			best = i
		}
	}
	if best < 0 || len(a.free[best]) < n {
		if best >= 0 {
			a.free = slices.Delete(a.free, best, best+1) // too small: dropped
		}
		return make([]T, max(n, a.want()))
	}
	f := a.free[best]
	a.free = slices.Delete(a.free, best, best+1)
	return f
}

// put returns an arena to the pool.
func (a *arenaPool[T]) put(f []T) {
	if len(f) == 0 {
		return
	}
	a.mu.Lock()
	a.free = append(a.free, f)
	a.mu.Unlock()
}

// uninstall gives the planned ops memory of their own again.
func (p *memPlan) uninstall() {
	for _, o := range p.outs {
		o.setSlot(nil)
	}
}

// bytes returns the arena's size in bytes for elements of dtype dt.
func (p *memPlan) bytes(dt tensor.Dtype) int64 { return int64(p.size) * int64(dt.Size()) }

func (o *outputs) setSlot(s *planSlot) {
	if s != nil {
		o.f32.buf, o.f64.buf = nil, nil // the plan's memory replaces the op's own
	}
	o.f32.slot, o.f64.slot = s, s
}

// plannedBuf returns the slot's memory for an output of n elements of type T
// and reports whether the op may use it: it must run in the planned order
// and its memory must not overlap its inputs'.
func plannedBuf[T float](s *planSlot, n int, in []G.Value) ([]T, bool) {
	p := s.plan
	if s.i == 0 {
		p.next = 0 // a new run (a tape machine run without Program.Run)
	}
	if p.bad || s.i != p.next || n > s.size {
		p.bad = true
		return nil, false
	}
	p.next++
	var arena []T
	var z T
	if _, ok := any(z).(float32); ok {
		if len(p.f32) < p.size {
			p.f32 = make([]float32, p.size)
		}
		arena = any(p.f32).([]T)
	} else {
		if len(p.f64) < p.size {
			p.f64 = make([]float64, p.size)
		}
		arena = any(p.f64).([]T)
	}
	buf := arena[s.off : s.off+n : s.off+n]
	if n > 0 && overlapsAny(unsafe.Pointer(&buf[0]), uintptr(n)*unsafe.Sizeof(z), in) {
		p.bad = true
		return nil, false
	}
	return buf, true
}

// errPlanOrder is what Run reports when the ops did not run as planned.
var errPlanOrder = errors.New("nn: an op ran out of the order its memory was planned for, or its planned memory overlapped an input; the program runs without a memory plan from now on")

// ArenaBytes returns the size of the memory that the program's plan gives
// the fused ops' outputs (0 without a plan). TensorBytes counts every
// node's value once; the arena holds only those alive at the same time.
func (p *Program) ArenaBytes() int64 {
	if p.plan == nil {
		return 0
	}
	return p.plan.bytes(p.g.dtype)
}
