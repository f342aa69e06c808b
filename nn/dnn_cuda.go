//go:build cuda

package nn

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/chewxy/hm"
	"gorgonia.org/cu"
	cudnn "gorgonia.org/cu/dnn"
	t2cudnn "gorgonia.org/cu/dnn/interop"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The cuDNN layer set: convolution, batch norm, ReLU and pooling as ops whose
// forward and backward passes run on the GPU through cuDNN, so that a
// training step keeps the large activations in device memory. They are the
// CUDA side of the package's fused CPU ops and compute the same functions:
// cross-correlation with PyTorch's padding, batch norm over N, H and W with
// the biased variance, max pooling with padding that never wins.
//
// Conventions, besides those of fastop.go:
//   - Every op has CUDADo only; Do fails. gorgonia gives a CUDADo op its
//     output already allocated in device memory (prealloc) and hands it
//     device tensors, packed row-major.
//   - Each CUDADo first lets gorgonia's engine flush its queued work, then
//     calls cuDNN with gorgonia's CUDA context current on a locked thread:
//     the cuDNN handle belongs to that context.
//   - State shared by a forward op and its backward ops (batch norm's saved
//     mean and inverse deviation, its parameter gradients) lives in device
//     memory the op allocates once with cuMemAlloc; a backward op takes a
//     node computed after that state as an input, so the tape orders them.
//   - No workspace: the algorithms chosen need none (implicit GEMM forward,
//     algorithm 0 backward).

// cudnnMissing says why the cuDNN layer set cannot be used: nil here.
func cudnnMissing() error { return nil }

// devPtr is a device address as cuDNN's Memory.
type devPtr uintptr

func (p devPtr) Uintptr() uintptr         { return uintptr(p) }
func (devPtr) IsNativelyAccessible() bool { return false }

// dnnOp holds what every cuDNN op shares.
type dnnOp struct {
	opID
	dt tensor.Dtype
}

func (*dnnOp) ReturnsPtr() bool            { return true }
func (*dnnOp) CallsExtern() bool           { return true }
func (*dnnOp) OverwritesInput() int        { return -1 }
func (op *dnnOp) Hashcode() uint32         { return hashOf(op) }
func (op *dnnOp) String() string           { return op.name }
func (op *dnnOp) dataType() cudnn.DataType { return t2cudnn.Dtype2DataType(op.dt) }

func (op *dnnOp) Do(...G.Value) (G.Value, error) {
	return nil, fmt.Errorf("%s runs on a CUDA device only", op.name)
}

// notDifferentiable is embedded by the backward ops.
type notDifferentiable struct{ arity int }

func (n notDifferentiable) DiffWRT(int) []bool { return make([]bool, n.arity) }
func (notDifferentiable) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("nn: cuDNN backward ops have no second derivative")
}

