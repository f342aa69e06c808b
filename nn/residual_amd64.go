//go:build amd64 && !purego

package nn

//go:noescape
func affine2x32(dst, x, z []float32, a, c, b float32, relu int)
