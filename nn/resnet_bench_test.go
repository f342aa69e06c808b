package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkResNetConvPasses times the three passes of the convolution op on
// the layer shapes of a ResNet-18 half (width 32) on 64×64 views, batch 32,
// float32, and reports GFLOP/s (2 per multiply-add).
func BenchmarkResNetConvPasses(b *testing.B) {
	layers := []convGeom{
		{n: 32, cin: 2, h: 64, w: 64, cout: 32, k: 3, stride: 1, pad: 1},
		{n: 32, cin: 32, h: 64, w: 64, cout: 32, k: 3, stride: 1, pad: 1},
		{n: 32, cin: 32, h: 64, w: 64, cout: 64, k: 3, stride: 2, pad: 1},
		{n: 32, cin: 32, h: 64, w: 64, cout: 64, k: 1, stride: 2, pad: 0},
		{n: 32, cin: 64, h: 32, w: 32, cout: 64, k: 3, stride: 1, pad: 1},
		{n: 32, cin: 64, h: 32, w: 32, cout: 128, k: 3, stride: 2, pad: 1},
		{n: 32, cin: 64, h: 32, w: 32, cout: 128, k: 1, stride: 2, pad: 0},
		{n: 32, cin: 128, h: 16, w: 16, cout: 128, k: 3, stride: 1, pad: 1},
		{n: 32, cin: 128, h: 16, w: 16, cout: 256, k: 3, stride: 2, pad: 1},
		{n: 32, cin: 128, h: 16, w: 16, cout: 256, k: 1, stride: 2, pad: 0},
		{n: 32, cin: 256, h: 8, w: 8, cout: 256, k: 3, stride: 1, pad: 1},
	}
	rng := rand.New(rand.NewPCG(1, 1))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	for _, g := range layers {
		g.oh, g.ow = (g.h+2*g.pad-g.k)/g.stride+1, (g.w+2*g.pad-g.k)/g.stride+1
		x, w, y := fill(g.inSize()), fill(g.wSize()), fill(g.outSize())
		flops := 2 * float64(g.outSize()) * float64(g.ckk())
		run := func(name string, f func(ws *convWork[float32])) {
			b.Run(fmt.Sprintf("%dx%dx%d→%d_k%ds%d/%s", g.cin, g.h, g.w, g.cout, g.k, g.stride, name), func(b *testing.B) {
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
