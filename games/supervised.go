package games

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/rundir"
)

// Factors of a FactorFeed's batches that the supervised encoder game
// reads: the background class and the digit's centre.
const (
	factorBackground = 1
	factorX          = 2
	factorY          = 3
	// BackgroundClasses is the number of background classes.
	BackgroundClasses = 10
)

// SupervisedEncoderGame trains f1 of the estimator on labelled frames: the
// supervised baseline of the Colorful-Moving-MNIST table. Three linear
// heads on f1's features predict the digit class, the background class and
// the digit's centre in the next frame; the loss is the sum of the two
// cross-entropies and the squared error of the centre (in units of a
// quarter canvas). The heads are dropped after training: evaluation fits
// fresh linear heads on the frozen features, as for every other row of the
// table. Its feed must be a FactorFeed.
type SupervisedEncoderGame struct {
	S         Settings
	Estimator *contrast.Estimator
	Player    *Player // steps f1's encoder and the heads

	digit, bkgd, pos  *nn.Linear
	prog              *nn.Program
	x, yd, yb, yp     *nn.Input
	loss, ceD, ceB, m *nn.Watched
	logitsD, logitsB  *nn.Watched
}

// NewSupervisedEncoderGame compiles the game on p.Estimator's f1, whose
// input has Settings.V1Channels channels. It creates the heads from p.Rand
// and its player with p.NewPlayer.
func NewSupervisedEncoderGame(p Parts) (*SupervisedEncoderGame, error) {
	s := p.Settings
	if p.Estimator == nil || p.Rand == nil || p.NewPlayer == nil {
		return nil, fmt.Errorf("games: the %s game needs an estimator, a random source and a player factory", SupervisedEncoder)
	}
	enc := p.Estimator.F1.Encoder
	d := enc.FeatureDim()
	gm := &SupervisedEncoderGame{S: s, Estimator: p.Estimator,
		digit: nn.NewLinear("sup.digit", s.Dtype, d, s.Classes, true, p.Rand),
		bkgd:  nn.NewLinear("sup.bkgd", s.Dtype, d, BackgroundClasses, true, p.Rand),
		pos:   nn.NewLinear("sup.pos", s.Dtype, d, 2, true, p.Rand),
	}
	g := nn.NewGraph(s.Dtype, nn.Train, s.Seed)
	g.UseLayers(s.Layers)
	gm.x = g.Input("frames", s.Batch, s.V1Channels, s.Size, s.Size)
	gm.yd = g.Input("digit_onehot", s.Batch, s.Classes)
	gm.yb = g.Input("bkgd_onehot", s.Batch, BackgroundClasses)
	gm.yp = g.Input("centre", s.Batch, 2)
	f := enc.Forward(g, gm.x.Node())
	ld, lb, lp := gm.digit.Forward(g, f), gm.bkgd.Forward(g, f), gm.pos.Forward(g, f)
	ceD := nn.LogSoftmaxCE(g, ld, gm.yd.Node())
	ceB := nn.LogSoftmaxCE(g, lb, gm.yb.Node())
	mse := nn.Mean(g, nn.Square(g, nn.Sub(g, lp, gm.yp.Node())))
	var loss *G.Node = nn.Add(g, nn.Add(g, ceD, ceB), mse)
	gm.ceD, gm.ceB, gm.m, gm.loss = g.Watch(ceD), g.Watch(ceB), g.Watch(mse), g.Watch(loss)
	gm.logitsD, gm.logitsB = g.Watch(ld), g.Watch(lb)
	learn := append(enc.Params().Learnable(), gm.heads()...)
	prog, err := g.Compile(loss, learn...)
	if err != nil {
		return nil, fmt.Errorf("games: compiling the %s step: %w", SupervisedEncoder, err)
	}
	gm.prog = prog
	if gm.Player, err = p.NewPlayer(rundir.PlayerSupervised, learn, 1); err != nil {
		prog.Close()
		return nil, err
	}
	return gm, nil
}

func (gm *SupervisedEncoderGame) heads() nn.Params {
	return append(append(gm.digit.Params(), gm.bkgd.Params()...), gm.pos.Params()...)
}

// Iterate runs one guarded training step on the feed's next labelled
// batch of frames.
func (gm *SupervisedEncoderGame) Iterate(feed Feed, step int) ([]rundir.Row, error) {
	ff, ok := feed.(FactorFeed)
	if !ok {
		return nil, fmt.Errorf("games: the %s game needs a feed of labelled frames with factors", SupervisedEncoder)
	}
	x, digits, factors, err := ff.NextFactored()
	if err != nil {
		return nil, err
	}
	n := len(digits)
	if n == 0 || len(factors)%n != 0 || len(factors)/n <= factorY {
		return nil, fmt.Errorf("games: the %s game needs the factors digit, background, x and y of each image", SupervisedEncoder)
	}
	k := len(factors) / n
	bkgds := make([]int, n)
	centre := make([]float64, 2*n)
	half, quarter := float64(gm.S.Size)/2, float64(gm.S.Size)/4
	for i := 0; i < n; i++ {
		f := factors[i*k : (i+1)*k]
		bkgds[i] = int(f[factorBackground])
		centre[2*i] = (f[factorX] - half) / quarter
		centre[2*i+1] = (f[factorY] - half) / quarter
	}
	od, err := nn.OneHot(digits, gm.S.Classes)
	if err != nil {
		return nil, err
	}
	ob, err := nn.OneHot(bkgds, BackgroundClasses)
	if err != nil {
		return nil, err
	}
	if err := gm.x.Set(x); err != nil {
		return nil, err
	}
	if err := gm.yd.SetFloat64s(od); err != nil {
		return nil, err
	}
	if err := gm.yb.SetFloat64s(ob); err != nil {
		return nil, err
	}
	if err := gm.yp.SetFloat64s(centre); err != nil {
		return nil, err
	}
	gm.Player.SetIteration(step)
	losses, ok, err := gm.Player.Step(step, func() (map[string]float64, error) {
		if err := gm.prog.Run(); err != nil {
			return nil, err
		}
		return map[string]float64{rundir.KeyLoss: gm.loss.Scalar(), rundir.KeyCEDigit: gm.ceD.Scalar(),
			rundir.KeyCEBkgd: gm.ceB.Scalar(), rundir.KeyMSEPos: gm.m.Scalar()}, nil
	})
	if err != nil {
		return nil, err
	}
	row := rundir.Row{rundir.KeyKind: rundir.KindStep, rundir.KeyStep: step, rundir.KeyPlayer: rundir.PlayerSupervised,
		rundir.KeyLR: gm.Player.Opt.LR(0), rundir.KeyRecovered: !ok,
		rundir.KeyAccDigit: Accuracy(gm.logitsD.Values(), digits), rundir.KeyAccBkgd: Accuracy(gm.logitsB.Values(), bkgds)}
	for k, v := range losses {
		row[k] = v
	}
	return []rundir.Row{row}, nil
}

// Params returns the estimator's parameters and the heads', for
// checkpoints.
func (gm *SupervisedEncoderGame) Params() nn.Params {
	return append(gm.Estimator.Params(), gm.heads()...)
}

// Players returns the one player.
func (gm *SupervisedEncoderGame) Players() []*Player { return []*Player{gm.Player} }

// Close releases the compiled program.
func (gm *SupervisedEncoderGame) Close() { gm.prog.Close() }