// dnnCall runs f with the cuDNN handle of device dev, gorgonia's queued work
// done and its CUDA context current.
func dnnCall(extern G.External, dev G.Device, f func(*cudnn.Context) error) error {
	m, ok := extern.(G.CUDAMachine)
	if !ok {
		return fmt.Errorf("nn: cuDNN op run by %T, not a CUDA machine", extern)
	}
	if int(dev) < 0 || int(dev) >= len(m.Engines()) {
		return fmt.Errorf("nn: cuDNN op on device %d of %d", int(dev), len(m.Engines()))
	}
	e := &m.Engines()[int(dev)]
	if err := e.DoWork(); err != nil {
		return fmt.Errorf("nn: flushing CUDA work: %w", err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(e.Context().CUDAContext()); err != nil {
		return fmt.Errorf("nn: making gorgonia's CUDA context current: %w", err)
	}
	return f(m.CUDNNContexts()[int(dev)])
}

// run is the body of every CUDADo: f gets the device memory of vals (the
// op's inputs it reads and its output, in the order given) and runs with
// the cuDNN handle (dnnCall); errors name the op, and the output is out.
func (op *dnnOp) run(extern G.External, dev G.Device, f func(*cudnn.Context, []cudnn.Memory) error, vals ...G.Value) (G.Value, error) {
	m, err := mems(vals...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.name, err)
	}
	if err := dnnCall(extern, dev, func(ctx *cudnn.Context) error { return f(ctx, m) }); err != nil {
		return nil, fmt.Errorf("%s: %w", op.name, err)
	}
	return vals[len(vals)-1], nil
}

// deviceAlloc allocates n elements of dtype dt in the current context.
func deviceAlloc(n int, dt tensor.Dtype) (devPtr, error) {
	p, err := cu.MemAlloc(int64(n) * int64(dt.Size()))
	if err != nil {
		return 0, fmt.Errorf("nn: allocating %d values on the device: %w", n, err)
	}
	return devPtr(p), nil
}

func memOf(v G.Value) (cudnn.Memory, error) {
	m, ok := v.(cudnn.Memory)
	if !ok {
		return nil, fmt.Errorf("nn: value %T is not device memory", v)
	}
	return m, nil
}

func mems(vs ...G.Value) ([]cudnn.Memory, error) {
	out := make([]cudnn.Memory, len(vs))
	for i, v := range vs {
		var err error
		if out[i], err = memOf(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// nchw describes a packed NCHW tensor.
func nchw(dt cudnn.DataType, n, c, h, w int) (*cudnn.TensorDescriptor, error) {
	return cudnn.NewTensorDescriptor(cudnn.NCHW, dt, []int{n, c, h, w}, []int{c * h * w, h * w, w, 1})
}

// copyDevice copies n values from src to dst on the device.
func copyDevice(ctx *cudnn.Context, dt cudnn.DataType, n int, src, dst cudnn.Memory) error {
	d, err := nchw(dt, 1, n, 1, 1)
	if err != nil {
		return err
	}
	return ctx.AddTensor(1, d, src, 0, d, dst)
}

// ---- convolution ----

type dnnConv struct {
	g          convGeom
	conv       *cudnn.Convolution
	x, y, bias *cudnn.TensorDescriptor
	w          *cudnn.Filter
}

func (c *dnnConv) describe(dt cudnn.DataType) error {
	if c.conv != nil {
		return nil
	}
	g := c.g
	var err error
	if c.conv, err = cudnn.NewConvolution(cudnn.FmaMath, 1, []int{g.pad, g.pad}, []int{g.stride, g.stride}, []int{1, 1}, cudnn.CrossCorrelation, dt); err != nil {
		return err
	}
	if c.x, err = nchw(dt, g.n, g.cin, g.h, g.w); err != nil {
		return err
	}
	if c.y, err = nchw(dt, g.n, g.cout, g.oh, g.ow); err != nil {
		return err
	}
	if c.bias, err = nchw(dt, 1, g.cout, 1, 1); err != nil {
		return err
	}
	c.w, err = cudnn.NewFilter(dt, cudnn.NCHW, []int{g.cout, g.cin, g.k, g.k})
	return err
}

// dnnConvOp is (x, w[, b]) → conv(x, w) + b.
type dnnConvOp struct {
	dnnOp
	c    *dnnConv
	bias bool
}

func (op *dnnConvOp) Arity() int {
	if op.bias {
		return 3
	}
	return 2
}

func (op *dnnConvOp) Type() hm.Type {
	if op.bias {
		return fnType(4, 4, 4, 1)
	}
	return fnType(4, 4, 4)
}

func (op *dnnConvOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.c.g.outShape(), nil }

func (op *dnnConvOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		y := m[len(m)-1]
		if err := op.c.describe(op.dataType()); err != nil {
			return err
		}
		c := op.c
		if err := ctx.ConvolutionForward(1, c.x, m[0], c.w, m[1], c.conv, cudnn.ConvolutionFwdAlgoImplicitGemm, devPtr(0), 0, 0, c.y, y); err != nil {
			return err
		}
		if op.bias {
			return ctx.AddTensor(1, c.bias, m[2], 1, c.y, y)
		}
		return nil
	}, append(in[:len(in):len(in)], prealloc)...)
}

func (op *dnnConvOp) DiffWRT(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

func (op *dnnConvOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	var err error
	res := make(G.Nodes, len(in))
	data := &dnnConvDataOp{dnnOp: dnnOp{opID: newOpID("cudnn conv data grad"), dt: op.dt}, c: op.c, notDifferentiable: notDifferentiable{2}}
	if res[0], err = G.ApplyOp(data, in[1], grad); err != nil {
		return nil, err
	}
	filter := &dnnConvFilterOp{dnnOp: dnnOp{opID: newOpID("cudnn conv filter grad"), dt: op.dt}, c: op.c, notDifferentiable: notDifferentiable{2}}
	if res[1], err = G.ApplyOp(filter, in[0], grad); err != nil {
		return nil, err
	}
	if op.bias {
		b := &dnnConvBiasOp{dnnOp: dnnOp{opID: newOpID("cudnn conv bias grad"), dt: op.dt}, c: op.c, notDifferentiable: notDifferentiable{1}}
		if res[2], err = G.ApplyOp(b, grad); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// dnnConvDataOp is (w, dy) → dx.
type dnnConvDataOp struct {
	dnnOp
	notDifferentiable
	c *dnnConv
}

func (*dnnConvDataOp) Arity() int    { return 2 }
func (*dnnConvDataOp) Type() hm.Type { return fnType(4, 4, 4) }
func (op *dnnConvDataOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.c.g.inShape(), nil
}

func (op *dnnConvDataOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		if err := op.c.describe(op.dataType()); err != nil {
			return err
		}
		c := op.c
		return ctx.ConvolutionBackwardData(1, c.w, m[0], c.y, m[1], c.conv, cudnn.ConvolutionBwdDataAlgo0, devPtr(0), 0, 0, c.x, m[2])
	}, in[0], in[1], prealloc)
}

// dnnConvFilterOp is (x, dy) → dw.
type dnnConvFilterOp struct {
	dnnOp
	notDifferentiable
	c *dnnConv
}

func (*dnnConvFilterOp) Arity() int    { return 2 }
func (*dnnConvFilterOp) Type() hm.Type { return fnType(4, 4, 4) }
func (op *dnnConvFilterOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	g := op.c.g
	return g.wShape(), nil
}

func (op *dnnConvFilterOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		if err := op.c.describe(op.dataType()); err != nil {
			return err
		}
		c := op.c
		return ctx.ConvolutionBackwardFilter(1, c.x, m[0], c.y, m[1], c.conv, cudnn.ConvolutionBwdFilterAlgo0, devPtr(0), 0, 0, c.w, m[2])
	}, in[0], in[1], prealloc)
}

// dnnConvBiasOp is dy → db.
type dnnConvBiasOp struct {
	dnnOp
	notDifferentiable
	c *dnnConv
}

func (*dnnConvBiasOp) Arity() int    { return 1 }
func (*dnnConvBiasOp) Type() hm.Type { return fnType(1, 4) }
func (op *dnnConvBiasOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.c.g.cout}, nil
}

