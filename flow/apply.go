package flow

import (
	"math"
	"runtime"
	"sync"

	"github.com/learnviews/learnviews/nn"
)

// The plain-Go evaluation of a Flow, for previews, for the views of a frozen
// g in later stages and for checking the graph: the same maths as Forward,
// read from the current parameter values and computed in float64 whatever
// the flow's dtype. Apply, ApplyLogDet and Inverse split the batch over the
// cores; they may run concurrently with each other, but not while an
// optimiser writes the parameters.

// Apply returns g(x) for a batch of n images of shape (3, h, w), laid out
// NCHW as Forward's input. It computes in float64 from the current parameter
// values, so it agrees with Forward in a float64 graph up to rounding and
// with a float32 graph to float32 precision.
func (f *Flow) Apply(x []float32, n, h, w int) ([]float32, error) {
	y, _, err := f.ApplyLogDet(x, n, h, w)
	return y, err
}

// ApplyLogDet returns g(x) and the per-pixel log|det J| of ForwardLogDet,
// n·h·w values laid out (N, H, W); all zero for a VP flow.
func (f *Flow) ApplyLogDet(x []float32, n, h, w int) ([]float32, []float64, error) {
	if f == nil {
		return nil, nil, errFlowNil
	}
	if n < 1 || h < 1 || w < 1 || len(x) != n*3*h*w {
		return nil, nil, errFlowShape("input", len(x), n, h, w)
	}
	hw := h * w
	y, ld := make([]float32, len(x)), make([]float64, n*hw)
	flowChunks(n, func(lo, hi int) {
		yc, lc := f.apply64(flowTo64(x[lo*3*hw:hi*3*hw]), hi-lo, h, w)
		flowInto32(y[lo*3*hw:hi*3*hw], yc)
		copy(ld[lo*hw:hi*hw], lc)
	})
	return y, ld, nil
}

// Inverse returns g⁻¹(y) for a batch laid out as Apply's input: Inverse
// undoes Apply up to rounding.
func (f *Flow) Inverse(y []float32, n, h, w int) ([]float32, error) {
	if f == nil {
		return nil, errFlowNil
	}
	if n < 1 || h < 1 || w < 1 || len(y) != n*3*h*w {
		return nil, errFlowShape("inverse input", len(y), n, h, w)
	}
	hw := h * w
	x := make([]float32, len(y))
	flowChunks(n, func(lo, hi int) {
		flowInto32(x[lo*3*hw:hi*3*hw], f.inverse64(flowTo64(y[lo*3*hw:hi*3*hw]), hi-lo, h, w))
	})
	return x, nil
}

// flowChunks splits the images [0, n) into one run of consecutive images
// per core and calls run on each run concurrently: images are independent.
func flowChunks(n int, run func(lo, hi int)) {
	parts := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		wg.Go(func() { run(lo, hi) })
	}
	wg.Wait()
}

// apply64 computes g(x) and the per-pixel log-determinant in float64.
func (f *Flow) apply64(x []float64, n, h, w int) ([]float64, []float64) {
	y := append([]float64(nil), x...)
	logdet := make([]float64, n*h*w)
	for k, b := range f.blocks {
		b.apply64(y, n, h, w, f.cfg.LogScaleBound, false, logdet)
		if k < len(f.mixes) {
			m := f.mixes[k]
			flowMix64(y, n, h*w, m.matrix())
			ld := m.logDet()
			for i := range logdet {
				logdet[i] += ld
			}
		}
	}
	return y, logdet
}

// inverse64 computes g⁻¹(y) in float64.
func (f *Flow) inverse64(y []float64, n, h, w int) []float64 {
	x := append([]float64(nil), y...)
	for k := len(f.blocks) - 1; k >= 0; k-- {
		if k < len(f.mixes) {
			flowMix64(x, n, h*w, flowInverse3(f.mixes[k].matrix()))
		}
		f.blocks[k].apply64(x, n, h, w, f.cfg.LogScaleBound, true, nil)
	}
	return x
}

// apply64 replaces the (n, 3, h, w) batch v by the block's output, or by its
// input when inverse is set, and adds Σ s1 + Σ s2 per pixel to logdet
// (forward only; logdet may be nil).
func (b *flowBlock) apply64(v []float64, n, h, w int, bound float64, inverse bool, logdet []float64) {
	hw := h * w
	single := flowPlanes64(v, n, hw, b.a)
	pair := flowPlanes64(v, n, hw, b.rest[0], b.rest[1])
	p1, p2 := single, pair
	if b.pairFirst {
		p1, p2 = pair, single
	}
	if !inverse {
		t1, s1 := b.f.apply64(p2, n, h, w, bound, b.slope)
		flowCouple64(p1, t1, s1, false)
		t2, s2 := b.g.apply64(p1, n, h, w, bound, b.slope)
		flowCouple64(p2, t2, s2, false)
		if logdet != nil && s1 != nil {
			// Σ s over the three channels of each pixel: the first half's
			// and the second's.
			for i := range n {
				for p := range hw {
					for c := range b.n1 {
						logdet[i*hw+p] += s1[(b.n1*i+c)*hw+p]
					}
					for c := range b.n2 {
						logdet[i*hw+p] += s2[(b.n2*i+c)*hw+p]
					}
				}
			}
		}
	} else {
		t2, s2 := b.g.apply64(p1, n, h, w, bound, b.slope)
		flowCouple64(p2, t2, s2, true)
		t1, s1 := b.f.apply64(p2, n, h, w, bound, b.slope)
		flowCouple64(p1, t1, s1, true)
	}
	flowSetPlanes64(v, single, n, hw, b.a)
	flowSetPlanes64(v, pair, n, hw, b.rest[0], b.rest[1])
}

