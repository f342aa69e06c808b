//go:build !amd64 || purego

package nn

func kernel32(k int, a, b, c []float32, ldc int, acc bool) {
	kernelGo(k, a, b, c, ldc, acc, 6, 16)
}

func kernel64(k int, a, b, c []float64, ldc int, acc bool) {
	kernelGo(k, a, b, c, ldc, acc, 6, 8)
}

// GemmKernel names the matrix-multiplication micro-kernel in use.
func GemmKernel() string { return "go" }

var useAsmKernels = false

func kernelS32(np int, a []float32, astride int, b, c []float32, ldc int, acc bool) {
	kernelSGo(np, a, astride, b, c, ldc, acc, 6, 16)
}

// The element-wise loops have no assembly here; vec.go never calls these
// because useAsmKernels is false.
func relu32(dst, src []float32)                                  { reluGo(dst, src) }
func reluBack32(dst, y, dy []float32)                            { reluBackGo(dst, y, dy) }
func sum32(x []float32) float32                                  { return sumGo(x) }
func sumSqDev32(x []float32, m float32) float32                  { return sumSqDevGo(x, m) }
func affine32(dst, x []float32, a, b float32)                    { affineGo(dst, x, a, b) }
func bnBackSums32(dy, x []float32, m float32) (float32, float32) { return bnBackSumsGo(dy, x, m) }
func bnBackApply32(dst, dy, x []float32, k1, kx, k0 float32)     { bnBackApplyGo(dst, dy, x, k1, kx, k0) }
func add32(dst, src []float32)                                   { addGo(dst, src) }

func kernelX32(k int, a []float32, rowoff []int32, b []float32, t0, t1 int, c []float32, ldc int, acc bool) {
	kernelXGo(k, a, rowoff, b, t0, t1, c, ldc, acc, 6, 16)
}

func kernelF32(oh, ow, wp int, a []float32, offs *[6]int32, b, c []float32, ldc int, acc bool) {
	kernelFGo(oh, ow, wp, a, offs, b, c, ldc, acc, 6, 16)
}

func maxPool2x2Row32(y []float32, am []int32, r0, r1 []float32, base, w int32) {
	panic("nn: no assembly max pooling")
}

func affineRelu32(dst, x []float32, a, b float32) { affineReluGo(dst, x, a, b) }
func bnReluBackSums32(dy, y, x []float32, m float32) (float32, float32) {
	return bnReluBackSumsGo(dy, y, x, m)
}
func bnReluBackApply32(dst, dy, y, x []float32, k1, kx, k0 float32) {
	bnReluBackApplyGo(dst, dy, y, x, k1, kx, k0)
}

func kernelXT32(nt, k int, a []float32, rowoff []int32, b []float32, tiles []int32, c []float32, ldc int, acc bool) {
	for q := 0; q < nt; q++ {
		kernelXGo(k, a, rowoff, b, int(tiles[2*q]), int(tiles[2*q+1]), c[q*16:], ldc, acc, 6, 16)
	}
}

func kernelFR32(ng, oh, ow, wp int, a []float32, rowoff []int32, b, c []float32, ldc int, acc bool) {
	kernelFRGo(ng, oh, ow, wp, a, rowoff, b, c, ldc, acc, 6, 16)
}

func packDyT16(dst, src *float32, hw, blocks int) { panic("nn: no assembly transpose") }

func bnReluPool2x2Row32(y []float32, am []int32, r0, r1 []float32, base, w int32, a, b float32) {
	panic("nn: no assembly pooling")
}

func bnReluPool2x2Quad32(y *float32, am *int32, r0, r1, r2, r3 *float32, idx *int32, w int32, a, b float32) {
	panic("nn: no assembly pooling")
}

// useAVX512 is false: there are no AVX-512 kernels here.
var useAVX512 = false

func kernelFRPair32(ng, oh, ow, wp int, a []float32, rowoff []int32, b0, b1, c []float32, ldc int, acc bool) {
	kernelFR32(ng, oh, ow, wp, a, rowoff, b0, c, ldc, acc)
	kernelFR32(ng, oh, ow, wp, a, rowoff, b1, c[16:], ldc, acc)
}

func kernelPair32(k int, a, b0, b1, c []float32, ldc int, acc bool) {
	kernel32(k, a, b0, c, ldc, acc)
	kernel32(k, a, b1, c[16:], ldc, acc)
}
