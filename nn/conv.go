package nn

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/chewxy/hm"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The convolution ops: forward, the gradient with respect to the input
// (data) and the gradient with respect to the filters, each a GEMM per
// sample written straight into NCHW, split over the cores by sample.
//
// With stride 1 or 2 (convDirect, convBackFilterDirect) the micro-kernels
// read the im2col matrix in place from the zero-padded sample: row (c, ki,
// kj) of im2col, restricted to one output row, is a contiguous run of the
// padded sample (with stride 2, of the padded sample's rows split by column
// parity), so no im2col matrix is ever written. The input gradient
// is then the forward convolution of dy with the flipped, transposed
// filters. Other strides pack im2col panels (packIm2col) and scatter the
// input gradient back (col2imAdd). The filter gradient sums over fixed
// chunks of samples and adds the chunks in order, so that results do not
// depend on the number of cores. Workspaces belong to the op node and are
// reused by every run.

type convGeom struct {
	n, cin, h, w, cout, k, stride, pad, oh, ow int
}

func (g convGeom) ckk() int     { return g.cin * g.k * g.k }
func (g convGeom) hw() int      { return g.oh * g.ow }
func (g convGeom) inSize() int  { return g.n * g.cin * g.h * g.w }
func (g convGeom) outSize() int { return g.n * g.cout * g.hw() }
func (g convGeom) wSize() int   { return g.cout * g.ckk() }
func (g convGeom) inShape() tensor.Shape {
	return tensor.Shape{g.n, g.cin, g.h, g.w}
}
func (g convGeom) outShape() tensor.Shape {
	return tensor.Shape{g.n, g.cout, g.oh, g.ow}
}
func (g convGeom) wShape() tensor.Shape { return tensor.Shape{g.cout, g.cin, g.k, g.k} }
func (g convGeom) String() string {
	return fmt.Sprintf("%dx%dx%dx%d*%dx%dx%dx%d/s%dp%d", g.n, g.cin, g.h, g.w, g.cout, g.cin, g.k, g.k, g.stride, g.pad)
}

// pixSeg is a run of output pixels of one row inside a packed panel:
// pixels (oy, ox0 … ox0+n−1) go to panel columns jj0 … jj0+n−1.
type pixSeg struct{ oy, ox0, n, jj0 int }

// pixelSegments splits the oh×ow output pixels into panels of nr and each
// panel into row runs; off[q] … off[q+1] index panel q's runs.
func pixelSegments(oh, ow, nr int) (segs []pixSeg, off []int) {
	hw := oh * ow
	for j0 := 0; j0 < hw; j0 += nr {
		off = append(off, len(segs))
		for j := j0; j < min(hw, j0+nr); {
			oy, ox := j/ow, j%ow
			n := min(ow-ox, j0+nr-j)
			segs = append(segs, pixSeg{oy: oy, ox0: ox, n: n, jj0: j - j0})
			j += n
		}
	}
	off = append(off, len(segs))
	return segs, off
}

// packIm2col writes rows [k0, k0+kb) of sample xn's im2col matrix (row r =
// (channel, ki, kj), column = output pixel) straight into packed B panels
// of nr pixels: panel q holds row r at dst[q*nr*kb + (r−k0)*nr …]. Pixels
// past the last one are zero.
func packIm2col[T float](dst, xn []T, g convGeom, segs []pixSeg, off []int, k0, kb, nr int) {
	kk, hw := g.k*g.k, g.hw()
	np := len(off) - 1
	for q := 0; q < np; q++ {
		base := q * nr * kb
		qs := segs[off[q]:off[q+1]]
		filled := min(nr, hw-q*nr)
		for r := k0; r < k0+kb; r++ {
			c, ki, kj := r/kk, (r/g.k)%g.k, r%g.k
			d := dst[base+(r-k0)*nr : base+(r-k0+1)*nr]
			plane := xn[c*g.h*g.w : (c+1)*g.h*g.w]
			for _, sg := range qs {
				seg := d[sg.jj0 : sg.jj0+sg.n]
				iy := sg.oy*g.stride + ki - g.pad
				if iy < 0 || iy >= g.h {
					clear(seg)
					continue
				}
				row := plane[iy*g.w : (iy+1)*g.w]
				ix0 := sg.ox0*g.stride + kj - g.pad
				if g.stride == 1 {
					lo, hi := max(0, -ix0), min(sg.n, g.w-ix0)
					if hi <= lo {
						clear(seg)
						continue
					}
					clear(seg[:lo])
					copy(seg[lo:hi], row[ix0+lo:ix0+hi])
					clear(seg[hi:])
					continue
				}
				for t := range seg {
					if ix := ix0 + t*g.stride; ix >= 0 && ix < g.w {
						seg[t] = row[ix]
					} else {
						seg[t] = 0
					}
				}
			}
			if filled < nr {
				clear(d[filled:])
			}
		}
	}
}

// packIm2colPadded is packIm2col from the zero-padded sample xp laid out
// as pt describes: each pixel run of a row is then one contiguous run of xp,
// with no bounds to check.
func packIm2colPadded[T float](dst, xp []T, pt *padTable, segs []pixSeg, off []int, k0, kb, nr int) {
	hw := pt.g.hw()
	np := len(off) - 1
	for q := 0; q < np; q++ {
		base := q * nr * kb
		qs := segs[off[q]:off[q+1]]
		filled := min(nr, hw-q*nr)
		for r := k0; r < k0+kb; r++ {
			d := dst[base+(r-k0)*nr : base+(r-k0+1)*nr]
			ro := int(pt.rowoff[r])
			for _, sg := range qs {
				src := xp[ro+sg.oy*pt.pitch+sg.ox0:]
				src = src[:sg.n]
				seg := d[sg.jj0 : sg.jj0+sg.n]
				if sg.n > 8 {
					copy(seg, src)
					continue
				}
				for i := range seg {
					seg[i] = src[i]
				}
			}
			if filled < nr {
				clear(d[filled:])
			}
		}
	}
}

// packIm2colFrom packs rows [k0, k0+kb) of sample xn's im2col matrix as
// packIm2col does: from xp, its copy padded as pt describes, when pt is not
// nil.
func packIm2colFrom[T float](dst, xn, xp []T, pt *padTable, g convGeom, segs []pixSeg, off []int, k0, kb, nr int) {
	if pt != nil {
		packIm2colPadded(dst, xp, pt, segs, off, k0, kb, nr)
		return
	}
	packIm2col(dst, xn, g, segs, off, k0, kb, nr)
}

