package nn

import (
	"fmt"
	"math"
	"strconv"

	"gorgonia.org/tensor"
)

// Group is a set of parameters with its own optimiser settings. Zero values
// take the optimiser's defaults.
type Group struct {
	Params      Params
	LR          float64
	WeightDecay float64
}

// Optimizer updates parameters from their gradients. Adam and SGD implement
// it; a game gives each player its own.
type Optimizer interface {
	// Step applies one update to every parameter of every group from its
	// Grad, then zeroes the gradients it used.
	Step() error
	// ZeroGrad zeroes the gradients of the optimiser's parameters.
	ZeroGrad()
	// SetLRScale multiplies every group's base learning rate by f from the
	// next step on (learning-rate schedules and back-off set it).
	SetLRScale(f float64)
	// LR returns the effective learning rate of group i.
	LR(i int) float64
	// Params returns every parameter the optimiser updates.
	Params() Params
	// State returns the optimiser's state as named tensors and metadata, for
	// checkpoints.
	State() ([]NamedTensor, map[string]string)
	// LoadState restores a state written by State.
	LoadState(tensors map[string]*tensor.Dense, meta map[string]string) error
}

// AdamConfig holds Adam's hyper-parameters. Defaults: lr 1e-3, betas (0.9,
// 0.999), eps 1e-8, no weight decay. The paper's encoders use lr 2e-4 with
// betas (0.5, 0.999).
type AdamConfig struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	// Decoupled applies weight decay as AdamW does (to the weights, scaled
	// by lr) instead of adding it to the gradient as Adam does.
	Decoupled bool
}

// Adam is the Adam optimiser (Kingma and Ba, 2015) with per-group learning
// rates and weight decay, computed in float64 whatever the parameters' type.
type Adam struct {
	cfg    AdamConfig
	groups []Group
	m, v   map[*Param][]float64
	step   int
	scale  float64
	chunks []adamWork // the last step's pieces, reused
}

// NewAdam returns an Adam optimiser over groups.
func NewAdam(cfg AdamConfig, groups ...Group) (*Adam, error) {
	if cfg.LR == 0 {
		cfg.LR = 1e-3
	}
	if cfg.Beta1 == 0 {
		cfg.Beta1 = 0.9
	}
	if cfg.Beta2 == 0 {
		cfg.Beta2 = 0.999
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-8
	}
	switch {
	case cfg.LR < 0:
		return nil, fmt.Errorf("nn: adam: learning rate %v is negative", cfg.LR)
	case cfg.Beta1 < 0 || cfg.Beta1 >= 1:
		return nil, fmt.Errorf("nn: adam: beta1 %v outside [0, 1)", cfg.Beta1)
	case cfg.Beta2 < 0 || cfg.Beta2 >= 1:
		return nil, fmt.Errorf("nn: adam: beta2 %v outside [0, 1)", cfg.Beta2)
	case cfg.WeightDecay < 0:
		return nil, fmt.Errorf("nn: adam: weight decay %v is negative", cfg.WeightDecay)
	}
	a := &Adam{cfg: cfg, m: map[*Param][]float64{}, v: map[*Param][]float64{}, scale: 1}
	var err error
	if a.groups, err = checkGroups(groups, cfg.LR, cfg.WeightDecay); err != nil {
		return nil, fmt.Errorf("nn: adam: %w", err)
	}
	for _, g := range a.groups {
		for _, p := range g.Params {
			a.m[p] = make([]float64, p.Size())
			a.v[p] = make([]float64, p.Size())
		}
	}
	return a, nil
}

func checkGroups(groups []Group, lr, wd float64) ([]Group, error) {
	out := make([]Group, len(groups))
	var all Params
	for i, g := range groups {
		if g.LR == 0 {
			g.LR = lr
		}
		if g.WeightDecay == 0 {
			g.WeightDecay = wd
		}
		if g.LR < 0 || g.WeightDecay < 0 {
			return nil, fmt.Errorf("group %d: negative learning rate %v or weight decay %v", i, g.LR, g.WeightDecay)
		}
		g.Params = g.Params.Learnable()
		all = append(all, g.Params...)
		out[i] = g
	}
	if err := all.Check(); err != nil {
		return nil, err
	}
	return out, nil
}

