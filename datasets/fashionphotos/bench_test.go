package fashionphotos_test

import (
	"fmt"
	"testing"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/fashionphotos"
	"github.com/learnviews/learnviews/datasets/internal/datatest"
)

// BenchmarkIterator reads batches of 128 at 32×32 and 64×64, with no
// prefetch (workers=0) and with two workers, each image rendered on demand.
func BenchmarkIterator(b *testing.B) {
	items := toyItems(b, 6000)
	for _, size := range []int{32, 64} {
		cfg := fashionphotos.DefaultConfig()
		cfg.Size = size
		s, err := fashionphotos.New(cfg, items, toyPhotos(12, 2*size))
		if err != nil {
			b.Fatal(err)
		}
		for _, workers := range []int{0, 2} {
			b.Run(fmt.Sprintf("%d/workers=%d", size, workers), func(b *testing.B) {
				datatest.BenchmarkIterator(b, s, 128, workers)
			})
		}
	}
}

// BenchmarkMaterialize60k renders all 60,000 training images at 32×32 on
// every core into memory (180 MiB).
func BenchmarkMaterialize60k(b *testing.B) {
	s, err := fashionphotos.New(fashionphotos.DefaultConfig(), toyItems(b, 60000), toyPhotos(12, 64))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := datasets.Materialize(s, "fashion-photos"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInstalled is BenchmarkIterator and BenchmarkMaterialize60k on
// the real Fashion-MNIST training split and photographs.
func BenchmarkInstalled(b *testing.B) {
	for _, size := range []int{32, 64} {
		cfg := fashionphotos.DefaultConfig()
		cfg.Size = size
		s, err := fashionphotos.Open(cfg, datasets.Train)
		if err != nil {
			b.Skip(err)
		}
		for _, workers := range []int{0, 2} {
			b.Run(fmt.Sprintf("iterator-%d/workers=%d", size, workers), func(b *testing.B) {
				datatest.BenchmarkIterator(b, s, 128, workers)
			})
		}
		if size == 32 {
			b.Run("materialize-60k-32", func(b *testing.B) {
				for range b.N {
					if _, err := datasets.Materialize(s, "fashion-photos"); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
