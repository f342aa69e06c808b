package games

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Generator is a learned view generator: an image-to-image map on
// (N, C, H, W) batches whose output channels the views split.
// viewgen.Flow implements it.
type Generator interface {
	Forward(g *nn.Graph, x *G.Node) *G.Node
	Params() nn.Params
}

// Feed supplies a game's batches and can save and restore its position.
type Feed interface {
	// Next returns the next unlabelled batch. With a generator, x is the
	// generator's input (N, C, H, W) and v2 is nil; in a fixed-view game x
	// and v2 are the two views.
	Next() (x, v2 []float32, err error)
	// NextLabelled returns the next labelled batch for the classifier heads.
	NextLabelled() (x []float32, labels []int, err error)
	State() (json.RawMessage, error)
	Restore(json.RawMessage) error
}

// Kinds of game.
const (
	Contrastive    = "contrastive"
	Unsupervised   = "unsupervised"
	SemiSupervised = "semisupervised"
	Supervised     = "supervised"
)

// Settings shape a game.
type Settings struct {
	Kind           string  // Contrastive, Unsupervised, SemiSupervised or Supervised
	InfoW, ClsW    float64 // weights of I_NCE and of the heads' cross-entropies in the generator's loss
	EstimatorSteps int     // estimator steps per generator step (default 1)
	WarmupSteps    int     // iterations of estimator steps only
	Batch          int     // unlabelled batch
	LabelledBatch  int     // labelled batch (semi-supervised, supervised)
	Classes        int     // classes of the heads
	Channels       int     // channels of the generator's input
	Size           int     // image side
	V1, V2         []int   // channels of g's output that each view keeps
	V1Channels     int     // fixed-view game: channels of v1
	V2Channels     int     // fixed-view game: channels of v2
	Dtype          tensor.Dtype
	Seed           uint64
	// Layers picks the encoders' layer set ("" is nn.DefaultLayers).
	Layers nn.Layers
}

// Heads are the semi-supervised classifier heads c1 on v1 and c2 on v2.
type Heads struct {
	C1, C2 *contrast.ConvNet
}

// NewHeads returns two small ConvNet classifiers.
func NewHeads(dt tensor.Dtype, c1In, c2In, width, classes int, rng *rand.Rand) (*Heads, error) {
	c1, err := contrast.NewConvNet("c1", dt, contrast.ConvNetConfig{InChannels: c1In, Width: width, FeatureDim: classes}, rng)
	if err != nil {
		return nil, err
	}
	c2, err := contrast.NewConvNet("c2", dt, contrast.ConvNetConfig{InChannels: c2In, Width: width, FeatureDim: classes}, rng)
	if err != nil {
		return nil, err
	}
	return &Heads{C1: c1, C2: c2}, nil
}

// Params returns both heads' parameters.
func (h *Heads) Params() nn.Params { return append(h.C1.Params(), h.C2.Params()...) }

// Game is a compiled game: its players and the programs that step them.
type Game struct {
	S         Settings
	Gen       Generator // nil in a fixed-view game
	Est       *contrast.Estimator
	Heads     *Heads // nil unless the generator's loss has cross-entropy terms
	Estimator *Player
	Generator *Player // nil in a fixed-view game

	estProg          *nn.Program
	estX, estV2      *nn.Input
	estBound         *contrast.Bound
	genProg          *nn.Program
	genX, genXL, gY  *nn.Input
	genBound         *contrast.Bound
	genLoss          *nn.Watched
	ce1, ce2         *nn.Watched
	logits1, logits2 *nn.Watched
	labels           []int
}

// New compiles a game. gen is nil for the contrastive game on fixed views;
// heads is nil unless settings ask for cross-entropy terms.
func New(s Settings, gen Generator, est *contrast.Estimator, heads *Heads, estimator, generator *Player) (*Game, error) {
	if s.EstimatorSteps == 0 {
		s.EstimatorSteps = 1
	}
	switch s.Kind {
	case Contrastive:
		if gen != nil || generator != nil {
			return nil, fmt.Errorf("games: the contrastive game has no generator")
		}
	case Unsupervised, SemiSupervised, Supervised:
		if gen == nil || generator == nil {
			return nil, fmt.Errorf("games: the %s game needs a generator", s.Kind)
		}
		if s.Kind == Supervised && s.InfoW != 0 {
			return nil, fmt.Errorf("games: the supervised game has info_w = 0, got %v", s.InfoW)
		}
		if s.Kind == Unsupervised && s.ClsW != 0 {
			return nil, fmt.Errorf("games: the unsupervised game has cls_w = 0, got %v", s.ClsW)
		}
		if s.Kind != Unsupervised && heads == nil {
			return nil, fmt.Errorf("games: the %s game needs classifier heads", s.Kind)
		}
	default:
		return nil, fmt.Errorf("games: unknown game %q (known: contrastive, unsupervised, semisupervised, supervised)", s.Kind)
	}
	gm := &Game{S: s, Gen: gen, Est: est, Heads: heads, Estimator: estimator, Generator: generator}
	if s.Kind == Unsupervised {
		gm.Heads = nil
	}
	if err := gm.compileEstimator(); err != nil {
		return nil, err
	}
	if gen != nil {
		if err := gm.compileGenerator(); err != nil {
			return nil, err
		}
	}
	return gm, nil
}

