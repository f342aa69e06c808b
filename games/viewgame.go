package games

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/rundir"
)

// Generator is a learned view generator: an image-to-image map on
// (N, C, H, W) batches whose output channels the views split.
// flow.Flow implements it.
type Generator interface {
	Forward(g *nn.Graph, x *G.Node) *G.Node
	Params() nn.Params
}

// Feed supplies a game's batches and can save and restore its position.
type Feed interface {
	// Next returns the next unlabelled batch. With a generator, x is the
	// generator's input (N, C, H, W) and b is nil, or, in a game of two
	// crops (Settings.TwoCrops), the generator's input of the second crop
	// of each image; in a fixed-view game x and b are the two views.
	Next() (x, b []float32, err error)
	// NextLabelled returns the next labelled batch for the classifier heads.
	NextLabelled() (x []float32, labels []int, err error)
	State() (json.RawMessage, error)
	Restore(json.RawMessage) error
}

// An IndexedFeed says which examples of its data set the last unlabelled
// batch holds: the rows of a memory bank that the batch updates.
type IndexedFeed interface {
	Feed
	Indices() []int
}

// Kinds of game, as game.kind names them.
const (
	// Contrastive trains the estimator on fixed views: no generator.
	Contrastive = "contrastive"
	// Unsupervised view learning: g minimises I_NCE alone (cls_w = 0).
	Unsupervised = "unsupervised"
	// SemiSupervised view learning: g and the heads minimise
	// info_w·I_NCE + cls_w·(CE1 + CE2).
	SemiSupervised = "semisupervised"
	// SupervisedViews learns g from labels alone (info_w = 0): the
	// "supervised" view generator of the paper's Table 5.
	SupervisedViews = "supervised-views"
	// SupervisedEncoder trains an encoder on labels, with no views to
	// learn: the "supervised" baseline of the paper's Table 4.
	SupervisedEncoder = "supervised-encoder"
)

// Settings shape a game.
type Settings struct {
	Kind           string  // one of the kinds above
	InfoW, ClsW    float64 // weights of I_NCE and of the heads' cross-entropies in the generator's loss
	EstimatorSteps int     // estimator steps per generator step (default 1)
	WarmupSteps    int     // iterations of estimator steps only
	Batch          int     // unlabelled batch
	LabelledBatch  int     // labelled batch (semi-supervised, supervised)
	Classes        int     // classes of the heads
	Channels       int     // channels of the generator's input
	Size           int     // image side
	V1, V2         []int   // channels of g's output that each view keeps
	// TwoCrops takes v1 from g of one crop of each image and v2 from g of
	// another (the feed's two inputs), as the authors' game does; without
	// it both views come from one g(x).
	TwoCrops   bool
	V1Channels int // fixed-view game: channels of v1
	V2Channels int // fixed-view game: channels of v2
	Dtype      tensor.Dtype
	Seed       uint64
	// Layers picks the encoders' layer set ("" is nn.DefaultLayers).
	Layers nn.Layers
}

// Classifier is a classifier head: an encoder and a linear layer from its
// features to the classes' logits.
type Classifier struct {
	Encoder contrast.Encoder
	FC      *nn.Linear
}

// Forward returns the logits of x.
func (c *Classifier) Forward(g *nn.Graph, x *G.Node) *G.Node {
	return c.FC.Forward(g, c.Encoder.Forward(g, x))
}

// Params returns the encoder's and the linear layer's parameters.
func (c *Classifier) Params() nn.Params { return append(c.Encoder.Params(), c.FC.Params()...) }

// HeadsConfig sizes the classifier heads.
type HeadsConfig struct {
	Arch     string // a name in contrast.Encoders ("" is convnet)
	Width    int    // the encoder's width
	In1, In2 int    // channels of v1 and v2
	Classes  int
}

// Heads are the classifier heads c1 on v1 and c2 on v2 of the
// semi-supervised and supervised-views games: they keep task information
// in both views.
type Heads struct {
	C1, C2 *Classifier
}

// NewHeads returns two classifiers of the architecture cfg names, drawn
// from rng (c1's weights first).
func NewHeads(dt tensor.Dtype, cfg HeadsConfig, rng *rand.Rand) (*Heads, error) {
	arch := cfg.Arch
	if arch == "" {
		arch = "convnet"
	}
	spec, err := contrast.Encoders.Lookup(arch)
	if err != nil {
		return nil, fmt.Errorf("games: heads: %w", err)
	}
	head := func(name string, in int) (*Classifier, error) {
		enc, err := spec.New(name, dt, contrast.ModelConfig{Arch: arch, InChannels: in, Width: cfg.Width}, rng)
		if err != nil {
			return nil, err
		}
		return &Classifier{Encoder: enc, FC: nn.NewLinear(name+".fc_classes", dt, enc.FeatureDim(), cfg.Classes, true, rng)}, nil
	}
	c1, err := head("c1", cfg.In1)
	if err != nil {
		return nil, err
	}
	c2, err := head("c2", cfg.In2)
	if err != nil {
		return nil, err
	}
	return &Heads{C1: c1, C2: c2}, nil
}

