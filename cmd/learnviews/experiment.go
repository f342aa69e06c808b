package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/cmnist"
	"github.com/learnviews/learnviews/datasets/fashionphotos"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/viewgen"
	"gorgonia.org/tensor"
)

// experiment is one run of a profile: the stages of view learning, stage 2,
// evaluation and the report, each resumable.
type experiment struct {
	cfg      config.Config
	dir      string
	dt       tensor.Dtype
	log      *logger
	metrics  *games.Metrics
	train    datasets.Dataset // RGB images (or cmnist pairs)
	test     datasets.Dataset
	labelled datasets.Dataset // labelled part of train
	unlab    datasets.Dataset // unlabelled part of train
	classes  int
	views    viewgen.Spec // fixed views
	gen      *viewgen.Flow
	results  []evalResult
}

type evalResult struct {
	Stage    string  `json:"stage"`
	ProbeAcc float64 `json:"probe_acc"`
	TrainAcc float64 `json:"probe_train_acc"`
	KNNAcc   float64 `json:"knn_acc"`
	INCE     float64 `json:"ince"`
	// cmnist: background and position heads
	BkgdAcc float64 `json:"bkgd_acc,omitempty"`
	PosErr  float64 `json:"pos_err_px,omitempty"`
}

func newExperiment(cfg config.Config, dir string, log *logger) (*experiment, error) {
	e := &experiment{cfg: cfg, dir: dir, log: log, dt: tensor.Float32}
	if cfg.Run.Dtype == "float64" {
		e.dt = tensor.Float64
	}
	spec, err := viewgen.ParseSpec(cfg.Views.Spec)
	if err != nil {
		return nil, fmt.Errorf("views.spec: %w", err)
	}
	e.views = spec
	if err := e.openData(); err != nil {
		return nil, err
	}
	return e, nil
}

// subset keeps the first n items of a seeded permutation (all when n is 0
// or larger than the set).
func subset(ds datasets.Dataset, n int, seed uint64) (datasets.Dataset, error) {
	if n <= 0 || n >= ds.Len() {
		return ds, nil
	}
	perm := rand.New(rand.NewPCG(seed, 0x5eb5e7)).Perm(ds.Len())
	return datasets.NewSubset(ds, perm[:n])
}

