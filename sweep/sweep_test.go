package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/rundir"
)

func TestMeanStd(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want Stat
	}{
		{"none", nil, Stat{}},
		{"one value has no spread", []float64{0.5}, Stat{0.5, 0, 1}},
		{"sample std (n-1)", []float64{1, 2, 3, 4}, Stat{2.5, math.Sqrt(5.0 / 3), 4}},
		{"equal values", []float64{7, 7, 7}, Stat{7, 0, 3}},
	}
	for _, tc := range tests {
		got := MeanStd(tc.xs)
		assert.Equal(t, tc.want.N, got.N, tc.name)
		assert.InDelta(t, tc.want.Mean, got.Mean, 1e-12, tc.name)
		assert.InDelta(t, tc.want.Std, got.Std, 1e-12, tc.name)
	}
	assert.Equal(t, Stat{50, 10, 2}, Stat{0.5, -0.1, 2}.Scale(100))
}

func fptr(v float64) *float64 { return &v }

func testPlan(t *testing.T) *Plan {
	t.Helper()
	p, err := NewPlan("sweep-x", []Point{
		{Label: "crop 0.2", Set: []string{"views.spec=rgb+crop=0.2"}},
		{Label: "crop 1.0", Set: []string{"views.spec=rgb+crop=1"}},
	}, []uint64{1, 2, 3})
	require.NoError(t, err)
	return p
}

func TestNewPlan(t *testing.T) {
	p := testPlan(t)
	require.Len(t, p.Tasks, 6)
	assert.Equal(t, []string{"views.spec"}, p.Keys)
	assert.Equal(t, Task{Index: 4, Point: 1, Seed: 2, Dir: "points/001-crop-1.0/seed-2", Config: "tasks/0004.yaml"}, p.Tasks[4])
	assert.Equal(t, "rgb+crop=1", p.Points[1].Values["views.spec"])
	_, err := p.Task(6)
	assert.ErrorContains(t, err, "tasks 0 to 5")

	q := testPlan(t)
	assert.Empty(t, p.SameTasks(q))
	q.Points[1].Set = []string{"views.spec=rgb+crop=0.9"}
	assert.Contains(t, p.SameTasks(q), "point 1 sets")
	q, err = NewPlan("sweep-x", p.Points[:1], []uint64{1, 2, 3})
	require.NoError(t, err)
	assert.Contains(t, p.SameTasks(q), "6 tasks, not 3")

	dir := t.TempDir()
	var buf bytes.Buffer
	require.NoError(t, p.Encode(&buf))
	require.NoError(t, os.WriteFile(filepath.Join(dir, PlanFile), buf.Bytes(), 0o644))
	back, err := ReadPlan(dir)
	require.NoError(t, err)
	assert.Equal(t, p, back)
	_, err = ReadPlan(t.TempDir())
	assert.ErrorContains(t, err, "not a sweep directory")
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"RGB":                    "rgb",
		"bkgd, digit, pos":       "bkgd-digit-pos",
		"semi-supervised, YDbDr": "semi-supervised-ydbdr",
		"0.08":                   "0.08",
		"d=2":                    "d-2",
		"":                       "point",
		"äöü":                    "point",
		strings.Repeat("a", 50):  strings.Repeat("a", 40),
	} {
		assert.Equal(t, want, Slug(in), in)
	}
}

