package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/nn"
	G "gorgonia.org/gorgonia"
)

// supervisedStage names the stage of the supervised baseline.
const supervisedStage = "supervised"

// supervisedHeads are the training heads of the supervised baseline: the
// digit class, the background class and the digit's centre of the next
// frame x_t, each linear on f1's features. They are dropped after training;
// evaluation fits fresh linear heads on the frozen features as for every
// other row of Table 4.
type supervisedHeads struct {
	digit, bkgd, pos *nn.Linear
}

func (h *supervisedHeads) params() nn.Params {
	return append(append(h.digit.Params(), h.bkgd.Params()...), h.pos.Params()...)
}

// supervisedModel is the compiled training step of the supervised baseline.
type supervisedModel struct {
	est               *contrast.Estimator
	heads             *supervisedHeads
	prog              *nn.Program
	x, yd, yb, yp     *nn.Input
	loss, ceD, ceB, m *nn.Watched
	logitsD, logitsB  *nn.Watched
	player            *games.Player
	batch, size       int
}

// trainSupervised trains f1 on the frames v1 of Colorful-Moving-MNIST with
// the labels of the next frame — cross-entropy on the digit class and on
// the background class plus the squared error of the digit's centre (in
// units of a quarter canvas) — for game.steps iterations of game.batch
// sequences at optim.lr: the supervised baseline of the paper's Table 4.
// The stage checkpoints every run.checkpoint_every iterations and resumes
// like the contrastive stages.
func (e *experiment) trainSupervised(ctx context.Context) (*contrast.Estimator, error) {
	c := e.cfg
	p, ok := paired(e.train)
	if !ok {
		return nil, fmt.Errorf("game.kind supervised with generator.kind none needs Colorful-Moving-MNIST (data.name cmnist), not %s", c.Data.Name)
	}
	var names []string
	if f, ok := p.(datasets.Factored); ok {
		names = f.FactorNames()
	}
	if len(names) < 4 || names[1] != "background" || names[2] != "x" || names[3] != "y" {
		return nil, fmt.Errorf("data.name %s: the supervised baseline needs the factors digit, background, x and y; the data set has %v", c.Data.Name, names)
	}
	rng := rand.New(rand.NewPCG(c.Seed, 3))
	c1, c2, err := e.fixedChannels(e.views)
	if err != nil {
		return nil, err
	}
	est, err := e.newEstimator(rng, c1, c2)
	if err != nil {
		return nil, err
	}
	m, err := e.compileSupervised(est, c1, rng)
	if err != nil {
		return nil, err
	}
	defer m.prog.Close()
	s, err := newStream(p, c.Game.Batch, c.Data.Workers, c.Seed+3)
	if err != nil {
		return nil, err
	}
	defer s.close()
	params := append(est.Params(), m.heads.params()...)
	start, wallBase := 0, 0.0
	ck, err := games.ReadCheckpoint(e.dir, supervisedStage)
	if err != nil {
		return nil, err
	}
	if ck != nil {
		dir := filepath.Join(games.CheckpointDir(e.dir, supervisedStage), ck.Dir)
		if _, err := params.Load(filepath.Join(dir, "params.safetensors")); err != nil {
			return nil, fmt.Errorf("resuming %s: %w", supervisedStage, err)
		}
		if ck.Done {
			e.log.Printf("%s: finished in an earlier run (%d iterations); loaded its final state", supervisedStage, ck.Step)
			return est, nil
		}
		if err := nn.LoadOptimizer(filepath.Join(dir, "optim-"+m.player.Name+".safetensors"), m.player.Opt); err != nil {
			return nil, fmt.Errorf("resuming %s: %w", supervisedStage, err)
		}
		m.player.Restore(ck.Players[m.player.Name])
		var st streamState
		if err := json.Unmarshal(ck.Feed, &st); err != nil {
			return nil, fmt.Errorf("resuming %s: %w", supervisedStage, err)
		}
		if err := s.restore(st); err != nil {
			return nil, fmt.Errorf("resuming %s: %w", supervisedStage, err)
		}
		start, wallBase = ck.Step, ck.WallSeconds
		e.log.Printf("%s: resuming at iteration %d of %d", supervisedStage, start, c.Game.Steps)
	}
	begin := time.Now()
	wall := func() float64 { return wallBase + time.Since(begin).Seconds() }
	checkpoint := func(step int, done bool) error {
		return e.supervisedCheckpoint(step, done, wall(), params, m.player, s)
	}
	bar := e.log.progress(supervisedStage, c.Game.Steps, ck)
	defer bar.finish()
	logEvery := max(1, c.Run.LogEvery)
	lastLog, lastStep := time.Now(), start
	for step := start; step < c.Game.Steps; step++ {
		if ctx.Err() != nil {
			if err := checkpoint(step, false); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%s stopped at iteration %d: %w", supervisedStage, step, games.ErrInterrupted)
		}
		b, err := s.next()
		if err != nil {
			return nil, err
		}
		row, err := m.step(step, b)
		b.Release()
		if err != nil {
			e.metrics.Flush()
			return nil, fmt.Errorf("%s iteration %d: %w", supervisedStage, step, err)
		}
		if (step+1)%logEvery == 0 || step == c.Game.Steps-1 {
			ips := 0.0
			if dt := time.Since(lastLog).Seconds(); dt > 0 {
				ips = float64((step+1-lastStep)*c.Game.Batch) / dt
			}
			lastLog, lastStep = time.Now(), step+1
			row["stage"], row["wall_s"], row["images_per_s"] = supervisedStage, wall(), ips
			row["epoch"] = (step + 1) * c.Game.Batch / max(1, p.Len())
			if err := e.metrics.Write(row); err != nil {
				return nil, err
			}
			bar.update(step, []games.Row{row})
		}
		if c.Run.CheckpointEvery > 0 && (step+1)%c.Run.CheckpointEvery == 0 && step+1 < c.Game.Steps {
			if err := checkpoint(step+1, false); err != nil {
				return nil, err
			}
		}
	}
	return est, checkpoint(c.Game.Steps, true)
}