func (e *experiment) openData() error {
	c := e.cfg
	var train, test datasets.Dataset
	switch c.Data.Name {
	case "fashion-photos":
		fc := fashionphotos.DefaultConfig()
		fc.Size, fc.Seed = c.Data.Size, c.Seed
		tr, err := fashionphotos.Open(fc, datasets.Train)
		if err != nil {
			return err
		}
		te, err := fashionphotos.Open(fc, datasets.Test)
		if err != nil {
			return err
		}
		train, test = tr, te
	case "cmnist":
		cc := cmnist.DefaultConfig()
		cc.Size, cc.Frames, cc.Seed = c.Data.Size, c.Data.Frames, c.Seed
		shared, err := cmnist.ParseFactors(c.Data.Factors)
		if err != nil {
			return fmt.Errorf("data.factors: %w", err)
		}
		cc.Shared = shared
		tr, err := cmnist.Open(cc, datasets.Train)
		if err != nil {
			return err
		}
		te, err := cmnist.Open(cc, datasets.Test)
		if err != nil {
			return err
		}
		train, test = tr.Pairs(), te.Pairs()
	case "stl10":
		tr, err := datasets.LoadSTL10(c.Data.Dir, datasets.Train)
		if err != nil {
			return fmt.Errorf("data.dir %s: %w", c.Data.Dir, err)
		}
		te, err := datasets.LoadSTL10(c.Data.Dir, datasets.Test)
		if err != nil {
			return fmt.Errorf("data.dir %s: %w", c.Data.Dir, err)
		}
		train, test = tr, te
		if un, err := datasets.LoadSTL10(c.Data.Dir, datasets.Unlabeled); err == nil {
			e.unlab = un
		}
	case "cifar10":
		tr, err := datasets.LoadCIFAR10(c.Data.Dir, datasets.Train)
		if err != nil {
			return fmt.Errorf("data.dir %s: %w", c.Data.Dir, err)
		}
		te, err := datasets.LoadCIFAR10(c.Data.Dir, datasets.Test)
		if err != nil {
			return fmt.Errorf("data.dir %s: %w", c.Data.Dir, err)
		}
		train, test = tr, te
	case "folder":
		all, err := datasets.LoadImageFolder(c.Data.Dir, c.Data.Size)
		if err != nil {
			return fmt.Errorf("data.dir %s: %w", c.Data.Dir, err)
		}
		nTest := all.Len() / 5
		tr, te, err := datasets.SplitTrainTest(all, nTest, c.Seed)
		if err != nil {
			return err
		}
		train, test = tr, te
	default:
		return fmt.Errorf("data.name %q is not supported", c.Data.Name)
	}
	var err error
	if train, err = subset(train, c.Data.Train, c.Seed); err != nil {
		return err
	}
	if test, err = subset(test, c.Data.Test, c.Seed+1); err != nil {
		return err
	}
	e.train, e.test = train, test
	e.classes = len(train.Classes())
	if s := train.Shape(); s.H != c.Data.Size || s.W != c.Data.Size {
		return fmt.Errorf("data.size %d: the %s images are %v; resize them or set data.size", c.Data.Size, c.Data.Name, s)
	}
	n := min(c.Data.Labelled, train.Len()-2*c.Game.Batch)
	if n <= 0 {
		e.labelled, e.unlab = train, train
	} else {
		lab, unl, err := datasets.SplitLabelled(train, n, c.Seed)
		if err != nil {
			return err
		}
		e.labelled = lab
		if e.unlab == nil {
			e.unlab = unl
		}
	}
	e.log.Printf("data: %s, %d training images (%d labelled), %d test images, %v", c.Data.Name, train.Len(), e.labelled.Len(), test.Len(), train.Shape())
	return nil
}

// run executes every stage, skipping those a previous run finished.
func (e *experiment) run(ctx context.Context) error {
	c := e.cfg
	if c.Game.Kind == games.Supervised && c.Generator.Kind == "none" {
		est, err := e.trainSupervised(ctx)
		if err != nil {
			return err
		}
		return e.evaluate(ctx, supervisedStage, c.Game.Steps, est, nil, e.views)
	}
	if c.Game.Kind == games.Contrastive || c.Generator.Kind == "none" {
		est, err := e.trainFixed(ctx, "contrastive", e.views, c.Game.Steps, c.Game.Batch, c.Optim.LR)
		if err != nil {
			return err
		}
		return e.evaluate(ctx, "contrastive", c.Game.Steps, est, nil, e.views)
	}
	if err := e.learnViews(ctx); err != nil {
		return err
	}
	if c.Stage2.Enabled {
		est, err := e.trainOnGenerator(ctx)
		if err != nil {
			return err
		}
		if err := e.evaluate(ctx, "stage2", c.Stage2.Steps, est, e.gen, e.views); err != nil {
			return err
		}
		if c.Stage2.Raw {
			raw := e.views
			if raw.Augment, err = stage2Augs(c.Stage2.Augment); err != nil {
				return err
			}
			est, err := e.trainFixed(ctx, "stage2-raw", raw, c.Stage2.Steps, c.Stage2.Batch, c.Stage2.LR)
			if err != nil {
				return err
			}
			if err := e.evaluate(ctx, "stage2-raw", c.Stage2.Steps, est, nil, e.views); err != nil {
				return err
			}
		}
	}
	return nil
}

func stage2Augs(s string) ([]viewgen.Aug, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	spec, err := viewgen.ParseSpec("rgb+" + s)
	if err != nil {
		return nil, fmt.Errorf("stage2.augment: %w", err)
	}
	return spec.Augment, nil
}

