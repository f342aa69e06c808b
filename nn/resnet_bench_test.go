package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkResNetConvPasses times the three passes of the convolution op on
// the layer shapes of a ResNet-18 half (width 32) on 64×64 and on 32×32
// views, batch 32, float32, and reports GFLOP/s (2 per multiply-add).
func BenchmarkResNetConvPasses(b *testing.B) {
	var layers []convGeom
	var sizes []int
	for _, size := range []int{64, 32} {
		layers = append(layers, convGeom{n: 32, cin: 2, h: size, w: size, cout: 32, k: 3, stride: 1, pad: 1})
		sizes = append(sizes, size)
		for c, h := 32, size; c <= 256; c, h = 2*c, h/2 {
			if c > 32 {
				// the stage's first block: a 3×3 stride-2 convolution and
				// the 1×1 stride-2 shortcut from the stage before
				layers = append(layers,
					convGeom{n: 32, cin: c / 2, h: 2 * h, w: 2 * h, cout: c, k: 3, stride: 2, pad: 1},
					convGeom{n: 32, cin: c / 2, h: 2 * h, w: 2 * h, cout: c, k: 1, stride: 2, pad: 0})
				sizes = append(sizes, size, size)
			}
			layers = append(layers, convGeom{n: 32, cin: c, h: h, w: h, cout: c, k: 3, stride: 1, pad: 1})
			sizes = append(sizes, size)
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	for i, g := range layers {
		g.oh, g.ow = (g.h+2*g.pad-g.k)/g.stride+1, (g.w+2*g.pad-g.k)/g.stride+1
		x, w, y := fill(g.inSize()), fill(g.wSize()), fill(g.outSize())
		flops := 2 * float64(g.outSize()) * float64(g.ckk())
		run := func(name string, f func(ws *convWork[float32])) {
			b.Run(fmt.Sprintf("%dpx/%dx%dx%d→%d_k%ds%d/%s", sizes[i], g.cin, g.h, g.w, g.cout, g.k, g.stride, name), func(b *testing.B) {
				var ws convWork[float32]
				f(&ws)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					f(&ws)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		run("forward", func(ws *convWork[float32]) { convForward(ws, g, x, w, nil, y) })
		if g.cin > 2 {
			run("data", func(ws *convWork[float32]) { convBackData(ws, g, w, y, nil, dx) })
		}
		run("filter", func(ws *convWork[float32]) { convBackFilter(ws, g, x, y, dw) })
	}
}
