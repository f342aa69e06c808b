// Command gpucheck checks and times the cuda build against the CPU build.
// Built without the cuda tag it runs on the CPU; built with it (see
// scripts/cuda/README.md) gorgonia runs its CUDA ops on GPU 0. The same
// source gives both binaries, and scripts/gpu-check.sh runs them side by
// side on the device:
//
//	gpucheck devices                     the CUDA devices, or why there are none
//	gpucheck dump -out F [flags]         one reference step (forward and backward,
//	                                     no update) on a seeded batch: loss, I_NCE
//	                                     and every gradient, as JSON
//	gpucheck compare A B                 two dumps agree within float32 tolerance?
//	gpucheck bench-ref [flags]           images per second of the reference step
//	gpucheck bench-game [flags]          images per second of the view-learning
//	                                     iteration (estimator step + generator step)
//
// The reference step is contrast.NewReferenceTrainer's: two ConvNet
// encoders on 1- and 2-channel views, symmetric InfoNCE, Adam. -ops picks
// the layer set (nn.Layers): "fused" (the package's CPU ops), "composed"
// (gorgonia's stock ops, which have CUDA kernels where gorgonia has them)
// or "cudnn" (convolution, batch norm, ReLU and pooling as cuDNN ops; cuda
// build only); "auto" is nn.DefaultLayers: cudnn in a cuda build, fused
// otherwise. bench-game takes -ops too.
//
// Every mode prints key=value lines that scripts/gpu-check.sh collects.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"sort"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/experiment"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/rundir"
)

const usage = `usage: gpucheck devices
       gpucheck dump -out FILE [-device D] [-ops O] [-batch N] [-size S] [-seed K]
       gpucheck compare [-loss-tol T] [-grad-tol T] A.json B.json
       gpucheck bench-ref [-device D] [-ops O] [-batch N] [-size S] [-steps N] [-warmup N]
       gpucheck bench-game [-device D] [-ops O] [-batch N] [-size S] [-steps N] [-warmup N]`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch mode, args := os.Args[1], os.Args[2:]; mode {
	case "devices":
		err = listDevices()
	case "dump":
		err = dump(args)
	case "compare":
		err = compare(args)
	case "bench-ref":
		err = benchRef(args)
	case "bench-game":
		err = benchGame(args)
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpucheck:", err)
		os.Exit(1)
	}
}

func listDevices() error {
	modules, kernels := nn.CUDAKernels()
	fmt.Printf("cuda_build=%v cuda_modules=%d cuda_kernels=%d\n", nn.CUDABuild(), modules, kernels)
	ds, err := nn.Devices()
	if err != nil {
		return err
	}
	for _, d := range ds {
		fmt.Printf("device=%q\n", d)
	}
	return nil
}

// common flags of the modes that run a network
type runFlags struct {
	device, ops string
	batch, size int
	steps, warm int
	maxSeconds  float64
	seed        uint64
	layers      nn.Layers
	selected    string
	out         string
	cpuprofile  string
}

func parseRun(name string, args []string, batch, size, steps int) (*runFlags, error) {
	r := &runFlags{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&r.device, "device", nn.DeviceAuto, "auto, cpu or cuda")
	fs.StringVar(&r.ops, "ops", "auto", "layers: auto, fused, composed or cudnn")
	fs.IntVar(&r.batch, "batch", batch, "batch size")
	fs.IntVar(&r.size, "size", size, "view height and width")
	fs.IntVar(&r.steps, "steps", steps, "timed steps")
	fs.IntVar(&r.warm, "warmup", 2, "untimed steps first")
	fs.Float64Var(&r.maxSeconds, "max-seconds", 0, "stop timing once this many seconds have passed, after at least one timed step (0: no limit)")
	fs.Uint64Var(&r.seed, "seed", 1, "seed of the weights and the batch")
	fs.StringVar(&r.out, "out", "", "output file (dump)")
	fs.StringVar(&r.cpuprofile, "cpuprofile", "", "write a CPU profile of the timed steps to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch r.ops {
	case "auto":
		r.layers = nn.DefaultLayers()
	case "fused", "composed", "cudnn":
		r.layers = nn.Layers(r.ops)
	default:
		return nil, fmt.Errorf("-ops %q: want auto, fused, composed or cudnn", r.ops)
	}
	r.ops = string(r.layers)
	var err error
	if r.selected, err = nn.SelectDevice(r.device); err != nil {
		return nil, err
	}
	return r, nil
}

