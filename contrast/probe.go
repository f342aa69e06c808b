package contrast

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/nn"
)

// ProbeConfig configures the linear probe.
type ProbeConfig struct {
	Epochs      int     // default 100
	BatchSize   int     // default 256
	LR          float64 // Adam learning rate; default 1e-3 as in the paper
	WeightDecay float64 // L2 on the weights; default 0
	Seed        uint64
}

// ProbeResult is a trained probe's accuracy.
type ProbeResult struct {
	TrainAcc, TestAcc float64
	Loss              float64 // final training cross-entropy
}

// LinearProbe trains a multinomial logistic regression on frozen features
// (standardised with the training set's mean and standard deviation) with
// Adam and returns top-1 accuracies. Features are row vectors of equal
// length; labels are in [0, classes).
func LinearProbe(trainX [][]float64, trainY []int, testX [][]float64, testY []int, classes int, cfg ProbeConfig) (ProbeResult, error) {
	if err := checkXY("train", trainX, trainY, classes); err != nil {
		return ProbeResult{}, err
	}
	if err := checkXY("test", testX, testY, classes); err != nil {
		return ProbeResult{}, err
	}
	d := len(trainX[0])
	if len(testX) > 0 && len(testX[0]) != d {
		return ProbeResult{}, fmt.Errorf("contrast: probe: test features have %d dims, train %d", len(testX[0]), d)
	}
	if cfg.Epochs == 0 {
		cfg.Epochs = 100
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 256
	}
	if cfg.LR == 0 {
		cfg.LR = 1e-3
	}
	mean, std := standardiser(trainX)
	xs := standardise(trainX, mean, std)
	w := nn.NewParam("probe.weight", tensor.Float64, d, classes)
	b := nn.NewParam("probe.bias", tensor.Float64, classes)
	opt, err := nn.NewAdam(nn.AdamConfig{LR: cfg.LR}, nn.Group{Params: nn.Params{w}, WeightDecay: cfg.WeightDecay}, nn.Group{Params: nn.Params{b}})
	if err != nil {
		return ProbeResult{}, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b9))
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	wv, bv := w.Value.Data().([]float64), b.Value.Data().([]float64)
	wg, bg := w.Grad.Data().([]float64), b.Grad.Data().([]float64)
	logits := make([]float64, classes)
	var loss float64
	for ep := 0; ep < cfg.Epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		loss = 0
		for start := 0; start < len(order); start += cfg.BatchSize {
			end := min(start+cfg.BatchSize, len(order))
			inv := 1 / float64(end-start)
			for _, i := range order[start:end] {
				x := xs[i]
				p := softmax(linear(x, wv, bv, logits))
				loss -= math.Log(math.Max(p[trainY[i]], 1e-300))
				p[trainY[i]] -= 1
				for j, xj := range x {
					row := wg[j*classes : (j+1)*classes]
					for c := range row {
						row[c] += xj * p[c] * inv
					}
				}
				for c := range bg {
					bg[c] += p[c] * inv
				}
			}
			if err := opt.Step(); err != nil {
				return ProbeResult{}, err
			}
		}
		loss /= float64(len(order))
	}
	acc := func(x [][]float64, y []int) float64 {
		if len(x) == 0 {
			return 0
		}
		right := 0
		for i, v := range standardise(x, mean, std) {
			if argmax(linear(v, wv, bv, logits)) == y[i] {
				right++
			}
		}
		return float64(right) / float64(len(x))
	}
	return ProbeResult{TrainAcc: acc(trainX, trainY), TestAcc: acc(testX, testY), Loss: loss}, nil
}

func checkXY(name string, x [][]float64, y []int, classes int) error {
	if len(x) != len(y) {
		return fmt.Errorf("contrast: %s set has %d feature rows and %d labels", name, len(x), len(y))
	}
	if name == "train" && len(x) == 0 {
		return fmt.Errorf("contrast: empty train set")
	}
	if classes < 2 {
		return fmt.Errorf("contrast: %d classes; need at least 2", classes)
	}
	for i, l := range y {
		if l < 0 || l >= classes {
			return fmt.Errorf("contrast: %s label %d at index %d is outside [0, %d)", name, l, i, classes)
		}
		if len(x[i]) != len(x[0]) {
			return fmt.Errorf("contrast: %s feature row %d has %d dims, row 0 has %d", name, i, len(x[i]), len(x[0]))
		}
	}
	return nil
}

func standardiser(x [][]float64) (mean, std []float64) {
	d := len(x[0])
	mean, std = make([]float64, d), make([]float64, d)
	for _, r := range x {
		for j, v := range r {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(len(x))
	}
	for _, r := range x {
		for j, v := range r {
			std[j] += (v - mean[j]) * (v - mean[j])
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(len(x)))
		if std[j] < 1e-8 {
			std[j] = 1
		}
	}
	return mean, std
}

func standardise(x [][]float64, mean, std []float64) [][]float64 {
	out := make([][]float64, len(x))
	for i, r := range x {
		o := make([]float64, len(r))
		for j, v := range r {
			o[j] = (v - mean[j]) / std[j]
		}
		out[i] = o
	}
	return out
}

func linear(x, w, b, out []float64) []float64 {
	c := len(b)
	copy(out, b)
	for j, xj := range x {
		row := w[j*c : (j+1)*c]
		for k := range out {
			out[k] += xj * row[k]
		}
	}
	return out
}

func softmax(z []float64) []float64 {
	m := z[0]
	for _, v := range z {
		m = math.Max(m, v)
	}
	var s float64
	for i, v := range z {
		z[i] = math.Exp(v - m)
		s += z[i]
	}
	for i := range z {
		z[i] /= s
	}
	return z
}

func argmax(z []float64) int {
	best := 0
	for i, v := range z {
		if v > z[best] {
			best = i
		}
	}
	return best
}
