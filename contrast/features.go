package contrast

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// Extractor computes frozen features of an encoder in Eval mode (batch
// normalisation with running statistics), one fixed-size batch at a time.
type Extractor struct {
	in    *nn.Input
	out   *nn.Watched
	prog  *nn.Program
	shape [4]int
}

// NewExtractor compiles enc for batches of shape (batch, c, h, w).
func NewExtractor(enc Encoder, dt tensor.Dtype, batch, c, h, w int) (*Extractor, error) {
	g := nn.NewGraph(dt, nn.Eval, 0)
	in := g.Input("x", batch, c, h, w)
	out := g.Watch(enc.Forward(g, in.Node()))
	prog, err := g.Compile(nil)
	if err != nil {
		return nil, fmt.Errorf("contrast: feature extractor: %w", err)
	}
	return &Extractor{in: in, out: out, prog: prog, shape: [4]int{batch, c, h, w}}, nil
}

// Features returns the features of n images stored back to back in images
// (each c·h·w float32 values, CHW). The last partial batch is padded with
// zeros, which Eval mode makes harmless.
func (e *Extractor) Features(images []float32) ([][]float64, error) {
	per := e.shape[1] * e.shape[2] * e.shape[3]
	if len(images)%per != 0 {
		return nil, fmt.Errorf("contrast: %d values are not a whole number of %v images", len(images), e.shape[1:])
	}
	n := len(images) / per
	var out [][]float64
	buf := make([]float32, e.shape[0]*per)
	for start := 0; start < n; start += e.shape[0] {
		end := min(start+e.shape[0], n)
		clear(buf)
		copy(buf, images[start*per:end*per])
		if err := e.in.Set(buf); err != nil {
			return nil, err
		}
		if err := e.prog.Run(); err != nil {
			return nil, err
		}
		v := e.out.Values()
		d := len(v) / e.shape[0]
		for i := 0; i < end-start; i++ {
			out = append(out, v[i*d:(i+1)*d:(i+1)*d])
		}
	}
	return out, nil
}

// Close releases the compiled program.
func (e *Extractor) Close() error { return e.prog.Close() }