func (e *experiment) newEstimator(rng *rand.Rand, c1, c2 int) (*contrast.Estimator, error) {
	c := e.cfg
	mc := func(in int) contrast.ModelConfig {
		return contrast.ModelConfig{Arch: c.Encoder.Arch, InChannels: in, Width: c.Encoder.Width, EmbedDim: c.Encoder.EmbedDim, HeadHidden: c.Encoder.HeadHidden}
	}
	return contrast.NewEstimator(e.dt, contrast.EstimatorConfig{F1: mc(c1), F2: mc(c2), Critic: c.Critic.Kind, Tau: c.Critic.Tau, Bound: c.Critic.Bound}, rng)
}

func (e *experiment) schedule(steps int) (nn.Schedule, error) {
	c := e.cfg.Optim
	ms := make([]int, len(c.Milestones))
	for i, m := range c.Milestones {
		ms[i] = int(math.Round(m * float64(steps)))
	}
	return nn.NewSchedule(c.Schedule, steps, 0, ms, c.Gamma)
}

func (e *experiment) player(name string, ps nn.Params, lr float64, steps int, sign float64) (*games.Player, error) {
	c := e.cfg.Optim
	opt, err := nn.NewAdam(nn.AdamConfig{LR: lr, Beta1: c.Beta1, Beta2: c.Beta2, WeightDecay: c.WeightDecay}, nn.Group{Params: ps})
	if err != nil {
		return nil, err
	}
	sched, err := e.schedule(steps)
	if err != nil {
		return nil, err
	}
	return &games.Player{Name: name, Params: ps.Learnable(), Opt: opt, Sched: sched, Sign: sign, Clip: c.Clip,
		MaxFailures: c.MaxFailures, Backoff: c.Backoff}, nil
}

// learnViews plays the view-learning game and saves the generator.
func (e *experiment) learnViews(ctx context.Context) error {
	c := e.cfg
	rng := rand.New(rand.NewPCG(c.Seed, 1))
	gen, err := viewgen.NewFlow("g", e.dt, viewgen.FlowConfig{Kind: c.Generator.Kind, Blocks: c.Generator.Blocks,
		Hidden: c.Generator.Hidden, Kernel3x3: c.Generator.Kernel3x3, Identity: c.Generator.Identity}, rng)
	if err != nil {
		return fmt.Errorf("generator: %w", err)
	}
	e.gen = gen
	split := e.views.Split
	est, err := e.newEstimator(rng, len(split.V1), len(split.V2))
	if err != nil {
		return err
	}
	kind := c.Game.Kind
	infoW, clsW := c.Game.InfoW, c.Game.ClsW
	switch kind {
	case games.Unsupervised:
		clsW = 0
	case games.Supervised:
		infoW = 0
	}
	var heads *games.Heads
	genParams := gen.Params()
	if kind != games.Unsupervised {
		if heads, err = games.NewHeads(e.dt, len(split.V1), len(split.V2), c.Game.HeadWidth, e.classes, rng); err != nil {
			return err
		}
		genParams = append(genParams, heads.Params()...)
	}
	estP, err := e.player("estimator", est.Params(), c.Optim.LR, c.Game.Steps, -1)
	if err != nil {
		return err
	}
	genP, err := e.player("generator", genParams, c.Optim.GeneratorLR, c.Game.Steps, 1)
	if err != nil {
		return err
	}
	space, err := viewgen.ParseColorSpace(c.Generator.InputSpace)
	if err != nil {
		return fmt.Errorf("generator.input_space: %w", err)
	}
	gm, err := games.New(games.Settings{Kind: kind, InfoW: infoW, ClsW: clsW, EstimatorSteps: c.Game.EstimatorSteps,
		WarmupSteps: c.Game.WarmupSteps, Batch: c.Game.Batch, LabelledBatch: c.Game.LabelledBatch, Classes: e.classes,
		Channels: 3, Size: c.Data.Size, V1: split.V1, V2: split.V2, Dtype: e.dt, Seed: c.Seed}, gen, est, heads, estP, genP)
	if err != nil {
		return err
	}
	defer gm.Close()
	unl := e.unlab
	if kind == games.Supervised {
		unl = e.labelled
	}
	feed, err := newImageFeed(unl, e.labelled, c.Game.Batch, c.Game.LabelledBatch, c.Data.Workers, c.Seed, space)
	if err != nil {
		return err
	}
	defer feed.close()
	if err := e.runStage(ctx, "view-learning", gm, feed, c.Game.Steps, c.Game.Batch); err != nil {
		return err
	}
	path := filepath.Join(e.dir, "generator.safetensors")
	if err := gen.Save(path); err != nil {
		return err
	}
	e.log.Printf("view-learning: generator saved to %s", path)
	return e.colourSpaceFigure(space)
}

