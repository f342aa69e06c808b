package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// Metadata keys of a saved flow. A saved flow is a safetensors file (see
// nn.Params.Save) whose tensors are the flow's parameters and buffers under
// their names and whose metadata holds what Load needs to rebuild it;
// docs/FORMATS.md describes it for other tools.
const (
	MetaConfig = "viewgen.flow.config" // Config as JSON, defaults filled in
	MetaName   = "viewgen.flow.name"   // the name passed to New
	MetaDtype  = "viewgen.flow.dtype"  // "float32" or "float64"
)

// Save writes the flow's parameters and configuration to path atomically.
func (f *Flow) Save(path string) error {
	cfg, err := json.Marshal(f.cfg)
	if err != nil {
		return fmt.Errorf("flow: saving flow %s: %w", f.name, err)
	}
	meta := map[string]string{
		MetaConfig: string(cfg),
		MetaName:   f.name,
		MetaDtype:  f.dtype.String(),
		MetaFormat: Format,
	}
	if f.input != nil {
		b, err := json.Marshal(f.input)
		if err != nil {
			return fmt.Errorf("flow: saving flow %s: %w", f.name, err)
		}
		meta[MetaInput] = string(b)
	}
	if err := f.Params().Save(path, meta); err != nil {
		return fmt.Errorf("flow: saving flow %s: %w", f.name, err)
	}
	return nil
}

// Load reads a flow written by Flow.Save, rebuilding it from the
// configuration, name and dtype stored in the file. The file must hold
// exactly the flow's tensors with their shapes, all finite: a missing, extra,
// mis-shaped or non-finite tensor, or metadata that does not describe a
// valid flow, is an error that names it. The tensors are checked against
// the configuration before the flow is built, so that a small file cannot
// make Load build a large flow.
func Load(path string) (*Flow, error) {
	ts, _, meta, err := nn.LoadSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("flow: loading flow: %w", err)
	}
	f, err := flowFromTensors(ts, meta)
	if err != nil {
		return nil, fmt.Errorf("flow: loading flow %s: %w", path, err)
	}
	return f, nil
}