func (op *dnnConvBiasOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		if err := op.c.describe(op.dataType()); err != nil {
			return err
		}
		return ctx.ConvolutionBackwardBias(1, op.c.y, m[0], 0, op.c.bias, m[1])
	}, in[0], prealloc)
}

func dnnConv2d(g *Graph, x, w, b *G.Node, k, stride, pad int) *G.Node {
	xs, ws := x.Shape(), w.Shape()
	geom := convGeom{n: xs[0], cin: xs[1], h: xs[2], w: xs[3], cout: ws[0], k: k, stride: stride, pad: pad}
	geom.oh = (geom.h+2*pad-k)/stride + 1
	geom.ow = (geom.w+2*pad-k)/stride + 1
	if geom.oh <= 0 || geom.ow <= 0 {
		g.Fail("conv", fmt.Errorf("input %v too small for a %d×%d kernel with padding %d", xs, k, k, pad))
		return nil
	}
	op := &dnnConvOp{dnnOp: dnnOp{opID: newOpID("cudnn conv"), dt: g.dtype}, c: &dnnConv{g: geom}, bias: b != nil}
	return g.Do("cudnn conv", func() (*G.Node, error) {
		if b != nil {
			return G.ApplyOp(op, x, w, b)
		}
		return G.ApplyOp(op, x, w)
	})
}

// ---- pooling and ReLU ----

// dnnPoolOp is x → pool(x), max or average.
type dnnPoolOp struct {
	dnnOp
	mode        cudnn.PoolingMode
	kh, kw      int
	stride, pad int
	in, out     tensor.Shape
	pool        *cudnn.Pooling
	x, y        *cudnn.TensorDescriptor
}