// deinterleave sets a[i] = src[2i] and b[i] = src[2i+1].
func deinterleave[T float](a, b, src []T) {
	n := len(a)
	b, src = b[:n], src[:2*n]
	if a32, ok := any(a).([]float32); ok && asm32[T]() && n >= 8 {
		m := n &^ 7
		deinterleave32(&a32[0], &any(b).([]float32)[0], &any(src).([]float32)[0], m)
		a, b, src = a[m:], b[m:], src[2*m:]
	}
	for i := range a {
		a[i], b[i] = src[2*i], src[2*i+1]
	}
}

// col2imAdd adds the im2col-shaped gradient col (ckk × hw) into dxn.
func col2imAdd[T float](dxn, col []T, g convGeom) {
	hw, kk := g.hw(), g.k*g.k
	for r := 0; r < g.ckk(); r++ {
		c, ki, kj := r/kk, (r/g.k)%g.k, r%g.k
		row := col[r*hw : (r+1)*hw]
		plane := dxn[c*g.h*g.w : (c+1)*g.h*g.w]
		lo, hi := 0, g.ow
		for lo < g.ow && lo*g.stride+kj-g.pad < 0 {
			lo++
		}
		for hi > lo && (hi-1)*g.stride+kj-g.pad >= g.w {
			hi--
		}
		for oy := 0; oy < g.oh; oy++ {
			iy := oy*g.stride + ki - g.pad
			if iy < 0 || iy >= g.h {
				continue
			}
			src := row[oy*g.ow : (oy+1)*g.ow]
			dst := plane[iy*g.w : (iy+1)*g.w]
			if g.stride == 1 {
				d := dst[lo+kj-g.pad : hi+kj-g.pad]
				s := src[lo:hi]
				for i, v := range s {
					d[i] += v
				}
			} else {
				ix := lo*g.stride + kj - g.pad
				for ox := lo; ox < hi; ox++ {
					dst[ix] += src[ox]
					ix += g.stride
				}
			}
		}
	}
}

// convWork is the workspace of one conv op node.
type convWork[T float] struct {
	ap, wt  []T // packed A shared by the workers; transposed filters
	segs    []pixSeg
	off     []int
	segsFor [2]int // (oh, ow) the runs were computed for
	threads []convThread[T]
	pad     *padTable
	parts   [][]T // per chunk of samples: a partial filter gradient
	sums    [][]T // per worker: a block of the parts' sum (sumPartsTransposed)
}

// convKC is the target depth of the blocks of the convolution's GEMM.
var convKC = gemmKC

// filterChunks is the number of fixed chunks of samples whose filter
// gradients are summed separately and then added in order: the result does
// not depend on how many cores ran them or in which order.
const filterChunks = 8

// chunkParts sizes one partial sum of size n per chunk of samples and
// returns the number of chunks.
func (w *convWork[T]) chunkParts(samples, n int) int {
	chunks := max(1, min(filterChunks, samples))
	for len(w.parts) < chunks {
		w.parts = append(w.parts, nil)
	}
	for c := 0; c < chunks; c++ {
		w.parts[c] = grow(w.parts[c], n)
	}
	return chunks
}

// forChunks runs f(worker, s, part, acc) for every sample s, chunk by chunk,
// the chunks spread over the workers; acc is false for a chunk's first
// sample.
func forChunks[T float](w *convWork[T], samples, chunks, nw int, f func(wi, s int, part []T, acc bool)) {
	parallelItems(chunks, nw, func(wi, c int) {
		s0, s1 := c*samples/chunks, (c+1)*samples/chunks
		for s := s0; s < s1; s++ {
			f(wi, s, w.parts[c], s > s0)
		}
	})
}

type convThread[T float] struct {
	bp, bt, col, tmp []T
	rows             []T      // a partial panel's rows over the whole tiles
	xp               []T      // the sample, zero-padded
	xpFor            convGeom // geometry xp's zero border was made for
	xps, bts         [][]T    // padded samples and dyᵀ panels of a group
	xpsFor           convGeom // geometry the xps' zero borders were made for
	pair             []T      // the product of two samples' one-panel outputs (convCorePairs)
}

// paddedGroup makes t.xps[:n] buffers for samples zero-padded as pt
// describes (their borders stay zero: padInto writes only the interior).
func (t *convThread[T]) paddedGroup(pt *padTable, n int) {
	for len(t.xps) < n {
		t.xps = append(t.xps, nil)
	}
	for j := 0; j < n; j++ {
		if len(t.xps[j]) != pt.padSize || t.xpsFor != pt.g {
			t.xps[j] = make([]T, pt.padSize)
		}
	}
	t.xpsFor = pt.g
}

func (w *convWork[T]) thread(i int) *convThread[T] {
	if len(w.threads) <= i {
		w.threads = append(w.threads, make([]convThread[T], i+1-len(w.threads))...)
	}
	return &w.threads[i]
}

func (w *convWork[T]) segments(oh, ow, nr int) ([]pixSeg, []int) {
	if w.off == nil || w.segsFor != [2]int{oh, ow} {
		w.segs, w.off = pixelSegments(oh, ow, nr)
		w.segsFor = [2]int{oh, ow}
	}
	return w.segs, w.off
}

type convWorks struct {
	f32 convWork[float32]
	f64 convWork[float64]
}

func workOf[T float](w *convWorks) *convWork[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(&w.f32).(*convWork[T])
	}
	return any(&w.f64).(*convWork[T])
}

// packFilters packs the filters w (cout × ckk, row-major) as the A operand
// of the forward GEMM, one packed block per depth block.
func packFilters[T float](ws *convWork[T], w []T, cout, ckk int) {
	mr, _ := tile[T]()
	blocks, kc := splitDepthTo(ckk, convKC)
	mp := roundUp(cout, mr)
	ws.ap = grow(ws.ap, mp*ckk)
	for b := 0; b < blocks; b++ {
		k0 := b * kc
		kb := min(kc, ckk-k0)
		packAParallel(ws.ap[mp*k0:], w[k0:], ckk, 1, cout, kb, kb, 0, mr)
	}
}

