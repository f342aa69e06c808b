package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Evaluation is the record of one evaluated stage: the linear probe and kNN
// on frozen features, and the I_NCE that the stage's estimator reached.
type Evaluation struct {
	Stage string `json:"stage"`
	// Split is what the probe is scored on: "test" (also when empty, in
	// records written before it was kept) or "validation".
	Split    string  `json:"split,omitempty"`
	ProbeAcc float64 `json:"probe_acc"`       // linear probe, the scored images
	TrainAcc float64 `json:"probe_train_acc"` // linear probe, its training images
	KNNAcc   float64 `json:"knn_acc"`
	// INCE is I_NCE at the end of the stage's training (nats; see
	// FinalINCE), absent for a stage without a contrastive estimator (the
	// supervised baseline). INCEBound is its ceiling log K.
	INCE      *float64 `json:"ince,omitempty"`
	INCEBound float64  `json:"ince_bound,omitempty"`
	// The Colorful-Moving-MNIST heads: background accuracy and localisation
	// error.
	BkgdAcc     *float64 `json:"bkgd_acc,omitempty"`
	PosErr      *float64 `json:"pos_err_px,omitempty"`
	TrainImages int      `json:"train_images,omitempty"`
	TestImages  int      `json:"test_images,omitempty"`
}

// Row returns the eval row of metrics.jsonl that records e at step.
func (e Evaluation) Row(step int) Row {
	split := e.Split
	if split == "" {
		split = "test"
	}
	r := Row{KeyKind: KindEval, KeyStep: step, KeyStage: e.Stage, KeySplit: split, KeyProbeAcc: e.ProbeAcc,
		KeyProbeTrainAcc: e.TrainAcc, KeyKNNAcc: e.KNNAcc, KeyTrainImages: e.TrainImages, KeyTestImages: e.TestImages}
	if e.BkgdAcc != nil {
		r[KeyBkgdAcc] = *e.BkgdAcc
	}
	if e.PosErr != nil {
		r[KeyPosErr] = *e.PosErr
	}
	return r
}

// ReadEvaluations returns the evaluation records of a run, sorted by stage;
// none (and no error) if the run has not evaluated anything yet. Runs
// written before evaluations.json existed kept each record in the stage's
// "-eval" checkpoint record, where it is read from instead.
func ReadEvaluations(runDir string) ([]Evaluation, error) {
	path := filepath.Join(runDir, EvaluationsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return legacyEvaluations(runDir)
	}
	if err != nil {
		return nil, fmt.Errorf("rundir: %w", err)
	}
	var out []Evaluation
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("rundir: %s: %w", path, err)
	}
	for i, e := range out {
		if e.Stage == "" {
			return nil, fmt.Errorf("rundir: %s: record %d has no stage", path, i)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Stage < out[j].Stage })
	return out, nil
}

// legacyEvaluations reads the records of an older run from its "-eval"
// checkpoint records.
func legacyEvaluations(runDir string) ([]Evaluation, error) {
	stages, err := Stages(runDir)
	if err != nil {
		return nil, err
	}
	var out []Evaluation
	for _, s := range stages {
		if !strings.HasSuffix(s, "-eval") {
			continue
		}
		c, err := ReadCheckpoint(runDir, s)
		if err != nil {
			return nil, err
		}
		if c == nil || !c.Done || len(c.Feed) == 0 {
			continue
		}
		var e Evaluation
		if json.Unmarshal(c.Feed, &e) == nil && e.Stage != "" {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Stage < out[j].Stage })
	return out, nil
}

// SaveEvaluation adds e to the run's evaluations.json, replacing an earlier
// record of the same stage, atomically.
func SaveEvaluation(runDir string, e Evaluation) error {
	if e.Stage == "" {
		return fmt.Errorf("rundir: an evaluation record needs a stage")
	}
	all, err := ReadEvaluations(runDir)
	if err != nil {
		return err
	}
	kept := all[:0]
	for _, old := range all {
		if old.Stage != e.Stage {
			kept = append(kept, old)
		}
	}
	kept = append(kept, e)
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Stage < kept[j].Stage })
	b, err := json.MarshalIndent(kept, "", "  ")
	if err != nil {
		return fmt.Errorf("rundir: %w", err)
	}
	return WriteBytesAtomic(filepath.Join(runDir, EvaluationsFile), append(b, '\n'))
}

// FindEvaluation returns the record of stage among evs, if there is one.
func FindEvaluation(evs []Evaluation, stage string) (Evaluation, bool) {
	for _, e := range evs {
		if e.Stage == stage {
			return e, true
		}
	}
	return Evaluation{}, false
}

// DropEvaluations removes the records of stages from evaluations.json
// (stages may name them by their "-eval" records too).
func DropEvaluations(runDir string, stages []string) error {
	all, err := ReadEvaluations(runDir)
	if err != nil || len(all) == 0 {
		return err
	}
	drop := map[string]bool{}
	for _, s := range stages {
		drop[s], drop[strings.TrimSuffix(s, "-eval")] = true, true
	}
	kept := all[:0]
	for _, e := range all {
		if !drop[e.Stage] {
			kept = append(kept, e)
		}
	}
	b, err := json.MarshalIndent(kept, "", "  ")
	if err != nil {
		return fmt.Errorf("rundir: %w", err)
	}
	return WriteBytesAtomic(filepath.Join(runDir, EvaluationsFile), append(b, '\n'))
}
