package experiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/flow"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/viewgen"
)

// The encoders file (rundir.EncodersFile) holds f1 and f2 of a run's stage 2
// (or of the contrastive stage of a fixed-view run), each encoder with its
// head: a safetensors file whose tensors are the models' parameters and
// buffers under their names ("f1.conv1.weight", "f2.head.fc.bias", ...) and
// whose metadata holds what rebuilds them. docs/FORMATS.md describes it
// for other tools.
const (
	// MetaEncodersFormat is the version of the file format: EncodersFormat.
	MetaEncodersFormat = "learnviews.encoders.format"
	// MetaEncodersDtype is "float32" or "float64", the tensors' type.
	MetaEncodersDtype = "learnviews.encoders.dtype"
	// MetaEncoderF1 and MetaEncoderF2 describe f1 and f2: EncoderInfo as
	// JSON.
	MetaEncoderF1 = "learnviews.encoders.f1"
	MetaEncoderF2 = "learnviews.encoders.f2"
	// MetaEncodersViews says what the encoders saw: EncoderViews as JSON.
	MetaEncodersViews = "learnviews.encoders.views"
)

// EncodersFormat is the version of the encoders files SaveEncoders writes.
const EncodersFormat = "1"

// EncoderInfo describes one saved model, an encoder with its projection
// head, every size resolved.
type EncoderInfo struct {
	// Arch is the encoder: "convnet", "resnet10" or "resnet18" (or a
	// registered one).
	Arch       string `json:"arch"`
	InChannels int    `json:"in_channels"`
	Width      int    `json:"width"`
	// FeatureDim is the size of the encoder's output: the features of the
	// linear probe and kNN, and the head's input.
	FeatureDim int `json:"feature_dim"`
	EmbedDim   int `json:"embed_dim"`
	// HeadHidden is the hidden width of an MLP head; 0 is a linear head.
	HeadHidden int `json:"head_hidden"`
}

// EncoderViews says what the encoders of a file saw.
type EncoderViews struct {
	// Stage is the run's stage that trained them (rundir.StageStage2 or
	// rundir.StageContrastive).
	Stage string `json:"stage"`
	// Generator is set when the views are channels of the learned
	// generator's output g(x) (generator.safetensors, which knows its
	// input); otherwise they are channels of the RGB image converted to
	// Space, without standardisation.
	Generator bool   `json:"generator"`
	Space     string `json:"space,omitempty"`
	// V1 and V2 are the channels of the two views: f1 sees V1, f2 sees V2.
	V1 []int `json:"v1"`
	V2 []int `json:"v2"`
	// Size is the side in pixels of the views the encoders were trained
	// and evaluated on (data.size).
	Size int `json:"size"`
	// Spec is the run's views.spec, as configured.
	Spec string `json:"spec"`
	// Patch is set for views that are two patches of the image (a spec's
	// patch=P,offset=D): each view is a P×P patch, not the whole image.
	Patch int `json:"patch,omitempty"`
	// Paired is set when the views are the two images of a paired data set
	// (Colorful-Moving-MNIST's frames), not channels of one image.
	Paired bool `json:"paired,omitempty"`
}

// Encoders are f1 and f2 as LoadEncoders rebuilds them from a file.
type Encoders struct {
	F1, F2 *contrast.Model
	Info   [2]EncoderInfo
	Views  EncoderViews
	Dtype  tensor.Dtype
}

// encoderInfo resolves cfg's sizes against the model built from it.
func encoderInfo(cfg contrast.ModelConfig, m *contrast.Model) EncoderInfo {
	arch := cfg.Arch
	if arch == "" {
		arch = "convnet"
	}
	return EncoderInfo{Arch: arch, InChannels: cfg.InChannels, Width: cfg.Width, FeatureDim: m.Encoder.FeatureDim(),
		EmbedDim: m.Head.Dim(), HeadHidden: cfg.HeadHidden}
}