// Params returns both heads' parameters.
func (h *Heads) Params() nn.Params { return append(h.C1.Params(), h.C2.Params()...) }

// ViewGame is a compiled view-learning game — or, without a generator, the
// contrastive game on fixed views: its networks, its players and the
// programs that step them.
type ViewGame struct {
	S Settings
	// The networks: the view generator g (nil in a fixed-view game), the
	// estimator (f1, f2 and the critic) and the classifier heads (nil
	// unless the generator's loss has cross-entropy terms).
	Generator Generator
	Estimator *contrast.Estimator
	Heads     *Heads
	// The players that step them: the estimator's, and the generator's
	// (g and the heads; nil in a fixed-view game).
	EstimatorPlayer *Player
	GeneratorPlayer *Player

	estProg          *nn.Program
	estX, estB       *nn.Input // the generator's input (or v1) and the second crop (or v2)
	estBound         *contrast.Bound
	genProg          *nn.Program
	genX, genX2      *nn.Input
	genXL, gY        *nn.Input
	genBound         *contrast.Bound
	genLoss          *nn.Watched
	ce1, ce2         *nn.Watched
	logits1, logits2 *nn.Watched
	labels           []int
	indices          []int // the examples of the last unlabelled batch (memory bank)
}

// SetIndices names the examples of the next EstimatorStep's batch, whose
// memory-bank rows the step updates; Iterate takes them from an IndexedFeed.
func (gm *ViewGame) SetIndices(indices []int) { gm.indices = indices }

// NewViewGame compiles a view-learning game, or the contrastive game on
// fixed views (Kind Contrastive, no generator). p.Heads is needed when the
// kind's generator loss has cross-entropy terms.
func NewViewGame(p Parts) (*ViewGame, error) {
	s := p.Settings
	if s.EstimatorSteps == 0 {
		s.EstimatorSteps = 1
	}
	kind, err := Kinds.Lookup(s.Kind)
	if err != nil {
		return nil, fmt.Errorf("games: %w", err)
	}
	switch {
	case kind.Trains == TrainsEncoder:
		return nil, fmt.Errorf("games: the %s game is not a view game", s.Kind)
	case !kind.Generator:
		if p.Generator != nil || p.GeneratorPlayer != nil {
			return nil, fmt.Errorf("games: the %s game has no generator", s.Kind)
		}
	default:
		if p.Generator == nil || p.GeneratorPlayer == nil {
			return nil, fmt.Errorf("games: the %s game needs a generator", s.Kind)
		}
		if !kind.Info && s.InfoW != 0 {
			return nil, fmt.Errorf("games: the %s game has info_w = 0, got %v", s.Kind, s.InfoW)
		}
		if !kind.Heads && s.ClsW != 0 {
			return nil, fmt.Errorf("games: the %s game has cls_w = 0, got %v", s.Kind, s.ClsW)
		}
		if kind.Heads && p.Heads == nil {
			return nil, fmt.Errorf("games: the %s game needs classifier heads", s.Kind)
		}
	}
	gm := &ViewGame{S: s, Generator: p.Generator, Estimator: p.Estimator, Heads: p.Heads,
		EstimatorPlayer: p.EstimatorPlayer, GeneratorPlayer: p.GeneratorPlayer}
	if !kind.Heads {
		gm.Heads = nil
	}
	if err := gm.compileEstimator(); err != nil {
		return nil, err
	}
	if gm.Generator != nil {
		if err := gm.compileGenerator(); err != nil {
			gm.Close()
			return nil, err
		}
	}
	return gm, nil
}

// views returns the two views: v1 from g(x1), v2 from g(x2), or both from
// g(x1) when x2 is nil.
func (gm *ViewGame) views(g *nn.Graph, x1, x2 *G.Node, detach bool) (v1, v2 *G.Node) {
	gen := func(x *G.Node) *G.Node {
		gx := gm.Generator.Forward(g, x)
		if detach {
			gx = nn.StopGradient(g, gx)
		}
		return gx
	}
	g1 := gen(x1)
	g2 := g1
	if x2 != nil {
		g2 = gen(x2)
	}
	return nn.SelectChannels(g, g1, gm.S.V1), nn.SelectChannels(g, g2, gm.S.V2)
}

