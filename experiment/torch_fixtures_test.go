package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/flow"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/viewgen"
)

// The PyTorch loader (python/learnviews_torch) is checked against the Go
// code on the files this test writes: generators, encoders, colour
// conversions and a small real run, each with what Go computes of a fixed
// batch. scripts/torch-check.sh runs it with -torch.fixtures DIR, then
// python/tests/test_equality.py on DIR.
var torchFixtures = flag.String("torch.fixtures", "", "folder for the PyTorch equality fixtures (default: a temporary folder)")

// fixtureManifest lists what the fixture folder holds (manifest.json).
type fixtureManifest struct {
	Generators []fixtureCase `json:"generators"`
	Encoders   []fixtureCase `json:"encoders"`
	Colors     string        `json:"colors"`
	Run        *fixtureRun   `json:"run,omitempty"`
}

// fixtureCase is a saved model and the Go outputs of it.
type fixtureCase struct {
	Name    string `json:"name"`
	File    string `json:"file"`
	Outputs string `json:"outputs"`
}

type fixtureRun struct {
	Export  string `json:"export"`
	Outputs string `json:"outputs"`
}

func TestWriteTorchFixtures(t *testing.T) {
	dir := *torchFixtures
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	var m fixtureManifest
	m.Generators = writeGeneratorFixtures(t, dir)
	m.Colors = writeColorFixture(t, dir)
	m.Encoders = writeEncoderFixtures(t, dir)
	if testing.Short() {
		t.Log("-short: no run fixture")
	} else {
		m.Run = writeRunFixture(t, dir)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644))
}

// f32 wraps values as a float32 tensor of the given shape.
func f32(v []float32, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}

func f64(v []float64, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}

// rgbBatch returns n RGB images of h×w in [0, 1]: the first pixels are the
// corners of the RGB cube and greys (hue undefined), the rest uniform draws.
func rgbBatch(rng *rand.Rand, n, h, w int) []float32 {
	special := [][3]float32{{0, 0, 0}, {1, 1, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {0, 1, 1}, {1, 0, 1},
		{0.5, 0.5, 0.5}, {0.03, 0.03, 0.03}, {0.2, 0.2, 0.9}, {0.9, 0.2, 0.2}, {0.002, 0.5, 0.999}}
	x := make([]float32, n*3*h*w)
	hw := h * w
	for i := range n {
		for p := range hw {
			for c := range 3 {
				v := rng.Float32()
				if i == 0 && p < len(special) {
					v = special[p][c]
				}
				x[(i*3+c)*hw+p] = v
			}
		}
	}
	return x
}

func normalBatch(rng *rand.Rand, size int, std float64) []float32 {
	x := make([]float32, size)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * std)
	}
	return x
}

// perturb adds N(0, std²) noise to every learnable parameter: trained-like
// values rather than the initial ones, off the triangles that the mixes
// mask, and non-zero in the layers that start at zero.
func perturb(ps nn.Params, rng *rand.Rand, std float64) {
	for _, p := range ps.Learnable() {
		v := p.Float64s()
		for i := range v {
			v[i] += rng.NormFloat64() * std
		}
		if err := p.SetFloat64s(v); err != nil {
			panic(err)
		}
	}
}