// compileSupervised builds the training step: f1 on the frames, the three
// heads, and the summed loss.
func (e *experiment) compileSupervised(est *contrast.Estimator, c1 int, rng *rand.Rand) (*supervisedModel, error) {
	c := e.cfg
	d := est.F1.Encoder.FeatureDim()
	heads := &supervisedHeads{
		digit: nn.NewLinear("sup.digit", e.dt, d, e.classes, true, rng),
		bkgd:  nn.NewLinear("sup.bkgd", e.dt, d, 10, true, rng),
		pos:   nn.NewLinear("sup.pos", e.dt, d, 2, true, rng),
	}
	m := &supervisedModel{est: est, heads: heads, batch: c.Game.Batch, size: c.Data.Size}
	g := nn.NewGraph(e.dt, nn.Train, c.Seed+3)
	m.x = g.Input("frames", c.Game.Batch, c1, c.Data.Size, c.Data.Size)
	m.yd = g.Input("digit_onehot", c.Game.Batch, e.classes)
	m.yb = g.Input("bkgd_onehot", c.Game.Batch, 10)
	m.yp = g.Input("centre", c.Game.Batch, 2)
	f := est.F1.Encoder.Forward(g, m.x.Node())
	ld, lb, lp := heads.digit.Forward(g, f), heads.bkgd.Forward(g, f), heads.pos.Forward(g, f)
	ceD := nn.LogSoftmaxCE(g, ld, m.yd.Node())
	ceB := nn.LogSoftmaxCE(g, lb, m.yb.Node())
	mse := nn.Mean(g, nn.Square(g, nn.Sub(g, lp, m.yp.Node())))
	var loss *G.Node = nn.Add(g, nn.Add(g, ceD, ceB), mse)
	m.ceD, m.ceB, m.m, m.loss = g.Watch(ceD), g.Watch(ceB), g.Watch(mse), g.Watch(loss)
	m.logitsD, m.logitsB = g.Watch(ld), g.Watch(lb)
	learn := append(est.F1.Encoder.Params().Learnable(), heads.params()...)
	prog, err := g.Compile(loss, learn...)
	if err != nil {
		return nil, fmt.Errorf("compiling the supervised step: %w", err)
	}
	m.prog = prog
	// The player steps f1's encoder and the heads; its parameter list for
	// NaN guards is the same.
	if m.player, err = e.player("supervised", learn, c.Optim.LR, c.Game.Steps, 1); err != nil {
		prog.Close()
		return nil, err
	}
	return m, nil
}

