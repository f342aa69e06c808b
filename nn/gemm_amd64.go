//go:build amd64 && !purego

package nn

//go:noescape
func cpuidex(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

func xgetbv0() (eax, edx uint32)

//go:noescape
func sgemmKernel6x16(k int, a, b, c *float32, ldc int, acc int)

//go:noescape
func dgemmKernel6x8(k int, a, b, c *float64, ldc int, acc int)

// hasAVX2FMA reports whether the CPU and the operating system support the
// AVX2 and FMA instructions that the assembly kernels use.
func hasAVX2FMA() bool {
	maxLeaf, _, _, _ := cpuidex(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuidex(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	// The OS must save the XMM and YMM state on context switches.
	if xcr0, _ := xgetbv0(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuidex(7, 0)
	return ebx7&(1<<5) != 0 // AVX2
}

var useAsmKernels = hasAVX2FMA()

func kernel32(k int, a, b, c []float32, ldc int, acc bool) {
	if useAsmKernels {
		ac := 0
		if acc {
			ac = 1
		}
		sgemmKernel6x16(k, &a[0], &b[0], &c[0], ldc, ac)
		return
	}
	kernelGo(k, a, b, c, ldc, acc, 6, 16)
}

func kernel64(k int, a, b, c []float64, ldc int, acc bool) {
	if useAsmKernels {
		ac := 0
		if acc {
			ac = 1
		}
		dgemmKernel6x8(k, &a[0], &b[0], &c[0], ldc, ac)
		return
	}
	kernelGo(k, a, b, c, ldc, acc, 6, 8)
}

// GemmKernel names the matrix-multiplication micro-kernels in use.
func GemmKernel() string {
	switch {
	case useAVX512:
		return "avx512"
	case useAsmKernels:
		return "avx2-fma"
	}
	return "go"
}

//go:noescape
func sgemmKernel6x16S(np int, a *float32, astride int, b, c *float32, ldc int, acc int)

//go:noescape
func relu32(dst, src []float32)

//go:noescape
func reluBack32(dst, y, dy []float32)

//go:noescape
func sum32(x []float32) float32

//go:noescape
func sumSqDev32(x []float32, m float32) float32

//go:noescape
func affine32(dst, x []float32, a, b float32)

//go:noescape
func bnBackSums32(dy, x []float32, m float32) (sdy, sdyx float32)

//go:noescape
func bnBackApply32(dst, dy, x []float32, k1, kx, k0 float32)

//go:noescape
func add32(dst, src []float32)

func kernelS32(np int, a []float32, astride int, b, c []float32, ldc int, acc bool) {
	if useAsmKernels {
		ac := 0
		if acc {
			ac = 1
		}
		sgemmKernel6x16S(np, &a[0], astride, &b[0], &c[0], ldc, ac)
		return
	}
	kernelSGo(np, a, astride, b, c, ldc, acc, 6, 16)
}

//go:noescape
func sgemmKernel6x16X(k int, a *float32, rowoff *int32, b0, b1, c *float32, ldc int, acc int)

//go:noescape
func sgemmKernel6x16F(oh, ow, wp int, a *float32, offs *int32, b, c *float32, ldc int, acc int)

func kernelX32(k int, a []float32, rowoff []int32, b []float32, t0, t1 int, c []float32, ldc int, acc bool) {
	if useAsmKernels {
		ac := 0
		if acc {
			ac = 1
		}
		sgemmKernel6x16X(k, &a[0], &rowoff[0], &b[t0], &b[t1], &c[0], ldc, ac)
		return
	}
	kernelXGo(k, a, rowoff, b, t0, t1, c, ldc, acc, 6, 16)
}

func kernelF32(oh, ow, wp int, a []float32, offs *[6]int32, b, c []float32, ldc int, acc bool) {
	if useAsmKernels && ow%4 == 0 {
		ac := 0
		if acc {
			ac = 1
		}
		sgemmKernel6x16F(oh, ow, wp, &a[0], &offs[0], &b[0], &c[0], ldc, ac)
		return
	}
	kernelFGo(oh, ow, wp, a, offs, b, c, ldc, acc, 6, 16)
}

//go:noescape
func maxPool2x2Row32(y []float32, am []int32, r0, r1 []float32, base, w int32)

//go:noescape
func affineRelu32(dst, x []float32, a, b float32)

//go:noescape
func bnReluBackSums32(dy, y, x []float32, m float32) (sdz, sdzx float32)

//go:noescape
func bnReluBackApply32(dst, dy, y, x []float32, k1, kx, k0 float32)

//go:noescape
func sgemmKernel6x16XT(nt, k int, a *float32, rowoff *int32, b *float32, tiles *int32, c *float32, ldc int, acc int)

func kernelXT32(nt, k int, a []float32, rowoff []int32, b []float32, tiles []int32, c []float32, ldc int, acc bool) {
	if useAsmKernels {
		ac := 0
		if acc {
			ac = 1
		}
		if useAVX512 && nt >= 2 {
			sgemmKernel6x32XT(nt/2, k, &a[0], &rowoff[0], &b[0], &tiles[0], &c[0], ldc, ac)
			if nt%2 == 0 {
				return
			}
			q := nt - 1
			sgemmKernel6x16XT(1, k, &a[0], &rowoff[0], &b[0], &tiles[2*q], &c[16*q], ldc, ac)
			return
		}
		sgemmKernel6x16XT(nt, k, &a[0], &rowoff[0], &b[0], &tiles[0], &c[0], ldc, ac)
		return
	}
	for q := 0; q < nt; q++ {
		kernelXGo(k, a, rowoff, b, int(tiles[2*q]), int(tiles[2*q+1]), c[q*16:], ldc, acc, 6, 16)
	}
}

//go:noescape
func sgemmKernel6x16FR(ng, oh, ow, wp int, a *float32, rowoff *int32, b *float32, c *float32, ldc int, acc int)

func kernelFR32(ng, oh, ow, wp int, a []float32, rowoff []int32, b, c []float32, ldc int, acc bool) {
	if useAsmKernels && ow%4 == 0 {
		ac := 0
		if acc {
			ac = 1
		}
		sgemmKernel6x16FR(ng, oh, ow, wp, &a[0], &rowoff[0], &b[0], &c[0], ldc, ac)
		return
	}
	kernelFRGo(ng, oh, ow, wp, a, rowoff, b, c, ldc, acc, 6, 16)
}

//go:noescape
func packDyT16(dst, src *float32, hw, blocks int)

//go:noescape
func bnReluPool2x2Row32(y []float32, am []int32, r0, r1 []float32, base, w int32, a, b float32)

//go:noescape
func bnReluPool2x2Quad32(y *float32, am *int32, r0, r1, r2, r3 *float32, idx *int32, w int32, a, b float32)