// convCore computes y = conv(x) (+ bias) (+ acc, when acc is not nil) with
// the filters already packed in ws.ap: per sample, each depth block of the
// im2col matrix is packed straight from x and multiplied into y's NCHW
// planes.
func convCore[T float](ws *convWork[T], g convGeom, x, bias, acc, y []T) {
	mr, nr := tile[T]()
	ckk, hw := g.ckk(), g.hw()
	blocks, kc := splitDepthTo(ckk, convKC)
	mp := roundUp(g.cout, mr)
	if hw <= nr && g.n >= 2 && pairKernel[T]() {
		convCorePairs(ws, g, x, bias, acc, y, kc, blocks, mp)
		return
	}
	segs, off := ws.segments(g.oh, g.ow, nr)
	pt := ws.im2colPadding(g, nr)
	nw := workers()
	for i := 0; i < nw; i++ {
		t := ws.thread(i)
		t.bp = grow(t.bp, kc*roundUp(hw, nr))
		t.tmp = grow(t.tmp, mr*nr)
	}
	in := g.cin * g.h * g.w
	parallelItems(g.n, nw, func(wi, s int) {
		t := &ws.threads[wi]
		xn := x[s*in : (s+1)*in]
		var xp []T
		if pt != nil {
			xp = padSample(t, pt, xn)
		}
		yn := y[s*g.cout*hw : (s+1)*g.cout*hw]
		accumulate := initOutput(yn, acc, s, ckk == 0)
		for b := 0; b < blocks; b++ {
			k0 := b * kc
			kb := min(kc, ckk-k0)
			packIm2colFrom(t.bp, xn, xp, pt, g, segs, off, k0, kb, nr)
			macroKernel(g.cout, hw, kb, ws.ap[mp*k0:], t.bp, yn, hw, accumulate || b > 0, t.tmp)
		}
		addBias(yn, bias, hw)
	})
}

// addBias adds bias[o] to row o (hw values) of one sample's output yn; a
// nil bias adds nothing.
func addBias[T float](yn, bias []T, hw int) {
	for o, bo := range bias {
		row := yn[o*hw : (o+1)*hw]
		for i := range row {
			row[i] += bo
		}
	}
}

// convCorePairs is convCore for outputs of at most one panel of columns
// (a ResNet's last stage, 4×4 at 32 px): it runs two samples at a time as
// the two panels of one product, so that the two-panel kernel applies, into
// a buffer whose halves are then added or copied into the two samples'
// outputs. An odd last sample runs alone.
func convCorePairs[T float](ws *convWork[T], g convGeom, x, bias, acc, y []T, kc, blocks, mp int) {
	mr, nr := tile[T]()
	ckk, hw := g.ckk(), g.hw()
	segs, off := ws.segments(g.oh, g.ow, nr)
	pt := ws.im2colPadding(g, nr)
	nw := workers()
	for i := 0; i < nw; i++ {
		t := ws.thread(i)
		t.bp = grow(t.bp, 2*kc*nr)
		t.tmp = grow(t.tmp, mr*nr)
		t.pair = grow(t.pair, g.cout*2*nr)
		if pt != nil {
			t.paddedGroup(pt, 2)
		}
	}
	in, out := g.cin*g.h*g.w, g.cout*hw
	parallelItems((g.n+1)/2, nw, func(wi, p int) {
		t := &ws.threads[wi]
		s0 := 2 * p
		ns := min(2, g.n-s0)
		var accumulate [2]bool
		for i := 0; i < ns; i++ {
			accumulate[i] = initOutput(y[(s0+i)*out:(s0+i+1)*out], acc, s0+i, ckk == 0)
			if pt != nil {
				padInto(t.xps[i], pt, x[(s0+i)*in:(s0+i+1)*in])
			}
		}
		for b := 0; b < blocks; b++ {
			k0 := b * kc
			kb := min(kc, ckk-k0)
			for i := 0; i < ns; i++ {
				var xp []T
				if pt != nil {
					xp = t.xps[i]
				}
				packIm2colFrom(t.bp[i*kb*nr:(i+1)*kb*nr], x[(s0+i)*in:(s0+i+1)*in], xp, pt, g, segs, off, k0, kb, nr)
			}
			macroKernel(g.cout, ns*nr, kb, ws.ap[mp*k0:], t.bp, t.pair, 2*nr, false, t.tmp)
			for i := 0; i < ns; i++ {
				yn := y[(s0+i)*out : (s0+i+1)*out]
				add := accumulate[i] || b > 0
				for o := 0; o < g.cout; o++ {
					src := t.pair[o*2*nr+i*nr : o*2*nr+i*nr+hw]
					if dst := yn[o*hw : (o+1)*hw]; add {
						vAdd(dst, src)
					} else {
						copy(dst, src)
					}
				}
			}
		}
		for i := 0; i < ns; i++ {
			addBias(y[(s0+i)*out:(s0+i+1)*out], bias, hw)
		}
	})
}

// pairKernel reports whether the GEMM has a kernel for two panels at once.
func pairKernel[T float]() bool { return useAVX512 && asm32[T]() }

// convForward computes y = conv(x, w) (+ bias).
func convForward[T float](ws *convWork[T], g convGeom, x, w, bias, y []T) {
	packFilters(ws, w, g.cout, g.ckk())
	convCoreAny(ws, g, x, bias, nil, y)
}

// convCoreAny runs convDirect where the geometry allows it and convCore
// otherwise.
func convCoreAny[T float](ws *convWork[T], g convGeom, x, bias, acc, y []T) {
	_, nr := tile[T]()
	if g.direct(nr) {
		convDirect(ws, g, x, bias, acc, y)
		return
	}
	convCore(ws, g, x, bias, acc, y)
}

// initOutput prepares sample s's output yn of a convolution that adds its
// products into it: it copies in sample s of acc and returns true when acc
// is not nil (the products then add to it), clears yn when there are no
// products (empty) and returns false otherwise.
func initOutput[T float](yn, acc []T, s int, empty bool) bool {
	if acc != nil {
		copy(yn, acc[s*len(yn):(s+1)*len(yn)])
		return true
	}
	if empty {
		clear(yn)
	}
	return false
}

// padTable describes im2col over a zero-padded sample: row r = (c, ki, kj)
// of the im2col matrix, restricted to output row oy, is the contiguous run
// xp[rowoff[r] + oy*pitch …] of ow elements.
//
// With stride 1, xp is the sample with a zero border of g.pad (hp × wp per
// channel) and pitch = wp. With stride 2 each padded row is stored split
// into its even and its odd columns (wq each, wq = ⌈wp/2⌉): the inputs of
// output pixels ox … ox+n−1 for one tap (2·ox + kj) are then the n
// consecutive elements from ox + kj/2 of the row's half of parity kj, and
// output row oy reads padded row 2·oy + ki: pitch = 2 padded rows.
type padTable struct {
	g       convGeom
	hp, wp  int
	rowLen  int // elements per padded row in xp: wp, or 2·wq with stride 2
	wq      int // with stride 2: elements per half row
	pitch   int // xp elements from one output row to the next
	rowoff  []int32
	rowMax  int
	tiles   [][2]int // per panel of nr pixels: offsets of its two halves
	offs    []int32  // the same, flat, for the kernels
	tileMax int      // the largest tile offset
	padSize int
}

