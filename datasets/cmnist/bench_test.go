package cmnist_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/cmnist"
	"github.com/learnviews/learnviews/datasets/internal/datatest"
)

// BenchmarkIterator reads batches of 128 (v1: k = 3 frames, v2, factors)
// at 32×32 and 64×64, with no prefetch (workers=0) and with two workers.
// Images per second counts items: each is 4 rendered frames.
func BenchmarkIterator(b *testing.B) {
	digits := toyDigits(b, 1000)
	for _, size := range []int{32, 64} {
		cfg := cmnist.DefaultConfig()
		cfg.Size = size
		cfg.Backgrounds = toyNames(10)
		s, err := cmnist.New(cfg, digits, toyPhotos(10, 2*size))
		if err != nil {
			b.Fatal(err)
		}
		for _, workers := range []int{0, 2} {
			b.Run(fmt.Sprintf("pairs-%d/workers=%d", size, workers), func(b *testing.B) {
				datatest.BenchmarkIterator(b, s.Pairs(), 128, workers)
			})
			b.Run(fmt.Sprintf("frames-%d/workers=%d", size, workers), func(b *testing.B) {
				datatest.BenchmarkIterator(b, s.Frames(), 128, workers)
			})
		}
	}
}

// BenchmarkInstalledPairs is BenchmarkIterator's 64×64 pairs on the real
// MNIST digits and photographs.
func BenchmarkInstalledPairs(b *testing.B) {
	s := openInstalled(b)
	for _, workers := range []int{0, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			datatest.BenchmarkIterator(b, s.Pairs(), 128, workers)
		})
	}
}

var _ datasets.Paired = (*cmnist.Pairs)(nil)
var _ datasets.Factored = (*cmnist.Frames)(nil)

// BenchmarkIteratorWait: 64×64 pairs, batch 128, while the caller spends
// 20 ms a step elsewhere. With workers the wait in Next drops to about zero.
func BenchmarkIteratorWait(b *testing.B) {
	cfg := cmnist.DefaultConfig()
	cfg.Backgrounds = toyNames(10)
	s, err := cmnist.New(cfg, toyDigits(b, 1000), toyPhotos(10, 128))
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{0, 1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			datatest.BenchmarkIteratorWait(b, s.Pairs(), 128, workers, 20*time.Millisecond)
		})
	}
}