// Step applies one Adam update.
//
// The update runs in float64 on the parameter's own memory; the chunks (of
// adamChunk elements) are spread over the cores. Every element's
// arithmetic is the same whatever the split, so results do not depend on
// the number of cores.
func (a *Adam) Step() error {
	a.step++
	b1, b2 := a.cfg.Beta1, a.cfg.Beta2
	c := adamConsts{
		b1: b1, ob1: 1 - b1, b2: b2, ob2: 1 - b2, eps: a.cfg.Eps, decoupled: a.cfg.Decoupled,
		c1: 1 - math.Pow(b1, float64(a.step)),
		c2: 1 - math.Pow(b2, float64(a.step)),
	}
	chunks := a.chunks[:0]
	for _, g := range a.groups {
		c.lr, c.wdw = g.LR*a.scale, g.WeightDecay
		if c.decoupled {
			c.wdw = c.lr * g.WeightDecay
		}
		for _, p := range g.Params {
			if p.Grad == nil || p.Grad.Dtype() != p.Dtype() || p.Grad.Shape().TotalSize() != p.Size() {
				return fmt.Errorf("nn: adam: gradient of %s does not match its value", p.Name)
			}
			if dt := p.Dtype(); dt != tensor.Float32 && dt != tensor.Float64 {
				return fmt.Errorf("nn: adam: %s has unsupported dtype %v", p.Name, dt)
			}
			for lo := 0; lo < p.Size(); lo += adamChunk {
				chunks = append(chunks, adamWork{p: p, m: a.m[p], v: a.v[p], lo: lo, hi: min(lo+adamChunk, p.Size()), c: c})
			}
		}
	}
	a.chunks = chunks
	parallelItems(len(chunks), workers(), func(_, i int) {
		w := &chunks[i]
		switch d := w.p.Value.Data().(type) {
		case []float32:
			adamUpdate(d[w.lo:w.hi], w.p.Grad.Data().([]float32)[w.lo:w.hi], w.m[w.lo:w.hi], w.v[w.lo:w.hi], &w.c)
		case []float64:
			adamUpdate(d[w.lo:w.hi], w.p.Grad.Data().([]float64)[w.lo:w.hi], w.m[w.lo:w.hi], w.v[w.lo:w.hi], &w.c)
		}
	})
	return nil
}

// adamChunk is the number of elements of one parallel piece of an update.
const adamChunk = 1 << 15

// adamConsts are the constants of one update of one group; adamUpdate32
// reads the float64 fields in this order.
type adamConsts struct {
	b1, ob1, b2, ob2, lr float64
	wdw                  float64 // lr·wd when decoupled, wd otherwise
	c1, c2, eps          float64
	decoupled            bool
}

// adamWork is one chunk [lo, hi) of a parameter's update.
type adamWork struct {
	p      *Param
	m, v   []float64
	lo, hi int
	c      adamConsts
}

// adamUpdate applies one update to weights w with gradients g and moments
// m, v (all of one length), and zeroes g. float32 weights run four at a
// time on the AVX2 kernel where there is one, with the same arithmetic.
func adamUpdate[T float](w, g []T, m, v []float64, c *adamConsts) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	if w32, ok := any(w).([]float32); ok && useAsmKernels && len(w) >= 4 {
		n := len(w) &^ 3
		adamUpdate32(&w32[0], &any(g).([]float32)[0], &m[0], &v[0], n, c, c.decoupled)
		w, g, m, v = w[n:], g[n:], m[n:], v[n:]
	}
	for i := range w {
		wi, gi := float64(w[i]), float64(g[i])
		if c.decoupled {
			wi -= c.wdw * wi
		} else {
			gi += c.wdw * wi
		}
		mi := c.b1*m[i] + c.ob1*gi
		vi := c.b2*v[i] + c.ob2*gi*gi
		wi -= c.lr * (mi / c.c1) / (math.Sqrt(vi/c.c2) + c.eps)
		w[i], g[i], m[i], v[i] = T(wi), 0, mi, vi
	}
}

// ZeroGrad zeroes every gradient of the optimiser's parameters.
func (a *Adam) ZeroGrad() { a.Params().ZeroGrad() }

// SetLRScale sets the factor applied to every group's learning rate.
func (a *Adam) SetLRScale(f float64) { a.scale = f }

// LR returns group i's effective learning rate.
func (a *Adam) LR(i int) float64 { return a.groups[i].LR * a.scale }

// Steps returns the number of steps taken.
func (a *Adam) Steps() int { return a.step }

// Params returns the parameters of every group.
func (a *Adam) Params() Params { return groupParams(a.groups) }

func groupParams(groups []Group) Params {
	var ps Params
	for _, g := range groups {
		ps = append(ps, g.Params...)
	}
	return ps
}

// State returns the moment estimates as tensors named "adam.m.<param>" and
// "adam.v.<param>", and the step count and lr scale as metadata.
func (a *Adam) State() ([]NamedTensor, map[string]string) {
	var ts []NamedTensor
	for _, p := range a.Params() {
		ts = append(ts,
			NamedTensor{"adam.m." + p.Name, float64Tensor(a.m[p], p.Shape())},
			NamedTensor{"adam.v." + p.Name, float64Tensor(a.v[p], p.Shape())})
	}
	return ts, map[string]string{"optimizer": "adam", "step": strconv.Itoa(a.step), "lr_scale": strconv.FormatFloat(a.scale, 'g', -1, 64)}
}