// SaveEncoders writes f1 and f2 (built from the configurations c1 and c2,
// whose widths are set) with their description to path, atomically.
func SaveEncoders(path string, f1, f2 *contrast.Model, c1, c2 contrast.ModelConfig, views EncoderViews) error {
	if c1.Width < 1 || c2.Width < 1 {
		return fmt.Errorf("saving encoders to %s: widths %d and %d, want them set (positive)", path, c1.Width, c2.Width)
	}
	ps := append(f1.Params(), f2.Params()...)
	if len(ps) == 0 {
		return fmt.Errorf("saving encoders to %s: no parameters", path)
	}
	meta := map[string]string{MetaEncodersFormat: EncodersFormat, MetaEncodersDtype: ps[0].Dtype().String()}
	for key, v := range map[string]any{MetaEncoderF1: encoderInfo(c1, f1), MetaEncoderF2: encoderInfo(c2, f2), MetaEncodersViews: views} {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("saving encoders to %s: %s: %w", path, key, err)
		}
		meta[key] = string(b)
	}
	if err := ps.Save(path, meta); err != nil {
		return fmt.Errorf("saving encoders to %s: %w", path, err)
	}
	return nil
}

// saveEncoders writes the estimator's f1 and f2, trained by stage on the
// views of spec (of the generator's output when generator is set), to the
// run directory.
func (e *Experiment) saveEncoders(stage string, est *contrast.Estimator, spec viewgen.Spec, generator bool) error {
	c := e.cfg
	views := EncoderViews{Stage: stage, Generator: generator, V1: spec.Split.V1, V2: spec.Split.V2, Size: c.Data.Size, Spec: c.Views.Spec}
	c1, c2 := len(spec.Split.V1), len(spec.Split.V2)
	if !generator {
		c1, c2 = e.fixedChannels(spec)
		views.Space, views.Patch = spec.Space.String(), spec.Patch
		_, views.Paired = paired(e.data.Train)
		switch {
		case views.Paired:
		case spec.Size > 0:
			views.Size = spec.Size
		case spec.Patch > 0:
			views.Size = spec.Patch
		}
	}
	path := filepath.Join(e.dir, rundir.EncodersFile)
	if err := SaveEncoders(path, est.F1, est.F2, modelConfig(c, c1), modelConfig(c, c2), views); err != nil {
		return err
	}
	e.logf("%s: encoders f1 and f2 saved to %s", stage, path)
	return nil
}

// Bounds on what an encoders file may describe, far above any model here.
const (
	maxEncoderWidth    = 4096
	maxEncoderChannels = 64
	maxEncoderEmbed    = 1 << 16
)

// LoadEncoders reads a file written by SaveEncoders and rebuilds f1 and f2.
// The file must hold exactly their tensors with their shapes; a missing or
// bad metadata key, or a missing, extra or mis-shaped tensor, is an error
// that names the file and the key or tensor.
func LoadEncoders(path string) (*Encoders, error) {
	ts, _, meta, err := nn.LoadSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("loading encoders: %w", err)
	}
	enc, err := encodersFromTensors(ts, meta)
	if err != nil {
		return nil, fmt.Errorf("loading encoders %s: %w", path, err)
	}
	return enc, nil
}