func (g convGeom) padTable(nr int) *padTable {
	t := &padTable{g: g, hp: g.h + 2*g.pad, wp: g.w + 2*g.pad}
	t.rowLen, t.pitch = t.wp, t.wp
	if g.stride == 2 {
		t.wq = (t.wp + 1) / 2
		t.rowLen = 2 * t.wq
		t.pitch = 2 * t.rowLen
	}
	t.padSize = g.cin * t.hp * t.rowLen
	kk := g.k * g.k
	t.rowoff = make([]int32, g.ckk())
	for r := range t.rowoff {
		c, ki, kj := r/kk, (r/g.k)%g.k, r%g.k
		col := kj
		if g.stride == 2 {
			col = (kj%2)*t.wq + kj/2
		}
		t.rowoff[r] = int32(c*t.hp*t.rowLen + ki*t.rowLen + col)
		t.rowMax = max(t.rowMax, int(t.rowoff[r]))
	}
	hw, h := g.hw(), nr/2
	for j0 := 0; j0 < hw; j0 += nr {
		t0 := (j0/g.ow)*t.pitch + j0%g.ow
		t1 := t0
		if j1 := j0 + h; j1 < hw {
			t1 = (j1/g.ow)*t.pitch + j1%g.ow
		}
		t.tiles = append(t.tiles, [2]int{t0, t1})
		t.offs = append(t.offs, int32(t0), int32(t1))
		t.tileMax = max(t.tileMax, t0, t1)
	}
	return t
}

// direct reports whether convDirect applies: stride 1 or 2 and output rows
// made of whole half-panels, so that each half-panel of im2col is a
// contiguous run of the padded sample.
func (g convGeom) direct(nr int) bool {
	return g.padded() && g.ow%(nr/2) == 0 && g.oh > 0
}

// padded reports whether the padded samples of padTable serve the
// geometry: stride 1 or 2, and offsets that fit in int32.
func (g convGeom) padded() bool {
	return (g.stride == 1 || g.stride == 2) && g.cin*(g.h+2*g.pad)*(g.w+2*g.pad+1) <= math.MaxInt32
}

// im2colPadding returns the padded layout that packIm2colPadded packs
// from, or nil where the geometry has none (packIm2col then reads the
// sample itself).
func (w *convWork[T]) im2colPadding(g convGeom, nr int) *padTable {
	if !g.padded() {
		return nil
	}
	return w.padding(g, nr)
}

func (w *convWork[T]) padding(g convGeom, nr int) *padTable {
	if w.pad == nil || w.pad.g != g {
		w.pad = g.padTable(nr)
	}
	return w.pad
}

// padSample copies sample xn into t.xp with a zero border of g.pad.
func padSample[T float](t *convThread[T], pt *padTable, xn []T) []T {
	if t.xpFor != pt.g || len(t.xp) != pt.padSize {
		t.xp = make([]T, pt.padSize)
		t.xpFor = pt.g
	}
	padInto(t.xp, pt, xn)
	return t.xp
}

// padInto copies sample xn into the interior of xp, whose border is zero
// (with stride 2, each row split into its even and odd columns).
func padInto[T float](xp []T, pt *padTable, xn []T) {
	g := pt.g
	for c := 0; c < g.cin; c++ {
		for y := 0; y < g.h; y++ {
			src := xn[(c*g.h+y)*g.w : (c*g.h+y+1)*g.w]
			d := (c*pt.hp + y + g.pad) * pt.rowLen
			if g.stride != 2 {
				copy(xp[d+g.pad:d+g.pad+g.w], src)
				continue
			}
			// padded column j = x + pad goes to (j%2)·wq + j/2
			even, odd := xp[d:d+pt.wq], xp[d+pt.wq:d+2*pt.wq]
			// Columns x, x+1 (x even) go to the halves of j's parity and
			// of the other at j/2 and (j+1)/2.
			n := g.w / 2
			first, second := even[g.pad/2:g.pad/2+n], odd[g.pad/2:g.pad/2+n]
			if g.pad%2 == 1 {
				first, second = odd[g.pad/2:g.pad/2+n], even[(g.pad+1)/2:(g.pad+1)/2+n]
			}
			deinterleave(first, second, src[:2*n])
			x := 2 * n
			for ; x < g.w; x++ {
				if j := x + g.pad; j%2 == 0 {
					even[j/2] = src[x]
				} else {
					odd[j/2] = src[x]
				}
			}
		}
	}
}

// convDirect is convCore without im2col: the micro-kernel reads each
// row of B straight from the zero-padded sample (kernelX).
func convDirect[T float](ws *convWork[T], g convGeom, x, bias, acc, y []T) {
	mr, nr := tile[T]()
	ckk, hw := g.ckk(), g.hw()
	blocks, kc := splitDepthTo(ckk, convKC)
	mp := roundUp(g.cout, mr)
	pt := ws.padding(g, nr)
	nw := workers()
	for i := 0; i < nw; i++ {
		ws.thread(i).tmp = grow(ws.thread(i).tmp, mr*nr)
	}
	in := g.cin * g.h * g.w
	parallelItems(g.n, nw, func(wi, s int) {
		t := &ws.threads[wi]
		xp := padSample(t, pt, x[s*in:(s+1)*in])
		yn := y[s*g.cout*hw : (s+1)*g.cout*hw]
		accumulate := initOutput(yn, acc, s, ckk == 0)
		for b := 0; b < blocks; b++ {
			k0 := b * kc
			kb := min(kc, ckk-k0)
			ab := ws.ap[mp*k0:]
			ro := pt.rowoff[k0 : k0+kb]
			add := accumulate || b > 0
			// Panel by panel, each over all the whole tiles of the sample:
			// the A panel and the few padded channels of the block stay in
			// L1 meanwhile.
			wholeTiles := hw / nr
			for ir := 0; ir < g.cout; ir += mr {
				a := ab[(ir/mr)*mr*kb:]
				rows := min(mr, g.cout-ir)
				q0 := 0
				switch {
				case rows == mr && wholeTiles > 0:
					kernelXT(wholeTiles, kb, a, ro, pt.rowMax, xp, pt.offs, pt.tileMax, yn[ir*hw:], hw, add)
					q0 = wholeTiles
				case wholeTiles > 0:
					// The last, partial panel of rows: whole tiles through
					// t.rows, mr rows of them.
					ld := wholeTiles * nr
					t.rows = grow(t.rows, mr*ld)
					if add {
						for i := 0; i < rows; i++ {
							copy(t.rows[i*ld:(i+1)*ld], yn[(ir+i)*hw:])
						}
					}
					kernelXT(wholeTiles, kb, a, ro, pt.rowMax, xp, pt.offs, pt.tileMax, t.rows, ld, add)
					for i := 0; i < rows; i++ {
						copy(yn[(ir+i)*hw:(ir+i)*hw+ld], t.rows[i*ld:(i+1)*ld])
					}
					q0 = wholeTiles
				}
				for q := q0; q < len(pt.tiles); q++ {
					tt := pt.tiles[q]
					j0 := q * nr
					cols := min(nr, hw-j0)
					kernelX(kb, a, ro, pt.rowMax, xp, tt[0], tt[1], t.tmp, nr, false)
					for i := 0; i < rows; i++ {
						dst := yn[(ir+i)*hw+j0 : (ir+i)*hw+j0+cols]
						src := t.tmp[i*nr : i*nr+cols]
						if add {
							for j, v := range src {
								dst[j] += v
							}
						} else {
							copy(dst, src)
						}
					}
				}
			}
		}
		addBias(yn, bias, hw)
	})
}