// LoadState restores moments, step count and lr scale.
func (a *Adam) LoadState(tensors map[string]*tensor.Dense, meta map[string]string) error {
	if meta["optimizer"] != "adam" {
		return fmt.Errorf("nn: optimiser state is for %q, not adam", meta["optimizer"])
	}
	step, err := strconv.Atoi(meta["step"])
	if err != nil {
		return fmt.Errorf("nn: adam state: bad step %q", meta["step"])
	}
	scale, err := strconv.ParseFloat(meta["lr_scale"], 64)
	if err != nil {
		return fmt.Errorf("nn: adam state: bad lr_scale %q", meta["lr_scale"])
	}
	want := map[string]bool{}
	for _, p := range a.Params() {
		for _, k := range []string{"adam.m.", "adam.v."} {
			name := k + p.Name
			want[name] = true
			t, ok := tensors[name]
			if !ok {
				return fmt.Errorf("nn: adam state: missing tensor %q", name)
			}
			if !t.Shape().Eq(p.Shape()) {
				return fmt.Errorf("nn: adam state: tensor %q has shape %v, want %v", name, t.Shape(), p.Shape())
			}
			dst := a.m[p]
			if k == "adam.v." {
				dst = a.v[p]
			}
			copy(dst, Float64s(t))
		}
	}
	for name := range tensors {
		if !want[name] {
			return fmt.Errorf("nn: adam state: unexpected tensor %q", name)
		}
	}
	a.step, a.scale = step, scale
	return nil
}

// SGDConfig holds SGD's hyper-parameters: lr (default 0.1), momentum,
// Nesterov momentum and L2 weight decay.
type SGDConfig struct {
	LR, Momentum, WeightDecay float64
	Nesterov                  bool
}

// SGD is stochastic gradient descent with momentum, as PyTorch defines it.
type SGD struct {
	cfg    SGDConfig
	groups []Group
	buf    map[*Param][]float64
	step   int
	scale  float64
}

// NewSGD returns an SGD optimiser over groups.
func NewSGD(cfg SGDConfig, groups ...Group) (*SGD, error) {
	if cfg.LR == 0 {
		cfg.LR = 0.1
	}
	if cfg.LR < 0 || cfg.Momentum < 0 || cfg.Momentum >= 1 || cfg.WeightDecay < 0 {
		return nil, fmt.Errorf("nn: sgd: bad settings lr=%v momentum=%v weight_decay=%v", cfg.LR, cfg.Momentum, cfg.WeightDecay)
	}
	s := &SGD{cfg: cfg, buf: map[*Param][]float64{}, scale: 1}
	var err error
	if s.groups, err = checkGroups(groups, cfg.LR, cfg.WeightDecay); err != nil {
		return nil, fmt.Errorf("nn: sgd: %w", err)
	}
	for _, p := range groupParams(s.groups) {
		s.buf[p] = make([]float64, p.Size())
	}
	return s, nil
}

// Step applies one SGD update.
func (s *SGD) Step() error {
	s.step++
	mu := s.cfg.Momentum
	for _, g := range s.groups {
		lr := g.LR * s.scale
		for _, p := range g.Params {
			w, grad, b := p.Float64s(), Float64s(p.Grad), s.buf[p]
			for i := range w {
				d := grad[i] + g.WeightDecay*w[i]
				if mu > 0 {
					if s.step == 1 {
						b[i] = d
					} else {
						b[i] = mu*b[i] + d
					}
					if s.cfg.Nesterov {
						d += mu * b[i]
					} else {
						d = b[i]
					}
				}
				w[i] -= lr * d
			}
			if err := p.SetFloat64s(w); err != nil {
				return err
			}
			p.ZeroGrad()
		}
	}
	return nil
}

// ZeroGrad zeroes every gradient of the optimiser's parameters.
func (s *SGD) ZeroGrad() { s.Params().ZeroGrad() }

// SetLRScale sets the factor applied to every group's learning rate.
func (s *SGD) SetLRScale(f float64) { s.scale = f }

// LR returns group i's effective learning rate.
func (s *SGD) LR(i int) float64 { return s.groups[i].LR * s.scale }

// Params returns the parameters of every group.
func (s *SGD) Params() Params { return groupParams(s.groups) }

// State returns the momentum buffers ("sgd.buf.<param>") and step count.
func (s *SGD) State() ([]NamedTensor, map[string]string) {
	var ts []NamedTensor
	for _, p := range s.Params() {
		ts = append(ts, NamedTensor{"sgd.buf." + p.Name, float64Tensor(s.buf[p], p.Shape())})
	}
	return ts, map[string]string{"optimizer": "sgd", "step": strconv.Itoa(s.step), "lr_scale": strconv.FormatFloat(s.scale, 'g', -1, 64)}
}