// refStep is the reference step, compiled so that every gradient is copied
// to the host by the graph itself (nn.Graph.Watch), which works whether the
// gradient was computed on the CPU or on the GPU.
type refStep struct {
	prog   *nn.Program
	v1, v2 *nn.Input
	bound  *contrast.Bound
	params nn.Params
	grads  []*nn.Watched
	opt    nn.Optimizer
	views  func() (v1, v2 []float32)
}

func newRefStep(batch, size int, seed uint64, layers nn.Layers) (*refStep, error) {
	rng := rand.New(rand.NewPCG(seed, 0))
	est, err := contrast.NewEstimator(tensor.Float32, contrast.ReferenceConfig(), rng)
	if err != nil {
		return nil, err
	}
	opt, err := nn.NewAdam(nn.AdamConfig{LR: 2e-4, Beta1: 0.5, Beta2: 0.999}, nn.Group{Params: est.Params()})
	if err != nil {
		return nil, err
	}
	g := nn.NewGraph(tensor.Float32, nn.Train, seed)
	g.UseLayers(layers)
	s := &refStep{opt: opt, params: est.Params().Learnable()}
	s.v1 = g.Input("v1", batch, 1, size, size)
	s.v2 = g.Input("v2", batch, 2, size, size)
	s.bound = est.Build(g, s.v1.Node(), s.v2.Node())
	if err := g.Err(); err != nil {
		return nil, err
	}
	nodes := make(G.Nodes, len(s.params))
	for i, p := range s.params {
		nodes[i] = g.Param(p)
	}
	grads, err := G.Grad(s.bound.Loss, nodes...)
	if err != nil {
		return nil, fmt.Errorf("differentiating the reference step: %w", err)
	}
	for _, gr := range grads {
		s.grads = append(s.grads, g.Watch(gr))
	}
	if s.prog, err = g.Compile(nil); err != nil {
		return nil, err
	}
	// the batches of contrast.NewReferenceTrainer, drawn from the same source
	x1 := make([]float32, batch*size*size)
	x2 := make([]float32, 2*batch*size*size)
	s.views = func() ([]float32, []float32) {
		for i := range x1 {
			x1[i] = rng.Float32()
		}
		for i := range x2 {
			x2[i] = rng.Float32()
		}
		return x1, x2
	}
	return s, nil
}

// run runs one step on views x1 and x2; with update, Adam steps the weights.
func (s *refStep) run(x1, x2 []float32, update bool) error {
	if err := s.v1.Set(x1); err != nil {
		return err
	}
	if err := s.v2.Set(x2); err != nil {
		return err
	}
	if err := s.prog.Run(); err != nil {
		return err
	}
	for i, p := range s.params {
		src, ok := s.grads[i].Tensor().Data().([]float32)
		dst, ok2 := p.Grad.Data().([]float32)
		if !ok || !ok2 || len(src) != len(dst) {
			return fmt.Errorf("gradient of %s: no float32 values of the parameter's size", p.Name)
		}
		copy(dst, src)
	}
	if update {
		return s.opt.Step()
	}
	return nil
}

// Dump is what dump writes and compare reads.
type Dump struct {
	Device string  `json:"device"`
	CUDA   bool    `json:"cuda_build"`
	Ops    string  `json:"ops"`
	Batch  int     `json:"batch"`
	Size   int     `json:"size"`
	Seed   uint64  `json:"seed"`
	Loss   float64 `json:"loss"`
	INCE   float64 `json:"ince"`
	Grads  []Grad  `json:"grads"`
	// Loss2 is the loss of a second step on the same batch after one Adam
	// update: it differs from Loss only if the updated weights reached the
	// device.
	Loss2 float64 `json:"loss2"`
}

// Grad is one parameter's gradient.
type Grad struct {
	Name   string    `json:"name"`
	Shape  []int     `json:"shape"`
	Values []float32 `json:"values"`
}

