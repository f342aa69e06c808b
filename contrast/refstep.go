package contrast

import (
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// ReferenceConfig is the reference step of the benchmarks: f1 on a 1-channel
// and f2 on a 2-channel 32×32 view, default ConvNets (width 32) with linear
// 128-d heads, batch 128, symmetric InfoNCE with the cosine critic at
// τ = 0.07, Adam with the paper's encoder settings (lr 2e-4, betas 0.5,
// 0.999). Its PyTorch twin is bench/refstep_torch.py.
func ReferenceConfig() EstimatorConfig {
	return EstimatorConfig{
		F1:  ModelConfig{Arch: "convnet", InChannels: 1, Width: 32, EmbedDim: 128},
		F2:  ModelConfig{Arch: "convnet", InChannels: 2, Width: 32, EmbedDim: 128},
		Tau: DefaultTemperature,
	}
}

// NewReferenceTrainer builds the reference step of the estimator cfg
// (ReferenceConfig, or one with other encoders) for batches of n views of
// size×size pixels, and a source of random views for it.
func NewReferenceTrainer(cfg EstimatorConfig, n, size int, seed uint64) (*Trainer, func() (v1, v2 []float32), error) {
	rng := rand.New(rand.NewPCG(seed, 0))
	est, err := NewEstimator(tensor.Float32, cfg, rng)
	if err != nil {
		return nil, nil, err
	}
	opt, err := nn.NewAdam(nn.AdamConfig{LR: 2e-4, Beta1: 0.5, Beta2: 0.999}, nn.Group{Params: est.Params()})
	if err != nil {
		return nil, nil, err
	}
	tr, err := NewTrainer(est, opt, tensor.Float32, n, size, size, seed)
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
