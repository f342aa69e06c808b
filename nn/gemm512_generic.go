package nn

// kernelFRPair runs kernelFR against two B panels at once: b0 gives
// columns 0 … nr−1 of the tiles, b1 columns nr … 2nr−1 (one AVX-512 kernel
// where there is one, two kernelFR otherwise).
func kernelFRPair[T float](ng, oh, ow, wp int, a []T, rowoff []int32, rowMax int, b0, b1, c []T, ldc int, acc bool) {
	mr, nr := tile[T]()
	if ng <= 0 {
		return
	}
	if !asm32[T]() || oh <= 0 || ow <= 0 {
		kernelFR(ng, oh, ow, wp, a, rowoff, rowMax, b0, c, ldc, acc)
		kernelFR(ng, oh, ow, wp, a, rowoff, rowMax, b1, c[nr:], ldc, acc)
		return
	}
	checkLen(ng*mr, len(rowoff))
	checkLen(rowMax+(oh-1)*wp+ow, len(a))
	checkLen(oh*ow*nr, len(b0), len(b1))
	checkLen((ng*mr-1)*ldc+2*nr, len(c))
	kernelFRPair32(ng, oh, ow, wp, any(a).([]float32), rowoff, any(b0).([]float32), any(b1).([]float32), any(c).([]float32), ldc, acc)
}
