package experiment

import (
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/flow"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/registry"
)

// Generator is a learned view generator as a run uses it: a network that
// the game trains (games.Generator), then applies to batches outside any
// graph (stage 2, evaluation, figures) and saves. flow.Flow implements it.
type Generator interface {
	games.Generator
	// Apply maps n images of 3×h×w (NCHW) to the generator's output.
	Apply(x []float32, n, h, w int) ([]float32, error)
	// Save writes the generator to path, atomically.
	Save(path string) error
}

// GeneratorFactory builds the generator that generator.* describes.
type GeneratorFactory func(dt tensor.Dtype, c config.Generator, rng *rand.Rand) (Generator, error)

// Generators holds the generators by the names generator.kind takes
// (besides "none", which means fixed views).
var Generators = registry.New[GeneratorFactory]("generator.kind")

func init() {
	newFlow := func(kind string) GeneratorFactory {
		return func(dt tensor.Dtype, c config.Generator, rng *rand.Rand) (Generator, error) {
			return flow.New("g", dt, flow.Config{Kind: kind, Blocks: c.Blocks, Coupling: c.Coupling, Hidden: c.Hidden,
				Activation: c.Activation, Kernel3x3: c.Kernel3x3, Identity: c.Identity}, rng)
		}
	}
	Generators.Register(flow.VP, "volume-preserving flow of additive couplings (the authors' default)", newFlow(flow.VP))
	Generators.Register(flow.NVP, "non-volume-preserving flow of affine couplings and learned 1×1 convolutions", newFlow(flow.NVP))
}