func (op *dnnPoolOp) describe() error {
	if op.pool != nil {
		return nil
	}
	var err error
	if op.pool, err = cudnn.NewPooling(op.mode, cudnn.NotPropagateNan, []int{op.kh, op.kw}, []int{op.stride, op.stride}, []int{op.pad, op.pad}); err != nil {
		return err
	}
	dt := op.dataType()
	if op.x, err = nchw(dt, op.in[0], op.in[1], op.in[2], op.in[3]); err != nil {
		return err
	}
	op.y, err = nchw(dt, op.out[0], op.out[1], op.out[2], op.out[3])
	return err
}

func (*dnnPoolOp) Arity() int                                        { return 1 }
func (*dnnPoolOp) Type() hm.Type                                     { return fnType(4, 4) }
func (op *dnnPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.out.Clone(), nil }
func (*dnnPoolOp) DiffWRT(int) []bool                                { return []bool{true} }

func (op *dnnPoolOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		if err := op.describe(); err != nil {
			return err
		}
		return ctx.PoolingForward(op.pool, 1, op.x, m[0], 0, op.y, m[1])
	}, in[0], prealloc)
}

func (op *dnnPoolOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	back := &dnnPoolBackOp{dnnOp: dnnOp{opID: newOpID(op.name + " grad"), dt: op.dt}, fwd: op, notDifferentiable: notDifferentiable{3}}
	dx, err := G.ApplyOp(back, in[0], out, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

// dnnPoolBackOp is (x, y, dy) → dx.
type dnnPoolBackOp struct {
	dnnOp
	notDifferentiable
	fwd *dnnPoolOp
}

func (*dnnPoolBackOp) Arity() int    { return 3 }
func (*dnnPoolBackOp) Type() hm.Type { return fnType(4, 4, 4, 4) }
func (op *dnnPoolBackOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.fwd.in.Clone(), nil
}

func (op *dnnPoolBackOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	f := op.fwd
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		if err := f.describe(); err != nil {
			return err
		}
		return ctx.PoolingBackward(f.pool, 1, f.y, m[1], f.y, m[2], f.x, m[0], 0, f.x, m[3])
	}, in[0], in[1], in[2], prealloc)
}

func dnnMaxPool2d(g *Graph, x *G.Node, k, stride, pad int) *G.Node {
	s := x.Shape()
	oh, ow := (s[2]+2*pad-k)/stride+1, (s[3]+2*pad-k)/stride+1
	if oh <= 0 || ow <= 0 {
		g.Fail("max pool", fmt.Errorf("input %v too small for a %d×%d window with padding %d", s, k, k, pad))
		return nil
	}
	op := &dnnPoolOp{dnnOp: dnnOp{opID: newOpID("cudnn max pool"), dt: g.dtype}, mode: cudnn.MaxPooling,
		kh: k, kw: k, stride: stride, pad: pad, in: s.Clone(), out: tensor.Shape{s[0], s[1], oh, ow}}
	return g.Do("cudnn max pool", func() (*G.Node, error) { return G.ApplyOp(op, x) })
}

func dnnGlobalAvgPool(g *Graph, x *G.Node) *G.Node {
	s := x.Shape()
	op := &dnnPoolOp{dnnOp: dnnOp{opID: newOpID("cudnn average pool"), dt: g.dtype}, mode: cudnn.AverageCountIncludePadding,
		kh: s[2], kw: s[3], stride: max(s[2], s[3]), in: s.Clone(), out: tensor.Shape{s[0], s[1], 1, 1}}
	y := g.Do("cudnn average pool", func() (*G.Node, error) { return G.ApplyOp(op, x) })
	return Reshape(g, y, s[0], s[1])
}

// dnnReLUOp is x → max(x, 0) on an NCHW tensor.
type dnnReLUOp struct {
	dnnOp
	shape tensor.Shape
	act   *cudnn.Activation
	desc  *cudnn.TensorDescriptor
}

func (op *dnnReLUOp) describe() error {
	if op.act != nil {
		return nil
	}
	var err error
	if op.act, err = cudnn.NewActivation(cudnn.ReLU, cudnn.NotPropagateNan, 0); err != nil {
		return err
	}
	s := op.shape
	op.desc, err = nchw(op.dataType(), s[0], s[1], s[2], s[3])
	return err
}

