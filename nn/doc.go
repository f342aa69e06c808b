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
//
// The hot layers run as the package's own fused gorgonia ops, one per layer
// and direction: convolution (forward, input and filter gradients as
// batched GEMMs reading im2col panels in place from the zero-padded
// samples and writing NCHW directly; the input gradient of a layer with at
// most 3 input channels directly, without a GEMM), training-mode batch norm
// (fused with a following ReLU), ReLU, max pooling, global average pooling,
// the residual sum of a ResNet block (Add of NCHW tensors, with the batch
// norms that feed it and the ReLU after it folded in) and PointwiseMLP (1×1 convolution, LeakyReLU, 1×1 convolution, as a
// flow's coupling networks use). They split their work over GOMAXPROCS
// goroutines, keep their workspaces from one run to the next, and give
// results that do not depend on the number of cores. Their outputs live
// in one arena per run, planned at Compile from the order the tape runs the
// nodes in: outputs alive at different times share memory
// (Program.ArenaBytes), and programs run one after the other share the
// arenas. Compile
// marks skipped every backward op whose result nothing reads (the filter
// gradients of a model the program does not step, the input gradient of a
// layer whose input is detached), so that it costs nothing at run time,
// and pairs the two readers of a node whose gradients gorgonia would sum
// (a ResNet block's input: its first convolution and its shortcut), so
// that one hands its gradient to the other's input-gradient op instead.
// Their float32 inner loops are AVX2/FMA assembly, with AVX-512 versions of
// the convolution's GEMM kernels (two 16-column tiles per pass), chosen at
// start-up when the CPU supports them (the purego build tag or a CPU
// without AVX2 selects the portable Go loops).
//
// These ops are one of three layer sets (Layers, Graph.UseLayers): fused,
// the default; composed, gorgonia's stock ops, the reference the fused ops
// are tested against; and cudnn, in a binary built with the cuda tag, where
// it is the default and every graph runs on the GPU: convolution, batch
// norm, ReLU and pooling as cuDNN ops, and CUDA kernels of the package for
// the other ops that move large tensors (scripts/cuda/README.md). Values
// leave a graph through watch ops (Graph.Watch), gradients included, which
// is also what makes them readable when they were computed on the GPU.
package nn
