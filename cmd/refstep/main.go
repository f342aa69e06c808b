// Command refstep times the reference contrastive step (two ConvNet
// encoders on 1- and 2-channel 32×32 views, batch 128, symmetric InfoNCE,
// Adam: contrast.ReferenceConfig) or, with -game, the view-learning
// iteration (one estimator step and one generator step through a VP flow g
// of 4 blocks: experiment.ReferenceConfig); -arch and -width pick other
// encoders, -size and -batch other views. It prints one line per step:
// "step <i> <seconds>". It is the Go half of bench/ratio.sh, which runs it
// alternately with the PyTorch twins.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/experiment"
)

func main() {
	steps := flag.Int("steps", 10, "timed steps")
	warmup := flag.Int("warmup", 2, "untimed steps first")
	batch := flag.Int("batch", 128, "batch size")
	size := flag.Int("size", 32, "view height and width")
	game := flag.Bool("game", false, "time the view-learning iteration instead of the reference step")
	arch := flag.String("arch", "convnet", "encoder of f1 and f2: convnet, resnet10 or resnet18")
	width := flag.Int("width", 32, "encoder width (channels of the first stage)")
	flag.Parse()
	step, err := newStep(*game, *batch, *size, *arch, *width)
	if err != nil {
		fmt.Fprintln(os.Stderr, "refstep:", err)
		os.Exit(1)
	}
	for i := 0; i < *warmup+*steps; i++ {
		start := time.Now()
		loss, err := step(i)
		if err != nil {
			fmt.Fprintln(os.Stderr, "refstep:", err)
			os.Exit(1)
		}
		if i >= *warmup {
			fmt.Printf("step %d %.6f loss=%.4f\n", i-*warmup, time.Since(start).Seconds(), loss)
		}
	}
}

// newStep returns the timed step: it draws a random batch and trains on it.
func newStep(game bool, batch, size int, arch string, width int) (func(i int) (float64, error), error) {
	if !game {
		cfg := contrast.ReferenceConfig()
		cfg.F1.Arch, cfg.F2.Arch = arch, arch
		cfg.F1.Width, cfg.F2.Width = width, width
		tr, views, err := contrast.NewReferenceTrainer(cfg, batch, size, 1)
		if err != nil {
			return nil, err
		}
		return func(int) (float64, error) {
			v1, v2 := views()
			res, err := tr.Step(v1, v2)
			return res.Loss, err
		}, nil
	}
	c := experiment.ReferenceConfig(batch, size, 1)
	c.Encoder.Arch, c.Encoder.Width = arch, width
	gm, err := experiment.NewReferenceGame(c, "")
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 0))
	x := make([]float32, batch*3*size*size)
	return func(i int) (float64, error) {
		for j := range x {
			x[j] = rng.Float32()
		}
		if _, err := gm.EstimatorStep(i, x, nil); err != nil {
			return 0, err
		}
		row, err := gm.GeneratorStep(i, x, nil, nil, nil)
		if err != nil {
			return 0, err
		}
		return row["loss"].(float64), nil
	}, nil
}