func (*dnnReLUOp) Arity() int                                        { return 1 }
func (*dnnReLUOp) Type() hm.Type                                     { return fnType(4, 4) }
func (op *dnnReLUOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (*dnnReLUOp) DiffWRT(int) []bool                                { return []bool{true} }

func (op *dnnReLUOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		if err := op.describe(); err != nil {
			return err
		}
		return ctx.ActivationForward(op.act, 1, op.desc, m[0], 0, op.desc, m[1])
	}, in[0], prealloc)
}

func (op *dnnReLUOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	back := &dnnReLUBackOp{dnnOp: dnnOp{opID: newOpID("cudnn relu grad"), dt: op.dt}, fwd: op, notDifferentiable: notDifferentiable{3}}
	dx, err := G.ApplyOp(back, in[0], out, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

// dnnReLUBackOp is (x, y, dy) → dx.
type dnnReLUBackOp struct {
	dnnOp
	notDifferentiable
	fwd *dnnReLUOp
}

func (*dnnReLUBackOp) Arity() int    { return 3 }
func (*dnnReLUBackOp) Type() hm.Type { return fnType(4, 4, 4, 4) }
func (op *dnnReLUBackOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.fwd.shape.Clone(), nil
}

func (op *dnnReLUBackOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	f := op.fwd
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		if err := f.describe(); err != nil {
			return err
		}
		return ctx.ActivationBackward(f.act, 1, f.desc, m[1], f.desc, m[2], f.desc, m[0], 0, f.desc, m[3])
	}, in[0], in[1], in[2], prealloc)
}

func dnnReLU(g *Graph, x *G.Node) *G.Node {
	op := &dnnReLUOp{dnnOp: dnnOp{opID: newOpID("cudnn relu"), dt: g.dtype}, shape: x.Shape().Clone()}
	return g.Do("cudnn relu", func() (*G.Node, error) { return G.ApplyOp(op, x) })
}

// ---- batch norm ----

// dnnBN is one batch-norm layer application: descriptors and the device
// memory its ops share.
type dnnBN struct {
	shape tensor.Shape
	eps   float64
	x, p  *cudnn.TensorDescriptor
	// saved holds the batch mean then the inverse deviation (2·C values);
	// grads holds dγ then dβ.
	saved, grads devPtr
}

func (b *dnnBN) describe(dt tensor.Dtype) error {
	if b.x != nil {
		return nil
	}
	s := b.shape
	var err error
	cdt := t2cudnn.Dtype2DataType(dt)
	if b.x, err = nchw(cdt, s[0], s[1], s[2], s[3]); err != nil {
		return err
	}
	if b.p, err = nchw(cdt, 1, s[1], 1, 1); err != nil {
		return err
	}
	if b.saved, err = deviceAlloc(2*s[1], dt); err != nil {
		return err
	}
	b.grads, err = deviceAlloc(2*s[1], dt)
	return err
}

func (b *dnnBN) half(p devPtr, i int, dt tensor.Dtype) devPtr {
	return p + devPtr(i*b.shape[1]*int(dt.Size()))
}

// dnnBNOp is (x, γ, β) → γ·(x − mean)/√(var + ε) + β, with the batch's
// statistics.
type dnnBNOp struct {
	dnnOp
	bn *dnnBN
}

func (*dnnBNOp) Arity() int                                        { return 3 }
func (*dnnBNOp) Type() hm.Type                                     { return fnType(4, 4, 1, 1) }
func (op *dnnBNOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.bn.shape.Clone(), nil }
func (*dnnBNOp) DiffWRT(int) []bool                                { return []bool{true, true, true} }

func (op *dnnBNOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	b := op.bn
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		if err := b.describe(op.dt); err != nil {
			return err
		}
		// running statistics are the layer's business (on the host)
		return ctx.BatchNormalizationForwardTraining(cudnn.Spatial, 1, 0, b.x, m[0], b.x, m[3], b.p, m[1], m[2],
			1, devPtr(0), devPtr(0), b.eps, b.saved, b.half(b.saved, 1, op.dt))
	}, in[0], in[1], in[2], prealloc)
}