// runStage resumes a stage from its checkpoint (or starts it) and plays it
// to the end; a finished stage only has its final state loaded.
func (e *experiment) runStage(ctx context.Context, stage string, gm *games.Game, feed games.Feed, steps, batch int) error {
	c := e.cfg
	r := &games.Runner{Game: gm, Feed: feed, Metrics: e.metrics, Dir: e.dir, Stage: stage, Steps: steps,
		LogEvery: c.Run.LogEvery, CheckpointEvery: c.Run.CheckpointEvery, ImagesPerStep: batch, EpochSize: e.train.Len()}
	ck, err := r.Resume()
	if err != nil {
		return err
	}
	if ck != nil && ck.Done {
		e.log.Printf("%s: finished in an earlier run (%d iterations); loaded its final state", stage, ck.Step)
		return nil
	}
	if ck != nil {
		e.log.Printf("%s: resuming at iteration %d of %d", stage, ck.Step, steps)
	}
	bar := e.log.progress(stage, steps, ck)
	r.OnLog = bar.update
	err = r.Run(ctx)
	bar.finish()
	return err
}

// trainOnGenerator trains fresh encoders contrastively on the frozen
// generator's views (stage 2).
func (e *experiment) trainOnGenerator(ctx context.Context) (*contrast.Estimator, error) {
	c := e.cfg
	rng := rand.New(rand.NewPCG(c.Seed, 2))
	split := e.views.Split
	est, err := e.newEstimator(rng, len(split.V1), len(split.V2))
	if err != nil {
		return nil, err
	}
	estP, err := e.player("estimator", est.Params(), c.Stage2.LR, c.Stage2.Steps, -1)
	if err != nil {
		return nil, err
	}
	gm, err := games.New(games.Settings{Kind: games.Contrastive, Batch: c.Stage2.Batch, Size: c.Data.Size,
		V1Channels: len(split.V1), V2Channels: len(split.V2), Dtype: e.dt, Seed: c.Seed + 2}, nil, est, nil, estP, nil)
	if err != nil {
		return nil, err
	}
	defer gm.Close()
	augs, err := stage2Augs(c.Stage2.Augment)
	if err != nil {
		return nil, err
	}
	space, err := viewgen.ParseColorSpace(c.Generator.InputSpace)
	if err != nil {
		return nil, err
	}
	feed, err := newGeneratorFeed(e.unlab, c.Stage2.Batch, c.Data.Workers, c.Seed+2, augs, space, e.gen, split)
	if err != nil {
		return nil, err
	}
	defer feed.close()
	if err := e.runStage(ctx, "stage2", gm, feed, c.Stage2.Steps, c.Stage2.Batch); err != nil {
		return nil, err
	}
	return est, nil
}

