package nn

import (
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"
)

// cudaBuild is true in a binary built with the cuda tag. In such a binary
// gorgonia runs every op that has a CUDA implementation on GPU 0, in every
// graph: there is no CPU-only graph in a cuda build.
const cudaBuild = G.CUDA

// Device names accepted by SelectDevice.
const (
	DeviceAuto = "auto" // cuda in a binary built with the cuda tag, cpu otherwise
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda"
)

// DeviceInfo describes a CUDA device.
type DeviceInfo struct {
	Index        int
	Name         string
	Major, Minor int   // compute capability
	Memory       int64 // bytes
}

func (d DeviceInfo) String() string {
	return fmt.Sprintf("cuda:%d %s (compute capability %d.%d, %.1f GiB)", d.Index, d.Name, d.Major, d.Minor, float64(d.Memory)/(1<<30))
}

// CUDABuild reports whether the binary was built with the cuda tag.
func CUDABuild() bool { return cudaBuild }

// CUDAKernels returns how many of gorgonia's CUDA kernel modules and kernels
// the binary carries (scripts/cuda/gen-modules.sh generates them); 0, 0 in a
// binary built without the cuda tag.
func CUDAKernels() (modules, kernels int) { return cudaKernels() }

// Devices lists the CUDA devices that the driver reports. It fails with a
// message that says why there are none: a binary built without the cuda
// tag, no usable driver, or no device.
func Devices() ([]DeviceInfo, error) { return devices() }

// SelectDevice checks that graphs can run on the named device and returns
// the device they will run on, "cpu" or "cuda". name is "auto" (or empty),
// "cpu", "cuda" or "cuda:0"; gorgonia uses GPU 0 only. Call it before
// compiling any graph: in a cuda build without a usable GPU, compiling a
// graph would panic inside gorgonia.
//
// A binary built without the cuda tag runs on the CPU only, and a binary
// built with it runs gorgonia's CUDA ops on the GPU in every graph, so each
// refuses the other device with an error that says which binary to use.
func SelectDevice(name string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", DeviceAuto:
		if !cudaBuild {
			return DeviceCPU, nil
		}
	case DeviceCPU:
		if cudaBuild {
			return "", fmt.Errorf("nn: device %q: this binary was built with the cuda tag and runs its graphs on the GPU; use a binary built without the tag for the CPU", name)
		}
		return DeviceCPU, nil
	case DeviceCUDA, "cuda:0", "gpu":
	default:
		if strings.HasPrefix(strings.ToLower(name), "cuda:") {
			return "", fmt.Errorf("nn: device %q: gorgonia runs on GPU 0 only (use cuda or cuda:0)", name)
		}
		return "", fmt.Errorf("nn: unknown device %q (known: auto, cpu, cuda)", name)
	}
	if err := checkCUDA(); err != nil {
		return "", fmt.Errorf("nn: device %q: %w", name, err)
	}
	return DeviceCUDA, nil
}