// views splits the generator's output of x into the two views.
func (gm *Game) views(g *nn.Graph, x *G.Node, detach bool) (v1, v2 *G.Node) {
	gx := gm.Gen.Forward(g, x)
	if detach {
		gx = nn.StopGradient(g, gx)
	}
	return nn.SelectChannels(g, gx, gm.S.V1), nn.SelectChannels(g, gx, gm.S.V2)
}

func (gm *Game) compileEstimator() error {
	s := gm.S
	g := nn.NewGraph(s.Dtype, nn.Train, s.Seed)
	g.UseLayers(s.Layers)
	var v1, v2 *G.Node
	if gm.Gen == nil {
		gm.estX = g.Input("v1", s.Batch, s.V1Channels, s.Size, s.Size)
		gm.estV2 = g.Input("v2", s.Batch, s.V2Channels, s.Size, s.Size)
		v1, v2 = gm.estX.Node(), gm.estV2.Node()
	} else {
		gm.estX = g.Input("x", s.Batch, s.Channels, s.Size, s.Size)
		v1, v2 = gm.views(g, gm.estX.Node(), true)
	}
	gm.estBound = gm.Est.Build(g, v1, v2)
	prog, err := g.Compile(gm.estBound.Loss, gm.Estimator.Params.Learnable()...)
	if err != nil {
		return fmt.Errorf("games: compiling the estimator step: %w", err)
	}
	gm.estProg = prog
	return nil
}

func (gm *Game) compileGenerator() error {
	s := gm.S
	g := nn.NewGraph(s.Dtype, nn.Train, s.Seed+1)
	g.UseLayers(s.Layers)
	gm.genX = g.Input("x", s.Batch, s.Channels, s.Size, s.Size)
	var terms []*G.Node
	if s.InfoW != 0 {
		v1, v2 := gm.views(g, gm.genX.Node(), false)
		gm.genBound = gm.Est.Build(g, v1, v2)
		terms = append(terms, nn.Scale(g, gm.genBound.MI, s.InfoW))
	}
	if gm.Heads != nil && s.ClsW != 0 {
		gm.genXL = g.Input("x_labelled", s.LabelledBatch, s.Channels, s.Size, s.Size)
		gm.gY = g.Input("y_onehot", s.LabelledBatch, s.Classes)
		l1, l2 := gm.views(g, gm.genXL.Node(), false)
		lg1 := gm.Heads.C1.Forward(g, l1)
		lg2 := gm.Heads.C2.Forward(g, l2)
		ce1 := nn.LogSoftmaxCE(g, lg1, gm.gY.Node())
		ce2 := nn.LogSoftmaxCE(g, lg2, gm.gY.Node())
		gm.ce1, gm.ce2 = g.Watch(ce1), g.Watch(ce2)
		gm.logits1, gm.logits2 = g.Watch(lg1), g.Watch(lg2)
		terms = append(terms, nn.Scale(g, nn.Add(g, ce1, ce2), s.ClsW))
	}
	if len(terms) == 0 {
		return fmt.Errorf("games: the generator's loss is empty (info_w and cls_w are both 0)")
	}
	loss := terms[0]
	for _, t := range terms[1:] {
		loss = nn.Add(g, loss, t)
	}
	gm.genLoss = g.Watch(loss)
	prog, err := g.Compile(loss, gm.Generator.Params.Learnable()...)
	if err != nil {
		return fmt.Errorf("games: compiling the generator step: %w", err)
	}
	gm.genProg = prog
	return nil
}

// Row is one line of metrics.
type Row map[string]any

// Iterate runs iteration step: EstimatorSteps estimator steps, then (after
// the warm-up, in a view-learning game) one generator step on the last
// batch. It returns one metrics row per player.
func (gm *Game) Iterate(feed Feed, step int) ([]Row, error) {
	var estRow Row
	var x []float32
	for k := 0; k < gm.S.EstimatorSteps; k++ {
		var v2 []float32
		var err error
		if x, v2, err = feed.Next(); err != nil {
			return nil, err
		}
		if estRow, err = gm.EstimatorStep(step, x, v2); err != nil {
			return nil, err
		}
	}
	rows := []Row{estRow}
	if gm.Gen == nil || step < gm.S.WarmupSteps {
		return rows, nil
	}
	var xl []float32
	var labels []int
	if gm.genXL != nil {
		var err error
		if xl, labels, err = feed.NextLabelled(); err != nil {
			return nil, err
		}
	}
	genRow, err := gm.GeneratorStep(step, x, xl, labels)
	if err != nil {
		return nil, err
	}
	return append(rows, genRow), nil
}

