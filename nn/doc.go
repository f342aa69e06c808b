// Package nn provides neural-network layers, parameter sets and optimisers on
// gorgonia. Parameters live outside any graph under stable names, so that a
// model can be built into several graphs (train and eval, or one graph per
// player of a game), stepped by independent optimisers and saved as
// safetensors.
//
// The usual life of a model:
//
//	g := nn.NewGraph(tensor.Float32, nn.Train, seed)
//	x := g.Input("x", 128, 3, 32, 32)
//	y := model.Forward(g, x.Node())
//	loss := ...                  // a scalar node built from y
//	prog, err := g.Compile(loss, model.Params()...)
//	for each batch {
//		x.Set(batch)
//		err = prog.Run()        // forward, backward: fills each Param's Grad
//		err = opt.Step()
//	}
//
// Some gorgonia ops give wrong answers without an error (reductions over
// several axes at once, GlobalAveragePool2D's gradient, LogSoftMax's row
// maximum); the layers here avoid them and every op they compose is covered
// by a golden-value test and a finite-difference gradient test.
package nn