func TestAggregate(t *testing.T) {
	p := testPlan(t)
	results := []Result{
		{Task: 0, Point: 0, Seed: 1, Evaluation: rundir.Evaluation{Stage: "contrastive", INCE: fptr(2.0), ProbeAcc: 0.6, KNNAcc: 0.5}},
		{Task: 2, Point: 0, Seed: 3, Evaluation: rundir.Evaluation{Stage: "contrastive", INCE: fptr(3.0), ProbeAcc: 0.8, KNNAcc: 0.5}},
		{Task: 1, Point: 0, Seed: 2, Evaluation: rundir.Evaluation{Stage: "contrastive", INCE: fptr(2.5), ProbeAcc: 0.7, KNNAcc: 0.5}},
		{Task: 3, Point: 1, Seed: 1, Evaluation: rundir.Evaluation{Stage: "supervised", ProbeAcc: 0.9, BkgdAcc: fptr(0.4), PosErr: fptr(2)}},
	}
	rows := Aggregate(p, results)
	require.Len(t, rows, 2)
	assert.Equal(t, []uint64{1, 2, 3}, rows[0].Seeds, "seeds sorted")
	assert.Equal(t, 0, rows[0].Missing)
	assert.InDelta(t, 2.5, rows[0].INCE.Mean, 1e-12)
	assert.InDelta(t, 0.5, rows[0].INCE.Std, 1e-12)
	assert.InDelta(t, 0.7, rows[0].Probe.Mean, 1e-12)
	assert.InDelta(t, 0.1, rows[0].Probe.Std, 1e-12)
	assert.Equal(t, 0, rows[0].Bkgd.N)
	assert.Equal(t, 2, rows[1].Missing)
	assert.Equal(t, 0, rows[1].INCE.N, "no estimator, no I_NCE")
	assert.Equal(t, Stat{0.4, 0, 1}, rows[1].Bkgd)

	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, p, rows))
	recs, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 3)
	head := recs[0]
	assert.Equal(t, []string{"point", "label", "views.spec", "stage", "seeds", "missing", "ince_mean", "ince_std"}, head[:8])
	assert.Contains(t, head, "pos_err_px_mean", "factor columns when a point has them")
	col := func(name string) int {
		for i, h := range head {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	assert.Equal(t, "rgb+crop=0.2", recs[1][col("views.spec")])
	assert.Equal(t, "3", recs[1][col("seeds")])
	assert.Equal(t, "0.7", recs[1][col("probe_acc_mean")])
	assert.Equal(t, "", recs[2][col("ince_mean")], "empty cell for a value no seed gave")
	assert.Equal(t, "2", recs[2][col("missing")])

	buf.Reset()
	require.NoError(t, WriteJSONL(&buf, rows))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	var back Row
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &back))
	assert.Equal(t, rows[0].Probe, back.Probe)

	cells := SweepCells(p, rows)
	assert.Equal(t, []string{"crop 0.2", "2.50 ± 0.50", "70.0 ± 10.0", "50.0 ± 0.0", "0.0 ± 0.0"}, cells.Rows[0])
	assert.Equal(t, "90.0 (1 of 3)", cells.Rows[1][2])
	buf.Reset()
	require.NoError(t, cells.Markdown(&buf))
	assert.Contains(t, buf.String(), "| crop 0.2 | 2.50 ± 0.50 |")
}

func TestCollect(t *testing.T) {
	dir := t.TempDir()
	p := testPlan(t)
	write := func(task Task, r Result) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, task.Dir), 0o755))
		b, err := json.Marshal(r)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, task.Dir, ResultFile), b, 0o644))
	}
	write(p.Tasks[0], Result{Task: 0, Point: 0, Seed: 1, Evaluation: rundir.Evaluation{ProbeAcc: 0.5}})
	write(p.Tasks[5], Result{Task: 5, Point: 1, Seed: 3, Evaluation: rundir.Evaluation{ProbeAcc: 0.7}})
	results, missing, err := Collect(dir, p)
	require.NoError(t, err)
	assert.Len(t, results, 2)
	assert.Len(t, missing, 4)
	assert.Equal(t, 1, missing[0].Index)

	write(p.Tasks[1], Result{Task: 3, Point: 1, Seed: 1})
	_, _, err = Collect(dir, p)
	assert.ErrorContains(t, err, "the result is of task 3")
}