// EstimatorStep runs one guarded step of the estimator on a batch: the
// generator's input x (or, in a fixed-view game, the views x and v2).
func (gm *Game) EstimatorStep(step int, x, v2 []float32) (Row, error) {
	gm.Estimator.SetStep(step)
	if err := gm.estX.Set(x); err != nil {
		return nil, err
	}
	if gm.estV2 != nil {
		if err := gm.estV2.Set(v2); err != nil {
			return nil, err
		}
	}
	losses, ok, err := gm.Estimator.Guard(step, func() (map[string]float64, error) {
		// Gorgonia's max pooling indexes out of range on NaN input, so a
		// non-finite batch fails the step before the graph runs.
		if bad := firstNonFinite(x, v2); bad != "" {
			return map[string]float64{bad: math.NaN()}, nil
		}
		if err := gm.estProg.Run(); err != nil {
			return nil, err
		}
		return map[string]float64{"loss": gm.estBound.LossValue(), "ince": gm.estBound.Estimate()}, nil
	})
	if err != nil {
		return nil, err
	}
	return Row{"kind": "step", "step": step, "player": "estimator", "loss": losses["loss"], "ince": losses["ince"],
		"ince_bound": gm.estBound.Ceiling, "lr": gm.Estimator.Opt.LR(0), "recovered": !ok}, nil
}

// GeneratorStep runs one guarded step of the generator (and heads) on the
// unlabelled batch x and, when the game has heads, the labelled batch xl.
func (gm *Game) GeneratorStep(step int, x, xl []float32, labels []int) (Row, error) {
	if gm.Gen == nil {
		return nil, fmt.Errorf("games: the %s game has no generator", gm.S.Kind)
	}
	gm.Generator.SetStep(step)
	if err := gm.genX.Set(x); err != nil {
		return nil, err
	}
	if gm.genXL != nil {
		onehot, err := nn.OneHot(labels, gm.S.Classes)
		if err != nil {
			return nil, err
		}
		if err := gm.genXL.Set(xl); err != nil {
			return nil, err
		}
		if err := gm.gY.SetFloat64s(onehot); err != nil {
			return nil, err
		}
		gm.labels = labels
	}
	losses, ok, err := gm.Generator.Guard(step, func() (map[string]float64, error) {
		if bad := firstNonFinite(x, xl); bad != "" {
			return map[string]float64{bad: math.NaN()}, nil
		}
		if err := gm.genProg.Run(); err != nil {
			return nil, err
		}
		l := map[string]float64{"loss": gm.genLoss.Scalar()}
		if gm.genBound != nil {
			l["ince"] = gm.genBound.Estimate()
		}
		if gm.ce1 != nil {
			l["ce1"], l["ce2"] = gm.ce1.Scalar(), gm.ce2.Scalar()
		}
		return l, nil
	})
	if err != nil {
		return nil, err
	}
	row := Row{"kind": "step", "step": step, "player": "generator", "lr": gm.Generator.Opt.LR(0), "recovered": !ok}
	for k, v := range losses {
		row[k] = v
	}
	if gm.genBound != nil {
		row["ince_bound"] = gm.genBound.Ceiling
	}
	if gm.logits1 != nil {
		row["acc1"] = accuracy(gm.logits1.Values(), gm.labels, gm.S.Classes)
		row["acc2"] = accuracy(gm.logits2.Values(), gm.labels, gm.S.Classes)
	}
	return row, nil
}

// firstNonFinite names the first batch holding a NaN or Inf, or "".
func firstNonFinite(batches ...[]float32) string {
	for i, b := range batches {
		for j, v := range b {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Sprintf("input batch %d value %d", i+1, j)
			}
		}
	}
	return ""
}

func accuracy(logits []float64, labels []int, classes int) float64 {
	right := 0
	for i, y := range labels {
		row := logits[i*classes : (i+1)*classes]
		best := 0
		for c, v := range row {
			if v > row[best] {
				best = c
			}
		}
		if best == y {
			right++
		}
	}
	return float64(right) / math.Max(1, float64(len(labels)))
}

// Params returns every parameter and buffer of the game, for checkpoints.
func (gm *Game) Params() nn.Params {
	ps := gm.Est.Params()
	if gm.Gen != nil {
		ps = append(ps, gm.Gen.Params()...)
	}
	if gm.Heads != nil {
		ps = append(ps, gm.Heads.Params()...)
	}
	return ps
}

// Players returns the game's players.
func (gm *Game) Players() []*Player {
	if gm.Generator == nil {
		return []*Player{gm.Estimator}
	}
	return []*Player{gm.Estimator, gm.Generator}
}

// Close releases the compiled programs.
func (gm *Game) Close() {
	gm.estProg.Close()
	if gm.genProg != nil {
		gm.genProg.Close()
	}
}