// convBackFilterDirect computes dwᵀ = Σ_n im2col(x_n)·dy_nᵀ with the im2col
// rows read in place from the zero-padded sample (kernelF); stride 1 or 2
// (padTable).
func convBackFilterDirect[T float](ws *convWork[T], g convGeom, x, dy, dw []T) {
	if g.n == 0 {
		clear(dw)
		return
	}
	mr, nr := tile[T]()
	ckk, hw := g.ckk(), g.hw()
	pt := ws.padding(g, nr)
	nw := min(workers(), max(g.n, 1))
	// Samples per group: the kernel runs over a group's samples back to
	// back on each tile of dwᵀ, which stays in L1 meanwhile; the group's
	// padded samples and dyᵀ panels stay in L2.
	var z T
	perSample := (pt.padSize + roundUp(g.cout, nr)*hw) * int(unsafe.Sizeof(z))
	group := max(1, min(4, filterGroupBytes/max(perSample, 1)))
	for i := 0; i < nw; i++ {
		t := ws.thread(i)
		t.tmp = grow(t.tmp, mr*nr)
		t.paddedGroup(pt, group)
		for len(t.bts) < group {
			t.bts = append(t.bts, nil)
		}
		for j := 0; j < group; j++ {
			t.bts[j] = grow(t.bts[j], roundUp(g.cout, nr)*hw)
		}
	}
	chunks := ws.chunkParts(g.n, ckk*g.cout)
	in := g.cin * g.h * g.w
	parallelItems(chunks, nw, func(wi, ch int) {
		t := &ws.threads[wi]
		part := ws.parts[ch]
		s0, s1 := ch*g.n/chunks, (ch+1)*g.n/chunks
		for gs := s0; gs < s1; gs += group {
			ng := min(group, s1-gs)
			for j := 0; j < ng; j++ {
				s := gs + j
				padInto(t.xps[j], pt, x[s*in:(s+1)*in])
				// B(p, o) = dy_n[o][p] in panels of nr channels.
				packDyT(t.bts[j], dy[s*g.cout*hw:(s+1)*g.cout*hw], hw, g.cout)
			}
			acc := gs > s0
			// Column panel by column panel (its dyᵀ panel stays in L1),
			// over all whole groups of mr im2col rows, sample by sample.
			// Two whole panels at a time where there are two (one AVX-512
			// kernel covers both).
			wholeGroups := ckk / mr
			pairDone := false
			for jr := 0; jr < g.cout; jr += nr {
				q := (jr / nr) * nr * hw
				cols := min(nr, g.cout-jr)
				ir0 := 0
				if cols == nr && wholeGroups > 0 {
					switch {
					case pairDone:
						pairDone = false
					case jr+2*nr <= g.cout:
						for j := 0; j < ng; j++ {
							kernelFRPair(wholeGroups, g.oh, g.ow, pt.pitch, t.xps[j], pt.rowoff, pt.rowMax, t.bts[j][q:], t.bts[j][q+nr*hw:], part[jr:], g.cout, acc || j > 0)
						}
						pairDone = true
					default:
						for j := 0; j < ng; j++ {
							kernelFR(wholeGroups, g.oh, g.ow, pt.pitch, t.xps[j], pt.rowoff, pt.rowMax, t.bts[j][q:], part[jr:], g.cout, acc || j > 0)
						}
					}
					ir0 = wholeGroups * mr
				}
				var offs [6]int32
				for ir := ir0; ir < ckk; ir += mr {
					rows := min(mr, ckk-ir)
					for i := 0; i < mr; i++ {
						offs[i] = pt.rowoff[min(ir+i, ckk-1)]
					}
					for j := 0; j < ng; j++ {
						kernelF(g.oh, g.ow, pt.pitch, t.xps[j], &offs, t.bts[j][q:], t.tmp, nr, j > 0)
					}
					c := part[ir*g.cout+jr:]
					for i := 0; i < rows; i++ {
						dst := c[i*g.cout : i*g.cout+cols]
						src := t.tmp[i*nr : i*nr+cols]
						if acc {
							for j, v := range src {
								dst[j] += v
							}
						} else {
							copy(dst, src)
						}
					}
				}
			}
		}
	})
	sumPartsTransposed(ws, ws.parts[:chunks], ckk, g.cout, dw)
}

// filterGroupBytes bounds the padded samples and dyᵀ panels that the filter
// gradient keeps in cache at once.
const filterGroupBytes = 320 << 10

// sumPartsTransposed sets dw[o][r] = Σ_chunks part[r][o], adding the
// chunks in order: block by block of rows r, the chunks are summed into a
// contiguous scratch block (a vector pass per chunk), which is then
// written out transposed, each dw row's run of the block at once.
func sumPartsTransposed[T float](ws *convWork[T], parts [][]T, ckk, cout int, dw []T) {
	const rowsPerItem = 64
	items := (ckk + rowsPerItem - 1) / rowsPerItem
	nw := workers()
	for len(ws.sums) < nw {
		ws.sums = append(ws.sums, nil)
	}
	for i := range nw {
		ws.sums[i] = grow(ws.sums[i], rowsPerItem*cout)
	}
	parallelItems(items, nw, func(wi, it int) {
		r0, r1 := it*rowsPerItem, min(ckk, (it+1)*rowsPerItem)
		acc := ws.sums[wi][:(r1-r0)*cout]
		copy(acc, parts[0][r0*cout:r1*cout])
		for _, part := range parts[1:] {
			vAdd(acc, part[r0*cout:r1*cout])
		}
		for o := 0; o < cout; o++ {
			row := dw[o*ckk+r0 : o*ckk+r1]
			for i := range row {
				row[i] = acc[i*cout+o]
			}
		}
	})
}

