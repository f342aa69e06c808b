//go:build amd64 && !purego

package nn

//go:noescape
func adamUpdate32(w, grad *float32, m, v *float64, n int, c *adamConsts, decoupled bool)