func encodersFromTensors(ts map[string]*tensor.Dense, meta map[string]string) (*Encoders, error) {
	for _, k := range []string{MetaEncodersFormat, MetaEncodersDtype, MetaEncoderF1, MetaEncoderF2, MetaEncodersViews} {
		if _, ok := meta[k]; !ok {
			return nil, fmt.Errorf("metadata key %q missing (not a file written by SaveEncoders?)", k)
		}
	}
	if f := meta[MetaEncodersFormat]; f != EncodersFormat {
		return nil, fmt.Errorf("metadata %q is %q: this version reads format %q", MetaEncodersFormat, f, EncodersFormat)
	}
	enc := &Encoders{}
	switch meta[MetaEncodersDtype] {
	case tensor.Float32.String():
		enc.Dtype = tensor.Float32
	case tensor.Float64.String():
		enc.Dtype = tensor.Float64
	default:
		return nil, fmt.Errorf("metadata %q is %q, want %q or %q", MetaEncodersDtype, meta[MetaEncodersDtype], tensor.Float32, tensor.Float64)
	}
	if err := decodeStrict(meta[MetaEncodersViews], &enc.Views); err != nil {
		return nil, fmt.Errorf("metadata %q: %w", MetaEncodersViews, err)
	}
	var total int64
	for _, t := range ts {
		total += int64(t.Shape().TotalSize())
	}
	var models [2]*contrast.Model
	for i, key := range []string{MetaEncoderF1, MetaEncoderF2} {
		info := &enc.Info[i]
		if err := decodeStrict(meta[key], info); err != nil {
			return nil, fmt.Errorf("metadata %q: %w", key, err)
		}
		if err := info.check(); err != nil {
			return nil, fmt.Errorf("metadata %q: %w", key, err)
		}
		spec, err := contrast.Encoders.Lookup(info.Arch)
		if err != nil {
			return nil, fmt.Errorf("metadata %q: %w", key, err)
		}
		cfg := contrast.ModelConfig{Arch: info.Arch, InChannels: info.InChannels, Width: info.Width, EmbedDim: info.EmbedDim, HeadHidden: info.HeadHidden}
		// The encoder alone must fit in the file before it is built, so
		// that a small file cannot make this build a large model.
		if n := spec.Size(cfg, 1, 1).Params; n > total {
			return nil, fmt.Errorf("metadata %q describes an encoder of %d values, but the file holds %d", key, n, total)
		}
		m, err := contrast.NewModel(fmt.Sprintf("f%d", i+1), enc.Dtype, cfg, rand.New(rand.NewPCG(0, 0)))
		if err != nil {
			return nil, fmt.Errorf("metadata %q: %w", key, err)
		}
		if got := encoderInfo(cfg, m); got != *info {
			return nil, fmt.Errorf("metadata %q: %+v, but such a model has %+v", key, *info, got)
		}
		models[i] = m
	}
	if err := append(models[0].Params(), models[1].Params()...).LoadTensors(ts); err != nil {
		return nil, err
	}
	enc.F1, enc.F2 = models[0], models[1]
	return enc, nil
}

// check reports the first size of info out of range.
func (info EncoderInfo) check() error {
	switch {
	case info.InChannels < 1 || info.InChannels > maxEncoderChannels:
		return fmt.Errorf("in_channels %d, want 1 to %d", info.InChannels, maxEncoderChannels)
	case info.Width < 1 || info.Width > maxEncoderWidth:
		return fmt.Errorf("width %d, want 1 to %d", info.Width, maxEncoderWidth)
	case info.EmbedDim < 1 || info.EmbedDim > maxEncoderEmbed:
		return fmt.Errorf("embed_dim %d, want 1 to %d", info.EmbedDim, maxEncoderEmbed)
	case info.HeadHidden < 0 || info.HeadHidden > maxEncoderEmbed:
		return fmt.Errorf("head_hidden %d, want 0 to %d", info.HeadHidden, maxEncoderEmbed)
	}
	return nil
}

