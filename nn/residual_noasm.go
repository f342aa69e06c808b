//go:build !amd64 || purego

package nn

// The residual sum's loop has no assembly here; vAffine2 never calls it
// because useAsmKernels is false.
func affine2x32(dst, x, z []float32, a, c, b float32, relu int) {
	panic("nn: no assembly residual sum")
}