// transposedGeom returns the geometry of the convolution that maps dy to
// dx when the stride is 1: dy padded by k−1−pad, convolved with the
// flipped, transposed filters.
func (g convGeom) transposed() (convGeom, bool) {
	if g.stride != 1 || g.pad > g.k-1 {
		return convGeom{}, false
	}
	return convGeom{n: g.n, cin: g.cout, h: g.oh, w: g.ow, cout: g.cin, k: g.k, stride: 1, pad: g.k - 1 - g.pad, oh: g.h, ow: g.w}, true
}

// convBackData computes dx = ∂L/∂x from w and dy, plus acc when acc is not
// nil (another reader's gradient of x, see gradHandoff).
func convBackData[T float](ws *convWork[T], g convGeom, w, dy, acc, dx []T) {
	if gt, ok := g.transposed(); ok {
		// W'[c][o][ki][kj] = W[o][c][k−1−ki][k−1−kj]
		kk := g.k * g.k
		ws.wt = grow(ws.wt, len(w))
		// By input channel: each item writes one contiguous run of wt.
		parallelItems(g.cin, workers(), func(_, c int) {
			for o := 0; o < g.cout; o++ {
				src := w[(o*g.cin+c)*kk : (o*g.cin+c+1)*kk]
				dst := ws.wt[(c*g.cout+o)*kk : (c*g.cout+o+1)*kk]
				for i, v := range src {
					dst[kk-1-i] = v
				}
			}
		})
		if g.smallData() {
			convBackDataSmall(ws, g, gt, dy, dx)
			if acc != nil {
				chunked(len(dx), func(lo, hi int) { vAdd(dx[lo:hi], acc[lo:hi]) })
			}
			return
		}
		packFilters(ws, ws.wt, gt.cout, gt.ckk())
		convCoreAny(ws, gt, dy, nil, acc, dx)
		return
	}
	mr, nr := tile[T]()
	ckk, hw := g.ckk(), g.hw()
	blocks, kc := splitDepth(g.cout)
	mp := roundUp(ckk, mr)
	ws.ap = grow(ws.ap, mp*g.cout)
	for b := 0; b < blocks; b++ {
		o0 := b * kc
		kb := min(kc, g.cout-o0)
		// A(r, o) = w[o*ckk + r]: the transposed filters.
		packAParallel(ws.ap[mp*o0:], w[o0*ckk:], 1, ckk, ckk, kb, kb, 0, mr)
	}
	nw := workers()
	for i := 0; i < nw; i++ {
		t := ws.thread(i)
		t.col = grow(t.col, ckk*hw)
		t.bp = grow(t.bp, kc*roundUp(hw, nr))
		t.tmp = grow(t.tmp, mr*nr)
	}
	in := g.cin * g.h * g.w
	parallelItems(g.n, nw, func(wi, s int) {
		t := &ws.threads[wi]
		dyn := dy[s*g.cout*hw : (s+1)*g.cout*hw]
		dxn := dx[s*in : (s+1)*in]
		if acc != nil {
			copy(dxn, acc[s*in:(s+1)*in])
		} else {
			clear(dxn)
		}
		if g.cout == 0 {
			return
		}
		for b := 0; b < blocks; b++ {
			o0 := b * kc
			kb := min(kc, g.cout-o0)
			packB(t.bp, dyn[o0*hw:], hw, 1, kb, hw, kb, 0, nr)
			macroKernel(ckk, hw, kb, ws.ap[mp*o0:], t.bp, t.col, hw, b > 0, t.tmp)
		}
		col2imAdd(dxn, t.col, g)
	})
}

// smallData reports whether convBackDataSmall computes the input gradient:
// stride 1 (the gradient is a convolution of the padded dy), at most 3
// input channels (the matrix product would fill at most half the rows of
// the micro-kernel) and rows of whole vectors.
func (g convGeom) smallData() bool {
	gt, ok := g.transposed()
	return ok && g.cin <= 3 && g.w%8 == 0 && gt.cin*(gt.h+2*gt.pad)*(gt.w+2*gt.pad) <= math.MaxInt32
}

// convBackDataSmall computes the input gradient of a convolution with few
// input channels directly, from the flipped, transposed filters in ws.wt:
// each row of dx, 32 or 8 pixels at a time, is the sum over (o, ki, kj) of
// a filter tap times a run of the zero-padded dy (kernelDataRow), one or
// two channels per pass. The first layer of an encoder (1 or 2 channels)
// needs it when the gradient flows on into a generator.
func convBackDataSmall[T float](ws *convWork[T], g, gt convGeom, dy, dx []T) {
	_, nr := tile[T]()
	pt := ws.padding(gt, nr)
	nt := gt.ckk()
	nw := workers()
	for i := 0; i < nw; i++ {
		ws.thread(i)
	}
	hw, out := g.h*g.w, gt.cin*gt.h*gt.w
	parallelItems(g.n, nw, func(wi, s int) {
		xp := padSample(&ws.threads[wi], pt, dy[s*out:(s+1)*out])
		dxn := dx[s*g.cin*hw : (s+1)*g.cin*hw]
		for y := 0; y < g.h; y++ {
			for x0 := 0; x0 < g.w; {
				nv := 4
				if g.w-x0 < 32 {
					nv = 1
				}
				for c := 0; c < g.cin; c += 2 {
					kernelDataRow(nt, pt.rowoff, pt.rowMax, xp[y*pt.wp+x0:], ws.wt[c*nt:], nt, min(2, g.cin-c), nv, dxn[c*hw+y*g.w+x0:], hw)
				}
				x0 += 8 * nv
			}
		}
	})
}

// kernelDataRow sets out[c·ostride + p] = Σ_t<nt w[c·wstride + t] ·
// b[rowoff[t] + p] for c < nc (1 or 2) and p < 8·nv (nv 1 or 4).
func kernelDataRow[T float](nt int, rowoff []int32, rowMax int, b, w []T, wstride, nc, nv int, out []T, ostride int) {
	n := 8 * nv
	checkLen((nc-1)*ostride+n, len(out))
	if nt == 0 {
		for c := 0; c < nc; c++ {
			clear(out[c*ostride : c*ostride+n])
		}
		return
	}
	checkLen(nt, len(rowoff))
	checkLen(rowMax+n, len(b))
	checkLen((nc-1)*wstride+nt, len(w))
	if asm32[T]() && (nc == 1 || nc == 2) && (nv == 1 || nv == 4) {
		convDataRow32(nt, &rowoff[0], ptr32(b, 1), ptr32(w, 1), wstride, ptr32(out, 1), ostride, nc, nv)
		return
	}
	for c := 0; c < nc; c++ {
		o := out[c*ostride : c*ostride+n]
		clear(o)
		for t, off := range rowoff[:nt] {
			wt := w[c*wstride+t]
			for p, v := range b[off : int(off)+n] {
				o[p] += wt * v
			}
		}
	}
}

