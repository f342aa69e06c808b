//go:build cuda

package nn

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"gorgonia.org/cu"
	G "gorgonia.org/gorgonia"
)

// kernels records the CUDA modules registered at start-up by the generated
// device_cuda_modules.go.
var kernels struct {
	sync.Mutex
	modules, funcs int
}

// registerCUDAModule adds one module of gorgonia's CUDA kernels, compiled to
// PTX, to gorgonia's CUDA standard library, which every CUDA machine loads.
func registerCUDAModule(name, ptx string, funcs []string) {
	G.AddToStdLib(name, ptx, funcs)
	kernels.Lock()
	kernels.modules++
	kernels.funcs += len(funcs)
	kernels.Unlock()
}

func cudaKernels() (modules, funcs int) {
	kernels.Lock()
	defer kernels.Unlock()
	return kernels.modules, kernels.funcs
}

func devices() ([]DeviceInfo, error) {
	if err := cu.InitError(); err != nil {
		return nil, fmt.Errorf("no usable CUDA driver or device: %w", err)
	}
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("counting CUDA devices: %w", err)
	}
	if n == 0 {
		return nil, errors.New("the CUDA driver reports no device")
	}
	out := make([]DeviceInfo, n)
	for i := range out {
		d, err := cu.GetDevice(i)
		if err != nil {
			return nil, fmt.Errorf("CUDA device %d: %w", i, err)
		}
		info := DeviceInfo{Index: i}
		if info.Name, err = d.Name(); err != nil {
			return nil, fmt.Errorf("CUDA device %d: %w", i, err)
		}
		if info.Major, info.Minor, err = d.ComputeCapability(); err != nil {
			return nil, fmt.Errorf("CUDA device %d: %w", i, err)
		}
		if info.Memory, err = d.TotalMem(); err != nil {
			return nil, fmt.Errorf("CUDA device %d: %w", i, err)
		}
		out[i] = info
	}
	return out, nil
}

func checkCUDA() error {
	if m, _ := cudaKernels(); m == 0 {
		// Without its kernels gorgonia runs CPU code on device memory.
		return errors.New("this binary carries none of gorgonia's CUDA kernels: run scripts/cuda/gen-modules.sh, then build again")
	}
	_, err := devices()
	return err
}

// lockThread wires the calling goroutine to its thread until the returned
// function is called: gorgonia's CUDA calls from the goroutine that runs a
// machine assume the context they made current stays current.
func lockThread() (unlock func()) {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}

// waitEngines returns once every CUDA engine of vm has finished starting:
// gorgonia creates an engine's cuBLAS handle on the engine's own goroutine
// after the machine is returned, and a matrix product that comes first
// fails with NotInitialized. A no-op call through the engine's work queue
// is served only after that.
func waitEngines(vm G.VM) error {
	m, ok := vm.(G.CUDAMachine)
	if !ok {
		return nil
	}
	engines := m.Engines()
	for i := range engines {
		if err := engines[i].Context().Do(func() error { return nil }); err != nil {
			return fmt.Errorf("nn: starting CUDA engine %d: %w", i, err)
		}
	}
	return nil
}

// retained holds the machines of closed programs until the process exits.
// Closing a gorgonia CUDA machine destroys its CUDA context, but gorgonia
// leaves contexts current on the threads that used them, and an engine
// started later on such a thread creates its cuBLAS handle in the dead
// context (its first matrix product then fails with NotInitialized). So in
// a cuda build Program.Close keeps the machine and its device memory.
var retained struct {
	sync.Mutex
	vms []G.VM
}

func closeVM(vm G.VM) error {
	retained.Lock()
	retained.vms = append(retained.vms, vm)
	retained.Unlock()
	return nil
}