// flowCouple64 replaces x by x ⊙ exp(s) + t, or, when inverse is set, by
// (x − t) ⊙ exp(−s); s may be nil (zero).
func flowCouple64(x, t, s []float64, inverse bool) {
	for i := range x {
		switch {
		case s == nil && !inverse:
			x[i] += t[i]
		case s == nil:
			x[i] -= t[i]
		case !inverse:
			x[i] = x[i]*math.Exp(s[i]) + t[i]
		default:
			x[i] = (x[i] - t[i]) * math.Exp(-s[i])
		}
	}
}

// apply64 returns the shift t and the bounded log-scale s (nil for VP) for
// the (n, cin, h, w) input x.
func (nt *flowNet) apply64(x []float64, n, h, w int, bound, slope float64) (t, s []float64) {
	if nt.preact {
		x = append([]float64(nil), x...)
		flowAct64(x, slope)
	}
	hid := flowConv64(x, n, h, w, nt.hidden)
	flowAct64(hid, slope)
	t = flowConv64(hid, n, h, w, nt.shift)
	if nt.scale != nil {
		s = flowConv64(hid, n, h, w, nt.scale)
		for i, r := range s {
			s[i] = bound * math.Tanh(r/bound)
		}
	}
	return t, s
}

// flowConv64 is the cross-correlation of nn.Conv2d with stride 1 and zero
// padding k/2, which keeps the spatial size.
func flowConv64(x []float64, n, h, w int, c *nn.Conv2d) []float64 {
	ws := c.W.Shape()
	cout, cin, k := ws[0], ws[1], ws[2]
	wt, bias := c.W.Float64s(), c.B.Float64s()
	pad := k / 2
	out := make([]float64, n*cout*h*w)
	for b := range n {
		for o := range cout {
			dst := out[(b*cout+o)*h*w : (b*cout+o+1)*h*w]
			for i := range dst {
				dst[i] = bias[o]
			}
			for ci := range cin {
				src := x[(b*cin+ci)*h*w : (b*cin+ci+1)*h*w]
				if k == 1 {
					wv := wt[o*cin+ci]
					dst := dst[:len(src)]
					for i, v := range src {
						dst[i] += wv * v
					}
					continue
				}
				for di := range k {
					for dj := range k {
						wv := wt[((o*cin+ci)*k+di)*k+dj]
						for yy := range h {
							sy := yy + di - pad
							if sy < 0 || sy >= h {
								continue
							}
							for xx := range w {
								sx := xx + dj - pad
								if sx < 0 || sx >= w {
									continue
								}
								dst[yy*w+xx] += wv * src[sy*w+sx]
							}
						}
					}
				}
			}
		}
	}
	return out
}

// flowMix64 replaces each pixel x of the (n, 3, hw) batch v by m·x.
func flowMix64(v []float64, n, hw int, m [3][3]float64) {
	for b := range n {
		base := b * 3 * hw
		for p := range hw {
			x0, x1, x2 := v[base+p], v[base+hw+p], v[base+2*hw+p]
			for i := range 3 {
				v[base+i*hw+p] = m[i][0]*x0 + m[i][1]*x1 + m[i][2]*x2
			}
		}
	}
}

// flowPlanes64 copies the channels chans of the (n, 3, hw) batch v into a
// new (n, len(chans), hw) batch.
func flowPlanes64(v []float64, n, hw int, chans ...int) []float64 {
	out := make([]float64, 0, n*len(chans)*hw)
	for b := range n {
		for _, c := range chans {
			out = append(out, v[(b*3+c)*hw:(b*3+c+1)*hw]...)
		}
	}
	return out
}

// flowSetPlanes64 writes the (n, len(chans), hw) batch p back into the
// channels chans of the (n, 3, hw) batch v.
func flowSetPlanes64(v, p []float64, n, hw int, chans ...int) {
	for b := range n {
		for i, c := range chans {
			copy(v[(b*3+c)*hw:(b*3+c+1)*hw], p[(b*len(chans)+i)*hw:(b*len(chans)+i+1)*hw])
		}
	}
}

func flowTo64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func flowTo32(v []float64) []float32 {
	out := make([]float32, len(v))
	flowInto32(out, v)
	return out
}

func flowInto32(dst []float32, v []float64) {
	for i, x := range v {
		dst[i] = float32(x)
	}
}

// flowAct64 applies the activation of negative slope slope in place.
func flowAct64(v []float64, slope float64) {
	for i, x := range v {
		if x < 0 {
			v[i] = slope * x
		}
	}
}