func writeGeneratorFixtures(t *testing.T, dir string) []fixtureCase {
	type genCase struct {
		name  string
		cfg   flow.Config
		space string // "" leaves the input unset (raw RGB)
		std   bool   // standardised input
	}
	cases := []genCase{
		{"revnet-vp-relu-lab", flow.Config{}, "lab", true},
		{"revnet-nvp-first3x3-ydbdr", flow.Config{Kind: flow.NVP, Kernel3x3: "first"}, "ydbdr", true},
		{"rotate-vp-leaky-last3x3-hsv", flow.Config{Coupling: flow.Rotate, Hidden: 8, Kernel3x3: "last"}, "hsv", true},
		{"rotate-nvp-relu-ycbcr", flow.Config{Kind: flow.NVP, Coupling: flow.Rotate, Blocks: 5, Hidden: 6, Activation: flow.ReLU, LogScaleBound: 0.5}, "ycbcr", true},
		{"revnet-vp-leaky-yiq-raw", flow.Config{Blocks: 3, Hidden: 4, Activation: flow.Leaky}, "yiq", false},
		{"revnet-nvp-rgb-unset", flow.Config{Kind: flow.NVP, Blocks: 2}, "", false},
	}
	rng := rand.New(rand.NewPCG(2026, 1))
	const n, h, w = 3, 7, 9
	var out []fixtureCase
	for ci, tc := range cases {
		g, err := flow.New("g", tensor.Float32, tc.cfg, rand.New(rand.NewPCG(uint64(ci), 5)))
		require.NoError(t, err, tc.name)
		perturb(g.Params(), rng, 0.25)
		rgb := rgbBatch(rng, n, h, w)
		if tc.space != "" {
			in := flow.Input{Space: tc.space, Std: [3]float64{1, 1, 1}}
			if tc.std {
				space, err := viewgen.ParseColorSpace(tc.space)
				require.NoError(t, err)
				st, err := viewgen.ComputeStats(space, []chw.Image{{C: 3, H: h, W: w, Pix: rgb[:3*h*w]}})
				require.NoError(t, err)
				in = flow.InputOf(st)
			}
			require.NoError(t, g.SetInput(in))
		}
		out = append(out, writeGeneratorCase(t, dir, tc.name, g, rng, rgb, n, h, w, g.Save))
	}
	// A file of format 1, as written before the coupling, the activation
	// and the input were recorded: a Rotate flow with LeakyReLU of raw RGB.
	old, err := flow.New("g", tensor.Float32, flow.Config{Coupling: flow.Rotate, Activation: flow.Leaky, Blocks: 3, Hidden: 5}, rand.New(rand.NewPCG(99, 5)))
	require.NoError(t, err)
	perturb(old.Params(), rng, 0.25)
	saveV1 := func(path string) error {
		return old.Params().Save(path, map[string]string{flow.MetaConfig: `{"kind":"vp","blocks":3,"hidden":5,"kernel3x3":"none","identity":false}`,
			flow.MetaName: "g", flow.MetaDtype: "float32"})
	}
	out = append(out, writeGeneratorCase(t, dir, "format1-rotate-vp", old, rng, rgbBatch(rng, n, h, w), n, h, w, saveV1))
	return out
}

// writeGeneratorCase saves g with save and writes what Go computes of fixed
// batches: g(x) with its log-determinant and g⁻¹(g(x)) for x in the input
// space, and g of RGB images through the file's input (as reloaded).
func writeGeneratorCase(t *testing.T, dir, name string, g *flow.Flow, rng *rand.Rand, rgb []float32, n, h, w int, save func(string) error) fixtureCase {
	file := "gen-" + name + ".safetensors"
	path := filepath.Join(dir, file)
	require.NoError(t, save(path), name)
	loaded, err := flow.Load(path)
	require.NoError(t, err, name)
	x := normalBatch(rng, n*3*h*w, 1)
	y, ld, err := loaded.ApplyLogDet(x, n, h, w)
	require.NoError(t, err)
	inv, err := loaded.Inverse(y, n, h, w)
	require.NoError(t, err)
	var worst float64
	for i := range x {
		worst = math.Max(worst, math.Abs(float64(inv[i]-x[i])))
	}
	// In float32 the rounding of g(x) is amplified by g⁻¹'s Jacobian: a
	// sanity bound only (the flow package tests the inverse).
	t.Logf("%s: max |g(x)| %.3g, Go's float32 round trip %.2g", name, maxAbs(y), worst)
	require.Less(t, worst, 1e-3, "%s: Go's own round trip", name)
	hw := h * w
	var viaRGB []float32
	for i := range n {
		out, err := loaded.ApplyRGB(chw.Image{C: 3, H: h, W: w, Pix: rgb[i*3*hw : (i+1)*3*hw]})
		require.NoError(t, err)
		viaRGB = append(viaRGB, out.Pix...)
	}
	outputs := "gen-" + name + ".go.safetensors"
	require.NoError(t, nn.SaveSafetensors(filepath.Join(dir, outputs), []nn.NamedTensor{
		{Name: "x", Tensor: f32(x, n, 3, h, w)},
		{Name: "y", Tensor: f32(y, n, 3, h, w)},
		{Name: "logdet", Tensor: f64(ld, n, h, w)},
		{Name: "inverse", Tensor: f32(inv, n, 3, h, w)},
		{Name: "rgb", Tensor: f32(rgb, n, 3, h, w)},
		{Name: "rgb.y", Tensor: f32(viaRGB, n, 3, h, w)},
	}, nil))
	return fixtureCase{Name: name, File: file, Outputs: outputs}
}

