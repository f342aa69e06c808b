package experiment

import (
	"context"
	"fmt"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/viewgen"
)

// evaluate computes frozen features of the estimator's encoders (f1 on v1
// and f2 on v2, concatenated) on the labelled training images and the test
// images, fits the linear probe and kNN (and, on Colorful-Moving-MNIST, the
// background and position heads), and records the evaluation: an eval row
// in metrics.jsonl, a record in evaluations.json, and the stage's "-eval"
// checkpoint record that marks it done.
func (e *Experiment) evaluate(ctx context.Context, stage string, steps int, est *contrast.Estimator, gen Generator, spec viewgen.Spec) error {
	c := e.cfg
	evalStage := rundir.EvalStage(stage)
	if ck, err := rundir.ReadCheckpoint(e.dir, evalStage); err != nil {
		return err
	} else if ck != nil && ck.Done {
		evs, err := rundir.ReadEvaluations(e.dir)
		if err != nil {
			return err
		}
		if ev, ok := rundir.FindEvaluation(evs, stage); ok {
			e.evals = append(e.evals, ev)
			e.logf("%s: evaluated in an earlier run", stage)
			e.visit(evalStage, ck.MetricsBytes)
			return nil
		}
		// The record outlived its result: evaluate again.
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("before evaluating %s: %w", stage, games.ErrInterrupted)
	}
	if err := e.replay(evalStage, true); err != nil {
		return err
	}
	e.logf("%s: evaluating (linear probe and kNN on frozen features)", stage)
	spec.Augment = nil
	trainDS, err := subset(e.data.Labelled, c.Eval.TrainImages, c.Seed+offsetEvalTrain)
	if err != nil {
		return err
	}
	scored := e.data.Test
	if c.Eval.Split == "validation" {
		scored = e.data.Validation
	}
	testDS, err := subset(scored, c.Eval.TestImages, c.Seed+offsetEvalTest)
	if err != nil {
		return err
	}
	fx, err := newFeatureExtractor(e, est, gen, spec)
	if err != nil {
		return err
	}
	defer fx.close()
	trX, trY, trF, err := fx.features(ctx, trainDS)
	if err != nil {
		return err
	}
	teX, teY, teF, err := fx.features(ctx, testDS)
	if err != nil {
		return err
	}
	ev := rundir.Evaluation{Stage: stage, Split: c.Eval.Split, TrainImages: len(trX), TestImages: len(teX)}
	probe, err := contrast.LinearProbe(trX, trY, teX, teY, e.data.Classes, contrast.ProbeConfig{Epochs: c.Eval.ProbeEpochs, LR: c.Eval.ProbeLR, WeightDecay: c.Eval.ProbeWD, Seed: c.Seed})
	if err != nil {
		return err
	}
	ev.ProbeAcc, ev.TrainAcc = probe.TestAcc, probe.TrainAcc
	if ev.KNNAcc, err = contrast.KNN(trX, trY, teX, teY, e.data.Classes, contrast.KNNConfig{K: c.Eval.KNNK}); err != nil {
		return err
	}
	if v, bound, ok := rundir.FinalINCE(e.dir, stage); ok {
		ev.INCE, ev.INCEBound = &v, bound
	}
	if fx.paired {
		if err := e.factorHeads(&ev, trX, trF, teX, teF); err != nil {
			return err
		}
	}
	if err := e.metrics.Write(ev.Row(steps)); err != nil {
		return err
	}
	size, err := e.metrics.Flush()
	if err != nil {
		return err
	}
	if err := rundir.SaveEvaluation(e.dir, ev); err != nil {
		return err
	}
	e.evals = append(e.evals, ev)
	e.logf("%s: linear probe %.1f%% on the %s images (train %.1f%%), kNN %.1f%%", stage, 100*ev.ProbeAcc, ev.Split, 100*ev.TrainAcc, 100*ev.KNNAcc)
	if err := rundir.WriteRecord(e.dir, rundir.Checkpoint{Stage: evalStage, Done: true, MetricsBytes: size}); err != nil {
		return err
	}
	e.visit(evalStage, size)
	return nil
}

// factorHeads fits the Colorful-Moving-MNIST heads: background class by a
// linear probe and digit position by ridge regression.
func (e *Experiment) factorHeads(ev *rundir.Evaluation, trX, trF, teX, teF [][]float64) error {
	c := e.cfg
	bg := func(f [][]float64) []int {
		y := make([]int, len(f))
		for i, r := range f {
			y[i] = int(r[1])
		}
		return y
	}
	p, err := contrast.LinearProbe(trX, bg(trF), teX, bg(teF), games.BackgroundClasses, contrast.ProbeConfig{Epochs: c.Eval.ProbeEpochs, LR: c.Eval.ProbeLR, Seed: c.Seed})
	if err != nil {
		return err
	}
	ev.BkgdAcc = &p.TestAcc
	pos := func(f [][]float64) [][]float64 {
		out := make([][]float64, len(f))
		for i, r := range f {
			out[i] = []float64{r[2], r[3]}
		}
		return out
	}
	perr, err := contrast.RidgeError(trX, pos(trF), teX, pos(teF), 1e-3)
	if err != nil {
		return err
	}
	ev.PosErr = &perr
	return nil
}
