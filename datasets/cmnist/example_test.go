package cmnist_test

import (
	"fmt"
	"io"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/cmnist"
)

// Batches of (v1 frames stacked as channels, v2, factors) for contrastive
// training, and the evaluation frames with their ground truth.
func Example() {
	cfg := cmnist.DefaultConfig()
	cfg.Shared = cmnist.Digit | cmnist.Position
	train, err := cmnist.Open(cfg, datasets.Train) // names the install command when data are missing
	if err != nil {
		fmt.Println(err)
		return
	}
	it, err := datasets.NewIterator(train.Pairs(), datasets.IteratorConfig{BatchSize: 128, Seed: 1, Workers: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer it.Close()
	b, err := it.Next()
	if err == io.EOF || err != nil {
		return
	}
	fmt.Println(b.Shape, b.SecondShape, b.FactorNames) // 9×64×64 3×64×64 [digit background x y v2_digit ...]
	b.Release()

	test, _ := cmnist.Open(cfg, datasets.Test)
	eval := test.Frames() // x_t, labelled; factors digit, background, x, y
	fmt.Println(eval.Len(), eval.FactorNames())
}

func ExampleParseFactors() {
	f, err := cmnist.ParseFactors("digit+background")
	fmt.Println(f, err, f&cmnist.Position != 0)
	// Output: digit+background <nil> false
}
