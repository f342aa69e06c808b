package nn

// A blocked matrix multiplication in the style of BLIS/GotoBLAS: operands are
// packed into panels that the register-blocked micro-kernel (kernel32,
// kernel64; AVX2+FMA assembly on amd64, Go elsewhere) streams through. The
// convolution ops pack their operands straight from NCHW tensors with the
// packA/packB helpers below, so im2col matrices never exist in full.

// float is the element type of the fast paths.
type float interface{ float32 | float64 }

const (
	gemmKC = 256 // target depth of a packed block (a B micro-panel stays in L1)
	gemmMC = 192 // rows of A per cache block (an A block stays in L2)
)

// tile returns the micro-kernel's register tile: mr rows by nr columns.
func tile[T float]() (mr, nr int) {
	var z T
	if _, ok := any(z).(float32); ok {
		return 6, 16
	}
	return 6, 8
}

// kernel computes the mr×nr tile C = (acc ? C : 0) + Ap·Bp over depth k.
func kernel[T float](k int, a, b, c []T, ldc int, acc bool) {
	switch a := any(a).(type) {
	case []float32:
		kernel32(k, a, any(b).([]float32), any(c).([]float32), ldc, acc)
	case []float64:
		kernel64(k, a, any(b).([]float64), any(c).([]float64), ldc, acc)
	}
}

