package sweep

import (
	"strings"

	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/learnviews/learnviews/rundir"
)

// ResultFile is the name of a finished task's result inside its run
// directory. A task whose run directory holds it is never run again.
const ResultFile = "result.json"

// Result is what one finished task reports: the evaluation of the stage
// the sweep reports, and where and when it ran.
type Result struct {
	Task  int    `json:"task"`
	Point int    `json:"point"`
	Label string `json:"label"`
	Seed  uint64 `json:"seed"`
	// The evaluation reported (its Stage names it); INCE is absent for a
	// stage without a contrastive estimator (the supervised baseline).
	rundir.Evaluation
	// TrainWall is the training time of the run's stages in seconds, summed
	// over resumed attempts; Wall the time of the attempt that finished it.
	TrainWall float64 `json:"train_wall_s"`
	Wall      float64 `json:"wall_s"`
	Dir       string  `json:"dir"`
	Finished  string  `json:"finished"`
}

// Summary is the result on one line.
func (r *Result) Summary() string {
	s := fmt.Sprintf("probe %.1f%%, kNN %.1f%%", 100*r.ProbeAcc, 100*r.KNNAcc)
	if r.INCE != nil {
		s += fmt.Sprintf(", I_NCE %.3f", *r.INCE)
	}
	if r.BkgdAcc != nil {
		s += fmt.Sprintf(", bkgd %.1f%%", 100**r.BkgdAcc)
	}
	if r.PosErr != nil {
		s += fmt.Sprintf(", loc %.2f px", *r.PosErr)
	}
	return s + fmt.Sprintf(" (%.0f s)", r.Wall)
}

// ReportedStage picks the evaluation a sweep reports for a run: the plan's
// stage if it names one, else stage2, the supervised encoder or
// contrastive, whichever the run has first.
func ReportedStage(want string, evals []rundir.Evaluation) (rundir.Evaluation, error) {
	order := []string{rundir.StageStage2, rundir.StageSupervisedEncoder, rundir.StageContrastive, rundir.StageStage2Raw}
	if want != "" {
		order = []string{want}
	}
	for _, s := range order {
		if ev, ok := rundir.FindEvaluation(evals, s); ok {
			return ev, nil
		}
	}
	var have []string
	for _, r := range evals {
		have = append(have, r.Stage)
	}
	return rundir.Evaluation{}, fmt.Errorf("the run has no evaluation of stage %s (it has: %s)", strings.Join(order, " or "), strings.Join(have, ", "))
}

// ReadResult reads the result of the task run in runDir; it returns nil
// and no error when the task has not finished.
func ReadResult(runDir string) (*Result, error) {
	b, err := os.ReadFile(filepath.Join(runDir, ResultFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(runDir, ResultFile), err)
	}
	return &r, nil
}

// Stat is a mean and sample standard deviation over N values; N = 0 means
// that no value was there.
type Stat struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	N    int     `json:"n"`
}

// MeanStd returns the mean of xs and their sample standard deviation (with
// n−1 in the denominator; 0 for a single value).
func MeanStd(xs []float64) Stat {
	n := len(xs)
	if n == 0 {
		return Stat{}
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(n)
	if n == 1 {
		return Stat{Mean: mean, N: 1}
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return Stat{Mean: mean, Std: math.Sqrt(ss / float64(n-1)), N: n}
}

// Scale returns the statistic multiplied by f (a fraction as a percentage).
func (s Stat) Scale(f float64) Stat { return Stat{s.Mean * f, math.Abs(s.Std * f), s.N} }

// Row is one point of a sweep aggregated over its seeds.
type Row struct {
	Point   int               `json:"point"`
	Label   string            `json:"label"`
	Values  map[string]string `json:"values"`
	Seeds   []uint64          `json:"seeds"`   // the seeds that finished
	Missing int               `json:"missing"` // planned tasks without a result
	Stage   string            `json:"stage"`
	INCE    Stat              `json:"ince"`
	Probe   Stat              `json:"probe_acc"`
	Train   Stat              `json:"probe_train_acc"`
	KNN     Stat              `json:"knn_acc"`
	Bkgd    Stat              `json:"bkgd_acc"`
	PosErr  Stat              `json:"pos_err_px"`
}

// Aggregate gathers the results into one row per point of the plan, in
// the plan's order, with mean ± standard deviation over the seeds that
// finished. Points without any result keep a row with N = 0 everywhere.
func Aggregate(p *Plan, results []Result) []Row {
	byPoint := map[int][]Result{}
	for _, r := range results {
		byPoint[r.Point] = append(byPoint[r.Point], r)
	}
	planned := map[int]int{}
	for _, t := range p.Tasks {
		planned[t.Point]++
	}
	rows := make([]Row, 0, len(p.Points))
	for _, pt := range p.Points {
		rs := byPoint[pt.Index]
		sort.Slice(rs, func(i, j int) bool { return rs[i].Seed < rs[j].Seed })
		row := Row{Point: pt.Index, Label: pt.Label, Values: pt.Values, Missing: planned[pt.Index] - len(rs)}
		var ince, probe, train, knn, bkgd, pos []float64
		for _, r := range rs {
			row.Seeds = append(row.Seeds, r.Seed)
			row.Stage = r.Stage
			if r.INCE != nil {
				ince = append(ince, *r.INCE)
			}
			probe = append(probe, r.ProbeAcc)
			train = append(train, r.TrainAcc)
			knn = append(knn, r.KNNAcc)
			if r.BkgdAcc != nil {
				bkgd = append(bkgd, *r.BkgdAcc)
			}
			if r.PosErr != nil {
				pos = append(pos, *r.PosErr)
			}
		}
		row.INCE, row.Probe, row.Train, row.KNN = MeanStd(ince), MeanStd(probe), MeanStd(train), MeanStd(knn)
		row.Bkgd, row.PosErr = MeanStd(bkgd), MeanStd(pos)
		rows = append(rows, row)
	}
	return rows
}

// Collect reads the result of every task of the plan from the sweep in
// dir. It returns the results found and the tasks that have none.
func Collect(dir string, p *Plan) ([]Result, []Task, error) {
	var out []Result
	var missing []Task
	for _, t := range p.Tasks {
		r, err := ReadResult(filepath.Join(dir, t.Dir))
		if err != nil {
			return nil, nil, err
		}
		if r == nil {
			missing = append(missing, t)
			continue
		}
		if r.Task != t.Index || r.Point != t.Point || r.Seed != t.Seed {
			return nil, nil, fmt.Errorf("%s: the result is of task %d (point %d, seed %d), the plan's task %d is point %d, seed %d",
				filepath.Join(dir, t.Dir, ResultFile), r.Task, r.Point, r.Seed, t.Index, t.Point, t.Seed)
		}
		out = append(out, *r)
	}
	return out, missing, nil
}