func dump(args []string) error {
	r, err := parseRun("dump", args, 32, 32, 0)
	if err != nil {
		return err
	}
	if r.out == "" {
		return errors.New("dump: -out is required")
	}
	s, err := newRefStep(r.batch, r.size, r.seed, r.layers)
	if err != nil {
		return err
	}
	defer s.prog.Close()
	x1, x2 := s.views()
	if err := s.run(x1, x2, false); err != nil {
		return err
	}
	d := Dump{Device: r.selected, CUDA: nn.CUDABuild(), Ops: r.ops, Batch: r.batch, Size: r.size, Seed: r.seed,
		Loss: s.bound.LossValue(), INCE: s.bound.Estimate()}
	for _, p := range s.params {
		d.Grads = append(d.Grads, Grad{Name: p.Name, Shape: p.Grad.Shape().Clone(), Values: append([]float32(nil), p.Grad.Data().([]float32)...)})
	}
	if err := s.opt.Step(); err != nil {
		return err
	}
	if err := s.run(x1, x2, false); err != nil {
		return err
	}
	d.Loss2 = s.bound.LossValue()
	f, err := os.Create(r.out)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(f).Encode(d); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("dump device=%s ops=%s batch=%d size=%d loss=%.6f ince=%.6f loss_after_update=%.6f tensors=%d out=%s\n",
		d.Device, d.Ops, d.Batch, d.Size, d.Loss, d.INCE, d.Loss2, len(d.Grads), r.out)
	return nil
}

func readDump(path string) (*Dump, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d Dump
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &d, nil
}

func compare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	lossTol := fs.Float64("loss-tol", 1e-4, "largest relative difference of the loss and of I_NCE")
	gradTol := fs.Float64("grad-tol", 2e-3, "largest relative L2 difference of each gradient, ‖a−b‖/‖b‖")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("compare: want two dump files")
	}
	a, err := readDump(fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := readDump(fs.Arg(1))
	if err != nil {
		return err
	}
	if a.Batch != b.Batch || a.Size != b.Size || a.Seed != b.Seed {
		return fmt.Errorf("compare: different steps (batch %d/%d, size %d/%d, seed %d/%d)", a.Batch, b.Batch, a.Size, b.Size, a.Seed, b.Seed)
	}
	fmt.Printf("compare a=%s/%s b=%s/%s batch=%d size=%d\n", a.Device, a.Ops, b.Device, b.Ops, a.Batch, a.Size)
	ok := true
	scalar := func(name string, x, y, tol float64) {
		rel := math.Abs(x-y) / math.Max(1, math.Abs(y))
		good := rel <= tol
		ok = ok && good
		fmt.Printf("compare %s a=%.7g b=%.7g rel_diff=%.3g ok=%v\n", name, x, y, rel, good)
	}
	scalar("loss", a.Loss, b.Loss, *lossTol)
	scalar("ince", a.INCE, b.INCE, *lossTol)
	// Adam's first step moves each weight by about lr·sign(g): gradients
	// near zero may step either way on the two devices
	scalar("loss_after_update", a.Loss2, b.Loss2, 10**lossTol)
	if a.Loss2 == a.Loss || b.Loss2 == b.Loss {
		ok = false
		fmt.Printf("compare loss_after_update unchanged by the update (a %v, b %v) ok=false\n", a.Loss2 != a.Loss, b.Loss2 != b.Loss)
	}
	if len(a.Grads) != len(b.Grads) {
		return fmt.Errorf("compare: %d gradients against %d", len(a.Grads), len(b.Grads))
	}
	type row struct {
		name        string
		rel, maxAbs float64
	}
	var rows []row
	for i := range a.Grads {
		ga, gb := a.Grads[i], b.Grads[i]
		if ga.Name != gb.Name || len(ga.Values) != len(gb.Values) {
			return fmt.Errorf("compare: gradient %d is %s (%d values) against %s (%d values)", i, ga.Name, len(ga.Values), gb.Name, len(gb.Values))
		}
		var diff, norm, maxAbs float64
		for j := range ga.Values {
			d := float64(ga.Values[j]) - float64(gb.Values[j])
			diff += d * d
			norm += float64(gb.Values[j]) * float64(gb.Values[j])
			maxAbs = math.Max(maxAbs, math.Abs(d))
		}
		rel := math.Sqrt(diff) / math.Max(math.Sqrt(norm), 1e-30)
		if math.IsNaN(rel) {
			rel = math.Inf(1)
		}
		rows = append(rows, row{ga.Name, rel, maxAbs})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].rel > rows[j].rel })
	for _, r := range rows[:min(5, len(rows))] {
		fmt.Printf("compare grad %s rel_l2=%.3g max_abs=%.3g\n", r.name, r.rel, r.maxAbs)
	}
	good := len(rows) == 0 || rows[0].rel <= *gradTol
	ok = ok && good
	worst := 0.0
	if len(rows) > 0 {
		worst = rows[0].rel
	}
	fmt.Printf("compare grads tensors=%d worst_rel_l2=%.3g tol=%g ok=%v\n", len(rows), worst, *gradTol, good)
	if !ok {
		fmt.Println("compare verdict=FAIL")
		return errors.New("the two steps disagree beyond float32 tolerance")
	}
	fmt.Println("compare verdict=pass")
	return nil
}

