package rundir

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
)

// INCEWindow is the fraction of a stage's logged estimator steps, at its
// end, over which "I_NCE at the end of training" is averaged.
const INCEWindow = 0.2

// FinalINCE returns I_NCE at the end of a stage's training: the mean of the
// estimator's logged in-batch estimates over the last fifth of the stage's
// logged steps (at least one), with the ceiling log K of the last estimate.
// ok is false when the stage logged none.
func FinalINCE(runDir, stage string) (ince, bound float64, ok bool) {
	f, err := os.Open(filepath.Join(runDir, MetricsFile))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	var vals []float64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	marker := []byte(`"` + PlayerEstimator + `"`)
	for sc.Scan() {
		line := sc.Bytes()
		// A cheap filter first: most lines of a long run are other stages'.
		if !bytes.Contains(line, marker) {
			continue
		}
		var r struct {
			Kind   string   `json:"kind"`
			Stage  string   `json:"stage"`
			Player string   `json:"player"`
			INCE   *float64 `json:"ince"`
			Bound  *float64 `json:"ince_bound"`
		}
		if json.Unmarshal(line, &r) != nil || r.Kind != KindStep || r.Stage != stage || r.Player != PlayerEstimator || r.INCE == nil {
			continue
		}
		if math.IsNaN(*r.INCE) || math.IsInf(*r.INCE, 0) {
			continue
		}
		vals = append(vals, *r.INCE)
		if r.Bound != nil {
			bound = *r.Bound
		}
	}
	if len(vals) == 0 {
		return 0, 0, false
	}
	n := max(1, int(math.Ceil(INCEWindow*float64(len(vals)))))
	var sum float64
	for _, v := range vals[len(vals)-n:] {
		sum += v
	}
	return sum / float64(n), bound, true
}
