package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// Metadata keys of a saved flow. A saved flow is a safetensors file (see
// nn.Params.Save) whose tensors are the flow's parameters and buffers under
// their names and whose metadata holds what Load needs to rebuild it.
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
	}
	if err := f.Params().Save(path, meta); err != nil {
		return fmt.Errorf("flow: saving flow %s: %w", f.name, err)
	}
	return nil
}

// Load reads a flow written by Flow.Save, rebuilding it from the
// configuration, name and dtype stored in the file. The file must hold
// exactly the flow's tensors with their shapes: a missing, extra or
// mis-shaped tensor, or metadata that does not describe a valid flow, is an
// error that names it.
func Load(path string) (*Flow, error) {
	ts, _, meta, err := nn.LoadSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("flow: loading flow: %w", err)
	}
	name, dt, cfg, err := parseFlowMeta(meta)
	if err != nil {
		return nil, fmt.Errorf("flow: loading flow %s: %w", path, err)
	}
	// The initial weights are overwritten: any seed will do.
	f, err := New(name, dt, cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, fmt.Errorf("flow: loading flow %s: %w", path, err)
	}
	if err := f.Params().LoadTensors(ts); err != nil {
		return nil, fmt.Errorf("flow: loading flow %s: %w", path, err)
	}
	for _, m := range f.mixes {
		if err := m.check(); err != nil {
			return nil, fmt.Errorf("flow: loading flow %s: %w", path, err)
		}
	}
	return f, nil
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
	add("hidden", a.Hidden, b.Hidden)
	add("kernel3x3", a.Kernel3x3, b.Kernel3x3)
	add("log_scale_bound", a.LogScaleBound, b.LogScaleBound)
	// Identity only says how the flow started, not what it computes now.
	return strings.Join(d, "; ")
}
