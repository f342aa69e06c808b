package experiment

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/games"
)

// Memory is an estimate of the memory a run needs at its peak, in bytes,
// and what it is made of: the live heap and the arenas of its programs.
// The process's resident memory may reach up to twice as much where the
// machine has room, since Go's garbage collector lets the heap grow to
// twice what is live before it collects; learnviews sets a soft memory
// limit of 90% of the machine's memory (GOMEMLIMIT), near which it
// collects harder instead.
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

// The memory of a training program, in float32 copies of every layer's
// output for each image of its batch. A stage's programs run one after
// the other on one arena, which holds the values and gradients alive at
// the same time (0.64-0.69 of one copy for the ResNet steps and the game of
// docs/BENCHMARKS.md, "Scale"); the ops' workspaces, the values gorgonia
// keeps outside the arena and the batches in flight make up the rest.
const (
	trainingCopies = 1.0
	// A feature extractor's program only runs forward: its arena holds a
	// few layers' outputs (0.11 of one copy for a ResNet-18 at batch 100).
	evalCopies = 0.25
)

// runtimeBytes is the program, the Go runtime and the plots.
const runtimeBytes = 250 << 20

// encoderChannels returns the input channels of f1 and f2 under c: the
// view split's, or on Colorful-Moving-MNIST those of the frame sequence and
// of one frame.
func encoderChannels(c config.Config) (c1, c2 int, err error) {
	split, err := viewSplit(c)
	if err != nil {
		return 0, 0, err
	}
	if c.Data.Name == "cmnist" {
		return 3 * c.Data.Frames, 3, nil
	}
	return len(split.V1), len(split.V2), nil
}

// EstimateMemory estimates the peak memory a run of c needs from the sizes
// of its networks (contrast.Encoders' Size), batches and data set. It errs
// high: a run that the estimate says fits does.
func EstimateMemory(c config.Config) (Memory, error) {
	var m Memory
	size := c.Data.Size
	c1, c2, err := encoderChannels(c)
	if err != nil {
		return m, err
	}
	enc, err := contrast.Encoders.Lookup(c.Encoder.Arch)
	if err != nil {
		return m, err
	}
	s1, s2 := enc.Size(modelConfig(c, c1), size, size), enc.Size(modelConfig(c, c2), size, size)
	estParams := s1.Params + s2.Params
	perSample := s1.Activations + s2.Activations
	activations := func(images int, perImage int64, copies float64) int64 {
		return int64(copies * float64(int64(images)*perImage*4))
	}
	kind, err := games.Kinds.Lookup(c.Game.Kind)
	if err != nil {
		return m, err
	}
	learnsViews := kind.Generator && c.Generator.Kind != config.NoGenerator
	images := int64(c.Game.Batch) * 3 * int64(size*size) * 4
	if learnsViews {
		// The estimator's program and the generator's (through the same
		// encoders, and the heads' on the labelled batch), on one arena,
		// with the generator's input batches.
		m.Stage1 = estParams*bytesPerParam + 8*images
		var headParams, headPerSample int64
		if kind.Heads {
			arch, width := headArch(c)
			head, err := contrast.Encoders.Lookup(arch)
			if err != nil {
				return m, err
			}
			h1 := head.Size(contrast.ModelConfig{Arch: arch, InChannels: c1, Width: width}, size, size)
			h2 := head.Size(contrast.ModelConfig{Arch: arch, InChannels: c2, Width: width}, size, size)
			headParams, headPerSample = h1.Params+h2.Params, h1.Activations+h2.Activations
		}
		m.Stage1 += headParams*bytesPerParam + activations(c.Game.Batch, perSample, trainingCopies) +
			activations(c.Game.LabelledBatch, headPerSample, trainingCopies)
		if c.Critic.Bound == contrast.MemoryBankBound {
			m.Stage1 += 2 * int64(c.Data.Train) * int64(c.Encoder.EmbedDim) * 4
		}
		if c.Stage2.Enabled {
			m.Stage2 = estParams*bytesPerParam + activations(c.Stage2.Batch, perSample, trainingCopies) + 4*images
		}
	} else {
		m.Stage1 = estParams*bytesPerParam + activations(c.Game.Batch, perSample, trainingCopies) + 4*images
	}
	// Evaluation: the feature extractors' program and the features of the
	// probe's images, as float64.
	feat := int64(c.Encoder.Width) * 8 * 2
	m.Eval = estParams*4 + activations(evalBatch, perSample, evalCopies) + int64(c.Eval.TrainImages+c.Eval.TestImages)*feat*8*2
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
	have := PhysicalMemory() / 10 * 9 // the memory limit learnviews sets
	if have == 0 || m.Total <= have {
		return nil
	}
	lower := "game.batch, data.size or encoder.width"
	if m.Data > have/2 {
		lower = "data.train (fewer training images) or data.size"
	}
	return &config.ValueError{Key: "memory", Value: gib(m.Total),
		Allowed: fmt.Sprintf("the run needs %s but 90%% of the machine's memory is %s: lower %s", m, gib(have), lower)}
}

