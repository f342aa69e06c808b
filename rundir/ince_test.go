package rundir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFinalINCE(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := 0; i < 10; i++ {
		lines = append(lines, fmt.Sprintf(`{"kind":"step","stage":"contrastive","player":"estimator","step":%d,"ince":%d,"ince_bound":3.4}`, i, i))
		lines = append(lines, fmt.Sprintf(`{"kind":"step","stage":"view-learning","player":"estimator","step":%d,"ince":100}`, i))
	}
	lines = append(lines, `{"kind":"eval","stage":"contrastive","probe_acc":0.5}`, `not json`)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	tests := []struct {
		stage string
		want  float64
		ok    bool
	}{
		{"contrastive", 8.5, true}, // the last fifth: steps 8 and 9
		{"view-learning", 100, true},
		{"stage2", 0, false},
	}
	for _, tc := range tests {
		v, bound, ok := FinalINCE(dir, tc.stage)
		assert.Equal(t, tc.ok, ok, tc.stage)
		assert.InDelta(t, tc.want, v, 1e-12, tc.stage)
		if tc.stage == "contrastive" {
			assert.Equal(t, 3.4, bound)
		}
	}
}