func (gm *ViewGame) compileEstimator() error {
	s := gm.S
	g := nn.NewGraph(s.Dtype, nn.Train, s.Seed)
	g.UseLayers(s.Layers)
	var v1, v2 *G.Node
	switch {
	case gm.Generator == nil:
		gm.estX = g.Input("v1", s.Batch, s.V1Channels, s.Size, s.Size)
		gm.estB = g.Input("v2", s.Batch, s.V2Channels, s.Size, s.Size)
		v1, v2 = gm.estX.Node(), gm.estB.Node()
	case s.TwoCrops:
		gm.estX = g.Input("x", s.Batch, s.Channels, s.Size, s.Size)
		gm.estB = g.Input("x_crop2", s.Batch, s.Channels, s.Size, s.Size)
		v1, v2 = gm.views(g, gm.estX.Node(), gm.estB.Node(), true)
	default:
		gm.estX = g.Input("x", s.Batch, s.Channels, s.Size, s.Size)
		v1, v2 = gm.views(g, gm.estX.Node(), nil, true)
	}
	gm.estBound = gm.Estimator.Build(g, v1, v2)
	prog, err := g.Compile(gm.estBound.Loss, gm.EstimatorPlayer.Params.Learnable()...)
	if err != nil {
		return fmt.Errorf("games: compiling the estimator step: %w", err)
	}
	gm.estProg = prog
	return nil
}

