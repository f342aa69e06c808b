// Command refstep times the reference contrastive step (two ConvNet
// encoders on 1- and 2-channel 32×32 views, batch 128, symmetric InfoNCE,
// Adam; -arch and -width pick other encoders, -size and -batch other views) or, with -game, the view-learning iteration (one estimator step and
// one generator step through a VP flow g of 4 blocks), and prints one line
// per step: "step <i> <seconds>". It is the Go half of bench/ratio.sh, which
// runs it alternately with the PyTorch twins.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/viewgen"
	"gorgonia.org/tensor"
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
	cfg := contrast.ReferenceConfig()
	cfg.F1.Arch, cfg.F2.Arch = *arch, *arch
	cfg.F1.Width, cfg.F2.Width = *width, *width
	step, err := newStep(*game, *batch, *size, cfg)
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
func newStep(game bool, batch, size int, cfg contrast.EstimatorConfig) (func(i int) (float64, error), error) {
	if !game {
		tr, views, err := newTrainer(cfg, batch, size, 1)
		if err != nil {
			return nil, err
		}
		return func(int) (float64, error) {
			v1, v2 := views()
			res, err := tr.Step(v1, v2)
			return res.Loss, err
		}, nil
	}
	rng := rand.New(rand.NewPCG(1, 0))
	est, err := contrast.NewEstimator(tensor.Float32, cfg, rng)
	if err != nil {
		return nil, err
	}
	gen, err := viewgen.NewFlow("g", tensor.Float32, viewgen.FlowConfig{Kind: viewgen.FlowVP, Blocks: 4, Hidden: 16}, rng)
	if err != nil {
		return nil, err
	}
	estOpt, err := nn.NewAdam(nn.AdamConfig{LR: 2e-4, Beta1: 0.5, Beta2: 0.999}, nn.Group{Params: est.Params()})
	if err != nil {
		return nil, err
	}
	genOpt, err := nn.NewAdam(nn.AdamConfig{LR: 1e-3, Beta1: 0.5, Beta2: 0.999}, nn.Group{Params: gen.Params()})
	if err != nil {
		return nil, err
	}
	gm, err := games.New(games.Settings{Kind: games.Unsupervised, InfoW: 1, Batch: batch, Channels: 3, Size: size,
		V1: []int{0}, V2: []int{1, 2}, Dtype: tensor.Float32, Seed: 1}, gen, est, nil,
		&games.Player{Name: "estimator", Params: est.Params().Learnable(), Opt: estOpt, Sign: -1, MaxFailures: 5},
		&games.Player{Name: "generator", Params: gen.Params().Learnable(), Opt: genOpt, Sign: 1, MaxFailures: 5})
	if err != nil {
		return nil, err
	}
	x := make([]float32, batch*3*size*size)
	return func(i int) (float64, error) {
		for j := range x {
			x[j] = rng.Float32()
		}
		if _, err := gm.EstimatorStep(i, x, nil); err != nil {
			return 0, err
		}
		row, err := gm.GeneratorStep(i, x, nil, nil)
		if err != nil {
			return 0, err
		}
		return row["loss"].(float64), nil
	}, nil
}

// newTrainer is contrast.NewReferenceTrainer with the estimator's encoders
// given by cfg (the reference step's ConvNets unless -arch or -width say
// otherwise): the same seeds, optimiser and random views.
func newTrainer(cfg contrast.EstimatorConfig, n, size int, seed uint64) (*contrast.Trainer, func() (v1, v2 []float32), error) {
	rng := rand.New(rand.NewPCG(seed, 0))
	est, err := contrast.NewEstimator(tensor.Float32, cfg, rng)
	if err != nil {
		return nil, nil, err
	}
	opt, err := nn.NewAdam(nn.AdamConfig{LR: 2e-4, Beta1: 0.5, Beta2: 0.999}, nn.Group{Params: est.Params()})
	if err != nil {
		return nil, nil, err
	}
	tr, err := contrast.NewTrainer(est, opt, tensor.Float32, n, size, size, seed)
	if err != nil {
		return nil, nil, err
	}
	v1 := make([]float32, n*cfg.F1.InChannels*size*size)
	v2 := make([]float32, n*cfg.F2.InChannels*size*size)
	views := func() ([]float32, []float32) {
		for i := range v1 {
			v1[i] = rng.Float32()
		}
		for i := range v2 {
			v2[i] = rng.Float32()
		}
		return v1, v2
	}
	return tr, views, nil
}