// trainFixed trains encoders contrastively on fixed views.
func (e *experiment) trainFixed(ctx context.Context, stage string, spec viewgen.Spec, steps, batch int, lr float64) (*contrast.Estimator, error) {
	c := e.cfg
	rng := rand.New(rand.NewPCG(c.Seed, 3))
	c1, c2, err := e.fixedChannels(spec)
	if err != nil {
		return nil, err
	}
	est, err := e.newEstimator(rng, c1, c2)
	if err != nil {
		return nil, err
	}
	estP, err := e.player("estimator", est.Params(), lr, steps, -1)
	if err != nil {
		return nil, err
	}
	gm, err := games.New(games.Settings{Kind: games.Contrastive, Batch: batch, Size: c.Data.Size,
		V1Channels: c1, V2Channels: c2, Dtype: e.dt, Seed: c.Seed + 3}, nil, est, nil, estP, nil)
	if err != nil {
		return nil, err
	}
	defer gm.Close()
	feed, err := e.fixedFeed(spec, batch, c.Seed+3)
	if err != nil {
		return nil, err
	}
	defer feed.close()
	if err := e.runStage(ctx, stage, gm, feed, steps, batch); err != nil {
		return nil, err
	}
	return est, nil
}

// fixedChannels returns the channels of the two fixed views: those of the
// spec's split, or for a paired data set (cmnist) those of its two views.
func (e *experiment) fixedChannels(spec viewgen.Spec) (int, int, error) {
	if p, ok := paired(e.train); ok {
		return p.Shape().C, p.SecondShape().C, nil
	}
	return len(spec.Split.V1), len(spec.Split.V2), nil
}

func (e *experiment) fixedFeed(spec viewgen.Spec, batch int, seed uint64) (closingFeed, error) {
	if p, ok := paired(e.train); ok {
		return newPairFeed(p, batch, e.cfg.Data.Workers, seed)
	}
	pipe, err := viewgen.NewPipeline(spec, nil)
	if err != nil {
		return nil, err
	}
	return newPipelineFeed(e.unlab, batch, e.cfg.Data.Workers, seed, pipe)
}

// evaluate computes frozen features of the estimator's encoders (f1 on v1
// and f2 on v2, concatenated) on the labelled training images and the test
// images, fits the linear probe and kNN, and writes an eval row.
func (e *experiment) evaluate(ctx context.Context, stage string, steps int, est *contrast.Estimator, gen *viewgen.Flow, spec viewgen.Spec) error {
	c := e.cfg
	evalStage := stage + "-eval"
	if ck, err := games.ReadCheckpoint(e.dir, evalStage); err != nil {
		return err
	} else if ck != nil && ck.Done {
		var r evalResult
		if err := json.Unmarshal(ck.Feed, &r); err == nil {
			e.results = append(e.results, r)
		}
		e.log.Printf("%s: evaluated in an earlier run", stage)
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("before evaluating %s: %w", stage, games.ErrInterrupted)
	}
	e.log.Printf("%s: evaluating (linear probe and kNN on frozen features)", stage)
	spec.Augment = nil
	trainDS, err := subset(e.labelled, c.Eval.TrainImages, c.Seed+7)
	if err != nil {
		return err
	}
	testDS, err := subset(e.test, c.Eval.TestImages, c.Seed+8)
	if err != nil {
		return err
	}
	fx, err := newFeatureExtractor(e, est, gen, spec)
	if err != nil {
		return err
	}
	defer fx.close()
	trX, trY, trF, err := fx.features(trainDS)
	if err != nil {
		return err
	}
	teX, teY, teF, err := fx.features(testDS)
	if err != nil {
		return err
	}
	res := evalResult{Stage: stage}
	probe, err := contrast.LinearProbe(trX, trY, teX, teY, e.classes, contrast.ProbeConfig{Epochs: c.Eval.ProbeEpochs, LR: c.Eval.ProbeLR, WeightDecay: c.Eval.ProbeWD, Seed: c.Seed})
	if err != nil {
		return err
	}
	res.ProbeAcc, res.TrainAcc = probe.TestAcc, probe.TrainAcc
	if res.KNNAcc, err = contrast.KNN(trX, trY, teX, teY, e.classes, contrast.KNNConfig{K: c.Eval.KNNK}); err != nil {
		return err
	}
	res.INCE = fx.lastINCE
	if v, ok := finalINCE(e.dir, stage); ok {
		res.INCE = v
	} else if math.IsNaN(res.INCE) {
		res.INCE = 0 // JSON has no NaN: the record would lose every field
	}
	if fx.paired {
		if err := e.factorHeads(&res, trX, trF, teX, teF, c); err != nil {
			return err
		}
	}
	row := games.Row{"kind": "eval", "step": steps, "stage": stage, "split": "test", "probe_acc": res.ProbeAcc,
		"probe_train_acc": res.TrainAcc, "knn_acc": res.KNNAcc, "train_images": len(trX), "test_images": len(teX)}
	if fx.paired {
		row["bkgd_acc"], row["pos_err_px"] = res.BkgdAcc, res.PosErr
	}
	if err := e.metrics.Write(row); err != nil {
		return err
	}
	size, err := e.metrics.Flush()
	if err != nil {
		return err
	}
	e.results = append(e.results, res)
	e.log.Printf("%s: linear probe %.1f%% (train %.1f%%), kNN %.1f%%", stage, 100*res.ProbeAcc, 100*res.TrainAcc, 100*res.KNNAcc)
	b, _ := json.Marshal(res)
	return writeRecord(e.dir, games.Checkpoint{Stage: evalStage, Done: true, MetricsBytes: size, Feed: b})
}