func (gm *ViewGame) compileGenerator() error {
	s := gm.S
	g := nn.NewGraph(s.Dtype, nn.Train, s.Seed+1)
	g.UseLayers(s.Layers)
	gm.genX = g.Input("x", s.Batch, s.Channels, s.Size, s.Size)
	var x2 *G.Node
	if s.TwoCrops {
		gm.genX2 = g.Input("x_crop2", s.Batch, s.Channels, s.Size, s.Size)
		x2 = gm.genX2.Node()
	}
	var terms []*G.Node
	if s.InfoW != 0 {
		v1, v2 := gm.views(g, gm.genX.Node(), x2, false)
		gm.genBound = gm.Estimator.Build(g, v1, v2)
		terms = append(terms, nn.Scale(g, gm.genBound.MI, s.InfoW))
	}
	if gm.Heads != nil && s.ClsW != 0 {
		gm.genXL = g.Input("x_labelled", s.LabelledBatch, s.Channels, s.Size, s.Size)
		gm.gY = g.Input("y_onehot", s.LabelledBatch, s.Classes)
		l1, l2 := gm.views(g, gm.genXL.Node(), nil, false)
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
	prog, err := g.Compile(loss, gm.GeneratorPlayer.Params.Learnable()...)
	if err != nil {
		return fmt.Errorf("games: compiling the generator step: %w", err)
	}
	gm.genProg = prog
	return nil
}

// Iterate runs iteration step: EstimatorSteps estimator steps, then (after
// the warm-up, in a view-learning game) one generator step on the last
// batch. It returns one metrics row per player.
func (gm *ViewGame) Iterate(feed Feed, step int) ([]rundir.Row, error) {
	var estRow rundir.Row
	var x, b []float32
	for k := 0; k < gm.S.EstimatorSteps; k++ {
		var err error
		if x, b, err = feed.Next(); err != nil {
			return nil, err
		}
		if gm.estBound.HasBank() {
			ixf, ok := feed.(IndexedFeed)
			if !ok {
				return nil, fmt.Errorf("games: the memory-bank bound needs a feed that names its examples")
			}
			gm.indices = ixf.Indices()
		}
		if estRow, err = gm.EstimatorStep(step, x, b); err != nil {
			return nil, err
		}
	}
	var x2 []float32
	if gm.S.TwoCrops {
		x2 = b
	}
	rows := []rundir.Row{estRow}
	if gm.Generator == nil || step < gm.S.WarmupSteps {
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
	genRow, err := gm.GeneratorStep(step, x, x2, xl, labels)
	if err != nil {
		return nil, err
	}
	return append(rows, genRow), nil
}

// EstimatorStep runs one guarded step of the estimator on a batch: the
// generator's input x and, in a game of two crops, the second crop b (or,
// in a fixed-view game, the views x and b). With a memory-bank bound it
// draws the negatives first and, when the step succeeds, moves the banks'
// rows of the batch's examples (SetIndices) towards their embeddings.
func (gm *ViewGame) EstimatorStep(step int, x, b []float32) (rundir.Row, error) {
	gm.EstimatorPlayer.SetIteration(step)
	if err := gm.estX.Set(x); err != nil {
		return nil, err
	}
	if gm.estB != nil {
		if err := gm.estB.Set(b); err != nil {
			return nil, err
		}
	}
	losses, ok, err := gm.EstimatorPlayer.Step(step, func() (map[string]float64, error) {
		// Gorgonia's max pooling indexes out of range on NaN input, so a
		// non-finite batch fails the step before the graph runs.
		if bad := firstNonFinite(x, b); bad != "" {
			return map[string]float64{bad: math.NaN()}, nil
		}
		if err := gm.estBound.Prepare(gm.Estimator); err != nil {
			return nil, err
		}
		if err := gm.estProg.Run(); err != nil {
			return nil, err
		}
		return map[string]float64{rundir.KeyLoss: gm.estBound.LossValue(), rundir.KeyINCE: gm.estBound.Estimate()}, nil
	})
	if err != nil {
		return nil, err
	}
	if ok && gm.estBound.HasBank() {
		if err := gm.estBound.UpdateBanks(gm.Estimator, gm.indices); err != nil {
			return nil, err
		}
	}
	return rundir.Row{rundir.KeyKind: rundir.KindStep, rundir.KeyStep: step, rundir.KeyPlayer: rundir.PlayerEstimator,
		rundir.KeyLoss: losses[rundir.KeyLoss], rundir.KeyINCE: losses[rundir.KeyINCE], rundir.KeyINCEBound: gm.estBound.Ceiling,
		rundir.KeyLR: gm.EstimatorPlayer.Opt.LR(0), rundir.KeyRecovered: !ok}, nil
}

// GeneratorStep runs one guarded step of the generator (and heads) on the
// unlabelled batch x (and its second crop x2 in a game of two crops) and,
// when the game has heads, the labelled batch xl.
func (gm *ViewGame) GeneratorStep(step int, x, x2, xl []float32, labels []int) (rundir.Row, error) {
	if gm.Generator == nil {
		return nil, fmt.Errorf("games: the %s game has no generator", gm.S.Kind)
	}
	gm.GeneratorPlayer.SetIteration(step)
	if err := gm.genX.Set(x); err != nil {
		return nil, err
	}
	if gm.genX2 != nil {
		if err := gm.genX2.Set(x2); err != nil {
			return nil, err
		}
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
	losses, ok, err := gm.GeneratorPlayer.Step(step, func() (map[string]float64, error) {
		if bad := firstNonFinite(x, x2, xl); bad != "" {
			return map[string]float64{bad: math.NaN()}, nil
		}
		if gm.genBound != nil {
			if err := gm.genBound.Prepare(gm.Estimator); err != nil {
				return nil, err
			}
		}
		if err := gm.genProg.Run(); err != nil {
			return nil, err
		}
		l := map[string]float64{rundir.KeyLoss: gm.genLoss.Scalar()}
		if gm.genBound != nil {
			l[rundir.KeyINCE] = gm.genBound.Estimate()
		}
		if gm.ce1 != nil {
			l[rundir.KeyCE1], l[rundir.KeyCE2] = gm.ce1.Scalar(), gm.ce2.Scalar()
		}
		return l, nil
	})
	if err != nil {
		return nil, err
	}
	row := rundir.Row{rundir.KeyKind: rundir.KindStep, rundir.KeyStep: step, rundir.KeyPlayer: rundir.PlayerGenerator,
		rundir.KeyLR: gm.GeneratorPlayer.Opt.LR(0), rundir.KeyRecovered: !ok}
	for k, v := range losses {
		row[k] = v
	}
	if gm.genBound != nil {
		row[rundir.KeyINCEBound] = gm.genBound.Ceiling
	}
	if gm.logits1 != nil {
		row[rundir.KeyAcc1] = Accuracy(gm.logits1.Values(), gm.labels)
		row[rundir.KeyAcc2] = Accuracy(gm.logits2.Values(), gm.labels)
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

// Accuracy is the fraction of the rows of logits (one row per label, as
// many columns as classes) whose largest entry is at the label; 0 for no
// labels.
func Accuracy(logits []float64, labels []int) float64 {
	if len(labels) == 0 {
		return 0
	}
	classes := len(logits) / len(labels)
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
	return float64(right) / float64(len(labels))
}

// Params returns every parameter and buffer of the game, for checkpoints.
func (gm *ViewGame) Params() nn.Params {
	ps := gm.Estimator.Params()
	if gm.Generator != nil {
		ps = append(ps, gm.Generator.Params()...)
	}
	if gm.Heads != nil {
		ps = append(ps, gm.Heads.Params()...)
	}
	return ps
}

// Players returns the game's players.
func (gm *ViewGame) Players() []*Player {
	if gm.GeneratorPlayer == nil {
		return []*Player{gm.EstimatorPlayer}
	}
	return []*Player{gm.EstimatorPlayer, gm.GeneratorPlayer}
}

// Close releases the compiled programs.
func (gm *ViewGame) Close() {
	if gm.estProg != nil {
		gm.estProg.Close()
	}
	if gm.genProg != nil {
		gm.genProg.Close()
	}
}
