package nn

// Element-wise loops of the fast ops: AVX2 assembly for float32 where the
// CPU has it, Go otherwise. The wrappers check lengths, so the assembly
// never reads or writes out of bounds.

func asm32[T float]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok && useAsmKernels
}

func checkLen(n int, s ...int) {
	for _, l := range s {
		if l < n {
			panic("nn: slice too short")
		}
	}
}

// vRelu sets dst = max(src, 0).
func vRelu[T float](dst, src []T) {
	checkLen(len(src), len(dst))
	if asm32[T]() {
		relu32(any(dst).([]float32), any(src).([]float32))
		return
	}
	reluGo(dst, src)
}

func reluGo[T float](dst, src []T) {
	dst = dst[:len(src)]
	for i, v := range src {
		if v > 0 || v != v {
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
}

// vReluBack sets dst = dy where y > 0 and 0 elsewhere.
func vReluBack[T float](dst, y, dy []T) {
	checkLen(len(y), len(dst), len(dy))
	if asm32[T]() {
		reluBack32(any(dst).([]float32), any(y).([]float32), any(dy).([]float32))
		return
	}
	reluBackGo(dst, y, dy)
}

func reluBackGo[T float](dst, y, dy []T) {
	dst, dy = dst[:len(y)], dy[:len(y)]
	for i, v := range y {
		if v > 0 {
			dst[i] = dy[i]
		} else {
			dst[i] = 0
		}
	}
}

// vSum returns Σ x.
func vSum[T float](x []T) T {
	if asm32[T]() {
		return T(sum32(any(x).([]float32)))
	}
	return sumGo(x)
}

func sumGo[T float](x []T) T {
	var s T
	for _, v := range x {
		s += v
	}
	return s
}

// vSumSqDev returns Σ (x − m)².
func vSumSqDev[T float](x []T, m T) T {
	if asm32[T]() {
		return T(sumSqDev32(any(x).([]float32), float32(m)))
	}
	return sumSqDevGo(x, m)
}

func sumSqDevGo[T float](x []T, m T) T {
	var s T
	for _, v := range x {
		d := v - m
		s += d * d
	}
	return s
}

// vAffine sets dst = a·x + b.
func vAffine[T float](dst, x []T, a, b T) {
	checkLen(len(x), len(dst))
	if asm32[T]() {
		affine32(any(dst).([]float32), any(x).([]float32), float32(a), float32(b))
		return
	}
	affineGo(dst, x, a, b)
}

func affineGo[T float](dst, x []T, a, b T) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = v*a + b
	}
}

// vBNBackSums returns Σ dy and Σ dy·(x − m).
func vBNBackSums[T float](dy, x []T, m T) (T, T) {
	checkLen(len(dy), len(x))
	if asm32[T]() {
		a, b := bnBackSums32(any(dy).([]float32), any(x).([]float32), float32(m))
		return T(a), T(b)
	}
	return bnBackSumsGo(dy, x, m)
}

func bnBackSumsGo[T float](dy, x []T, m T) (T, T) {
	x = x[:len(dy)]
	var a, b T
	for i, d := range dy {
		a += d
		b += d * (x[i] - m)
	}
	return a, b
}

// vBNBackApply sets dst = k1·dy + kx·x + k0.
func vBNBackApply[T float](dst, dy, x []T, k1, kx, k0 T) {
	checkLen(len(dy), len(dst), len(x))
	if asm32[T]() {
		bnBackApply32(any(dst).([]float32), any(dy).([]float32), any(x).([]float32), float32(k1), float32(kx), float32(k0))
		return
	}
	bnBackApplyGo(dst, dy, x, k1, kx, k0)
}

func bnBackApplyGo[T float](dst, dy, x []T, k1, kx, k0 T) {
	dst, x = dst[:len(dy)], x[:len(dy)]
	for i, d := range dy {
		dst[i] = k1*d + kx*x[i] + k0
	}
}