// convBackFilter computes dw = ∂L/∂w from x and dy as dwᵀ = Σ_n im2col(x_n)
// · dy_nᵀ, reading the im2col rows in place from the same packed panels as
// the forward pass (kernelS) against dy_nᵀ packed in panels of channels.
// Each worker sums its samples into its own dwᵀ; the partial sums are
// added and transposed at the end.
func convBackFilter[T float](ws *convWork[T], g convGeom, x, dy, dw []T) {
	if g.n == 0 {
		clear(dw)
		return
	}
	if g.padded() {
		convBackFilterDirect(ws, g, x, dy, dw)
		return
	}
	mr, nr := tile[T]()
	ckk, hw := g.ckk(), g.hw()
	hwp := roundUp(hw, nr)
	np := hwp / nr
	kc := ckk
	if budget := max(mr, (98304/max(hwp, 1))/mr*mr); kc > budget {
		_, kc = splitDepth(ckk) // keep a block of the panels within L2
	}
	blocks := (ckk + kc - 1) / max(kc, 1)
	segs, off := ws.segments(g.oh, g.ow, nr)
	nw := min(workers(), max(g.n, 1))
	for i := 0; i < nw; i++ {
		t := ws.thread(i)
		t.bp = grow(t.bp, kc*hwp+mr*nr)
		t.bt = grow(t.bt, roundUp(g.cout, nr)*hwp)
		t.tmp = grow(t.tmp, mr*nr)
	}
	chunks := ws.chunkParts(g.n, ckk*g.cout)
	in := g.cin * g.h * g.w
	forChunks(ws, g.n, chunks, nw, func(wi, s int, part []T, acc bool) {
		t := &ws.threads[wi]
		dyn := dy[s*g.cout*hw : (s+1)*g.cout*hw]
		// B(p, o) = dy_n[o][p], pixels past hw zero.
		packB(t.bt, dyn, 1, hw, hw, g.cout, hwp, 0, nr)
		if hwp > hw {
			for q := 0; q < roundUp(g.cout, nr)/nr; q++ {
				clear(t.bt[q*nr*hwp+hw*nr : (q+1)*nr*hwp])
			}
		}
		xn := x[s*in : (s+1)*in]
		for b := 0; b < blocks; b++ {
			k0 := b * kc
			kb := min(kc, ckk-k0)
			packIm2col(t.bp, xn, g, segs, off, k0, kb, nr)
			for jr := 0; jr < g.cout; jr += nr {
				bq := t.bt[(jr/nr)*nr*hwp:]
				cols := min(nr, g.cout-jr)
				for ir := 0; ir < kb; ir += mr {
					rows := min(mr, kb-ir)
					c := part[(k0+ir)*g.cout+jr:]
					if rows == mr && cols == nr {
						kernelS(np, t.bp[ir*nr:], nr*kb, bq, c, g.cout, acc)
						continue
					}
					kernelS(np, t.bp[ir*nr:], nr*kb, bq, t.tmp, nr, false)
					for i := 0; i < rows; i++ {
						dst := c[i*g.cout : i*g.cout+cols]
						src := t.tmp[i*nr : i*nr+cols]
						if acc {
							for j, v := range src {
								dst[j] += v
							}
						} else {
							copy(dst, src)
						}
					}
				}
			}
		}
	})
	sumPartsTransposed(ws, ws.parts[:chunks], ckk, g.cout, dw)
}

// biasGrad sums dy over samples and pixels for each output channel.
func biasGrad[T float](g convGeom, dy, db []T) {
	hw := g.hw()
	acc := make([]float64, g.cout)
	for s := 0; s < g.n; s++ {
		for o := 0; o < g.cout; o++ {
			row := dy[(s*g.cout+o)*hw : (s*g.cout+o+1)*hw]
			var sum T
			for _, v := range row {
				sum += v
			}
			acc[o] += float64(sum)
		}
	}
	for o := range db {
		db[o] = T(acc[o])
	}
}

// convOp is the forward convolution: (x, w[, b]) → y.
type convOp struct {
	opID
	g      convGeom
	bias   bool
	needDX bool
	dt     tensor.Dtype
	out    outputs
	work   convWorks
	// give hands the input gradient to the input's other reader; take
	// adds that reader's gradient into it (see gradHandoff).
	give, take *gradHandoff
	parts      *sharedParts // the graph's, for the filter gradient
}

func (op *convOp) Arity() int {
	if op.bias {
		return 3
	}
	return 2
}

func (op *convOp) Type() hm.Type {
	if op.bias {
		return fnType(4, 4, 4, 1)
	}
	return fnType(4, 4, 4)
}

func (op *convOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.g.outShape(), nil }

func (op *convOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return convDo[float32](op, in) }, func() (G.Value, error) { return convDo[float64](op, in) })
}

func convDo[T float](op *convOp, in []G.Value) (G.Value, error) {
	x, err := data[T](in[0], op.g.inSize())
	if err != nil {
		return nil, fmt.Errorf("conv %v input: %w", op.g, err)
	}
	w, err := data[T](in[1], op.g.wSize())
	if err != nil {
		return nil, fmt.Errorf("conv %v filters: %w", op.g, err)
	}
	var b []T
	if op.bias {
		if b, err = data[T](in[2], op.g.cout); err != nil {
			return nil, fmt.Errorf("conv %v bias: %w", op.g, err)
		}
	}
	y, out := outputOf[T](&op.out).get(op.g.outShape(), in...)
	convForward(workOf[T](&op.work), op.g, x, w, b, y)
	return out, nil
}

func (op *convOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	d[0] = op.needDX && !op.give.given()
	return d
}

func (op *convOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	grads := make(G.Nodes, len(in))
	var err error
	if op.needDX {
		var dx *G.Node
		if acc := op.take.take(); acc != nil {
			dx, err = G.ApplyOp(&convDataOp{opID: newOpID("ConvGradInput"), g: op.g, dt: op.dt, acc: true}, in[1], grad, acc)
		} else {
			dx, err = G.ApplyOp(&convDataOp{opID: newOpID("ConvGradInput"), g: op.g, dt: op.dt}, in[1], grad)
		}
		if err != nil {
			return nil, err
		}
		if !op.give.give(dx) {
			grads[0] = dx
		}
	}
	if grads[1], err = G.ApplyOp(&convFilterOp{opID: newOpID("ConvGradFilter"), g: op.g, dt: op.dt, parts: op.parts}, in[0], grad); err != nil {
		return nil, err
	}
	if op.bias {
		if grads[2], err = G.ApplyOp(&convBiasOp{opID: newOpID("ConvGradBias"), g: op.g, dt: op.dt}, grad); err != nil {
			return nil, err
		}
	}
	return grads, nil
}