// LoadState restores the momentum buffers and step count.
func (s *SGD) LoadState(tensors map[string]*tensor.Dense, meta map[string]string) error {
	if meta["optimizer"] != "sgd" {
		return fmt.Errorf("nn: optimiser state is for %q, not sgd", meta["optimizer"])
	}
	step, err := strconv.Atoi(meta["step"])
	if err != nil {
		return fmt.Errorf("nn: sgd state: bad step %q", meta["step"])
	}
	scale, err := strconv.ParseFloat(meta["lr_scale"], 64)
	if err != nil {
		return fmt.Errorf("nn: sgd state: bad lr_scale %q", meta["lr_scale"])
	}
	if len(tensors) != len(s.Params()) {
		return fmt.Errorf("nn: sgd state: %d tensors, want %d", len(tensors), len(s.Params()))
	}
	for _, p := range s.Params() {
		name := "sgd.buf." + p.Name
		t, ok := tensors[name]
		if !ok {
			return fmt.Errorf("nn: sgd state: missing tensor %q", name)
		}
		if !t.Shape().Eq(p.Shape()) {
			return fmt.Errorf("nn: sgd state: tensor %q has shape %v, want %v", name, t.Shape(), p.Shape())
		}
		copy(s.buf[p], Float64s(t))
	}
	s.step, s.scale = step, scale
	return nil
}

// StateCopier is an Optimizer that can copy its state into memory kept
// from one call to the next and put it back, without the conversions and
// allocations of State and LoadState. Adam and SGD implement it; a game's
// players use it to guard every step.
type StateCopier interface {
	// CopyState copies the state into c, reusing c's memory.
	CopyState(c *StateCopy)
	// RestoreState puts back the state that CopyState copied into c.
	RestoreState(c *StateCopy) error
}

// StateCopy is an optimiser state copied by StateCopier.CopyState.
type StateCopy struct {
	owner any
	step  int
	scale float64
	bufs  [][]float64
}

// copyBufs copies srcs into c's buffers, reusing them.
func (c *StateCopy) copyBufs(owner any, step int, scale float64, srcs ...[]float64) {
	c.owner, c.step, c.scale = owner, step, scale
	for len(c.bufs) < len(srcs) {
		c.bufs = append(c.bufs, nil)
	}
	c.bufs = c.bufs[:len(srcs)]
	for i, src := range srcs {
		c.bufs[i] = append(c.bufs[i][:0], src...)
	}
}

// restoreBufs copies c's buffers back into dsts.
func (c *StateCopy) restoreBufs(owner any, dsts ...[]float64) error {
	if c.owner != owner || len(c.bufs) != len(dsts) {
		return fmt.Errorf("nn: the optimiser state was copied from another optimiser")
	}
	for i, dst := range dsts {
		if len(c.bufs[i]) != len(dst) {
			return fmt.Errorf("nn: the optimiser state was copied from another optimiser")
		}
	}
	for i, dst := range dsts {
		copy(dst, c.bufs[i])
	}
	return nil
}

// CopyState copies the moments, step count and lr scale into c.
func (a *Adam) CopyState(c *StateCopy) {
	c.copyBufs(a, a.step, a.scale, a.moments()...)
}

// RestoreState puts back a state copied by CopyState.
func (a *Adam) RestoreState(c *StateCopy) error {
	if err := c.restoreBufs(a, a.moments()...); err != nil {
		return err
	}
	a.step, a.scale = c.step, c.scale
	return nil
}

// moments returns m and v of every parameter, in order.
func (a *Adam) moments() [][]float64 {
	var ms [][]float64
	for _, g := range a.groups {
		for _, p := range g.Params {
			ms = append(ms, a.m[p], a.v[p])
		}
	}
	return ms
}

// CopyState copies the momentum buffers, step count and lr scale into c.
func (s *SGD) CopyState(c *StateCopy) {
	c.copyBufs(s, s.step, s.scale, s.buffers()...)
}

// RestoreState puts back a state copied by CopyState.
func (s *SGD) RestoreState(c *StateCopy) error {
	if err := c.restoreBufs(s, s.buffers()...); err != nil {
		return err
	}
	s.step, s.scale = c.step, c.scale
	return nil
}

func (s *SGD) buffers() [][]float64 {
	var bs [][]float64
	for _, g := range s.groups {
		for _, p := range g.Params {
			bs = append(bs, s.buf[p])
		}
	}
	return bs
}

func float64Tensor(v []float64, shape tensor.Shape) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(append([]float64(nil), v...)))
}
