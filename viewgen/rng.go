package viewgen

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// Streams of the per-image sources: each random decision of a view comes
// from its own stream so that adding one does not shift another.
const (
	streamPatch uint64 = iota
	streamView1
	streamView2
	streamAugment
)

// imageRand returns the random source for image index under seed: a PCG
// generator keyed by (seed, stream, index), so that the draws for one image
// do not depend on which goroutine handles it or on the images before it.
func imageRand(seed uint64, stream uint64, index int) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(seed^splitmix64(stream)), splitmix64(uint64(index))))
}

// splitmix64 is the SplitMix64 finaliser, a bijective 64-bit mixer.
func splitmix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// parallelFor calls fn(i) for i in [0, n) on up to workers goroutines
// (GOMAXPROCS when workers ≤ 0). Each i is handled exactly once.
func parallelFor(n, workers int, fn func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}