// convDataOp is (w, dy) → dx, or (w, dy, acc) → dx + acc with acc set.
type convDataOp struct {
	opID
	noGradOp
	g    convGeom
	dt   tensor.Dtype
	acc  bool
	out  outputs
	work convWorks
}

func (op *convDataOp) Arity() int {
	if op.acc {
		return 3
	}
	return 2
}
func (op *convDataOp) Type() hm.Type {
	if op.acc {
		return fnType(4, 4, 4, 4)
	}
	return fnType(4, 4, 4)
}
func (op *convDataOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.g.inShape(), nil }
func (op *convDataOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return convDataDo[float32](op, in) }, func() (G.Value, error) { return convDataDo[float64](op, in) })
}

func convDataDo[T float](op *convDataOp, in []G.Value) (G.Value, error) {
	w, err := data[T](in[0], op.g.wSize())
	if err != nil {
		return nil, fmt.Errorf("conv %v input gradient: %w", op.g, err)
	}
	dy, err := data[T](in[1], op.g.outSize())
	if err != nil {
		return nil, fmt.Errorf("conv %v input gradient: %w", op.g, err)
	}
	var acc []T
	if op.acc {
		if acc, err = data[T](in[2], op.g.inSize()); err != nil {
			return nil, fmt.Errorf("conv %v input gradient: %w", op.g, err)
		}
	}
	dx, out := outputOf[T](&op.out).get(op.g.inShape(), in...)
	if op.skip {
		return out, nil
	}
	convBackData(workOf[T](&op.work), op.g, w, dy, acc, dx)
	return out, nil
}

// convFilterOp is (x, dy) → dw.
type convFilterOp struct {
	opID
	noGradOp
	g     convGeom
	dt    tensor.Dtype
	out   outputs
	work  convWorks
	parts *sharedParts // nil: the op's own
}

// sharedParts holds the partial filter gradients (convWork.parts) of every
// filter-gradient op of a graph: one op runs at a time, and each
// overwrites them before it reads them, so they need not be the op's own
// (8 copies of every convolution's filters otherwise).
type sharedParts struct {
	f32 [][]float32
	f64 [][]float64
}

// borrow lends the shared partial sums to w for one run; the returned
// function takes them back, grown if the run grew them.
func borrowParts[T float](p *sharedParts, w *convWork[T]) func() {
	if p == nil {
		return func() {}
	}
	var z T
	if _, ok := any(z).(float32); ok {
		w.parts = any(p.f32).([][]T)
		return func() { p.f32, w.parts = any(w.parts).([][]float32), nil }
	}
	w.parts = any(p.f64).([][]T)
	return func() { p.f64, w.parts = any(w.parts).([][]float64), nil }
}

func (op *convFilterOp) Arity() int                                     { return 2 }
func (op *convFilterOp) Type() hm.Type                                  { return fnType(4, 4, 4) }
func (op *convFilterOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.g.wShape(), nil }
func (op *convFilterOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return convFilterDo[float32](op, in) }, func() (G.Value, error) { return convFilterDo[float64](op, in) })
}

func convFilterDo[T float](op *convFilterOp, in []G.Value) (G.Value, error) {
	x, err := data[T](in[0], op.g.inSize())
	if err != nil {
		return nil, fmt.Errorf("conv %v filter gradient: %w", op.g, err)
	}
	dy, err := data[T](in[1], op.g.outSize())
	if err != nil {
		return nil, fmt.Errorf("conv %v filter gradient: %w", op.g, err)
	}
	dw, out := outputOf[T](&op.out).get(op.g.wShape(), in...)
	if op.skip {
		return out, nil
	}
	ws := workOf[T](&op.work)
	defer borrowParts(op.parts, ws)()
	convBackFilter(ws, op.g, x, dy, dw)
	return out, nil
}

// convBiasOp is dy → db.
type convBiasOp struct {
	opID
	noGradOp
	g   convGeom
	dt  tensor.Dtype
	out outputs
}

func (op *convBiasOp) Arity() int    { return 1 }
func (op *convBiasOp) Type() hm.Type { return fnType(1, 4) }
func (op *convBiasOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.g.cout}, nil
}
func (op *convBiasOp) Do(in ...G.Value) (G.Value, error) {
	return dispatch(op.dt, func() (G.Value, error) { return convBiasDo[float32](op, in) }, func() (G.Value, error) { return convBiasDo[float64](op, in) })
}

func convBiasDo[T float](op *convBiasOp, in []G.Value) (G.Value, error) {
	dy, err := data[T](in[0], op.g.outSize())
	if err != nil {
		return nil, fmt.Errorf("conv %v bias gradient: %w", op.g, err)
	}
	db, out := outputOf[T](&op.out).get(tensor.Shape{op.g.cout}, in...)
	if op.skip {
		return out, nil
	}
	biasGrad(op.g, dy, db)
	return out, nil
}

// conv2dFast applies the convolution op to x (N, Cin, H, W) with filters w
// and an optional bias b.
func conv2dFast(g *Graph, x, w, b *G.Node, k, stride, pad int) *G.Node {
	xs, ws := x.Shape(), w.Shape()
	if k <= 0 || stride <= 0 || pad < 0 {
		g.Fail("conv", fmt.Errorf("kernel %d, stride %d and padding %d: want a positive kernel and stride and a non-negative padding", k, stride, pad))
		return nil
	}
	geom := convGeom{n: xs[0], cin: xs[1], h: xs[2], w: xs[3], cout: ws[0], k: k, stride: stride, pad: pad}
	geom.oh = (geom.h+2*pad-k)/stride + 1
	geom.ow = (geom.w+2*pad-k)/stride + 1
	if geom.oh <= 0 || geom.ow <= 0 {
		g.Fail("conv", fmt.Errorf("input %v too small for a %d×%d kernel with padding %d", xs, k, k, pad))
		return nil
	}
	if g.parts == nil {
		g.parts = new(sharedParts)
	}
	op := &convOp{opID: newOpID("Conv2d"), g: geom, bias: b != nil, needDX: !g.isInput(x), dt: g.dtype, parts: g.parts}
	return g.Do("conv", func() (*G.Node, error) {
		if b != nil {
			return G.ApplyOp(op, x, w, b)
		}
		return G.ApplyOp(op, x, w)
	})
}