// vAdd sets dst += src.
func vAdd[T float](dst, src []T) {
	checkLen(len(src), len(dst))
	if asm32[T]() {
		add32(any(dst).([]float32), any(src).([]float32))
		return
	}
	addGo(dst, src)
}

func addGo[T float](dst, src []T) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}

// kernelS computes the mr×nr tile C = (acc ? C : 0) + A·B over np panels of
// depth nr, with A read in place from im2col panels (A(i, q·nr+k) =
// a[q·astride + i·nr + k]) and B packed k-major in groups of nr.
func kernelS[T float](np int, a []T, astride int, b, c []T, ldc int, acc bool) {
	mr, nr := tile[T]()
	if np > 0 {
		checkLen((np-1)*astride+mr*nr, len(a))
		checkLen(np*nr*nr, len(b))
	}
	checkLen((mr-1)*ldc+nr, len(c))
	switch a := any(a).(type) {
	case []float32:
		kernelS32(np, a, astride, any(b).([]float32), any(c).([]float32), ldc, acc)
	default:
		kernelSGo(np, any(a).([]T), astride, b, c, ldc, acc, mr, nr)
	}
}

func kernelSGo[T float](np int, a []T, astride int, b, c []T, ldc int, acc bool, mr, nr int) {
	var t [6 * 16]T
	for q := 0; q < np; q++ {
		aq := a[q*astride:]
		for k := 0; k < nr; k++ {
			bp := b[(q*nr+k)*nr : (q*nr+k)*nr+nr]
			for i := 0; i < mr; i++ {
				av := aq[i*nr+k]
				row := t[i*nr : i*nr+nr]
				for j, bv := range bp {
					row[j] += av * bv
				}
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

// kernelX computes the mr×nr tile C = (acc ? C : 0) + A·B for A packed
// k-major in groups of mr and B gathered from a padded image b: row p of B
// is b[rowoff[p]+t0 …] for its first nr/2 columns and b[rowoff[p]+t1 …] for
// the rest. rowMax bounds rowoff.
func kernelX[T float](k int, a []T, rowoff []int32, rowMax int, b []T, t0, t1 int, c []T, ldc int, acc bool) {
	mr, nr := tile[T]()
	checkLen(k*mr, len(a))
	checkLen(k, len(rowoff))
	checkLen(rowMax+max(t0, t1)+nr/2, len(b))
	checkLen((mr-1)*ldc+nr, len(c))
	if t0 < 0 || t1 < 0 {
		panic("nn: negative tile offset")
	}
	if k == 0 {
		if !acc {
			for i := 0; i < mr; i++ {
				clear(c[i*ldc : i*ldc+nr])
			}
		}
		return
	}
	switch a := any(a).(type) {
	case []float32:
		kernelX32(k, a, rowoff, any(b).([]float32), t0, t1, any(c).([]float32), ldc, acc)
	default:
		kernelXGo(k, any(a).([]T), rowoff, b, t0, t1, c, ldc, acc, mr, nr)
	}
}

func kernelXGo[T float](k int, a []T, rowoff []int32, b []T, t0, t1 int, c []T, ldc int, acc bool, mr, nr int) {
	var t [6 * 16]T
	h := nr / 2
	for p := 0; p < k; p++ {
		off := int(rowoff[p])
		b0 := b[off+t0 : off+t0+h]
		b1 := b[off+t1 : off+t1+h]
		for i := 0; i < mr; i++ {
			av := a[p*mr+i]
			row := t[i*nr : i*nr+nr]
			for j, bv := range b0 {
				row[j] += av * bv
			}
			for j, bv := range b1 {
				row[h+j] += av * bv
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

// kernelF computes the mr×nr tile C[i][j] = (acc ? C : 0) +
// Σ_{y<oh, x<ow} a[offs[i] + y·wp + x] · b[(y·ow+x)·nr + j]: im2col rows read
// in place from the padded image a against a panel of nr columns.
func kernelF[T float](oh, ow, wp int, a []T, offs *[6]int32, b, c []T, ldc int, acc bool) {
	mr, nr := tile[T]()
	if oh > 0 && ow > 0 {
		mx := int32(0)
		for _, o := range offs[:mr] {
			if o < 0 {
				panic("nn: negative row offset")
			}
			mx = max(mx, o)
		}
		checkLen(int(mx)+(oh-1)*wp+ow, len(a))
		checkLen(oh*ow*nr, len(b))
	}
	checkLen((mr-1)*ldc+nr, len(c))
	if oh <= 0 || ow <= 0 {
		if !acc {
			for i := 0; i < mr; i++ {
				clear(c[i*ldc : i*ldc+nr])
			}
		}
		return
	}
	switch a := any(a).(type) {
	case []float32:
		kernelF32(oh, ow, wp, a, offs, any(b).([]float32), any(c).([]float32), ldc, acc)
	default:
		kernelFGo(oh, ow, wp, any(a).([]T), offs, b, c, ldc, acc, mr, nr)
	}
}

func kernelFGo[T float](oh, ow, wp int, a []T, offs *[6]int32, b, c []T, ldc int, acc bool, mr, nr int) {
	var t [6 * 16]T
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			bp := b[(y*ow+x)*nr : (y*ow+x)*nr+nr]
			for i := 0; i < mr; i++ {
				av := a[int(offs[i])+y*wp+x]
				row := t[i*nr : i*nr+nr]
				for j, bv := range bp {
					row[j] += av * bv
				}
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

// vAffineRelu sets dst = max(a·x + b, 0).
func vAffineRelu[T float](dst, x []T, a, b T) {
	checkLen(len(x), len(dst))
	if asm32[T]() {
		affineRelu32(any(dst).([]float32), any(x).([]float32), float32(a), float32(b))
		return
	}
	affineReluGo(dst, x, a, b)
}

func affineReluGo[T float](dst, x []T, a, b T) {
	dst = dst[:len(x)]
	for i, v := range x {
		if r := v*a + b; r > 0 || r != r {
			dst[i] = r
		} else {
			dst[i] = 0
		}
	}
}

// vBNReluBackSums returns Σ dz and Σ dz·(x − m) for dz = dy·[y > 0].
func vBNReluBackSums[T float](dy, y, x []T, m T) (T, T) {
	checkLen(len(dy), len(y), len(x))
	if asm32[T]() {
		a, b := bnReluBackSums32(any(dy).([]float32), any(y).([]float32), any(x).([]float32), float32(m))
		return T(a), T(b)
	}
	return bnReluBackSumsGo(dy, y, x, m)
}

func bnReluBackSumsGo[T float](dy, y, x []T, m T) (T, T) {
	y, x = y[:len(dy)], x[:len(dy)]
	var a, b T
	for i, d := range dy {
		if y[i] > 0 {
			a += d
			b += d * (x[i] - m)
		}
	}
	return a, b
}

// vBNReluBackApply sets dst = k1·dz + kx·x + k0 for dz = dy·[y > 0].
func vBNReluBackApply[T float](dst, dy, y, x []T, k1, kx, k0 T) {
	checkLen(len(dy), len(dst), len(y), len(x))
	if asm32[T]() {
		bnReluBackApply32(any(dst).([]float32), any(dy).([]float32), any(y).([]float32), any(x).([]float32), float32(k1), float32(kx), float32(k0))
		return
	}
	bnReluBackApplyGo(dst, dy, y, x, k1, kx, k0)
}

func bnReluBackApplyGo[T float](dst, dy, y, x []T, k1, kx, k0 T) {
	dst, y, x = dst[:len(dy)], y[:len(dy)], x[:len(dy)]
	for i, d := range dy {
		if !(y[i] > 0) {
			d = 0
		}
		dst[i] = k1*d + kx*x[i] + k0
	}
}

// kernelXT runs kernelX for one packed A panel over nt whole tiles of nr
// columns: tile q gathers B at offsets tiles[2q] and tiles[2q+1] and writes
// c[q·nr …]. tileMax bounds the tile offsets.
func kernelXT[T float](nt, k int, a []T, rowoff []int32, rowMax int, b []T, tiles []int32, tileMax int, c []T, ldc int, acc bool) {
	mr, nr := tile[T]()
	if nt <= 0 {
		return
	}
	if k == 0 {
		for q := 0; q < nt; q++ {
			kernelX(0, a, rowoff, rowMax, b, 0, 0, c[q*nr:], ldc, acc)
		}
		return
	}
	checkLen(mr*k, len(a))
	checkLen(k, len(rowoff))
	checkLen(2*nt, len(tiles))
	checkLen(rowMax+tileMax+nr/2, len(b))
	checkLen((mr-1)*ldc+nt*nr, len(c))
	switch a := any(a).(type) {
	case []float32:
		kernelXT32(nt, k, a, rowoff, any(b).([]float32), tiles, any(c).([]float32), ldc, acc)
	default:
		for q := 0; q < nt; q++ {
			kernelXGo(k, any(a).([]T), rowoff, b, int(tiles[2*q]), int(tiles[2*q+1]), c[q*nr:], ldc, acc, mr, nr)
		}
	}
}

// kernelFR runs kernelF over ng consecutive groups of mr im2col rows against
// one B panel: group r reads rows at rowoff[r·mr …] and writes the tile at
// c[r·mr·ldc …]. rowMax bounds rowoff.
func kernelFR[T float](ng, oh, ow, wp int, a []T, rowoff []int32, rowMax int, b, c []T, ldc int, acc bool) {
	mr, nr := tile[T]()
	if ng <= 0 {
		return
	}
	if oh <= 0 || ow <= 0 {
		for r := 0; r < ng; r++ {
			var offs [6]int32
			kernelF(oh, ow, wp, a, &offs, b, c[r*mr*ldc:], ldc, acc)
		}
		return
	}
	checkLen(ng*mr, len(rowoff))
	checkLen(rowMax+(oh-1)*wp+ow, len(a))
	checkLen(oh*ow*nr, len(b))
	checkLen((ng*mr-1)*ldc+nr, len(c))
	switch a := any(a).(type) {
	case []float32:
		kernelFR32(ng, oh, ow, wp, a, rowoff, any(b).([]float32), any(c).([]float32), ldc, acc)
	default:
		kernelFRGo(ng, oh, ow, wp, any(a).([]T), rowoff, b, c, ldc, acc, mr, nr)
	}
}

func kernelFRGo[T float](ng, oh, ow, wp int, a []T, rowoff []int32, b, c []T, ldc int, acc bool, mr, nr int) {
	var offs [6]int32
	for r := 0; r < ng; r++ {
		copy(offs[:mr], rowoff[r*mr:r*mr+mr])
		kernelFGo(oh, ow, wp, a, &offs, b, c[r*mr*ldc:], ldc, acc, mr, nr)
	}
}

// packDyT packs dy_n (cout rows of hw pixels) as the B operand of the
// filter gradient: panels of nr channels, dst[q·nr·hw + p·nr + j] =
// dy[(q·nr+j)·hw + p], channels past cout zero.
func packDyT[T float](dst, dy []T, hw, cout int) {
	_, nr := tile[T]()
	checkLen(roundUp(cout, nr)*hw, len(dst))
	checkLen(cout*hw, len(dy))
	whole := 0
	if asm32[T]() && hw%8 == 0 && hw > 0 {
		whole = cout / nr
		d, s := any(dst).([]float32), any(dy).([]float32)
		for q := 0; q < whole; q++ {
			packDyT16(&d[q*nr*hw], &s[q*nr*hw], hw, hw/8)
		}
	}
	if rest := cout - whole*nr; rest > 0 {
		packB(dst[whole*nr*hw:], dy[whole*nr*hw:], 1, hw, hw, rest, hw, 0, nr)
	}
}
