package sweep

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/rundir"
)

func TestReportedStage(t *testing.T) {
	rs := []rundir.Evaluation{{Stage: "stage2-raw", ProbeAcc: 0.1}, {Stage: "stage2", ProbeAcc: 0.2}}
	r, err := ReportedStage("", rs)
	require.NoError(t, err)
	assert.Equal(t, "stage2", r.Stage)
	r, err = ReportedStage("stage2-raw", rs)
	require.NoError(t, err)
	assert.Equal(t, 0.1, r.ProbeAcc)
	_, err = ReportedStage("contrastive", rs)
	assert.ErrorContains(t, err, "it has: stage2-raw, stage2")
}

func TestParseTaskIndex(t *testing.T) {
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	t.Setenv("JOB_COMPLETION_INDEX", "")
	tests := []struct {
		in, slurm, k8s string
		want           int
		err            string
	}{
		{in: "3", want: 3},
		{in: "-1", err: "want a task index"},
		{in: "env", slurm: "7", want: 7},
		{in: "env", k8s: "5", want: 5},
		{in: "env", slurm: "2", k8s: "5", want: 2},
		{in: "env", slurm: "x", err: `SLURM_ARRAY_TASK_ID="x"`},
		{in: "env", err: "neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX"},
	}
	for _, tc := range tests {
		os.Setenv("SLURM_ARRAY_TASK_ID", tc.slurm)
		os.Setenv("JOB_COMPLETION_INDEX", tc.k8s)
		got, err := ParseTaskIndex(tc.in)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}
