package contrast

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/registry"
)

// Critic scores every pair of a batch of v1 embeddings (N, D) against a
// batch of v2 embeddings (M, D): entry (i, j) is h(v1_i, v2_j), a logit.
type Critic interface {
	Scores(g *nn.Graph, z1, z2 *G.Node) *G.Node
	Params() nn.Params
}

// DefaultTemperature is the paper's τ.
const DefaultTemperature = 0.07

// Cosine is the critic h(a, b) = cos(a, b) / τ. It normalises its inputs, so
// embeddings need not be unit vectors; the scores are bounded by 1/τ.
type Cosine struct {
	Tau float64
}

// Scores returns cos(z1_i, z2_j)/τ.
func (c Cosine) Scores(g *nn.Graph, z1, z2 *G.Node) *G.Node {
	tau := c.Tau
	if tau == 0 {
		tau = DefaultTemperature
	}
	if tau < 0 {
		g.Fail("cosine critic", fmt.Errorf("temperature %v must be positive", tau))
		return nil
	}
	a := nn.L2Normalize(g, z1, 1e-12)
	b := nn.L2Normalize(g, z2, 1e-12)
	return nn.Scale(g, nn.MatMulT(g, a, b), 1/tau)
}

// Params returns nothing: the cosine critic has no parameters.
func (Cosine) Params() nn.Params { return nil }

// Bilinear is the critic h(a, b) = aᵀ W b with a learned D×D matrix W,
// initialised near the identity.
type Bilinear struct {
	W *nn.Param
}

// NewBilinear returns a bilinear critic over d-dimensional embeddings.
func NewBilinear(name string, dt tensor.Dtype, d int, rng *rand.Rand) *Bilinear {
	w := nn.NewParam(name+".weight", dt, d, d)
	w.InitNormal(rng, 0.01)
	v := w.Float64s()
	for i := 0; i < d; i++ {
		v[i*d+i] += 1
	}
	_ = w.SetFloat64s(v)
	return &Bilinear{W: w}
}

// Scores returns z1 W z2ᵀ.
func (b *Bilinear) Scores(g *nn.Graph, z1, z2 *G.Node) *G.Node {
	return nn.MatMulT(g, nn.MatMul(g, z1, g.Param(b.W)), z2)
}

// Params returns W.
func (b *Bilinear) Params() nn.Params { return nn.Params{b.W} }

// CriticFactory builds a critic over dim-dimensional embeddings; tau is the
// temperature of critics that have one (0: DefaultTemperature).
type CriticFactory func(dt tensor.Dtype, dim int, tau float64, rng *rand.Rand) (Critic, error)

// Critics holds the critics by the names critic.kind takes.
var Critics = registry.New[CriticFactory]("critic.kind")

func init() {
	Critics.Register("cosine", "cos(z1, z2)/τ of the embeddings (the paper's critic)",
		func(dt tensor.Dtype, dim int, tau float64, rng *rand.Rand) (Critic, error) {
			if tau < 0 {
				return nil, fmt.Errorf("critic temperature %v must be positive", tau)
			}
			return Cosine{Tau: tau}, nil
		})
	Critics.Register("bilinear", "z1ᵀ W z2 with a learned matrix W, started near the identity",
		func(dt tensor.Dtype, dim int, tau float64, rng *rand.Rand) (Critic, error) {
			return NewBilinear("critic", dt, dim, rng), nil
		})
}