// writeColorFixture writes an RGB image and, for every colour space, its
// conversion and the conversion back.
func writeColorFixture(t *testing.T, dir string) string {
	rng := rand.New(rand.NewPCG(2026, 2))
	const h, w = 12, 12
	img := chw.Image{C: 3, H: h, W: w, Pix: rgbBatch(rng, 1, h, w)}
	ts := []nn.NamedTensor{{Name: "input", Tensor: f32(img.Clone().Pix, 3, h, w)}}
	for _, cs := range viewgen.Spaces() {
		v, err := cs.Convert(img)
		require.NoError(t, err, cs.String())
		back, err := cs.Invert(v)
		require.NoError(t, err, cs.String())
		ts = append(ts, nn.NamedTensor{Name: cs.String(), Tensor: f32(v.Pix, 3, h, w)},
			nn.NamedTensor{Name: cs.String() + ".inverse", Tensor: f32(back.Pix, 3, h, w)})
	}
	const file = "colors.go.safetensors"
	require.NoError(t, nn.SaveSafetensors(filepath.Join(dir, file), ts, nil))
	return file
}

// perturbBatchNorms gives every batch norm trained-like statistics and
// affine parameters, so that eval mode differs from the identity and its
// ε matters.
func perturbBatchNorms(ps nn.Params, rng *rand.Rand) {
	for _, p := range ps {
		v := p.Float64s()
		for i := range v {
			switch {
			case strings.HasSuffix(p.Name, ".running_mean"):
				v[i] = rng.NormFloat64() * 0.2
			case strings.HasSuffix(p.Name, ".running_var"):
				// From 1e-3 to 2, log-uniform: at the small ones, ε
				// weighs.
				v[i] = 1e-3 * math.Exp(rng.Float64()*math.Log(2000))
			case strings.Contains(p.Name, "bn") && strings.HasSuffix(p.Name, ".weight"):
				v[i] = 0.5 + rng.Float64()
			case strings.Contains(p.Name, "bn") && strings.HasSuffix(p.Name, ".bias"):
				v[i] = rng.NormFloat64() * 0.2
			default:
				continue
			}
		}
		if err := p.SetFloat64s(v); err != nil {
			panic(err)
		}
	}
}

// embeddings returns the normalised head outputs of m on the n views v
// (c×size×size each), computed in an Eval graph.
func embeddings(t *testing.T, m *contrast.Model, v []float32, n, c, size int) []float32 {
	g := nn.NewGraph(tensor.Float32, nn.Eval, 0)
	in := g.Input("v", n, c, size, size)
	_, z := m.Embed(g, in.Node())
	out := g.Watch(z)
	prog, err := g.Compile(nil)
	require.NoError(t, err)
	defer prog.Close()
	require.NoError(t, in.Set(v))
	require.NoError(t, prog.Run())
	vals := out.Values()
	res := make([]float32, len(vals))
	for i, x := range vals {
		res[i] = float32(x)
	}
	return res
}

