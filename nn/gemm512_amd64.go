//go:build amd64 && !purego

package nn

// hasAVX512 reports whether the CPU and the operating system support the
// AVX512F and AVX512DQ instructions that the AVX-512 kernels use.
func hasAVX512() bool {
	if !hasAVX2FMA() {
		return false
	}
	_, ebx7, _, _ := cpuidex(7, 0)
	const (
		avx512f  = 1 << 16
		avx512dq = 1 << 17
	)
	if ebx7&(avx512f|avx512dq) != avx512f|avx512dq {
		return false
	}
	// The OS must save the opmask and all 32 ZMM registers.
	xcr0, _ := xgetbv0()
	return xcr0&0xe6 == 0xe6
}

// useAVX512 selects the AVX-512 kernels (where the assembly kernels are in
// use at all).
var useAVX512 = useAsmKernels && hasAVX512()

//go:noescape
func sgemmKernel6x32XT(np, k int, a *float32, rowoff *int32, b *float32, tiles *int32, c *float32, ldc int, acc int)

//go:noescape
func sgemmKernel6x32FR(ng, oh, ow, wp int, a *float32, rowoff *int32, b0, b1 *float32, c *float32, ldc int, acc int)

// kernelFRPair32 is kernelFR32 against two B panels, b0 for columns 0-15
// of c and b1 for columns 16-31.
func kernelFRPair32(ng, oh, ow, wp int, a []float32, rowoff []int32, b0, b1, c []float32, ldc int, acc bool) {
	if useAsmKernels && useAVX512 && ow%4 == 0 {
		ac := 0
		if acc {
			ac = 1
		}
		sgemmKernel6x32FR(ng, oh, ow, wp, &a[0], &rowoff[0], &b0[0], &b1[0], &c[0], ldc, ac)
		return
	}
	kernelFR32(ng, oh, ow, wp, a, rowoff, b0, c, ldc, acc)
	kernelFR32(ng, oh, ow, wp, a, rowoff, b1, c[16:], ldc, acc)
}

//go:noescape
func sgemmKernel6x32(k int, a, b0, b1, c *float32, ldc int, acc int)

// kernelPair32 is kernel32 against two packed B panels, b0 for columns
// 0-15 of c and b1 for columns 16-31.
func kernelPair32(k int, a, b0, b1, c []float32, ldc int, acc bool) {
	if useAsmKernels && useAVX512 {
		ac := 0
		if acc {
			ac = 1
		}
		sgemmKernel6x32(k, &a[0], &b0[0], &b1[0], &c[0], ldc, ac)
		return
	}
	kernel32(k, a, b0, c, ldc, acc)
	kernel32(k, a, b1, c[16:], ldc, acc)
}