// step runs one guarded training step on a batch and returns its metrics
// row.
func (m *supervisedModel) step(step int, b *datasets.Batch) (games.Row, error) {
	k := len(b.FactorNames)
	n := b.Len()
	digits := b.Labels
	bkgds := make([]int, n)
	centre := make([]float64, 2*n)
	quarter := float64(m.size) / 4
	for i := 0; i < n; i++ {
		f := b.Factors[i*k : (i+1)*k]
		bkgds[i] = int(f[1])
		centre[2*i] = (f[2] - float64(m.size)/2) / quarter
		centre[2*i+1] = (f[3] - float64(m.size)/2) / quarter
	}
	od, err := nn.OneHot(digits, m.yd.Shape()[1])
	if err != nil {
		return nil, err
	}
	ob, err := nn.OneHot(bkgds, 10)
	if err != nil {
		return nil, err
	}
	if err := m.x.Set(b.Images); err != nil {
		return nil, err
	}
	if err := m.yd.SetFloat64s(od); err != nil {
		return nil, err
	}
	if err := m.yb.SetFloat64s(ob); err != nil {
		return nil, err
	}
	if err := m.yp.SetFloat64s(centre); err != nil {
		return nil, err
	}
	m.player.SetStep(step)
	losses, ok, err := m.player.Guard(step, func() (map[string]float64, error) {
		if err := m.prog.Run(); err != nil {
			return nil, err
		}
		return map[string]float64{"loss": m.loss.Scalar(), "ce_digit": m.ceD.Scalar(), "ce_bkgd": m.ceB.Scalar(), "mse_pos": m.m.Scalar()}, nil
	})
	if err != nil {
		return nil, err
	}
	row := games.Row{"kind": "step", "step": step, "player": "supervised", "lr": m.player.Opt.LR(0), "recovered": !ok,
		"acc_digit": argmaxAcc(m.logitsD.Values(), digits), "acc_bkgd": argmaxAcc(m.logitsB.Values(), bkgds)}
	for k, v := range losses {
		row[k] = v
	}
	return row, nil
}

// argmaxAcc is the fraction of rows of logits whose largest entry is the
// label.
func argmaxAcc(logits []float64, labels []int) float64 {
	if len(labels) == 0 {
		return math.NaN()
	}
	c := len(logits) / len(labels)
	right := 0
	for i, y := range labels {
		row := logits[i*c : (i+1)*c]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == y {
			right++
		}
	}
	return float64(right) / float64(len(labels))
}

// supervisedCheckpoint writes the stage's tensors into a new folder, then
// points latest.json at it, then removes the older folders, as the game
// runner does: a crash at any moment leaves the previous checkpoint.
func (e *experiment) supervisedCheckpoint(step int, done bool, wall float64, params nn.Params, p *games.Player, s *stream) error {
	size, err := e.metrics.Flush()
	if err != nil {
		return err
	}
	base := games.CheckpointDir(e.dir, supervisedStage)
	name := fmt.Sprintf("step-%08d", step)
	dir := filepath.Join(base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := params.Save(filepath.Join(dir, "params.safetensors"), map[string]string{"stage": supervisedStage, "step": fmt.Sprint(step)}); err != nil {
		return err
	}
	if err := nn.SaveOptimizer(filepath.Join(dir, "optim-"+p.Name+".safetensors"), p.Opt); err != nil {
		return err
	}
	feed, err := json.Marshal(s.state())
	if err != nil {
		return err
	}
	ck := games.Checkpoint{Stage: supervisedStage, Step: step, Done: done, Dir: name, MetricsBytes: size, WallSeconds: wall,
		Players: map[string]games.PlayerState{p.Name: p.State()}, Feed: feed, Time: time.Now().UTC().Format(time.RFC3339)}
	if err := writeRecord(e.dir, ck); err != nil {
		return err
	}
	entries, _ := os.ReadDir(base)
	for _, en := range entries {
		if en.IsDir() && en.Name() != name {
			os.RemoveAll(filepath.Join(base, en.Name()))
		}
	}
	return nil
}