// features returns enc's features of the n views v as the evaluation
// computes them (contrast.Extractor).
func features(t *testing.T, enc contrast.Encoder, v []float32, n, c, size int) []float32 {
	ex, err := contrast.NewExtractor(enc, tensor.Float32, n, c, size, size)
	require.NoError(t, err)
	defer ex.Close()
	rows, err := ex.Features(v)
	require.NoError(t, err)
	var out []float32
	for _, r := range rows {
		for _, x := range r {
			out = append(out, float32(x))
		}
	}
	return out
}

func writeEncoderFixtures(t *testing.T, dir string) []fixtureCase {
	cases := []struct {
		name string
		cfg  contrast.ModelConfig
		size int
	}{
		{"convnet", contrast.ModelConfig{Arch: "convnet", Width: 4, EmbedDim: 16}, 12},
		{"convnet-tiny-mlp-head", contrast.ModelConfig{Arch: "convnet", Width: 3, EmbedDim: 8, HeadHidden: 10}, 6},
		{"resnet10", contrast.ModelConfig{Arch: "resnet10", Width: 4, EmbedDim: 16, HeadHidden: 8}, 12},
		{"resnet18", contrast.ModelConfig{Arch: "resnet18", Width: 4, EmbedDim: 12}, 16},
	}
	rng := rand.New(rand.NewPCG(2026, 3))
	const n = 5
	var out []fixtureCase
	for ci, tc := range cases {
		c1, c2 := tc.cfg, tc.cfg
		c1.InChannels, c2.InChannels = 1, 2
		f1, err := contrast.NewModel("f1", tensor.Float32, c1, rand.New(rand.NewPCG(uint64(ci), 6)))
		require.NoError(t, err)
		f2, err := contrast.NewModel("f2", tensor.Float32, c2, rand.New(rand.NewPCG(uint64(ci), 7)))
		require.NoError(t, err)
		perturbBatchNorms(f1.Params(), rng)
		perturbBatchNorms(f2.Params(), rng)
		file := "enc-" + tc.name + ".safetensors"
		path := filepath.Join(dir, file)
		views := EncoderViews{Stage: "fixture", Space: "rgb", V1: []int{0}, V2: []int{1, 2}, Size: tc.size, Spec: "rgb:0|1,2"}
		require.NoError(t, SaveEncoders(path, f1, f2, c1, c2, views))
		// The file rebuilds models that compute what the originals do.
		loaded, err := LoadEncoders(path)
		require.NoError(t, err)
		assert.Equal(t, views, loaded.Views)
		s := tc.size
		v1, v2 := normalBatch(rng, n*s*s, 1), normalBatch(rng, n*2*s*s, 1)
		feat1, feat2 := features(t, f1.Encoder, v1, n, 1, s), features(t, f2.Encoder, v2, n, 2, s)
		assert.Equal(t, feat1, features(t, loaded.F1.Encoder, v1, n, 1, s), tc.name)
		assert.Equal(t, feat2, features(t, loaded.F2.Encoder, v2, n, 2, s), tc.name)
		outputs := "enc-" + tc.name + ".go.safetensors"
		d1, d2 := f1.Encoder.FeatureDim(), f2.Encoder.FeatureDim()
		require.NoError(t, nn.SaveSafetensors(filepath.Join(dir, outputs), []nn.NamedTensor{
			{Name: "v1", Tensor: f32(v1, n, 1, s, s)},
			{Name: "v2", Tensor: f32(v2, n, 2, s, s)},
			{Name: "f1.features", Tensor: f32(feat1, n, d1)},
			{Name: "f2.features", Tensor: f32(feat2, n, d2)},
			{Name: "f1.embed", Tensor: f32(embeddings(t, f1, v1, n, 1, s), n, f1.Head.Dim())},
			{Name: "f2.embed", Tensor: f32(embeddings(t, f2, v2, n, 2, s), n, f2.Head.Dim())},
		}, nil))
		out = append(out, fixtureCase{Name: tc.name, File: file, Outputs: outputs})
	}
	return out
}

