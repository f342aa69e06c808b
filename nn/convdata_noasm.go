//go:build !amd64 || purego

package nn

// convDataRow32 has no assembly here; kernelDataRow never calls it because
// useAsmKernels is false.
func convDataRow32(nt int, rowoff *int32, b, w *float32, wstride int, out *float32, ostride int, nc, nv int) {
	panic("nn: no assembly input gradient")
}

// deinterleave32 has no assembly here; deinterleave never calls it because
// useAsmKernels is false.
func deinterleave32(a, b, src *float32, n int) { panic("nn: no assembly deinterleave") }
