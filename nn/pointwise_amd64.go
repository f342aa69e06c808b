//go:build amd64 && !purego

package nn

//go:noescape
func pwRow32(k, n int, a *float32, acs int, x *float32, ldx int, b float32, y *float32, flags int, slope float32)

//go:noescape
func pwDots32(k, n int, a, x *float32, ldx int, out *float32)

//go:noescape
func leakyMul32(dst, pre, src []float32, slope float32)
