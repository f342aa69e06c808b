//go:build cuda

package flow

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/learnviews/learnviews/nn"
)

// The CUDA sides of the flow's own ops, with the kernels of nn: in a cuda
// build the flow's coupling layers run on the GPU with the encoders (the
// 1×1 convolutions are nn's cuDNN convolutions there).

// CUDADo places x1 in channel a and the two channels of x2 in rest.
func (op *flowMergeOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	n, hw := op.shape[0], op.shape[2]*op.shape[3]
	if err := nn.CUDACopyChannel(extern, dev, prealloc, 3, op.a, in[0], 1, 0, n, hw, false); err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	for j, c := range op.rest {
		if err := nn.CUDACopyChannel(extern, dev, prealloc, 3, c, in[1], 2, j, n, hw, false); err != nil {
			return nil, fmt.Errorf("%v: %w", op, err)
		}
	}
	return prealloc, nil
}

// CUDADo computes the LeakyReLU or, for the backward op, its gradient.
func (op flowLeakyOp) CUDADo(extern G.External, dev G.Device, prealloc G.Value, in ...G.Value) (G.Value, error) {
	var err error
	if op.grad {
		err = nn.CUDALeakyReLUGrad(extern, dev, prealloc, in[0], in[1], op.slope)
	} else {
		err = nn.CUDALeakyReLU(extern, dev, prealloc, in[0], op.slope)
	}
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	return prealloc, nil
}
