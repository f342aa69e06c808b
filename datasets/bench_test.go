package datasets_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/internal/datatest"
)

// randomSet is an in-memory set of n random images of the given shape: the
// form every file loader returns.
func randomSet(b *testing.B, n int, shape datasets.Shape) *datasets.InMemory {
	pix := make([]uint8, n*shape.Size())
	r := rand.New(rand.NewPCG(1, 2))
	for i := range pix {
		pix[i] = uint8(r.Uint32())
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 10
	}
	ds, err := datasets.NewInMemory("random", shape, datasets.CIFAR10Classes, pix, labels)
	if err != nil {
		b.Fatal(err)
	}
	return ds
}

// BenchmarkIterator reads batches of 128 from each file-backed data set,
// with no prefetch (workers=0) and with two prefetching workers.
func BenchmarkIterator(b *testing.B) {
	type set struct {
		name string
		open func(b *testing.B) datasets.Dataset
	}
	idx := func(find func() (string, error), load func(string, datasets.Split) (*datasets.InMemory, error)) func(b *testing.B) datasets.Dataset {
		return func(b *testing.B) datasets.Dataset {
			dir, err := find()
			if err != nil {
				b.Skip(err)
			}
			ds, err := load(dir, datasets.Train)
			if err != nil {
				b.Fatal(err)
			}
			return ds
		}
	}
	sets := []set{
		{"mnist-28", idx(datasets.FindMNIST, datasets.LoadMNIST)},
		{"fashion-mnist-28", idx(datasets.FindFashionMNIST, datasets.LoadFashionMNIST)},
		// CIFAR-10, STL-10 and image folders load into the same in-memory
		// form; random bytes of their shapes stand in for them.
		{"cifar10-32", func(b *testing.B) datasets.Dataset { return randomSet(b, 10000, datasets.Shape{C: 3, H: 32, W: 32}) }},
		{"folder-64", func(b *testing.B) datasets.Dataset { return randomSet(b, 5000, datasets.Shape{C: 3, H: 64, W: 64}) }},
		{"stl10-96", func(b *testing.B) datasets.Dataset { return randomSet(b, 2000, datasets.Shape{C: 3, H: 96, W: 96}) }},
	}
	for _, s := range sets {
		b.Run(s.name, func(b *testing.B) {
			ds := s.open(b)
			for _, workers := range []int{0, 2} {
				b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
					datatest.BenchmarkIterator(b, ds, 128, workers)
				})
			}
		})
	}
}