func (op *dnnBNOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	back := &dnnBNBackOp{dnnOp: dnnOp{opID: newOpID("cudnn batch norm grad"), dt: op.dt}, bn: op.bn, notDifferentiable: notDifferentiable{4}}
	dx, err := G.ApplyOp(back, in[0], in[1], grad, out)
	if err != nil {
		return nil, err
	}
	res := G.Nodes{dx, nil, nil}
	for i := 1; i <= 2; i++ {
		p := &dnnBNParamOp{dnnOp: dnnOp{opID: newOpID("cudnn batch norm param grad"), dt: op.dt}, bn: op.bn, which: i - 1, notDifferentiable: notDifferentiable{1}}
		if res[i], err = G.ApplyOp(p, dx); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// dnnBNBackOp is (x, γ, dy, y) → dx; it also leaves dγ and dβ in device
// memory for the dnnBNParamOps. y only orders it after the forward op.
type dnnBNBackOp struct {
	dnnOp
	notDifferentiable
	bn *dnnBN
}

func (*dnnBNBackOp) Arity() int    { return 4 }
func (*dnnBNBackOp) Type() hm.Type { return fnType(4, 4, 1, 4, 4) }
func (op *dnnBNBackOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.bn.shape.Clone(), nil
}

func (op *dnnBNBackOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	b := op.bn
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		if err := b.describe(op.dt); err != nil {
			return err
		}
		return ctx.BatchNormalizationBackward(cudnn.Spatial, 1, 0, 1, 0, b.x, m[0], b.x, m[2], b.x, m[3], b.p, m[1],
			b.grads, b.half(b.grads, 1, op.dt), b.eps, b.saved, b.half(b.saved, 1, op.dt))
	}, in[0], in[1], in[2], prealloc)
}

// dnnBNParamOp is dx → dγ (which 0) or dβ (which 1), copied from where
// dnnBNBackOp left them.
type dnnBNParamOp struct {
	dnnOp
	notDifferentiable
	bn    *dnnBN
	which int
}

func (*dnnBNParamOp) Arity() int    { return 1 }
func (*dnnBNParamOp) Type() hm.Type { return fnType(1, 4) }
func (op *dnnBNParamOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.bn.shape[1]}, nil
}

func (op *dnnBNParamOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	b := op.bn
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		dst := m[0]
		return copyDevice(ctx, op.dataType(), b.shape[1], b.half(b.grads, op.which, op.dt), dst)
	}, prealloc)
}

// dnnBNStatsOp is y → (2, C): the batch mean and inverse deviation that the
// forward op saved, for the running statistics.
type dnnBNStatsOp struct {
	dnnOp
	notDifferentiable
	bn *dnnBN
}

func (*dnnBNStatsOp) Arity() int    { return 1 }
func (*dnnBNStatsOp) Type() hm.Type { return fnType(2, 4) }
func (op *dnnBNStatsOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{2, op.bn.shape[1]}, nil
}

func (op *dnnBNStatsOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	b := op.bn
	return op.run(extern, dev, func(ctx *cudnn.Context, m []cudnn.Memory) error {
		dst := m[0]
		return copyDevice(ctx, op.dataType(), 2*b.shape[1], b.saved, dst)
	}, prealloc)
}

// dnnBatchNorm returns the normalised x and a node holding the batch mean
// (row 0) and inverse deviation 1/√(var + ε) (row 1).
func dnnBatchNorm(g *Graph, x, gamma, beta *G.Node, eps float64) (y, stats *G.Node) {
	bn := &dnnBN{shape: x.Shape().Clone(), eps: eps}
	op := &dnnBNOp{dnnOp: dnnOp{opID: newOpID("cudnn batch norm"), dt: g.dtype}, bn: bn}
	y = g.Do("cudnn batch norm", func() (*G.Node, error) { return G.ApplyOp(op, x, gamma, beta) })
	if y == nil {
		return nil, nil
	}
	st := &dnnBNStatsOp{dnnOp: dnnOp{opID: newOpID("cudnn batch norm stats"), dt: g.dtype}, bn: bn, notDifferentiable: notDifferentiable{1}}
	stats = g.Do("cudnn batch norm stats", func() (*G.Node, error) { return G.ApplyOp(st, y) })
	return y, stats
}
