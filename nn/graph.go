package nn

import (
	"errors"
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Mode says whether layers with train/eval behaviour (batch normalisation,
// dropout) use batch statistics and random masks (Train) or running
// statistics and the identity (Eval).
type Mode int

const (
	Train Mode = iota
	Eval
)

func (m Mode) String() string {
	if m == Train {
		return "train"
	}
	return "eval"
}

// Graph is a gorgonia expression graph together with the bindings of model
// parameters into it, the inputs fed before each run and the hooks that
// layers need around a run. Graph methods keep the first error they meet and
// turn every later call into a no-op that returns nil, so that a forward
// pass reads as straight-line code; check Err (Compile does) once at the end.
type Graph struct {
	g      *G.ExprGraph
	dtype  tensor.Dtype
	mode   Mode
	rng    *rand.Rand
	src    *rand.PCG
	err    error
	params map[*Param]*G.Node
	bound  []*Param
	before []func() error
	after  []func() error
	names  map[string]int
	inputs map[*G.Node]bool // nodes made by Input: never differentiated
	// composed makes the layers use gorgonia's stock ops instead of the
	// package's fused ops.
	composed bool
	// dnn makes convolution, batch norm, ReLU and pooling use the cuDNN
	// layer set (cuda builds only); everything else composes gorgonia's ops.
	dnn bool
	// fused lists the nodes that a fused op (batch norm + ReLU, + max
	// pooling) replaced; Compile skips those that nothing reads.
	fused []*G.Node
	// differentiated is set once the graph has been differentiated: the
	// gradient hand-offs are paired before (see gradHandoff).
	differentiated bool
	// noPlan compiles programs whose ops own their output memory (tests
	// compare the two).
	noPlan bool
	// parts are the partial filter gradients that the graph's
	// convolutions share.
	parts *sharedParts
}

// NewGraph returns an empty graph for tensors of dtype dt. The seed drives
// every random draw made while the graph runs (dropout masks).
func NewGraph(dt tensor.Dtype, mode Mode, seed uint64) *Graph {
	src := rand.NewPCG(seed, 0x6e6e)
	g := &Graph{
		g:      G.NewGraph(),
		dtype:  dt,
		mode:   mode,
		src:    src,
		rng:    rand.New(src),
		params: make(map[*Param]*G.Node),
		names:  make(map[string]int),
		inputs: make(map[*G.Node]bool),
	}
	if cudaBuild {
		g.UseLayers(LayersCUDNN)
	}
	return g
}

// UseComposedOps makes the layers and ops built after the call compose
// gorgonia's stock ops (convolution, reductions, broadcasts) as the package
// did before it had its own fused ops, instead of using the fused ops (one
// op per layer and direction, GEMM straight into NCHW, split over the
// cores). The two give the same values and gradients up to rounding; the
// composed form is several times slower and allocates on every run. It is
// kept as the reference that tests and benchmarks compare against.
func (g *Graph) UseComposedOps(on bool) { g.composed, g.dnn = on, false }

// Layers names a layer set: the ops that convolution, batch norm, ReLU and
// pooling are built from.
type Layers string

// The layer sets.
const (
	LayersFused    Layers = "fused"    // the package's CPU ops (the default without the cuda tag)
	LayersComposed Layers = "composed" // gorgonia's stock ops
	LayersCUDNN    Layers = "cudnn"    // cuDNN ops on the GPU (the default with the cuda tag)
)

// DefaultLayers is the layer set NewGraph starts with: cudnn in a binary
// built with the cuda tag, whose graphs all run on the GPU, fused otherwise.
func DefaultLayers() Layers {
	if cudaBuild {
		return LayersCUDNN
	}
	return LayersFused
}

// UseLayers switches the layers built after the call to the named set;
// "" is DefaultLayers. An unknown name, or cudnn without the cuda tag, is
// recorded as the graph's error.
func (g *Graph) UseLayers(l Layers) {
	switch l {
	case "":
		g.UseLayers(DefaultLayers())
	case LayersFused:
		g.composed, g.dnn = false, false
	case LayersComposed:
		g.composed, g.dnn = true, false
	case LayersCUDNN:
		g.UseCUDNNOps(true)
	default:
		g.Fail("layers", fmt.Errorf("unknown layer set %q (known: fused, composed, cudnn)", string(l)))
	}
}

// Layers returns the layer set that layers built now use.
func (g *Graph) Layers() Layers {
	switch {
	case g.dnn:
		return LayersCUDNN
	case g.composed:
		return LayersComposed
	}
	return LayersFused
}

// UseCUDNNOps makes the layers built after the call run convolution, batch
// norm (in Train mode), ReLU and max and global average pooling of NCHW
// tensors as cuDNN ops, forward and backward on the GPU, and compose
// gorgonia's stock ops for the rest. Only a binary built with the cuda tag
// has them: elsewhere the graph records an error.
func (g *Graph) UseCUDNNOps(on bool) {
	g.dnn = on
	if on {
		g.composed = true
		g.Fail("cudnn", cudnnMissing())
	}
}

// Expr returns the underlying gorgonia graph.
func (g *Graph) Expr() *G.ExprGraph { return g.g }

// Dtype returns the graph's element type.
func (g *Graph) Dtype() tensor.Dtype { return g.dtype }

// Mode returns the graph's mode.
func (g *Graph) Mode() Mode { return g.mode }

// Training reports whether the graph is in Train mode.
func (g *Graph) Training() bool { return g.mode == Train }

// Err returns the first error met while building the graph.
func (g *Graph) Err() error { return g.err }

// Fail records err (wrapped with what) as the graph's error unless one is
// already recorded. Layers outside this package use it to report their own
// errors through the graph.
func (g *Graph) Fail(what string, err error) {
	if g.err == nil && err != nil {
		g.err = fmt.Errorf("%s: %w", what, err)
	}
}

// Do runs a gorgonia constructor unless the graph has already failed, and
// records its error under the name what.
func (g *Graph) Do(what string, f func() (*G.Node, error)) *G.Node {
	if g.err != nil {
		return nil
	}
	n, err := f()
	if err != nil {
		g.Fail(what, err)
		return nil
	}
	return n
}

// Ok reports whether all the nodes are non-nil and no error has been recorded.
func (g *Graph) Ok(nodes ...*G.Node) bool {
	if g.err != nil {
		return false
	}
	for _, n := range nodes {
		if n == nil {
			g.Fail("nn", errors.New("nil node"))
			return false
		}
	}
	return true
}

func (g *Graph) uniqueName(name string) string {
	g.names[name]++
	if c := g.names[name]; c > 1 {
		return fmt.Sprintf("%s#%d", name, c)
	}
	return name
}

// Param returns the node of p in this graph, binding p's value on first use.
// The node reads p.Value in place, so updates made by an optimiser are seen
// by the next run without rebuilding the graph.
func (g *Graph) Param(p *Param) *G.Node {
	if n, ok := g.params[p]; ok {
		return n
	}
	if g.err != nil {
		return nil
	}
	if p.Dtype() != g.dtype {
		g.Fail("param "+p.Name, fmt.Errorf("dtype %v in a %v graph", p.Dtype(), g.dtype))
		return nil
	}
	n := G.NewTensor(g.g, g.dtype, p.Shape().Dims(), G.WithShape(p.Shape()...),
		G.WithName(g.uniqueName(p.Name)), G.WithValue(p.Value))
	g.params[p] = n
	g.bound = append(g.bound, p)
	return n
}

// Bound returns the parameters bound into the graph so far, in order.
func (g *Graph) Bound() Params { return append(Params(nil), g.bound...) }

// Input is a graph input whose value is set before each run.
type Input struct {
	node  *G.Node
	value *tensor.Dense
}

// Input adds an input of the given shape. Its value starts at zero.
func (g *Graph) Input(name string, shape ...int) *Input {
	v := tensor.New(tensor.WithShape(shape...), tensor.Of(g.dtype))
	in := &Input{value: v}
	if g.err != nil {
		return in
	}
	in.node = G.NewTensor(g.g, g.dtype, len(shape), G.WithShape(shape...),
		G.WithName(g.uniqueName(name)), G.WithValue(v))
	g.inputs[in.node] = true
	return in
}

// isInput reports whether x is a node made by Input (or Constant), whose
// gradient no program ever needs.
func (g *Graph) isInput(x *G.Node) bool { return g.inputs[x] }

// Constant adds an input holding the given values, which stay fixed.
func (g *Graph) Constant(name string, values []float64, shape ...int) *G.Node {
	in := g.Input(name, shape...)
	if in.node != nil {
		if err := in.SetFloat64s(values); err != nil {
			g.Fail(name, err)
			return nil
		}
	}
	return in.node
}

// Node returns the input's graph node.
func (in *Input) Node() *G.Node { return in.node }

// Value returns the tensor the input reads; writing into it sets the input.
func (in *Input) Value() *tensor.Dense { return in.value }

// Shape returns the input's shape.
func (in *Input) Shape() tensor.Shape { return in.value.Shape() }

// Set copies a batch of float32 values into the input, converting if the
// graph is float64.
func (in *Input) Set(v []float32) error {
	switch d := in.value.Data().(type) {
	case []float32:
		if len(v) != len(d) {
			return fmt.Errorf("nn: input %s: got %d values, want %d (shape %v)", in.name(), len(v), len(d), in.value.Shape())
		}
		copy(d, v)
	case []float64:
		if len(v) != len(d) {
			return fmt.Errorf("nn: input %s: got %d values, want %d (shape %v)", in.name(), len(v), len(d), in.value.Shape())
		}
		for i := range d {
			d[i] = float64(v[i])
		}
	}
	return nil
}

// SetFloat64s copies float64 values into the input.
func (in *Input) SetFloat64s(v []float64) error {
	if len(v) != in.value.Shape().TotalSize() {
		return fmt.Errorf("nn: input %s: got %d values, want %d (shape %v)", in.name(), len(v), in.value.Shape().TotalSize(), in.value.Shape())
	}
	setFloat64s(in.value, v)
	return nil
}

func (in *Input) name() string {
	if in.node == nil {
		return "?"
	}
	return in.node.Name()
}

// BeforeRun registers a hook run before every forward pass (e.g. drawing a
// dropout mask).
func (g *Graph) BeforeRun(f func() error) { g.before = append(g.before, f) }

// AfterRun registers a hook run after every forward and backward pass (e.g.
// updating batch-norm running statistics).
func (g *Graph) AfterRun(f func() error) { g.after = append(g.after, f) }

// Rand returns the graph's seeded random source.
func (g *Graph) Rand() *rand.Rand { return g.rng }

// Program is a compiled graph: each Run computes the forward pass and, if the
// program was compiled with a loss, the gradients of the loss with respect
// to the chosen parameters.
type Program struct {
	g     *Graph
	vm    G.VM
	wrt   Params
	grads []*Watched
	loss  *Watched
	plan  *memPlan // where the fused ops' outputs live (nil: each op owns its own)
	// closed is set by Close (which may be called more than once).
	closed bool
}

// Compile compiles the graph. If loss is non-nil it must be a scalar, and
// each Run overwrites the Grad of every parameter in wrt with the gradient of
// the loss; other parameters' gradients are left untouched, so two players
// compiled from the same model never leak gradients into each other.
func (g *Graph) Compile(loss *G.Node, wrt ...*Param) (*Program, error) {
	if g.err != nil {
		return nil, g.err
	}
	p := &Program{g: g}
	if loss != nil {
		p.loss = g.Watch(loss)
		if g.err != nil {
			return nil, g.err
		}
	}
	if loss != nil && len(wrt) > 0 {
		if !loss.IsScalar() {
			return nil, fmt.Errorf("nn: loss %s has shape %v, want a scalar", loss.Name(), loss.Shape())
		}
		nodes := make(G.Nodes, len(wrt))
		for i, w := range wrt {
			if w.Buffer {
				return nil, fmt.Errorf("nn: cannot differentiate with respect to buffer %q", w.Name)
			}
			n, ok := g.params[w]
			if !ok {
				return nil, fmt.Errorf("nn: parameter %q is not used by the graph", w.Name)
			}
			nodes[i] = n
		}
		if err := g.pairHandoffs(loss); err != nil {
			return nil, fmt.Errorf("nn: differentiating %s: %w", loss.Name(), err)
		}
		grads, err := G.Grad(loss, nodes...)
		g.differentiated = true
		if err != nil {
			return nil, fmt.Errorf("nn: differentiating %s: %w", loss.Name(), err)
		}
		p.wrt = append(Params(nil), wrt...)
		for i, gr := range grads {
			p.grads = append(p.grads, g.watchInto(gr, wrt[i].Grad))
		}
		if g.err != nil {
			return nil, fmt.Errorf("nn: gradients of %s: %w", loss.Name(), g.err)
		}
	}
	g.markSkipped()
	if !cudaBuild && !g.noPlan {
		plan, err := g.planMemory()
		if err != nil {
			return nil, fmt.Errorf("nn: planning memory: %w", err)
		}
		p.plan = plan
		plan.reserve(g.dtype, true)
	}
	// In a cuda build gorgonia makes its CUDA context current and loads its
	// kernel modules in separate calls: the goroutine must not change
	// threads in between (an InvalidContext error otherwise).
	defer lockThread()()
	p.vm = G.NewTapeMachine(g.g)
	if err := waitEngines(p.vm); err != nil {
		closeVM(p.vm)
		return nil, err
	}
	return p, nil
}

// Run executes the program once.
func (p *Program) Run() error {
	for _, f := range p.g.before {
		if err := f(); err != nil {
			return err
		}
	}
	p.vm.Reset()
	if p.plan != nil {
		p.plan.install(p.g.dtype)
	}
	unlock := lockThread()
	err := p.vm.RunAll()
	unlock()
	if p.plan != nil {
		p.plan.release(p.g.dtype)
	}
	if err != nil {
		return fmt.Errorf("nn: run: %w", err)
	}
	if p.plan != nil && p.plan.bad {
		p.plan.uninstall()
		p.plan.reserve(p.g.dtype, false)
		p.plan = nil
		return errPlanOrder
	}
	// the watch ops have written every gradient into its parameter's Grad
	for _, f := range p.g.after {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// Loss returns the value of the loss after the last Run.
func (p *Program) Loss() float64 { return p.loss.Scalar() }

// Close releases the program's machine. In a cuda build the machine and its
// device memory stay until the process exits (see closeVM).
func (p *Program) Close() error {
	if p.plan != nil && !p.closed {
		p.plan.reserve(p.g.dtype, false)
	}
	p.closed = true
	return closeVM(p.vm)
}

// Scalar returns a scalar node's value as float64 (NaN if it has none).
// After a run only inputs, parameters, gradients and the graph's final
// outputs hold their own values, the outputs until the next run of any
// program (see memPlan); use Graph.Watch for anything else.
func Scalar(n *G.Node) float64 {
	if n == nil || n.Value() == nil {
		return nan()
	}
	switch v := n.Value().Data().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case []float32:
		if len(v) == 1 {
			return float64(v[0])
		}
	case []float64:
		if len(v) == 1 {
			return v[0]
		}
	}
	return nan()
}

// Values returns a node's value after a run as float64, row-major.
func Values(n *G.Node) []float64 {
	if n == nil || n.Value() == nil {
		return nil
	}
	switch v := n.Value().(type) {
	case *tensor.Dense:
		return Float64s(v)
	default:
		return []float64{Scalar(n)}
	}
}

func copyInto(dst, src *tensor.Dense) error {
	if dst.Shape().TotalSize() != src.Shape().TotalSize() {
		return fmt.Errorf("shape %v, want %v", src.Shape(), dst.Shape())
	}
	switch d := dst.Data().(type) {
	case []float32:
		s, ok := src.Data().([]float32)
		if !ok || len(s) != len(d) {
			return fmt.Errorf("dtype %v with %d elements, want float32 with %d", src.Dtype(), src.Shape().TotalSize(), len(d))
		}
		copy(d, s)
	case []float64:
		s, ok := src.Data().([]float64)
		if !ok || len(s) != len(d) {
			return fmt.Errorf("dtype %v with %d elements, want float64 with %d", src.Dtype(), src.Shape().TotalSize(), len(d))
		}
		copy(d, s)
	}
	return nil
}
