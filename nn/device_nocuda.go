//go:build !cuda

package nn

import (
	"errors"

	G "gorgonia.org/gorgonia"
)

// errNoCUDA is what asking for a GPU gives in a binary built without the
// cuda tag.
var errNoCUDA = errors.New("this binary was built without CUDA support: build it with -tags cuda (see scripts/cuda/README.md)")

func cudaKernels() (modules, kernels int) { return 0, 0 }

func devices() ([]DeviceInfo, error) { return nil, errNoCUDA }

func checkCUDA() error { return errNoCUDA }

// lockThread does nothing without CUDA.
func lockThread() (unlock func()) { return func() {} }

// waitEngines has no engines to wait for without CUDA.
func waitEngines(G.VM) error { return nil }

func closeVM(vm G.VM) error { return vm.Close() }
