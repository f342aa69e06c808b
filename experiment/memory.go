package experiment

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/nn"
)

// Memory is an estimate of a run's peak resident memory, in bytes, and
// what it is made of.
type Memory struct {
	Total int64
	// Data is what the data set holds in memory; Stage1, Stage2 and Eval
	// the networks, optimiser states and training programs of each stage
	// (only one stage's are alive at a time).
	Data, Stage1, Stage2, Eval int64
	// Largest names the stage that peaks and the settings that drive it.
	Largest string
}

// Bytes per parameter: its value and gradient (float32), Adam's two
// moments (float64) and the NaN guard's copy (float32).
const bytesPerParam = 4 + 4 + 8 + 8 + 4

// activationCopies is how many float32 copies of each layer's output a
// training program holds: the value, its gradient, the workspaces of the
// fused ops and what gorgonia's tape keeps besides; fitted to the peak
// resident memory of the quick and Table 5 profiles (docs/BENCHMARKS.md,
// "Memory"), so that the estimate errs high.
const activationCopies = 10

// runtimeBytes is the program, the Go runtime and the plots.
const runtimeBytes = 200 << 20

// EstimateMemory estimates the peak memory of a run of c from the sizes of
// its networks (contrast.Encoders' Size), batches and data set. It errs
// high: a run that the estimate says fits does.
func EstimateMemory(c config.Config) (Memory, error) {
	var m Memory
	size := c.Data.Size
	split, err := viewSplit(c)
	if err != nil {
		return m, err
	}
	enc, err := contrast.Encoders.Lookup(c.Encoder.Arch)
	if err != nil {
		return m, err
	}
	c1, c2 := len(split.V1), len(split.V2)
	if c.Data.Name == "cmnist" {
		c1, c2 = 3*c.Data.Frames, 3
	}
	mc := func(in int) contrast.ModelConfig {
		return contrast.ModelConfig{Arch: c.Encoder.Arch, InChannels: in, Width: c.Encoder.Width, EmbedDim: c.Encoder.EmbedDim}
	}
	s1, s2 := enc.Size(mc(c1), size, size), enc.Size(mc(c2), size, size)
	estParams := s1.Params + s2.Params
	perSample := s1.Activations + s2.Activations
	training := func(batch int, programs int64) int64 {
		return programs * int64(batch) * perSample * 4 * activationCopies
	}
	kind, err := games.Kinds.Lookup(c.Game.Kind)
	if err != nil {
		return m, err
	}
	learnsViews := kind.Generator && c.Generator.Kind != config.NoGenerator
	images := int64(c.Game.Batch) * 3 * int64(size*size) * 4
	if learnsViews {
		// The estimator's program and the generator's (through the same
		// encoders), with the generator's input batches.
		m.Stage1 = estParams*bytesPerParam + training(c.Game.Batch, 2) + 8*images
		if kind.Heads {
			arch, width := c.Game.HeadArch, c.Game.HeadWidth
			if arch == "" {
				arch = c.Encoder.Arch
			}
			if width == 0 {
				width = c.Encoder.Width
			}
			head, err := contrast.Encoders.Lookup(arch)
			if err != nil {
				return m, err
			}
			h1 := head.Size(contrast.ModelConfig{Arch: arch, InChannels: c1, Width: width}, size, size)
			h2 := head.Size(contrast.ModelConfig{Arch: arch, InChannels: c2, Width: width}, size, size)
			m.Stage1 += (h1.Params+h2.Params)*bytesPerParam + int64(c.Game.LabelledBatch)*(h1.Activations+h2.Activations)*4*activationCopies
		}
		if c.Critic.Bound == contrast.MemoryBankBound {
			m.Stage1 += 2 * int64(c.Data.Train) * int64(c.Encoder.EmbedDim) * 4
		}
		if c.Stage2.Enabled {
			m.Stage2 = estParams*bytesPerParam + training(c.Stage2.Batch, 1) + 4*images
		}
	} else {
		m.Stage1 = estParams*bytesPerParam + training(c.Game.Batch, 1) + 4*images
	}
	// Evaluation: the feature extractors' batch and the features of the
	// probe's images, as float64.
	feat := int64(c.Encoder.Width) * 8 * 2
	m.Eval = estParams*4 + int64(evalBatch)*perSample*4*2 + int64(c.Eval.TrainImages+c.Eval.TestImages)*feat*8*2
	ds, err := DataSets.Lookup(c.Data.Name)
	if err != nil {
		return m, err
	}
	if ds.Bytes != nil {
		m.Data = ds.Bytes(c)
	}
	stage, peak := "view learning", m.Stage1
	if m.Stage2 > peak {
		stage, peak = "stage 2", m.Stage2
	}
	if m.Eval > peak {
		stage, peak = "evaluation", m.Eval
	}
	m.Largest = stage
	m.Total = runtimeBytes + m.Data + peak
	return m, nil
}