// flowFromTensors builds the flow that a saved file's tensors and metadata
// describe.
func flowFromTensors(ts map[string]*tensor.Dense, meta map[string]string) (*Flow, error) {
	name, dt, cfg, err := parseFlowMeta(meta)
	if err != nil {
		return nil, err
	}
	input, err := parseInput(meta)
	if err != nil {
		return nil, err
	}
	if err := checkFlowTensors(flowTensorShapes(name, cfg), ts); err != nil {
		return nil, err
	}
	// The initial weights are overwritten: any seed will do.
	f, err := New(name, dt, cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	if err := f.Params().LoadTensors(ts); err != nil {
		return nil, err
	}
	for _, m := range f.mixes {
		if err := m.check(); err != nil {
			return nil, err
		}
	}
	f.input = input
	return f, nil
}

// flowTensor is the name and shape of one of a flow's tensors.
type flowTensor struct {
	name  string
	shape tensor.Shape
}

// flowTensorShapes yields the tensors of the flow New builds from name
// and cfg (defaults filled in, valid), in the order of Flow.Params, without
// building it.
func flowTensorShapes(name string, cfg Config) iter.Seq[flowTensor] {
	return func(yield func(flowTensor) bool) {
		conv := func(prefix string, in, out, k int) bool {
			return yield(flowTensor{prefix + ".weight", tensor.Shape{out, in, k, k}}) && yield(flowTensor{prefix + ".bias", tensor.Shape{out}})
		}
		net := func(prefix string, in, hidden, out, k int) bool {
			return conv(prefix+".hidden", in, hidden, k) && conv(prefix+".shift", hidden, out, k) &&
				(cfg.Kind != NVP || conv(prefix+".scale", hidden, out, k))
		}
		for k := range cfg.Blocks {
			prefix := fmt.Sprintf("%s.blocks.%d", name, k)
			l := cfg.layout(k)
			if !net(prefix+".f", l.n2, l.hf, l.n1, cfg.kernel(k)) || !net(prefix+".g", l.n1, l.hg, l.n2, cfg.kernel(k)) {
				return
			}
			if cfg.Kind == NVP && k < cfg.Blocks-1 {
				mix := fmt.Sprintf("%s.mixes.%d", name, k)
				for _, t := range []flowTensor{
					{mix + ".lower", tensor.Shape{3, 3}},
					{mix + ".upper", tensor.Shape{3, 3}},
					{mix + ".log_scale", tensor.Shape{3}},
					{mix + ".perm", tensor.Shape{3, 3}},
					{mix + ".sign", tensor.Shape{3}},
				} {
					if !yield(t) {
						return
					}
				}
			}
		}
	}
}

// checkFlowTensors reports the first tensor of want that ts lacks or holds
// with another shape, then the first (by name) that ts holds beyond want, in
// the words of nn.Params.LoadTensors, then the first value of want that is
// not finite. It stops at the first tensor ts lacks, so that the work and
// memory it takes are bounded by ts, however large a flow want describes.
func checkFlowTensors(want iter.Seq[flowTensor], ts map[string]*tensor.Dense) error {
	var found []string
	for w := range want {
		t, ok := ts[w.name]
		if !ok {
			return fmt.Errorf("missing tensor %q", w.name)
		}
		if !t.Shape().Eq(w.shape) {
			return fmt.Errorf("tensor %q has shape %v, want %v", w.name, t.Shape(), w.shape)
		}
		found = append(found, w.name)
	}
	if len(ts) > len(found) {
		names := make(map[string]bool, len(found))
		for _, n := range found {
			names[n] = true
		}
		var extra []string
		for name := range ts {
			if !names[name] {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		return fmt.Errorf("unexpected tensor %q (the model has no parameter of that name)", extra[0])
	}
	for _, n := range found {
		if i, v, ok := firstNonFinite(ts[n]); ok {
			return fmt.Errorf("tensor %q: element %d is %v, want a finite value", n, i, v)
		}
	}
	return nil
}

// firstNonFinite returns the index and value of the first NaN or infinite
// element of t.
func firstNonFinite(t *tensor.Dense) (int, float64, bool) {
	switch d := t.Data().(type) {
	case []float32:
		for i, v := range d {
			if x := float64(v); math.IsNaN(x) || math.IsInf(x, 0) {
				return i, x, true
			}
		}
	case []float64:
		for i, v := range d {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return i, v, true
			}
		}
	}
	return 0, 0, false
}

// Load replaces the flow's parameters by those saved in path. The saved
// flow must have the same name and configuration; its dtype may differ (the
// values are converted). On error the flow is left unchanged.
func (f *Flow) Load(path string) error {
	saved, err := Load(path)
	if err != nil {
		return err
	}
	if saved.name != f.name {
		return fmt.Errorf("flow: loading flow %s: the file holds flow %q, want %q", path, saved.name, f.name)
	}
	if d := flowConfigDiff(saved.cfg, f.cfg); d != "" {
		return fmt.Errorf("flow: loading flow %s into flow %s: configurations differ: %s", path, f.name, d)
	}
	src := saved.Params()
	for i, p := range f.Params() {
		if err := p.SetFloat64s(src[i].Float64s()); err != nil {
			return fmt.Errorf("flow: loading flow %s: %w", path, err)
		}
	}
	f.input = saved.input
	return nil
}

func parseFlowMeta(meta map[string]string) (name string, dt tensor.Dtype, cfg Config, err error) {
	for _, k := range []string{MetaConfig, MetaName, MetaDtype} {
		if _, ok := meta[k]; !ok {
			return "", dt, cfg, fmt.Errorf("metadata key %q missing (not a file written by Flow.Save?)", k)
		}
	}
	name = meta[MetaName]
	switch meta[MetaDtype] {
	case tensor.Float32.String():
		dt = tensor.Float32
	case tensor.Float64.String():
		dt = tensor.Float64
	default:
		return "", dt, cfg, fmt.Errorf("metadata %q is %q, want %q or %q", MetaDtype, meta[MetaDtype], tensor.Float32, tensor.Float64)
	}
	// A file written before the coupling was configurable holds a Rotate
	// flow with LeakyReLU: the keys it lacks keep those values.
	cfg = Config{Coupling: Rotate, Activation: Leaky}
	dec := json.NewDecoder(bytes.NewReader([]byte(meta[MetaConfig])))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return "", dt, cfg, fmt.Errorf("metadata %q: %w", MetaConfig, err)
	}
	if err := cfg.Validate(); err != nil {
		return "", dt, cfg, fmt.Errorf("metadata %q: %w", MetaConfig, err)
	}
	return name, dt, cfg.WithDefaults(), nil
}

// flowConfigDiff lists the fields in which the saved configuration a
// differs from b, or returns "".
func flowConfigDiff(a, b Config) string {
	a, b = a.WithDefaults(), b.WithDefaults()
	var d []string
	add := func(field string, x, y any) {
		if x != y {
			d = append(d, fmt.Sprintf("%s %v saved, %v here", field, x, y))
		}
	}
	add("kind", a.Kind, b.Kind)
	add("blocks", a.Blocks, b.Blocks)
	add("coupling", a.Coupling, b.Coupling)
	add("hidden", a.Hidden, b.Hidden)
	add("activation", a.Activation, b.Activation)
	add("kernel3x3", a.Kernel3x3, b.Kernel3x3)
	add("log_scale_bound", a.LogScaleBound, b.LogScaleBound)
	// Identity only says how the flow started, not what it computes now.
	return strings.Join(d, "; ")
}