func TestPaperTables(t *testing.T) {
	p, err := NewPlan("table-cmnist", []Point{{Label: "digit"}, {Label: "supervised"}}, []uint64{1})
	require.NoError(t, err)
	p.Table = "cmnist"
	rows := Aggregate(p, []Result{
		{Task: 0, Point: 0, Seed: 1, Evaluation: rundir.Evaluation{ProbeAcc: 0.8, BkgdAcc: fptr(0.1), PosErr: fptr(5)}},
		{Task: 1, Point: 1, Seed: 1, Evaluation: rundir.Evaluation{ProbeAcc: 0.95, BkgdAcc: fptr(0.5), PosErr: fptr(1)}},
	})
	c := CellsFor(p, rows)
	assert.Equal(t, []string{"shared factors", "digit err %", "paper", "bkgd err %", "paper", "loc err px", "paper"}, c.Header)
	assert.Equal(t, []string{"digit", "20.0", "16.8", "90.0", "88.6", "5.00", "13.60"}, c.Rows[0])
	assert.Equal(t, []string{"supervised", "5.0", "3.4", "50.0", "45.3", "1.00", "0.93"}, c.Rows[1])
	for _, l := range Table4Order {
		_, ok := Table4[l]
		assert.True(t, ok, l)
	}

	p, err = NewPlan("table-learned-views", []Point{{Label: "semi-supervised, RGB"}, {Label: "semi-supervised, YDbDr"}, {Label: "raw views, YDbDr"}}, []uint64{1, 2})
	require.NoError(t, err)
	p.Table = "learned-views"
	rows = Aggregate(p, []Result{
		{Task: 0, Point: 0, Seed: 1, Evaluation: rundir.Evaluation{ProbeAcc: 0.6}}, {Task: 1, Point: 0, Seed: 2, Evaluation: rundir.Evaluation{ProbeAcc: 0.8}},
		{Task: 4, Point: 2, Seed: 1, Evaluation: rundir.Evaluation{ProbeAcc: 0.5}},
	})
	c = CellsFor(p, rows)
	assert.Equal(t, []string{"view generator", "RGB", "paper", "YDbDr", "paper"}, c.Header)
	assert.Equal(t, []string{"semi-supervised", "70.0 ± 14.1", "86.0 ± 0.6", "–", "87.0 ± 0.3"}, c.Rows[0])
	assert.Equal(t, []string{"raw views", "–", "81.5 ± 0.2", "50.0 (1 of 2)", "86.6 ± 0.2"}, c.Rows[1])
	g, in := SplitLabel5("raw views, YDbDr")
	assert.Equal(t, []string{"raw views", "YDbDr"}, []string{g, in})
}

func TestArraySpec(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{[]int{0}, "0"},
		{[]int{0, 1, 2, 3}, "0-3"},
		{[]int{9, 0, 1, 2, 3, 5, 7, 8}, "0-3,5,7-9"},
		{[]int{4, 4, 5}, "4-5"},
	}
	for _, tc := range tests {
		got := ArraySpec(tc.in)
		assert.Equal(t, tc.want, got)
		back, err := ParseArraySpec(got + "%2")
		require.NoError(t, err)
		assert.Subset(t, back, tc.in)
		assert.Subset(t, tc.in, back)
	}
	_, err := ParseArraySpec("1-x")
	assert.ErrorContains(t, err, "1-x")
	_, err = ParseArraySpec("5-2")
	assert.ErrorContains(t, err, "not a range")
}