// PhysicalMemory returns the machine's memory in bytes (0 when unknown).
func PhysicalMemory() int64 {
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
// first training stage on this machine. It times the forward pass of the
// run's two encoders on a few images here (in evaluation mode, on the same
// fused ops as training) and counts an iteration in such passes: a
// training step of the encoders is a forward and a backward pass, about
// three forwards; the generator's step runs them again for its input
// gradients, and the classification heads (scaled from the encoders by
// their multiply-adds) train on the labelled batch. iterationOverhead,
// fitted to measured runs (docs/BENCHMARKS.md), covers the rest: the flow,
// crops, the critic, the optimisers.
func EstimateIteration(c config.Config) (float64, error) {
	c1, c2, err := encoderChannels(c)
	if err != nil {
		return 0, err
	}
	enc, err := contrast.Encoders.Lookup(c.Encoder.Arch)
	if err != nil {
		return 0, err
	}
	kind, err := games.Kinds.Lookup(c.Game.Kind)
	if err != nil {
		return 0, err
	}
	perImage, err := timeForward(c, enc, []int{c1, c2})
	if err != nil {
		return 0, err
	}
	passes := 3 * float64(c.Game.Batch) * float64(max(c.Game.EstimatorSteps, 1))
	if kind.Generator && c.Generator.Kind != config.NoGenerator {
		passes += 3 * float64(c.Game.Batch)
		if kind.Heads {
			arch, width := headArch(c)
			head, err := contrast.Encoders.Lookup(arch)
			if err != nil {
				return 0, err
			}
			var hm, em float64
			for _, ch := range []int{c1, c2} {
				hm += float64(head.Size(contrast.ModelConfig{Arch: arch, InChannels: ch, Width: width}, c.Data.Size, c.Data.Size).MACs)
				em += float64(enc.Size(modelConfig(c, ch), c.Data.Size, c.Data.Size).MACs)
			}
			passes += 3 * float64(c.Game.LabelledBatch) * hm / em
		}
	}
	return iterationOverhead * passes * perImage, nil
}

// iterationOverhead is the ratio of a measured iteration's time to the
// encoders' passes that EstimateIteration counts, fitted on 2 idle Zen 5
// cores: the estimates came out at 1.4, 0.9 and 1.08 times the measured
// iterations of the quick, table-learned-views and stl10-paper profiles
// (docs/BENCHMARKS.md, "Scale").
const iterationOverhead = 1.4

// timeForward returns the seconds that the forward passes of encoders of
// c's architecture on views of each of the given channel counts take per
// image, timed here on a batch of up to 32 images after a warm-up run (the
// fastest of three runs).
func timeForward(c config.Config, enc contrast.EncoderSpec, channels []int) (float64, error) {
	batch := min(c.Game.Batch, 32)
	rng := rand.New(rand.NewPCG(c.Seed, 0))
	var total float64
	for _, ch := range channels {
		f, err := enc.New("time", dtype(c), modelConfig(c, ch), rng)
		if err != nil {
			return 0, err
		}
		ex, err := contrast.NewExtractor(f, dtype(c), batch, ch, c.Data.Size, c.Data.Size)
		if err != nil {
			return 0, err
		}
		images := make([]float32, batch*ch*c.Data.Size*c.Data.Size)
		best := math.Inf(1)
		for run := 0; run < 4; run++ {
			start := time.Now()
			if _, err := ex.Features(images); err != nil {
				ex.Close()
				return 0, err
			}
			if run > 0 {
				best = min(best, time.Since(start).Seconds())
			}
		}
		ex.Close()
		total += best / float64(batch)
	}
	return total, nil
}
