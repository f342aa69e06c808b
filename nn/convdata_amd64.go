//go:build amd64 && !purego

package nn

//go:noescape
func convDataRow32(nt int, rowoff *int32, b, w *float32, wstride int, out *float32, ostride int, nc, nv int)

//go:noescape
func deinterleave32(a, b, src *float32, n int)
