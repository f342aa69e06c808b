package games

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/flow"
	"github.com/learnviews/learnviews/nn"
)

// TestViewIterationDeterministic runs a few view-learning iterations with
// the VP flow on 1, 2 and 3 cores and checks that the losses and every
// parameter come out bit-identical.
func TestViewIterationDeterministic(t *testing.T) {
	run := func(procs int) []float64 {
		prev := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(prev)
		const batch, size = 10, 8
		rng := rand.New(rand.NewPCG(3, 4))
		est, err := contrast.NewEstimator(tensor.Float32, contrast.EstimatorConfig{
			F1: contrast.ModelConfig{InChannels: 1, Width: 4, EmbedDim: 8},
			F2: contrast.ModelConfig{InChannels: 2, Width: 4, EmbedDim: 8},
		}, rng)
		if err != nil {
			t.Fatal(err)
		}
		gen, err := flow.New("g", tensor.Float32, flow.Config{Kind: flow.VP, Blocks: 4, Hidden: 16}, rng)
		if err != nil {
			t.Fatal(err)
		}
		estOpt, _ := nn.NewAdam(nn.AdamConfig{LR: 2e-3}, nn.Group{Params: est.Params()})
		genOpt, _ := nn.NewAdam(nn.AdamConfig{LR: 1e-2}, nn.Group{Params: gen.Params()})
		gm, err := NewViewGame(Parts{Settings: Settings{Kind: Unsupervised, InfoW: 1, Batch: batch, Channels: 3, Size: size,
			V1: []int{0}, V2: []int{1, 2}, Dtype: tensor.Float32, Seed: 1}, Generator: gen, Estimator: est,
			EstimatorPlayer: &Player{Name: "estimator", Params: est.Params().Learnable(), Opt: estOpt, Sign: -1},
			GeneratorPlayer: &Player{Name: "generator", Params: gen.Params().Learnable(), Opt: genOpt, Sign: 1}})
		if err != nil {
			t.Fatal(err)
		}
		defer gm.Close()
		x := make([]float32, batch*3*size*size)
		var out []float64
		for i := 0; i < 3; i++ {
			for j := range x {
				x[j] = rng.Float32()
			}
			er, err := gm.EstimatorStep(i, x, nil)
			if err != nil {
				t.Fatal(err)
			}
			gr, err := gm.GeneratorStep(i, x, nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, er["loss"].(float64), gr["loss"].(float64))
		}
		for _, p := range gm.Params() {
			out = append(out, p.Float64s()...)
		}
		return out
	}
	want := run(1)
	for _, procs := range []int{2, 3} {
		got := run(procs)
		if len(got) != len(want) {
			t.Fatalf("%d cores: %d values, want %d", procs, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%d cores: value %d is %v, want %v", procs, i, got[i], want[i])
			}
		}
	}
}