func decodeStrict(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// ExportReadme is the file Export writes beside the tensors.
const ExportReadme = "README.txt"

// Export copies what a run learned, generator.safetensors and
// encoders.safetensors (whichever the run has), from the run directory
// runDir into outDir, after checking that each loads, with a README.txt
// that says what they hold and how to load them in PyTorch; a file of an
// earlier export that the run lacks is removed from outDir. It returns the
// files it wrote.
func Export(runDir, outDir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(runDir, rundir.ConfigFile)); err != nil {
		return nil, fmt.Errorf("%s is not a run directory: %w", runDir, err)
	}
	if a, err := filepath.Abs(runDir); err == nil {
		if b, err := filepath.Abs(outDir); err == nil && a == b {
			return nil, fmt.Errorf("export %s: the output folder is the run directory itself", runDir)
		}
	}
	var notes []string
	var copyFrom []string
	genPath := filepath.Join(runDir, rundir.GeneratorFile)
	var gen *flow.Flow
	if _, err := os.Stat(genPath); err == nil {
		if gen, err = flow.Load(genPath); err != nil {
			return nil, err
		}
		copyFrom = append(copyFrom, genPath)
		notes = append(notes, describeGenerator(gen))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	encPath := filepath.Join(runDir, rundir.EncodersFile)
	if _, err := os.Stat(encPath); err == nil {
		enc, err := LoadEncoders(encPath)
		if err != nil {
			return nil, err
		}
		if enc.Views.Generator && gen == nil {
			return nil, fmt.Errorf("export %s: %s saw the generator's views, but the run has no %s", runDir, rundir.EncodersFile, rundir.GeneratorFile)
		}
		copyFrom = append(copyFrom, encPath)
		notes = append(notes, describeEncoders(enc))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if len(copyFrom) == 0 {
		return nil, fmt.Errorf("export %s: the run has neither %s (written when view learning ends) nor %s (written when stage 2 or the contrastive stage ends)",
			runDir, rundir.GeneratorFile, rundir.EncodersFile)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	// A file of an earlier export that this run lacks goes, so that the
	// folder never mixes two runs.
	for _, name := range []string{rundir.GeneratorFile, rundir.EncodersFile} {
		if !slices.Contains(copyFrom, filepath.Join(runDir, name)) {
			if err := os.Remove(filepath.Join(outDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	}
	var wrote []string
	for _, src := range copyFrom {
		dst := filepath.Join(outDir, filepath.Base(src))
		if err := copyFileAtomic(dst, src); err != nil {
			return wrote, fmt.Errorf("export %s: %w", runDir, err)
		}
		wrote = append(wrote, dst)
	}
	readme := filepath.Join(outDir, ExportReadme)
	text := fmt.Sprintf("Exported by `learnviews export` from the run %s.\n\n%s\n%s", runDir, strings.Join(notes, "\n"), ExportUsage(outDir))
	if err := rundir.WriteBytesAtomic(readme, []byte(text)); err != nil {
		return wrote, fmt.Errorf("export %s: %w", runDir, err)
	}
	return append(wrote, readme), nil
}

// ExportUsage says how to load the exported folder dir in PyTorch.
func ExportUsage(dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `In PyTorch, with the package python/learnviews_torch of the learnviews
repository on the Python path (it needs only numpy and torch; docs/FORMATS.md
describes the files):

    from learnviews_torch import ViewTransform, load_encoders

    # an image (PIL, or an RGB tensor in [0, 1]) -> (v1, v2), as the run made them
    views = ViewTransform.from_dir(%q)
    v1, v2 = views(image)
`, dir)
	if _, err := os.Stat(filepath.Join(dir, rundir.EncodersFile)); err == nil {
		fmt.Fprintf(&b, `
    # f1 and f2 in eval mode; features(v1, v2) is what the linear probe saw
    encoders = load_encoders(%q)
    features = encoders.features(v1[None], v2[None])
`, filepath.Join(dir, rundir.EncodersFile))
	}
	return b.String()
}

func describeGenerator(g *flow.Flow) string {
	c := g.Config()
	in := "raw RGB"
	if i, ok := g.Input(); ok {
		in = fmt.Sprintf("%s standardised with mean %.6g %.6g %.6g and std %.6g %.6g %.6g", i.Space, i.Mean[0], i.Mean[1], i.Mean[2], i.Std[0], i.Std[1], i.Std[2])
	}
	return fmt.Sprintf("%s: the learned view generator g, a %s flow (%s coupling, %d blocks, %s activation, 3x3 kernels: %s), reading %s; format %s.\n",
		rundir.GeneratorFile, c.Kind, c.Coupling, c.Blocks, c.Activation, c.Kernel3x3, in, flow.Format)
}

func describeEncoders(enc *Encoders) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: the encoders f1 and f2 with their heads, trained by the stage %s; format %s.\n", rundir.EncodersFile, enc.Views.Stage, EncodersFormat)
	for i, info := range enc.Info {
		fmt.Fprintf(&b, "  f%d: %s of width %d on %d channels, %d features, embedding %d (head hidden %d)\n",
			i+1, info.Arch, info.Width, info.InChannels, info.FeatureDim, info.EmbedDim, info.HeadHidden)
	}
	v := enc.Views
	from := "g(x)"
	if !v.Generator {
		from = "the image in " + v.Space
	}
	fmt.Fprintf(&b, "  views of %d×%d pixels: v1 = channels %v of %s, v2 = channels %v (views.spec %q)\n", v.Size, v.Size, v.V1, from, v.V2, v.Spec)
	if v.Paired {
		b.WriteString("  v1 and v2 are the two frames of the paired data set, not channels of one image\n")
	}
	return b.String()
}

// copyFileAtomic copies src to dst through the atomic writer.
func copyFileAtomic(dst, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return rundir.WriteFileAtomic(dst, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	})
}
