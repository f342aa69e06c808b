package experiment

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/rundir"
)

// fakeRun writes a run directory with one evaluated stage beside its
// baseline, and the configuration text given.
func fakeRun(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	m, err := rundir.OpenMetrics(dir, 0)
	require.NoError(t, err)
	require.NoError(t, m.Write(rundir.Row{rundir.KeyKind: "train", rundir.KeyStep: 1, rundir.KeyStage: rundir.StageStage2, "player": "encoders", "ince": 0.5}))
	_, err = m.Flush()
	require.NoError(t, err)
	require.NoError(t, m.Close())
	require.NoError(t, rundir.SaveEvaluation(dir, rundir.Evaluation{Stage: rundir.StageStage2, ProbeAcc: 0.4, TrainAcc: 0.5, KNNAcc: 0.3}))
	require.NoError(t, rundir.SaveEvaluation(dir, rundir.Evaluation{Stage: rundir.StageStage2Raw, ProbeAcc: 0.35, TrainAcc: 0.45, KNNAcc: 0.3}))
	require.NoError(t, os.WriteFile(filepath.Join(dir, rundir.ConfigFile), []byte(config), 0o644))
	return dir
}

func TestReportShowsTheProfileNote(t *testing.T) {
	for _, tc := range []struct {
		name, config, want string
	}{
		{"note", "profile: quick\nnote: \"Measured over seeds 1-3: learned views 1.2 points above raw\"\n", "Measured over seeds 1-3: learned views 1.2 points above raw"},
		{"no note", "profile: quick\n", ""},
		{"unreadable config", "profile: [\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeRun(t, tc.config)
			path, err := WriteReport(dir)
			require.NoError(t, err)
			html, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Contains(t, string(html), "5.0 vs raw", "the stage-2 row compares with the baseline")
			assert.Contains(t, string(html), "Table 5 of the paper")
			if tc.want != "" {
				assert.Contains(t, string(html), tc.want)
			}
			assert.Equal(t, tc.want, profileNote(dir))
		})
	}
}
