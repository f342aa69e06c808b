package contrast_test

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/nn"
)

// The symmetric InfoNCE bound on four pairs of embeddings, each v1
// embedding equal to its v2 partner: the estimate approaches its ceiling
// log K = log 4.
func ExampleSymmetricInfoNCE() {
	z := []float64{1, 0, 0, 1, -1, 0, 0, -1} // four unit vectors in 2-D
	g := nn.NewGraph(tensor.Float64, nn.Eval, 1)
	z1 := g.Constant("z1", z, 4, 2)
	z2 := g.Constant("z2", z, 4, 2)
	b := contrast.SymmetricInfoNCE(g, contrast.Cosine{Tau: 0.07}.Scores(g, z1, z2))
	prog, err := g.Compile(nil)
	if err != nil {
		panic(err)
	}
	if err := prog.Run(); err != nil {
		panic(err)
	}
	fmt.Printf("I_NCE = %.3f nats, log K = %.3f\n", b.Estimate(), math.Log(4))
	// Output: I_NCE = 1.386 nats, log K = 1.386
}
