package experiment

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/flow"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/viewgen"
)

// dtype is the float type of run.dtype.
func dtype(c config.Config) tensor.Dtype {
	if c.Run.Dtype == "float64" {
		return tensor.Float64
	}
	return tensor.Float32
}

// stage2Augs parses stage2.augment: the augmentations each view of stage 2
// gets, drawn independently for the two views.
func stage2Augs(s string) ([]viewgen.Aug, error) { return augmentations("stage2.augment", s) }

// augmentations parses the augmentation tokens of key (e.g.
// "crop=0.2+flip"); "" is none.
func augmentations(key, s string) ([]viewgen.Aug, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	spec, err := viewgen.ParseSpec("rgb+" + s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return spec.Augment, nil
}

// NewEstimator builds f1 and f2 (on views of c1 and c2 channels) with the
// critic and bound of c; a memory-bank bound gets banks of examples rows,
// one per example of the data set its batches come from.
func NewEstimator(c config.Config, rng *rand.Rand, c1, c2, examples int) (*contrast.Estimator, error) {
	dt := dtype(c)
	return contrast.NewEstimator(dt, contrast.EstimatorConfig{F1: modelConfig(c, c1), F2: modelConfig(c, c2), Critic: c.Critic.Kind, Tau: c.Critic.Tau, Bound: c.Critic.Bound,
		Bank: contrast.BankConfig{Size: examples, K: c.Critic.BankK, Momentum: c.Critic.BankMomentum, Seed: c.Seed + offsetBanks}}, rng)
}

// headArch returns the classification heads' architecture and width:
// game.head_arch and game.head_width, or the encoder's where they are unset.
func headArch(c config.Config) (arch string, width int) {
	arch, width = c.Game.HeadArch, c.Game.HeadWidth
	if arch == "" {
		arch = c.Encoder.Arch
	}
	if width == 0 {
		width = c.Encoder.Width
	}
	return arch, width
}

// modelConfig is the configuration of an encoder with its head (f1 or f2)
// for views of in channels.
func modelConfig(c config.Config, in int) contrast.ModelConfig {
	return contrast.ModelConfig{Arch: c.Encoder.Arch, InChannels: in, Width: c.Encoder.Width, EmbedDim: c.Encoder.EmbedDim, HeadHidden: c.Encoder.HeadHidden}
}

// estimatorNets are the networks of an estimator, each a group of its
// player's optimiser (and clipped on its own).
func estimatorNets(est *contrast.Estimator, lr float64) []nn.Group {
	return []nn.Group{{Params: est.F1.Params(), LR: lr}, {Params: est.F2.Params(), LR: lr}, {Params: est.Critic.Params(), LR: lr}}
}

// schedule is optim's learning-rate schedule over steps iterations.
func schedule(c config.Optim, steps int) (nn.Schedule, error) {
	ms := make([]int, len(c.Milestones))
	for i, m := range c.Milestones {
		ms[i] = int(math.Round(m * float64(steps)))
	}
	return nn.NewSchedule(c.Schedule, steps, 0, ms, c.Gamma)
}

// NewPlayer makes a player over its networks, each a group of one Adam
// (at the group's learning rate, with optim's betas and weight decay) and
// clipped on its own (optim.clip), with optim's schedule and NaN guard.
func NewPlayer(c config.Optim, name string, nets []nn.Group, steps int, sign float64) (*games.Player, error) {
	var ps nn.Params
	var groups []nn.Group
	var clip []nn.Params
	for _, n := range nets {
		if len(n.Params) == 0 {
			continue
		}
		n.WeightDecay = c.WeightDecay
		groups = append(groups, n)
		ps = append(ps, n.Params...)
		clip = append(clip, n.Params.Learnable())
	}
	opt, err := nn.NewAdam(nn.AdamConfig{LR: groups[0].LR, Beta1: c.Beta1, Beta2: c.Beta2, WeightDecay: c.WeightDecay}, groups...)
	if err != nil {
		return nil, err
	}
	sched, err := schedule(c, steps)
	if err != nil {
		return nil, err
	}
	return &games.Player{Name: name, Params: ps.Learnable(), Opt: opt, Sched: sched, Sign: sign, Clip: c.Clip, ClipNets: clip,
		MaxFailures: c.MaxFailures, Backoff: c.Backoff}, nil
}

// NewViewGame builds the view-learning game that c describes, on images of
// classes classes from a data set of examples images (the memory bank's
// rows): the generator, the estimator, the heads (if the kind has them) and
// both players, drawn from rng in that order. It is the one constructor of
// the game for runs and benchmarks.
func NewViewGame(c config.Config, classes, examples int, layers nn.Layers, rng *rand.Rand) (*games.ViewGame, Generator, error) {
	kind, err := games.Kinds.Lookup(c.Game.Kind)
	if err != nil {
		return nil, nil, err
	}
	if !kind.Generator {
		return nil, nil, fmt.Errorf("game.kind %s learns no views", c.Game.Kind)
	}
	newGen, err := Generators.Lookup(c.Generator.Kind)
	if err != nil {
		return nil, nil, err
	}
	dt := dtype(c)
	gen, err := newGen(dt, c.Generator, rng)
	if err != nil {
		return nil, nil, fmt.Errorf("generator: %w", err)
	}
	split, err := viewSplit(c)
	if err != nil {
		return nil, nil, err
	}
	est, err := NewEstimator(c, rng, len(split.V1), len(split.V2), examples)
	if err != nil {
		return nil, nil, err
	}
	infoW, clsW := c.Game.InfoW, c.Game.ClsW
	if !kind.Info {
		infoW = 0
	}
	if !kind.Heads {
		clsW = 0
	}
	var heads *games.Heads
	genNets := []nn.Group{{Params: gen.Params(), LR: c.Optim.GeneratorLR}}
	if kind.Heads {
		arch, width := headArch(c)
		if heads, err = games.NewHeads(dt, games.HeadsConfig{Arch: arch, Width: width, In1: len(split.V1), In2: len(split.V2), Classes: classes}, rng); err != nil {
			return nil, nil, err
		}
		genNets = append(genNets, nn.Group{Params: heads.C1.Params(), LR: c.Optim.HeadLR}, nn.Group{Params: heads.C2.Params(), LR: c.Optim.HeadLR})
	}
	estP, err := NewPlayer(c.Optim, rundir.PlayerEstimator, estimatorNets(est, c.Optim.LR), c.Game.Steps, -1)
	if err != nil {
		return nil, nil, err
	}
	genP, err := NewPlayer(c.Optim, rundir.PlayerGenerator, genNets, c.Game.Steps, 1)
	if err != nil {
		return nil, nil, err
	}
	gm, err := games.NewViewGame(games.Parts{
		Settings: games.Settings{Kind: c.Game.Kind, InfoW: infoW, ClsW: clsW, EstimatorSteps: c.Game.EstimatorSteps,
			WarmupSteps: c.Game.WarmupSteps, Batch: c.Game.Batch, LabelledBatch: c.Game.LabelledBatch, Classes: classes,
			Channels: 3, Size: c.Data.Size, V1: split.V1, V2: split.V2, TwoCrops: strings.TrimSpace(c.Game.Augment) != "",
			Dtype: dt, Seed: c.Seed + offsetViewLearning, Layers: layers},
		Generator: gen, Estimator: est, Heads: heads, EstimatorPlayer: estP, GeneratorPlayer: genP})
	if err != nil {
		return nil, nil, err
	}
	return gm, gen, nil
}

// viewSplit is the channel split of the views.
func viewSplit(c config.Config) (viewgen.Split, error) {
	spec, err := viewgen.ParseSpec(c.Views.Spec)
	if err != nil {
		return viewgen.Split{}, fmt.Errorf("views.spec: %w", err)
	}
	return spec.Split, nil
}

// learnViews plays the view-learning game and saves the generator.
func (e *Experiment) learnViews(ctx context.Context, kind games.Kind) error {
	c := e.cfg
	if err := e.prepareInput(); err != nil {
		return err
	}
	unl := e.data.Unlabelled
	if !kind.Info {
		unl = e.data.Labelled // a generator learned from labels alone sees only the labelled images
	}
	rng := rand.New(rand.NewPCG(c.Seed, streamViewLearning))
	gm, gen, err := NewViewGame(c, e.data.Classes, unl.Len(), "", rng)
	if err != nil {
		return err
	}
	defer gm.Close()
	e.gen = gen
	if s, ok := gen.(interface{ SetInput(flow.Input) error }); ok {
		if in, ok := e.prep.input(); ok {
			if err := s.SetInput(in); err != nil {
				return err
			}
		}
	}
	augs, _ := augmentations("game.augment", c.Game.Augment) // checked by Validate
	feed, err := newImageFeed(unl, e.data.Labelled, c.Game.Batch, c.Game.LabelledBatch, c.Data.Workers, c.Data.Size,
		c.Seed+offsetViewLearning, augs, e.prep)
	if err != nil {
		return err
	}
	defer feed.close()
	if err := e.runStage(ctx, rundir.StageViewLearning, gm, feed, c.Game.Steps, c.Game.Batch); err != nil {
		return err
	}
	path := filepath.Join(e.dir, rundir.GeneratorFile)
	if err := gen.Save(path); err != nil {
		return err
	}
	e.logf("%s: generator saved to %s", rundir.StageViewLearning, path)
	return e.colourSpaceFigure()
}

// prepareInput sets what the generator reads: generator.input_space and,
// with generator.normalize, the per-channel statistics of that space over
// generator.stats_images training images (a seeded sample).
func (e *Experiment) prepareInput() error {
	c := e.cfg
	space, _ := viewgen.ParseColorSpace(c.Generator.InputSpace) // checked by Validate
	e.prep = inputPrep{space: space}
	if !c.Generator.Normalize {
		return nil
	}
	train := e.data.Train
	idx := rand.New(rand.NewPCG(c.Seed+offsetStats, subsetStream)).Perm(train.Len())
	idx = idx[:min(len(idx), c.Generator.StatsImages)]
	shape := train.Shape()
	st, err := viewgen.ComputeStatsSeq(space, func(yield func(chw.Image) bool) {
		img := chw.New(shape.C, shape.H, shape.W)
		for _, i := range idx {
			train.Image(i, img.Pix)
			if !yield(img) {
				return
			}
		}
	})
	if err != nil {
		return fmt.Errorf("generator.normalize: %w", err)
	}
	e.prep.stats = &st
	e.logf("%s: input %s, mean %.3f %.3f %.3f, std %.3f %.3f %.3f over %d training images", rundir.StageViewLearning, space,
		st.Mean[0], st.Mean[1], st.Mean[2], st.Std[0], st.Std[1], st.Std[2], len(idx))
	return nil
}

// input is what the generator reads, as its file records it: the colour
// space and its standardisation, or the space alone (mean 0, std 1) when
// the run does not standardise; false for raw RGB, which a file without an
// input means.
func (p inputPrep) input() (flow.Input, bool) {
	switch {
	case p.stats != nil:
		return flow.InputOf(*p.stats), true
	case p.space != viewgen.RGB:
		return flow.Input{Space: p.space.String(), Std: [3]float64{1, 1, 1}}, true
	}
	return flow.Input{}, false
}

// runStage resumes a stage from its checkpoint (or starts it) and plays it
// to the end; a finished stage only has its final state loaded.
func (e *Experiment) runStage(ctx context.Context, stage string, gm games.Game, feed games.Feed, steps, batch int) error {
	c := e.cfg
	r := &games.Runner{Game: gm, Feed: feed, Metrics: e.metrics, Dir: e.dir, Stage: stage, Steps: steps,
		LogEvery: c.Run.LogEvery, CheckpointEvery: c.Run.CheckpointEvery, ImagesPerStep: batch, EpochSize: e.data.Train.Len(),
		Warn: func(msg string) { e.logf("warning: %s", msg) }}
	ck, err := r.Resume()
	if err != nil {
		return err
	}
	if ck != nil && ck.Done {
		e.logf("%s: finished in an earlier run (%d iterations); loaded its final state", stage, ck.Step)
		e.visit(stage, ck.MetricsBytes)
		return nil
	}
	if err := e.replay(stage, ck == nil); err != nil {
		return err
	}
	done := 0
	if ck != nil {
		done = ck.Step
		e.logf("%s: resuming at iteration %d of %d", stage, ck.Step, steps)
	}
	if e.opt.Progress != nil {
		p := e.opt.Progress(stage, steps, done)
		r.OnLog = p.Update
		defer p.Finish()
	}
	if err := r.Run(ctx); err != nil {
		return err
	}
	last, err := rundir.ReadCheckpoint(e.dir, stage)
	if err != nil {
		return err
	}
	e.visit(stage, last.MetricsBytes)
	return nil
}

// visit records that stage is done, with the size of metrics.jsonl its
// final record vouches for.
func (e *Experiment) visit(stage string, metricsBytes int64) {
	e.visited = append(e.visited, stage)
	e.mark = metricsBytes
}

// replay readies stage to be (re)played: the stages after it, which an
// earlier attempt may have finished on what this stage produced then, are
// discarded, and a stage started afresh cuts metrics.jsonl back to where
// the stages before it ended (a resumed one is cut back to its checkpoint
// by the runner).
func (e *Experiment) replay(stage string, fresh bool) error {
	stages, err := rundir.Stages(e.dir)
	if err != nil {
		return err
	}
	var later []string
	for _, s := range stages {
		if s != stage && !slices.Contains(e.visited, s) {
			later = append(later, s)
		}
	}
	for _, s := range later {
		e.logf("%s: discarding stage %s of an earlier attempt: it came after this stage", stage, s)
		if err := os.RemoveAll(rundir.CheckpointDir(e.dir, s)); err != nil {
			return err
		}
	}
	if len(later) > 0 {
		if err := rundir.DropEvaluations(e.dir, later); err != nil {
			return err
		}
	}
	if fresh {
		return e.metrics.CutTo(e.mark)
	}
	return nil
}

// trainOnGenerator trains fresh encoders contrastively on the frozen
// generator's views (stage 2).
func (e *Experiment) trainOnGenerator(ctx context.Context) (*contrast.Estimator, error) {
	c := e.cfg
	rng := rand.New(rand.NewPCG(c.Seed, streamStage2))
	split := e.views.Split
	est, err := NewEstimator(c, rng, len(split.V1), len(split.V2), e.data.Unlabelled.Len())
	if err != nil {
		return nil, err
	}
	estP, err := NewPlayer(c.Optim, rundir.PlayerEstimator, estimatorNets(est, c.Stage2.LR), c.Stage2.Steps, -1)
	if err != nil {
		return nil, err
	}
	gm, err := games.NewViewGame(games.Parts{Settings: games.Settings{Kind: games.Contrastive, Batch: c.Stage2.Batch, Size: c.Data.Size,
		V1Channels: len(split.V1), V2Channels: len(split.V2), Dtype: e.dt, Seed: c.Seed + offsetStage2}, Estimator: est, EstimatorPlayer: estP})
	if err != nil {
		return nil, err
	}
	defer gm.Close()
	augs, _ := stage2Augs(c.Stage2.Augment) // checked by Validate
	feed, err := newGeneratorFeed(e.data.Unlabelled, c.Stage2.Batch, c.Data.Workers, c.Data.Size, c.Seed+offsetStage2, augs, e.prep, e.gen, split)
	if err != nil {
		return nil, err
	}
	defer feed.close()
	if err := e.runStage(ctx, rundir.StageStage2, gm, feed, c.Stage2.Steps, c.Stage2.Batch); err != nil {
		return nil, err
	}
	return est, nil
}

// trainFixed trains encoders contrastively on fixed views.
func (e *Experiment) trainFixed(ctx context.Context, stage string, spec viewgen.Spec, steps, batch int, lr float64) (*contrast.Estimator, error) {
	c := e.cfg
	rng := rand.New(rand.NewPCG(c.Seed, streamFixed))
	c1, c2 := e.fixedChannels(spec)
	est, err := NewEstimator(c, rng, c1, c2, e.data.Unlabelled.Len())
	if err != nil {
		return nil, err
	}
	estP, err := NewPlayer(c.Optim, rundir.PlayerEstimator, estimatorNets(est, lr), steps, -1)
	if err != nil {
		return nil, err
	}
	gm, err := games.NewViewGame(games.Parts{Settings: games.Settings{Kind: games.Contrastive, Batch: batch, Size: c.Data.Size,
		V1Channels: c1, V2Channels: c2, Dtype: e.dt, Seed: c.Seed + offsetFixed}, Estimator: est, EstimatorPlayer: estP})
	if err != nil {
		return nil, err
	}
	defer gm.Close()
	feed, err := e.fixedFeed(spec, batch, c.Seed+offsetFixed)
	if err != nil {
		return nil, err
	}
	defer feed.close()
	if err := e.runStage(ctx, stage, gm, feed, steps, batch); err != nil {
		return nil, err
	}
	return est, nil
}

// trainSupervisedEncoder trains f1 on the frames v1 of
// Colorful-Moving-MNIST with the labels and factors of the next frame, for
// game.steps iterations of game.batch sequences at optim.lr: the supervised
// baseline of the paper's Table 4 (games.SupervisedEncoderGame).
func (e *Experiment) trainSupervisedEncoder(ctx context.Context) (*contrast.Estimator, error) {
	c := e.cfg
	p, ok := paired(e.data.Train)
	if !ok {
		return nil, fmt.Errorf("game.kind %s needs Colorful-Moving-MNIST (data.name cmnist), not %s", games.SupervisedEncoder, c.Data.Name)
	}
	var names []string
	if f, ok := p.(datasets.Factored); ok {
		names = f.FactorNames()
	}
	if len(names) < 4 || names[1] != "background" || names[2] != "x" || names[3] != "y" {
		return nil, fmt.Errorf("data.name %s: the supervised encoder needs the factors digit, background, x and y; the data set has %v", c.Data.Name, names)
	}
	rng := rand.New(rand.NewPCG(c.Seed, streamFixed))
	c1, c2 := e.fixedChannels(e.views)
	est, err := NewEstimator(c, rng, c1, c2, p.Len())
	if err != nil {
		return nil, err
	}
	gm, err := games.NewSupervisedEncoderGame(games.Parts{
		Settings: games.Settings{Kind: games.SupervisedEncoder, Batch: c.Game.Batch, Size: c.Data.Size, Classes: e.data.Classes,
			V1Channels: c1, Dtype: e.dt, Seed: c.Seed + offsetFixed},
		Estimator: est, Rand: rng,
		NewPlayer: func(name string, ps nn.Params, sign float64) (*games.Player, error) {
			return NewPlayer(c.Optim, name, []nn.Group{{Params: ps, LR: c.Optim.LR}}, c.Game.Steps, sign)
		}})
	if err != nil {
		return nil, err
	}
	defer gm.Close()
	feed, err := newPairFeed(p, c.Game.Batch, c.Data.Workers, c.Seed+offsetFixed)
	if err != nil {
		return nil, err
	}
	defer feed.close()
	if err := e.runStage(ctx, rundir.StageSupervisedEncoder, gm, feed, c.Game.Steps, c.Game.Batch); err != nil {
		return nil, err
	}
	return est, nil
}

// fixedChannels returns the channels of the two fixed views: those of the
// spec's split, or for a paired data set (cmnist) those of its two views.
func (e *Experiment) fixedChannels(spec viewgen.Spec) (int, int) {
	if p, ok := paired(e.data.Train); ok {
		return p.Shape().C, p.SecondShape().C
	}
	return len(spec.Split.V1), len(spec.Split.V2)
}

func (e *Experiment) fixedFeed(spec viewgen.Spec, batch int, seed uint64) (closingFeed, error) {
	if p, ok := paired(e.data.Train); ok {
		return newPairFeed(p, batch, e.cfg.Data.Workers, seed)
	}
	pipe, err := viewgen.NewPipeline(spec, nil)
	if err != nil {
		return nil, err
	}
	return newPipelineFeed(e.data.Unlabelled, batch, e.cfg.Data.Workers, seed, pipe)
}

// paired returns ds as a paired data set if it has second views.
func paired(ds datasets.Dataset) (datasets.Paired, bool) {
	p, ok := ds.(datasets.Paired)
	if !ok || p.SecondShape().Size() == 0 {
		return nil, false
	}
	return p, true
}
