//go:build !cuda

package nn

import G "gorgonia.org/gorgonia"

// Without the cuda tag the cuDNN layer set does not exist: UseCUDNNOps
// records errNoCUDA on the graph, so these are never reached.

func cudnnMissing() error { return errNoCUDA }

func dnnConv2d(g *Graph, _, _, _ *G.Node, _, _, _ int) *G.Node { return dnnMissing(g) }
func dnnMaxPool2d(g *Graph, _ *G.Node, _, _, _ int) *G.Node    { return dnnMissing(g) }
func dnnGlobalAvgPool(g *Graph, _ *G.Node) *G.Node             { return dnnMissing(g) }
func dnnReLU(g *Graph, _ *G.Node) *G.Node                      { return dnnMissing(g) }
func dnnBatchNorm(g *Graph, _, _, _ *G.Node, _ float64) (*G.Node, *G.Node) {
	return dnnMissing(g), nil
}

func dnnMissing(g *Graph) *G.Node {
	g.Fail("cudnn", errNoCUDA)
	return nil
}
