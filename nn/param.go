package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"
)

// Param is a named tensor owned by a model: a learnable weight, or a buffer
// (such as a batch-norm running mean) that is saved with the model but never
// stepped by an optimiser. Its value lives outside any graph, so the same
// Param can be bound into several graphs; graphs read it in place.
type Param struct {
	Name   string
	Value  *tensor.Dense
	Grad   *tensor.Dense // nil for buffers
	Buffer bool
}

// NewParam returns a learnable parameter of the given shape filled with zeros.
func NewParam(name string, dt tensor.Dtype, shape ...int) *Param {
	return &Param{
		Name:  name,
		Value: tensor.New(tensor.WithShape(shape...), tensor.Of(dt)),
		Grad:  tensor.New(tensor.WithShape(shape...), tensor.Of(dt)),
	}
}

// NewBuffer returns a non-learnable tensor saved with the model.
func NewBuffer(name string, dt tensor.Dtype, shape ...int) *Param {
	return &Param{Name: name, Value: tensor.New(tensor.WithShape(shape...), tensor.Of(dt)), Buffer: true}
}

// Shape returns the parameter's shape.
func (p *Param) Shape() tensor.Shape { return p.Value.Shape() }

// Size returns the number of elements.
func (p *Param) Size() int { return p.Value.Shape().TotalSize() }

// Dtype returns the element type.
func (p *Param) Dtype() tensor.Dtype { return p.Value.Dtype() }

// Float64s returns a copy of the values as float64.
func (p *Param) Float64s() []float64 { return Float64s(p.Value) }

// SetFloat64s overwrites the values, converting to the parameter's dtype.
func (p *Param) SetFloat64s(v []float64) error {
	if len(v) != p.Size() {
		return fmt.Errorf("nn: param %s: got %d values, want %d", p.Name, len(v), p.Size())
	}
	setFloat64s(p.Value, v)
	return nil
}

// ZeroGrad sets the gradient to zero.
func (p *Param) ZeroGrad() {
	if p.Grad != nil {
		p.Grad.Zero()
	}
}

// Fill sets every element to v.
func (p *Param) Fill(v float64) {
	switch d := p.Value.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(v)
		}
	case []float64:
		for i := range d {
			d[i] = v
		}
	}
}

// InitUniform fills the parameter with U(-bound, bound) draws from rng.
func (p *Param) InitUniform(rng *rand.Rand, bound float64) {
	switch d := p.Value.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32((2*rng.Float64() - 1) * bound)
		}
	case []float64:
		for i := range d {
			d[i] = (2*rng.Float64() - 1) * bound
		}
	}
}

// InitNormal fills the parameter with N(0, std²) draws from rng.
func (p *Param) InitNormal(rng *rand.Rand, std float64) {
	switch d := p.Value.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(rng.NormFloat64() * std)
		}
	case []float64:
		for i := range d {
			d[i] = rng.NormFloat64() * std
		}
	}
}

// Finite reports whether every value (and gradient) is finite.
func (p *Param) Finite() bool {
	return AllFinite(p.Value) && (p.Grad == nil || AllFinite(p.Grad))
}

// AllFinite reports whether every value of t is finite (neither NaN nor
// infinite).
func AllFinite(t *tensor.Dense) bool {
	switch d := t.Data().(type) {
	case []float32:
		for _, v := range d {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return false
			}
		}
	case []float64:
		for _, v := range d {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return false
			}
		}
	}
	return true
}

// Params is an ordered set of parameters with unique names: a model, a
// player of a game, or an optimiser's parameter group.
type Params []*Param

// Check returns an error if two parameters share a name.
func (ps Params) Check() error {
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		if seen[p.Name] {
			return fmt.Errorf("nn: duplicate parameter name %q", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

// Learnable returns the parameters that are not buffers.
func (ps Params) Learnable() Params {
	var out Params
	for _, p := range ps {
		if !p.Buffer {
			out = append(out, p)
		}
	}
	return out
}

// ByName returns the parameter with the given name, or nil.
func (ps Params) ByName(name string) *Param {
	for _, p := range ps {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Names returns the parameter names in order.
func (ps Params) Names() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// Count returns the total number of elements.
func (ps Params) Count() int {
	n := 0
	for _, p := range ps {
		n += p.Size()
	}
	return n
}

// ZeroGrad zeroes every gradient of the set.
func (ps Params) ZeroGrad() {
	for _, p := range ps {
		p.ZeroGrad()
	}
}

// GradNorm returns the global L2 norm of the gradients.
func (ps Params) GradNorm() float64 {
	var s float64
	for _, p := range ps {
		if p.Grad == nil {
			continue
		}
		switch d := p.Grad.Data().(type) {
		case []float32:
			for _, v := range d {
				s += float64(v) * float64(v)
			}
		case []float64:
			for _, v := range d {
				s += v * v
			}
		}
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales the gradients so that their global L2 norm is at most
// max, and returns the norm before clipping. A max of zero or less disables it.
func (ps Params) ClipGradNorm(max float64) float64 {
	n := ps.GradNorm()
	if max <= 0 || n <= max || n == 0 {
		return n
	}
	scale := max / n
	for _, p := range ps {
		if p.Grad != nil {
			scaleTensor(p.Grad, scale)
		}
	}
	return n
}

// Snapshot is a copy of a parameter set's values, for restoring after a
// failed step.
type Snapshot map[string][]float64

// Snapshot copies the values of every parameter.
func (ps Params) Snapshot() Snapshot {
	s := make(Snapshot, len(ps))
	for _, p := range ps {
		s[p.Name] = p.Float64s()
	}
	return s
}

// Restore writes a snapshot back. It fails if the snapshot does not match.
func (ps Params) Restore(s Snapshot) error {
	for _, p := range ps {
		v, ok := s[p.Name]
		if !ok {
			return fmt.Errorf("nn: snapshot has no parameter %q", p.Name)
		}
		if err := p.SetFloat64s(v); err != nil {
			return err
		}
	}
	return nil
}

// Float64s returns a copy of a float32 or float64 tensor's data as float64.
func Float64s(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	case []float64:
		return append([]float64(nil), d...)
	case float32:
		return []float64{float64(d)}
	case float64:
		return []float64{d}
	}
	panic(fmt.Sprintf("nn: unsupported dtype %v", t.Dtype()))
}

func setFloat64s(t *tensor.Dense, v []float64) {
	switch d := t.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(v[i])
		}
	case []float64:
		copy(d, v)
	}
}

func scaleTensor(t *tensor.Dense, s float64) {
	switch d := t.Data().(type) {
	case []float32:
		for i := range d {
			d[i] *= float32(s)
		}
	case []float64:
		for i := range d {
			d[i] *= s
		}
	}
}