// kernelGo is the portable micro-kernel.
func kernelGo[T float](k int, a, b, c []T, ldc int, acc bool, mr, nr int) {
	var t [6 * 16]T
	for p := 0; p < k; p++ {
		ap := a[p*mr : p*mr+mr]
		bp := b[p*nr : p*nr+nr]
		for i, av := range ap {
			row := t[i*nr : i*nr+nr]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr]
		if acc {
			for j := range row {
				row[j] += t[i*nr+j]
			}
		} else {
			copy(row, t[i*nr:i*nr+nr])
		}
	}
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// splitDepth splits a depth k into nearly equal blocks of at most gemmKC.
func splitDepth(k int) (blocks, size int) { return splitDepthTo(k, gemmKC) }

// splitDepthTo splits a depth k into nearly equal blocks of at most target.
func splitDepthTo(k, target int) (blocks, size int) {
	if k <= 0 {
		return 0, 0
	}
	blocks = (k + target - 1) / target
	return blocks, (k + blocks - 1) / blocks
}

// packA writes rows [0, m) of the matrix A(i, p) = src[i*rs + p*cs], p in
// [0, k), into mr-row panels of a packed block of depth kd, starting at depth
// offset p0: panel q holds A(q*mr+i, p) at dst[q*mr*kd + (p0+p)*mr + i].
// Rows beyond m are zero.
func packA[T float](dst, src []T, rs, cs, m, k, kd, p0, mr int) {
	for i0 := 0; i0 < m; i0 += mr {
		d := dst[(i0/mr)*mr*kd+p0*mr : (i0/mr)*mr*kd+(p0+k)*mr]
		rows := min(mr, m-i0)
		if cs == 1 {
			for i := 0; i < rows; i++ {
				row := src[(i0+i)*rs : (i0+i)*rs+k]
				for p, v := range row {
					d[p*mr+i] = v
				}
			}
		} else {
			for p := 0; p < k; p++ {
				dp := d[p*mr : p*mr+rows]
				s := (i0)*rs + p*cs
				for i := range dp {
					dp[i] = src[s+i*rs]
				}
			}
		}
		if rows < mr {
			for p := 0; p < k; p++ {
				clear(d[p*mr+rows : p*mr+mr])
			}
		}
	}
}

// packAParallel is packA with the row panels spread over the cores, in
// groups of a few panels: the conv ops pack their filters on every run.
func packAParallel[T float](dst, src []T, rs, cs, m, k, kd, p0, mr int) {
	const group = 4 // panels per item
	panels := (m + mr - 1) / mr
	if panels <= group {
		packA(dst, src, rs, cs, m, k, kd, p0, mr)
		return
	}
	parallelItems((panels+group-1)/group, workers(), func(_, it int) {
		i0 := it * group * mr
		packA(dst[(i0/mr)*mr*kd:], src[i0*rs:], rs, cs, min(group*mr, m-i0), k, kd, p0, mr)
	})
}

// packB writes columns [0, n) of the matrix B(p, j) = src[p*rs + j*cs], p in
// [0, k), into nr-column panels of a packed block of depth kd, starting at
// depth offset p0: panel q holds B(p, q*nr+j) at dst[q*nr*kd + (p0+p)*nr + j].
// Columns beyond n are zero.
func packB[T float](dst, src []T, rs, cs, k, n, kd, p0, nr int) {
	for j0 := 0; j0 < n; j0 += nr {
		d := dst[(j0/nr)*nr*kd+p0*nr : (j0/nr)*nr*kd+(p0+k)*nr]
		cols := min(nr, n-j0)
		if cs == 1 {
			for p := 0; p < k; p++ {
				copy(d[p*nr:p*nr+cols], src[p*rs+j0:p*rs+j0+cols])
				if cols < nr {
					clear(d[p*nr+cols : p*nr+nr])
				}
			}
			continue
		}
		for j := 0; j < cols; j++ {
			s := (j0 + j) * cs
			if rs == 1 {
				col := src[s : s+k]
				for p, v := range col {
					d[p*nr+j] = v
				}
			} else {
				for p := 0; p < k; p++ {
					d[p*nr+j] = src[s+p*rs]
				}
			}
		}
		if cols < nr {
			for p := 0; p < k; p++ {
				clear(d[p*nr+cols : p*nr+nr])
			}
		}
	}
}

// macroKernel computes C[0:m, 0:n] = (acc ? C : 0) + Ap·Bp for a packed A
// block (m rows, depth k) and a packed B block (depth k, n columns). tmp
// holds at least mr·nr elements for edge tiles.
func macroKernel[T float](m, n, k int, ap, bp, c []T, ldc int, acc bool, tmp []T) {
	mr, nr := tile[T]()
	mc := gemmMC
	if k > 0 {
		mc = max(mr, (gemmMC*gemmKC/k)/mr*mr)
	}
	// edge computes the tile at rows ir … ir+rows−1, columns jr …
	// jr+cols−1 through tmp.
	edge := func(a, b []T, ir, jr, rows, cols int) {
		kernel(k, a, b, tmp, nr, false)
		for i := 0; i < rows; i++ {
			dst := c[(ir+i)*ldc+jr : (ir+i)*ldc+jr+cols]
			src := tmp[i*nr : i*nr+cols]
			if acc {
				for j, v := range src {
					dst[j] += v
				}
			} else {
				copy(dst, src)
			}
		}
	}
	for ic := 0; ic < m; ic += mc {
		iend := min(m, ic+mc)
		for jr := 0; jr < n; jr += nr {
			b := bp[(jr/nr)*nr*k:]
			cols := min(nr, n-jr)
			// Two whole B panels at once where a kernel does both.
			pair := useAVX512 && asm32[T]() && jr+2*nr <= n
			var b1 []T
			if pair {
				b1 = bp[(jr/nr+1)*nr*k:]
			}
			for ir := ic; ir < iend; ir += mr {
				a := ap[(ir/mr)*mr*k:]
				rows := min(mr, m-ir)
				switch {
				case rows == mr && pair:
					kernelPair32(k, any(a).([]float32), any(b).([]float32), any(b1).([]float32), any(c[ir*ldc+jr:]).([]float32), ldc, acc)
				case rows == mr && cols == nr:
					kernel(k, a, b, c[ir*ldc+jr:], ldc, acc)
				case pair:
					edge(a, b, ir, jr, rows, nr)
					edge(a, b1, ir, jr+nr, rows, nr)
				default:
					edge(a, b, ir, jr, rows, cols)
				}
			}
			if pair {
				jr += nr
			}
		}
	}
}

// gemmWork is the packing workspace of one thread.
type gemmWork[T float] struct {
	ap, bp, tmp []T
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// gemm computes C = (acc ? C : 0) + op(A)·op(B) for row-major matrices, where
// op(A) is m×k (A is k×m when transA) and op(B) is k×n (B is n×k when
// transB). It runs on the calling goroutine.
func gemm[T float](w *gemmWork[T], transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, acc bool) {
	mr, nr := tile[T]()
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !acc {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	ars, acs := lda, 1
	if transA {
		ars, acs = 1, lda
	}
	brs, bcs := ldb, 1
	if transB {
		brs, bcs = 1, ldb
	}
	blocks, kc := splitDepth(k)
	w.tmp = grow(w.tmp, mr*nr)
	for blk := 0; blk < blocks; blk++ {
		k0 := blk * kc
		kb := min(kc, k-k0)
		w.bp = grow(w.bp, roundUp(n, nr)*kb)
		packB(w.bp, b[k0*brs:], brs, bcs, kb, n, kb, 0, nr)
		w.ap = grow(w.ap, roundUp(m, mr)*kb)
		packA(w.ap, a[k0*acs:], ars, acs, m, kb, kb, 0, mr)
		macroKernel(m, n, kb, w.ap, w.bp, c, ldc, acc || blk > 0, w.tmp)
	}
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float32
// matrices with the package's packed micro-kernel (the BLAS convention:
// op(A) is m×k, op(B) is k×n). It is single-threaded.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmScaled(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is Sgemm for float64.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gemmScaled(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmScaled[T float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	var w gemmWork[T]
	if alpha == 1 && (beta == 0 || beta == 1) {
		gemm(&w, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, beta == 1)
		return
	}
	t := make([]T, m*n)
	gemm(&w, transA, transB, m, n, k, a, lda, b, ldb, t, n, false)
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			if beta == 0 {
				row[j] = alpha * t[i*n+j]
			} else {
				row[j] = alpha*t[i*n+j] + beta*row[j]
			}
		}
	}
}
