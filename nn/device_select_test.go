//go:build !cuda

package nn

import (
	"strings"
	"testing"
)

// In a binary built without the cuda tag, the CPU is the only device and
// asking for the GPU fails with a message that says how to get it.
func TestSelectDeviceWithoutCUDA(t *testing.T) {
	if CUDABuild() {
		t.Fatal("CUDABuild() = true without the cuda tag")
	}
	for _, name := range []string{"", "auto", "cpu", " CPU "} {
		got, err := SelectDevice(name)
		if err != nil || got != DeviceCPU {
			t.Errorf("SelectDevice(%q) = %q, %v; want cpu", name, got, err)
		}
	}
	for name, want := range map[string]string{
		"cuda":   "-tags cuda",
		"cuda:0": "-tags cuda",
		"gpu":    "-tags cuda",
		"cuda:1": "GPU 0 only",
		"tpu":    "unknown device",
	} {
		if got, err := SelectDevice(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("SelectDevice(%q) = %q, %v; want an error containing %q", name, got, err, want)
		}
	}
	if ds, err := Devices(); err == nil || len(ds) != 0 {
		t.Errorf("Devices() = %v, %v; want an error", ds, err)
	}
	if m, k := CUDAKernels(); m != 0 || k != 0 {
		t.Errorf("CUDAKernels() = %d, %d; want 0, 0", m, k)
	}
}