// factorHeads fits the Colorful-Moving-MNIST heads: background class by a
// linear probe and digit position by ridge regression.
func (e *experiment) factorHeads(res *evalResult, trX [][]float64, trF [][]float64, teX [][]float64, teF [][]float64, c config.Config) error {
	bg := func(f [][]float64) []int {
		y := make([]int, len(f))
		for i, r := range f {
			y[i] = int(r[1])
		}
		return y
	}
	p, err := contrast.LinearProbe(trX, bg(trF), teX, bg(teF), 10, contrast.ProbeConfig{Epochs: c.Eval.ProbeEpochs, LR: c.Eval.ProbeLR, Seed: c.Seed})
	if err != nil {
		return err
	}
	res.BkgdAcc = p.TestAcc
	pos := func(f [][]float64) [][]float64 {
		out := make([][]float64, len(f))
		for i, r := range f {
			out[i] = []float64{r[2], r[3]}
		}
		return out
	}
	res.PosErr, err = contrast.RidgeError(trX, pos(trF), teX, pos(teF), 1e-3)
	return err
}

// paired returns ds as a paired data set if it has second views.
func paired(ds datasets.Dataset) (datasets.Paired, bool) {
	p, ok := ds.(datasets.Paired)
	if !ok || p.SecondShape().Size() == 0 {
		return nil, false
	}
	return p, true
}

// writeRecord writes a stage's record as its latest checkpoint.
func writeRecord(dir string, c games.Checkpoint) error {
	base := games.CheckpointDir(dir, c.Stage)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return nn.WriteFileAtomic(filepath.Join(base, "latest.json"), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// lastMetricsBytes returns the size of metrics.jsonl that the newest
// checkpoint of any stage vouches for (-1 if there is none): a resumed run
// truncates the file there.
func lastMetricsBytes(dir string) (int64, error) {
	base := filepath.Join(dir, "checkpoint")
	entries, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return -1, err
	}
	size := int64(-1)
	for _, en := range entries {
		c, err := games.ReadCheckpoint(dir, en.Name())
		if err != nil {
			return -1, err
		}
		if c != nil && c.MetricsBytes > size {
			size = c.MetricsBytes
		}
	}
	return size, nil
}
