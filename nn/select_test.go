package nn

import (
	"testing"

	"github.com/stretchr/testify/assert"
	G "gorgonia.org/gorgonia"
)

func TestSelectChannels(t *testing.T) {
	// (N=2, C=3, H=1, W=2)
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	got, shape := runForward(t, Train, x, []int{2, 3, 1, 2}, func(g *Graph, x *G.Node) *G.Node {
		return SelectChannels(g, x, []int{2, 0})
	})
	assert.Equal(t, []int{2, 2, 1, 2}, []int(shape))
	assert.Equal(t, []float64{5, 6, 1, 2, 11, 12, 7, 8}, got)
	checkLayerGrad(t, Train, []int{2, 3, 2, 2}, nil, func(g *Graph, x *G.Node) *G.Node {
		return SelectChannels(g, x, []int{1, 2})
	})
	// A channel selected twice gets both gradients.
	checkLayerGrad(t, Train, []int{2, 3, 2, 2}, nil, func(g *Graph, x *G.Node) *G.Node {
		return SelectChannels(g, x, []int{0, 0, 2})
	})
}