// writeRunFixture runs a tiny experiment, exports it and writes the
// features that its evaluation computes of a few test images.
func writeRunFixture(t *testing.T, dir string) *fixtureRun {
	cfg := tinyRunConfig(t)
	runDir := filepath.Join(t.TempDir(), "run")
	_, err := Run(context.Background(), cfg, runDir, Options{})
	require.NoError(t, err)
	export := filepath.Join(dir, "export")
	wrote, err := Export(runDir, export)
	require.NoError(t, err)
	assert.Len(t, wrote, 3)
	for _, f := range []string{rundir.GeneratorFile, rundir.EncodersFile} {
		a, err := os.ReadFile(filepath.Join(runDir, f))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(export, f))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(a, b), "%s is copied as it is", f)
	}

	// The exported encoders are stage 2's final f1 and f2: the parameters
	// of its last checkpoint.
	ck, err := rundir.ReadCheckpoint(runDir, rundir.StageStage2)
	require.NoError(t, err)
	ckTensors, _, _, err := nn.LoadSafetensors(filepath.Join(rundir.CheckpointDir(runDir, rundir.StageStage2), ck.Dir, "params.safetensors"))
	require.NoError(t, err)
	encTensors, _, meta, err := nn.LoadSafetensors(filepath.Join(export, rundir.EncodersFile))
	require.NoError(t, err)
	assert.Equal(t, EncodersFormat, meta[MetaEncodersFormat])
	for name, tt := range encTensors {
		ckt, ok := ckTensors[name]
		if assert.True(t, ok, "checkpoint lacks %s", name) {
			assert.Equal(t, nn.Float64s(ckt), nn.Float64s(tt), name)
		}
	}
	for name := range ckTensors {
		if strings.HasPrefix(name, "f1.") || strings.HasPrefix(name, "f2.") {
			assert.Contains(t, encTensors, name)
		}
	}

	// What the run's evaluation computes of the first test images, through
	// its own feature extractor, from the exported files.
	g, err := flow.Load(filepath.Join(export, rundir.GeneratorFile))
	require.NoError(t, err)
	in, ok := g.Input()
	require.True(t, ok, "the generator records its input")
	assert.Equal(t, "lab", in.Space)
	st, err := in.Stats()
	require.NoError(t, err)
	enc, err := LoadEncoders(filepath.Join(export, rundir.EncodersFile))
	require.NoError(t, err)
	assert.Equal(t, EncoderViews{Stage: rundir.StageStage2, Generator: true, V1: []int{0}, V2: []int{1, 2}, Size: 16, Spec: "rgb:0|1,2"}, enc.Views)
	data, err := OpenData(cfg)
	require.NoError(t, err)
	const n = 12
	test, err := datasets.NewSubset(data.Test, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	require.NoError(t, err)
	e := &Experiment{cfg: cfg, dt: tensor.Float32, data: data, views: viewgen.Spec{Split: viewgen.DefaultSplit()}, gen: g,
		prep: inputPrep{space: st.Space, stats: &st}}
	fx, err := newFeatureExtractor(e, &contrast.Estimator{F1: enc.F1, F2: enc.F2}, g, e.views)
	require.NoError(t, err)
	defer fx.close()
	feats, _, _, err := fx.features(context.Background(), test)
	require.NoError(t, err)
	require.Len(t, feats, n)
	var flat []float64
	for _, r := range feats {
		flat = append(flat, r...)
	}
	shape := test.Shape()
	rgb := make([]float32, n*shape.Size())
	for i := range n {
		test.Image(i, rgb[i*shape.Size():(i+1)*shape.Size()])
	}
	const outputs = "run.go.safetensors"
	require.NoError(t, nn.SaveSafetensors(filepath.Join(dir, outputs), []nn.NamedTensor{
		{Name: "rgb", Tensor: f32(rgb, n, shape.C, shape.H, shape.W)},
		{Name: "features", Tensor: f64(flat, n, len(feats[0]))},
	}, nil))
	return &fixtureRun{Export: "export", Outputs: outputs}
}

func maxAbs(v []float32) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}
