//go:build !amd64 || purego

package nn

// adamUpdate32 has no assembly here; adamUpdate never calls it because
// useAsmKernels is false.
func adamUpdate32(w, grad *float32, m, v *float64, n int, c *adamConsts, decoupled bool) {
	panic("nn: no assembly adam update")
}