func TestSlurmScript(t *testing.T) {
	var buf bytes.Buffer
	err := SlurmScript(&buf, "/shared/s/slurm.sbatch", SlurmOptions{Dir: "/shared/s", Bin: "/opt/lv bin/learnviews", Tasks: []int{0, 1, 2, 5},
		JobName: "learnviews-x", CPUs: 4, Time: "01:00:00", MaxParallel: 2})
	require.NoError(t, err)
	s := buf.String()
	assert.True(t, strings.HasPrefix(s, "#!/bin/bash\n"))
	for _, want := range []string{
		"#SBATCH --array=0-2,5%2\n", "#SBATCH --cpus-per-task=4\n", "#SBATCH --time=01:00:00\n", "#SBATCH --job-name=learnviews-x\n",
		"#SBATCH --output=/shared/s/logs/slurm-%A_%a.log\n",
		`exec '/opt/lv bin/learnviews' run --sweep /shared/s --sweep-point "${SLURM_ARRAY_TASK_ID}"`,
		`GOMAXPROCS="${SLURM_CPUS_PER_TASK:-4}"`,
	} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, "--partition", "no empty options")
	assert.Error(t, SlurmScript(&buf, "x", SlurmOptions{Dir: "/a b", Tasks: []int{0}}))
	assert.Error(t, SlurmScript(&buf, "x", SlurmOptions{Dir: "/a"}))
}

func TestKubernetesJob(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, KubernetesJob(&buf, KubernetesOptions{Name: "learnviews-sweep_colorspaces-RUN.1", Image: "reg/learnviews:1", Claim: "sweeps",
		SubPath: "cs", Tasks: 36, Parallelism: 8, CPUs: 2, Memory: "4Gi"}))
	s := buf.String()
	for _, want := range []string{
		"kind: Job", "completionMode: Indexed", "completions: 36", "parallelism: 8", "name: learnviews-sweep-colorspaces-run-1\n",
		`"--sweep-point", "$(JOB_COMPLETION_INDEX)"`, `"--sweep", "/sweep"`, "claimName: sweeps", "subPath: cs", `memory: "4Gi"`, `cpu: "2"`,
	} {
		assert.Contains(t, s, want)
	}
	assert.Error(t, KubernetesJob(&buf, KubernetesOptions{}))
}

// A sweep's plan, whatever its bytes, reads or fails.
func FuzzReadPlan(f *testing.F) {
	p, err := NewPlan("x", []Point{{Label: "a", Set: []string{"game.steps=2"}}}, []uint64{1, 2})
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"profile":"x","tasks":[{"index":5,"point":9}]}`))
	f.Add([]byte(`{"profile":"x","points":[{"label":"../../a"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, PlanFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		plan, err := ReadPlan(dir)
		if err != nil {
			return
		}
		for i := range plan.Tasks {
			tk, err := plan.Task(i)
			if err != nil {
				continue
			}
			if tk.Point < 0 || tk.Point >= len(plan.Points) {
				t.Fatalf("task %d names point %d of %d", i, tk.Point, len(plan.Points))
			}
		}
	})
}

func TestWelchT(t *testing.T) {
	// Two samples of three: means 2 and 5, variances 1 and 1.
	tv, df, ok := WelchT([]float64{1, 2, 3}, []float64{4, 5, 6})
	require.True(t, ok)
	assert.InDelta(t, -3/math.Sqrt(2.0/3), tv, 1e-12)
	assert.InDelta(t, 4, df, 1e-12)
	_, _, ok = WelchT([]float64{1}, []float64{2, 3})
	assert.False(t, ok)
	p, err := NewPlan("table-learned-views", []Point{{Label: "semi-supervised, RGB"}, {Label: "raw views, RGB"}}, []uint64{1, 2})
	require.NoError(t, err)
	c := Table5Tests(p, []Result{
		{Label: "semi-supervised, RGB", Evaluation: rundir.Evaluation{ProbeAcc: 0.30}}, {Label: "semi-supervised, RGB", Evaluation: rundir.Evaluation{ProbeAcc: 0.32}},
		{Label: "raw views, RGB", Evaluation: rundir.Evaluation{ProbeAcc: 0.25}}, {Label: "raw views, RGB", Evaluation: rundir.Evaluation{ProbeAcc: 0.27}},
	})
	require.Len(t, c.Rows, 1)
	assert.Equal(t, []string{"semi-supervised − raw views", "RGB", "+5.0", "+3.54", "2.0"}, c.Rows[0])
}
