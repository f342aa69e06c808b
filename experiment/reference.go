package experiment

import (
	"math/rand/v2"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/nn"
)

// ReferenceConfig is the configuration of the reference view-learning
// iteration that the benchmarks time (cmd/refstep -game, gpucheck
// bench-game) against their PyTorch twin bench/viewstep_torch.py:
// unsupervised view learning on batch images of size×size (one image per
// example, no crops, no input standardisation), a VP flow of 4 blocks
// coupling each channel in turn with networks of hidden width 16 and
// LeakyReLU, ConvNet encoders of width 32 with 128-d
// linear heads, the cosine critic at τ = 0.07 and symmetric InfoNCE; Adam
// with betas (0.5, 0.999), encoders at 2e-4 and the generator at 1e-3, no
// schedule and no clipping.
func ReferenceConfig(batch, size int, seed uint64) config.Config {
	c := config.Default()
	c.Profile, c.Seed = "reference", seed
	c.Data.Size = size
	c.Views.Spec = "rgb:0|1,2"
	c.Generator = config.Generator{Kind: "vp", InputSpace: "rgb", Blocks: 4, Coupling: "rotate", Hidden: 16, Activation: "leaky", Kernel3x3: "none", StatsImages: 1}
	c.Encoder = config.Encoder{Arch: "convnet", Width: 32, EmbedDim: 128}
	c.Critic = config.Critic{Kind: "cosine", Tau: 0.07, Bound: "symmetric"}
	c.Game.Kind, c.Game.InfoW, c.Game.ClsW = games.Unsupervised, 1, 0
	c.Game.Batch, c.Game.EstimatorSteps, c.Game.WarmupSteps, c.Game.Augment = batch, 1, 0, ""
	c.Optim = config.Optim{LR: 2e-4, Beta1: 0.5, Beta2: 0.999, GeneratorLR: 1e-3, Schedule: "constant", Gamma: 1,
		MaxFailures: 5, Backoff: 0.5}
	return c
}

// NewReferenceGame builds the view-learning iteration of c
// (ReferenceConfig, or one with other encoders) with the given layer set
// ("" for nn.DefaultLayers).
func NewReferenceGame(c config.Config, layers nn.Layers) (*games.ViewGame, error) {
	gm, _, err := NewViewGame(c, 0, c.Game.Batch, layers, rand.New(rand.NewPCG(c.Seed, streamViewLearning)))
	return gm, err
}
