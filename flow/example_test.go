package flow_test

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/flow"
	"github.com/learnviews/learnviews/nn"
)

func ExampleNew() {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := flow.Config{Kind: flow.NVP, Identity: true}
	g, err := flow.New("g", tensor.Float32, cfg, rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", g.Config())
	fmt.Println(len(g.Params()), "tensors,", g.Params().Count(), "values")

	// Started at the identity, g maps every pixel to itself.
	x := []float32{0.25, 0.5, 0.75} // one 1×1 image
	y, _ := g.Apply(x, 1, 1, 1)
	fmt.Println(y)

	// Built into a graph, g gives the two views of a batch; a loss of them
	// compiled with respect to g.Params() steps the generator.
	gr := nn.NewGraph(tensor.Float32, nn.Train, 1)
	in := gr.Input("x", 8, 3, 16, 16)
	v1, v2 := g.Views(gr, in.Node())
	fmt.Println(v1.Shape(), v2.Shape(), gr.Err())
	// Output:
	// {Kind:nvp Blocks:4 Coupling:revnet Hidden:0 Activation:relu Kernel3x3:none Identity:true LogScaleBound:2}
	// 63 tensors, 187 values
	// [0.25 0.5 0.75]
	// (8, 1, 16, 16) (8, 2, 16, 16) <nil>
}