// enough reports whether a benchmark that started at start and has timed
// the given steps should stop.
func (r *runFlags) enough(start time.Time, timed int) bool {
	return timed >= r.steps || (r.maxSeconds > 0 && timed > 0 && time.Since(start).Seconds() > r.maxSeconds)
}

// profile starts a CPU profile when -cpuprofile was given; the returned
// function stops it.
func (r *runFlags) profile() (stop func(), err error) {
	if r.cpuprofile == "" {
		return func() {}, nil
	}
	f, err := os.Create(r.cpuprofile)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// timings prints one line per timed step and a summary line.
func timings(what string, r *runFlags, times []float64, extra string) {
	sorted := append([]float64(nil), times...)
	sort.Float64s(sorted)
	med := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		med = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	fmt.Printf("%s device=%s ops=%s batch=%d size=%d steps=%d median_s=%.6f min_s=%.6f images_per_second=%.1f%s\n",
		what, r.selected, r.ops, r.batch, r.size, len(times), med, sorted[0], float64(r.batch)/med, extra)
}

func benchRef(args []string) error {
	r, err := parseRun("bench-ref", args, 256, 64, 10)
	if err != nil {
		return err
	}
	s, err := newRefStep(r.batch, r.size, r.seed, r.layers)
	if err != nil {
		return err
	}
	defer s.prog.Close()
	stop, err := r.profile()
	if err != nil {
		return err
	}
	defer stop()
	var times []float64
	begin := time.Now()
	for i := 0; !r.enough(begin, len(times)); i++ {
		x1, x2 := s.views() // drawn outside the timing, as cmd/refstep does
		start := time.Now()
		if err := s.run(x1, x2, true); err != nil {
			return err
		}
		dt := time.Since(start).Seconds()
		if i >= r.warm {
			times = append(times, dt)
			fmt.Printf("step %d %.6f loss=%.4f\n", i-r.warm, dt, s.bound.LossValue())
		}
	}
	if len(times) == 0 {
		return errors.New("bench-ref: no timed steps")
	}
	timings("ref_step", r, times, "")
	return nil
}

// randomFeed feeds a game one batch of uniform random images, drawn once,
// so that drawing does not count in the timing.
type randomFeed struct{ x []float32 }

func newRandomFeed(n int, seed uint64) *randomFeed {
	rng := rand.New(rand.NewPCG(seed, 2))
	f := &randomFeed{x: make([]float32, n)}
	for i := range f.x {
		f.x[i] = rng.Float32()
	}
	return f
}

func (f *randomFeed) Next() ([]float32, []float32, error) { return f.x, nil, nil }

func (f *randomFeed) NextLabelled() ([]float32, []int, error) {
	return nil, nil, errors.New("the benchmark game has no labelled data")
}

func (f *randomFeed) State() (json.RawMessage, error) { return json.RawMessage("{}"), nil }
func (f *randomFeed) Restore(json.RawMessage) error   { return nil }

// benchGame times the reference view-learning iteration
// (experiment.ReferenceConfig): a VP flow generator on 3-channel images
// whose output splits into a 1-channel and a 2-channel view, the reference
// encoders, one estimator step and one generator step per iteration.
func benchGame(args []string) error {
	r, err := parseRun("bench-game", args, 256, 64, 5)
	if err != nil {
		return err
	}
	gm, err := experiment.NewReferenceGame(experiment.ReferenceConfig(r.batch, r.size, r.seed), r.layers)
	if err != nil {
		return err
	}
	defer gm.Close()
	feed := newRandomFeed(r.batch*3*r.size*r.size, r.seed)
	stop, err := r.profile()
	if err != nil {
		return err
	}
	defer stop()
	var times []float64
	var last []rundir.Row
	begin := time.Now()
	for i := 0; !r.enough(begin, len(times)); i++ {
		start := time.Now()
		rows, err := gm.Iterate(feed, i)
		if err != nil {
			return err
		}
		dt := time.Since(start).Seconds()
		last = rows
		if i >= r.warm {
			times = append(times, dt)
			fmt.Printf("iteration %d %.6f\n", i-r.warm, dt)
		}
	}
	if len(times) == 0 {
		return errors.New("bench-game: no timed iterations")
	}
	extra := ""
	for _, row := range last {
		if p, ok := row["player"].(string); ok {
			extra += fmt.Sprintf(" %s_loss=%.4f", p, row["loss"])
		}
	}
	timings("view_iteration", r, times, extra)
	return nil
}