// String says the estimate in GiB with its parts.
func (m Memory) String() string {
	return fmt.Sprintf("about %s (data %s, %s %s)", gib(m.Total), gib(m.Data), m.Largest, gib(max(m.Stage1, m.Stage2, m.Eval)))
}

func gib(b int64) string {
	if b < 1<<30 {
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}

// checkMemory stops a run that would not fit in the machine's memory, with
// what to lower.
func checkMemory(c config.Config) error {
	m, err := EstimateMemory(c)
	if err != nil {
		return err
	}
	have := physicalMemory()
	if have == 0 || m.Total <= have {
		return nil
	}
	lower := "game.batch, data.size or encoder.width"
	if m.Data > have/2 {
		lower = "data.train (fewer training images) or data.size"
	}
	return &config.ValueError{Key: "memory", Value: gib(m.Total),
		Allowed: fmt.Sprintf("the run needs %s but the machine has %s: lower %s", m, gib(have), lower)}
}

// physicalMemory returns the machine's memory in bytes (0 when unknown).
func physicalMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// EstimateIteration estimates the seconds of one iteration of the run's
// first training stage on this machine: the multiply-adds of its encoders'
// forward and backward passes (contrast.EncoderSpec.Size) over the speed
// of a matrix product measured here, at the share of it that the
// convolutions reach (docs/BENCHMARKS.md).
func EstimateIteration(c config.Config) (float64, error) {
	split, err := viewSplit(c)
	if err != nil {
		return 0, err
	}
	enc, err := contrast.Encoders.Lookup(c.Encoder.Arch)
	if err != nil {
		return 0, err
	}
	c1, c2 := len(split.V1), len(split.V2)
	if c.Data.Name == "cmnist" {
		c1, c2 = 3*c.Data.Frames, 3
	}
	mc := func(in int) contrast.ModelConfig {
		return contrast.ModelConfig{Arch: c.Encoder.Arch, InChannels: in, Width: c.Encoder.Width}
	}
	macs := enc.Size(mc(c1), c.Data.Size, c.Data.Size).MACs + enc.Size(mc(c2), c.Data.Size, c.Data.Size).MACs
	kind, err := games.Kinds.Lookup(c.Game.Kind)
	if err != nil {
		return 0, err
	}
	// A step is a forward and a backward pass, about three forwards; the
	// generator's step runs the encoders again for its input gradients.
	passes := 3.0
	if kind.Generator && c.Generator.Kind != config.NoGenerator {
		passes += 3
	}
	flops := 2 * float64(macs) * float64(c.Game.Batch) * passes * float64(c.Game.EstimatorSteps)
	return flops / (convEfficiency * measuredFlops()), nil
}

// convEfficiency is the share of a matrix product's speed that a training
// step's convolutions, normalisations and optimiser reach, fitted to the
// measured steps of docs/BENCHMARKS.md.
const convEfficiency = 0.35

// measuredFlops times float32 matrix products of 256×256 by 256×256 for a
// few tens of milliseconds and returns their speed in FLOP/s.
func measuredFlops() float64 {
	const n = 256
	a, b, out := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%7)/7, float32(i%5)/5
	}
	nn.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, out, n) // warm up
	start := time.Now()
	runs := 0
	for time.Since(start) < 30*time.Millisecond {
		nn.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, out, n)
		runs++
	}
	return 2 * n * n * n * float64(runs) / time.Since(start).Seconds()
}
