//go:build cuda

package nn

import (
	"fmt"
	"math"
	"unsafe"

	"gorgonia.org/cu"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The package's own CUDA kernels (nn/cuda/learnviews.cu, compiled to PTX by
// scripts/cuda/gen-modules.sh as the module "learnviews") and the CUDA
// sides of the ops that use them. Exported helpers let other packages'
// custom ops (viewgen's flow) run them from their CUDADo methods.

const kernelModule = "learnviews"

// kernelArg is one kernel parameter as gorgonia's batched launcher reads
// it: eight bytes, of which the kernel reads the first four for an int or a
// float and all eight for a pointer or a double.
type kernelArg uint64

func argPtr(v G.Value) kernelArg { return kernelArg(v.Uintptr()) }

// onDevice checks that every value is there: gorgonia passes no output
// memory to an op that does not say it returns a pointer and calls an
// extern.
func onDevice(name string, vs ...G.Value) error {
	for i, v := range vs {
		if v == nil {
			return fmt.Errorf("nn: kernel %s: argument %d has no device memory", name, i)
		}
	}
	return nil
}
func argInt(i int) kernelArg { return kernelArg(uint64(uint32(int32(i)))) }

// argFloat is x as the kernel's element type.
func argFloat(x float64, dt tensor.Dtype) kernelArg {
	if dt == tensor.Float32 {
		return kernelArg(math.Float32bits(float32(x)))
	}
	return kernelArg(math.Float64bits(x))
}

// launch runs kernel "<name>_f32" or "_f64" of the learnviews module over a
// grid-stride loop of n elements on device dev, and waits for it.
func launch(extern G.External, dev G.Device, name string, dt tensor.Dtype, n int, args ...kernelArg) error {
	if n <= 0 {
		return nil
	}
	m, ok := extern.(G.CUDAMachine)
	if !ok {
		return fmt.Errorf("nn: kernel %s run by %T, not a CUDA machine", name, extern)
	}
	if int(dev) < 0 || int(dev) >= len(m.Engines()) {
		return fmt.Errorf("nn: kernel %s on device %d of %d", name, int(dev), len(m.Engines()))
	}
	var suffix string
	switch dt {
	case tensor.Float32:
		suffix = "_f32"
	case tensor.Float64:
		suffix = "_f64"
	default:
		return fmt.Errorf("nn: kernel %s: unsupported dtype %v", name, dt)
	}
	full := kernelModule + "." + name + suffix
	e := &m.Engines()[int(dev)]
	fn, ok := e.Functions()[full]
	if !ok {
		return fmt.Errorf("nn: no CUDA kernel %s in this binary: run scripts/cuda/gen-modules.sh, then build again", full)
	}
	params := make([]unsafe.Pointer, len(args))
	for i := range args {
		params[i] = unsafe.Pointer(&args[i])
	}
	const block = 256
	grid := min((n+block-1)/block, 1<<16)
	ctx := m.Contexts()[int(dev)]
	ctx.LaunchAndSync(fn, grid, 1, 1, block, 1, 1, 0, cu.NoStream, params)
	if err := e.DoWork(); err != nil {
		return fmt.Errorf("nn: kernel %s: %w", full, err)
	}
	return nil
}

// CUDACopyChannel copies channel sc of src, an (n, srcC, hw) device tensor,
// into channel dc of dst, an (n, dstC, hw) one, or adds it there when
// accumulate is set. It is for the CUDADo methods of custom ops.
func CUDACopyChannel(extern G.External, dev G.Device, dst G.Value, dstC, dc int, src G.Value, srcC, sc, n, hw int, accumulate bool) error {
	if err := onDevice("copy_plane", dst, src); err != nil {
		return err
	}
	acc := 0
	if accumulate {
		acc = 1
	}
	return launch(extern, dev, "copy_plane", src.Dtype(), n*hw,
		argPtr(dst), argInt(dstC), argInt(dc), argPtr(src), argInt(srcC), argInt(sc), argInt(n), argInt(hw), argInt(acc))
}

// CUDAFill sets the first n elements of dst, a device tensor of dtype dt,
// to v.
func CUDAFill(extern G.External, dev G.Device, dst G.Value, dt tensor.Dtype, n int, v float64) error {
	if err := onDevice("fill", dst); err != nil {
		return err
	}
	return launch(extern, dev, "fill", dt, n, argPtr(dst), argFloat(v, dt), argInt(n))
}

// CUDALeakyReLU sets y = x where x ≥ 0 and slope·x elsewhere.
func CUDALeakyReLU(extern G.External, dev G.Device, y, x G.Value, slope float64) error {
	if err := onDevice("leaky", y, x); err != nil {
		return err
	}
	n := x.Shape().TotalSize()
	return launch(extern, dev, "leaky", x.Dtype(), n, argPtr(y), argPtr(x), argFloat(slope, x.Dtype()), argInt(n))
}

// CUDALeakyReLUGrad sets dx = dy where x ≥ 0 and slope·dy elsewhere.
func CUDALeakyReLUGrad(extern G.External, dev G.Device, dx, x, dy G.Value, slope float64) error {
	if err := onDevice("leaky_back", dx, x, dy); err != nil {
		return err
	}
	n := x.Shape().TotalSize()
	return launch(extern, dev, "leaky_back", x.Dtype(), n, argPtr(dx), argPtr(x), argPtr(dy), argFloat(slope, x.Dtype()), argInt(n))
}

// CUDADo runs SelectChannels on the device: one plane copy per selected
// channel.
func (op selectOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	n, c, hw := op.in[0], op.in[1], op.in[2]*op.in[3]
	for j, ch := range op.chans {
		if err := CUDACopyChannel(extern, dev, prealloc, len(op.chans), j, in[0], c, ch, n, hw, false); err != nil {
			return nil, fmt.Errorf("%v: %w", op, err)
		}
	}
	return prealloc, nil
}

// CUDADo runs the gradient of SelectChannels on the device: zero, then add
// each selected channel back.
func (op scatterOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	s := op.sel.in
	n, c, hw := s[0], s[1], s[2]*s[3]
	if err := CUDAFill(extern, dev, prealloc, in[0].Dtype(), s.TotalSize(), 0); err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	for j, ch := range op.sel.chans {
		if err := CUDACopyChannel(extern, dev, prealloc, c, ch, in[0], len(op.sel.chans), j, n, hw, true); err != nil {
			return nil, fmt.Errorf("%v: %w", op, err)
		}
	}
	return prealloc, nil
}
