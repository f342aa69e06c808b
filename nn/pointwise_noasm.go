//go:build !amd64 || purego

package nn

// The pointwise MLP's loops have no assembly here; pointwise.go never calls
// these because useAsmKernels is false.
func pwRow32(k, n int, a *float32, acs int, x *float32, ldx int, b float32, y *float32, flags int, slope float32) {
	panic("nn: no assembly pointwise rows")
}

func pwDots32(k, n int, a, x *float32, ldx int, out *float32) { panic("nn: no assembly dot products") }

func leakyMul32(dst, pre, src []float32, slope float32) { panic("nn: no assembly leaky relu") }
