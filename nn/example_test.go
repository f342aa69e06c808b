package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/learnviews/learnviews/nn"
	"gorgonia.org/tensor"
)

// Check a layer's gradients against central differences, as every layer of
// the package is checked: build a scalar loss in a float64 graph, compile it
// with respect to the parameters, and compare.
func ExampleCheckGradients() {
	rng := rand.New(rand.NewPCG(1, 2))
	fc := nn.NewLinear("fc", tensor.Float64, 3, 2, true, rng)
	g := nn.NewGraph(tensor.Float64, nn.Train, 1)
	x := g.Constant("x", []float64{1, 2, 3, -1, 0, 1}, 2, 3)
	loss := nn.Mean(g, nn.Square(g, fc.Forward(g, x)))
	prog, err := g.Compile(loss, fc.Params()...)
	if err != nil {
		panic(err)
	}
	fmt.Println(nn.CheckGradients(prog, fc.Params(), nn.GradCheck{}))
	// Output: <nil>
}

// A training step: forward and backward fill the gradients, the optimiser
// updates the weights.
func ExampleGraph_Compile() {
	rng := rand.New(rand.NewPCG(1, 2))
	fc := nn.NewLinear("fc", tensor.Float32, 1, 1, true, rng)
	g := nn.NewGraph(tensor.Float32, nn.Train, 1)
	x := g.Input("x", 4, 1)
	y := g.Input("y", 4, 1)
	loss := nn.Mean(g, nn.Square(g, nn.Sub(g, fc.Forward(g, x.Node()), y.Node())))
	prog, _ := g.Compile(loss, fc.Params()...)
	opt, _ := nn.NewAdam(nn.AdamConfig{LR: 0.1}, nn.Group{Params: fc.Params()})
	x.Set([]float32{0, 1, 2, 3})
	y.Set([]float32{1, 3, 5, 7}) // y = 2x + 1
	for i := 0; i < 500; i++ {
		prog.Run()
		opt.Step()
	}
	fmt.Printf("w = %.2f, b = %.2f\n", fc.W.Float64s()[0], fc.B.Float64s()[0])
	// Output: w = 2.00, b = 1.00
}
