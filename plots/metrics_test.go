package plots

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/rundir"
)

func TestDecodeMetrics(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		wantSteps []int  // steps of the records read, when no error
		wantLines []int  // their line numbers
		wantErr   string // substring of the error, "" for none
	}{
		{
			name:      "step and eval rows",
			input:     "{\"kind\":\"step\",\"step\":0,\"ince\":1.5}\n{\"kind\":\"eval\",\"step\":10,\"probe_acc\":0.5}\n",
			wantSteps: []int{0, 10}, wantLines: []int{1, 2},
		},
		{
			name:      "blank lines are skipped and counted",
			input:     "\n{\"kind\":\"step\",\"step\":1}\n  \n{\"kind\":\"step\",\"step\":2}\n",
			wantSteps: []int{1, 2}, wantLines: []int{2, 4},
		},
		{
			name:      "truncated last line is skipped",
			input:     "{\"kind\":\"step\",\"step\":1}\n{\"kind\":\"step\",\"step\":2,\"ince\":",
			wantSteps: []int{1}, wantLines: []int{1},
		},
		{
			name:      "truncated last line mid-string is skipped",
			input:     "{\"kind\":\"step\",\"step\":1}\n{\"kind\":\"st",
			wantSteps: []int{1}, wantLines: []int{1},
		},
		{
			name:      "complete last line without newline is kept",
			input:     "{\"kind\":\"step\",\"step\":1}\n{\"kind\":\"eval\",\"step\":2}",
			wantSteps: []int{1, 2}, wantLines: []int{1, 2},
		},
		{
			name:      "CRLF line endings",
			input:     "{\"kind\":\"step\",\"step\":1}\r\n{\"kind\":\"step\",\"step\":2}\r\n",
			wantSteps: []int{1, 2}, wantLines: []int{1, 2},
		},
		{name: "empty file", input: "", wantSteps: nil},
		{
			name:    "malformed line in the middle",
			input:   "{\"kind\":\"step\",\"step\":1}\n{\"kind\":\"step\",\"step\":2,}\n{\"kind\":\"step\",\"step\":3}\n",
			wantErr: "run/metrics.jsonl:2: invalid character",
		},
		{
			name:    "malformed last line that ends with a newline",
			input:   "{\"kind\":\"step\",\"step\":1}\n{\"kind\":\"step\",\"st\n",
			wantErr: "run/metrics.jsonl:2:",
		},
		{
			name:    "complete last line missing kind is not taken for truncation",
			input:   "{\"kind\":\"step\",\"step\":1}\n{\"step\":2}",
			wantErr: `run/metrics.jsonl:2: key "kind": want a non-empty string, got nothing`,
		},
		{
			name:    "kind is not a string",
			input:   "{\"kind\":3,\"step\":1}\n",
			wantErr: `run/metrics.jsonl:1: key "kind": want a non-empty string, got number 3`,
		},
		{
			name:    "missing step",
			input:   "{\"kind\":\"step\"}\n",
			wantErr: `run/metrics.jsonl:1: key "step": want an integer, got nothing`,
		},
		{
			name:    "fractional step",
			input:   "{\"kind\":\"step\",\"step\":1.5}\n",
			wantErr: `run/metrics.jsonl:1: key "step": want an integer, got 1.5`,
		},
		{
			name:    "step as a string",
			input:   "{\"kind\":\"step\",\"step\":\"7\"}\n",
			wantErr: `key "step": want an integer, got string "7"`,
		},
		{
			name:    "line is an array",
			input:   "[1,2]\n",
			wantErr: "run/metrics.jsonl:1: line is a JSON array, want an object",
		},
		{
			name:    "line is null",
			input:   "null\n",
			wantErr: "run/metrics.jsonl:1: line is JSON null",
		},
		{
			name:    "two objects on one line",
			input:   "{\"kind\":\"step\",\"step\":1}{\"kind\":\"step\",\"step\":2}\n",
			wantErr: "run/metrics.jsonl:1: unexpected data after the JSON object",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := DecodeMetrics(strings.NewReader(tc.input), "run/metrics.jsonl")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var steps, lines []int
			for _, r := range recs {
				steps = append(steps, r.Step)
				lines = append(lines, r.Line)
			}
			if !reflect.DeepEqual(steps, tc.wantSteps) || !reflect.DeepEqual(lines, tc.wantLines) {
				t.Errorf("steps %v lines %v, want steps %v lines %v", steps, lines, tc.wantSteps, tc.wantLines)
			}
		})
	}
}

func TestRecordValues(t *testing.T) {
	line := `{"kind":"step","step":12,"player":"generator","stage":"view-learning","ince":2.5,"lr":1e-3,` +
		`"ce1":null,"acc1":"NaN","custom":{"a":[1,2]},"big":1e999,"flag":true}` + "\n"
	recs, err := DecodeMetrics(strings.NewReader(line), "m")
	if err != nil {
		t.Fatal(err)
	}
	r := recs[0]
	floats := []struct {
		key    string
		want   float64
		wantOK bool
	}{
		{"step", 12, true},
		{"ince", 2.5, true},
		{"lr", 0.001, true},
		{"ce1", 0, false},    // null
		{"acc1", 0, false},   // a string
		{"custom", 0, false}, // an object
		{"big", 0, false},    // out of float64 range
		{"flag", 0, false},
		{"absent", 0, false},
	}
	for _, f := range floats {
		got, ok := r.Float(f.key)
		if ok != f.wantOK || got != f.want {
			t.Errorf("Float(%q) = %v, %v; want %v, %v", f.key, got, ok, f.want, f.wantOK)
		}
	}
	if r.Player() != "generator" || r.Stage() != "view-learning" || r.Split() != "" || r.Text("ince") != "" {
		t.Errorf("Player %q Stage %q Split %q Text(ince) %q", r.Player(), r.Stage(), r.Split(), r.Text("ince"))
	}
	custom, ok := r.Fields["custom"].(map[string]any)
	if !ok || len(custom["a"].([]any)) != 2 {
		t.Errorf("unknown key not kept: %#v", r.Fields["custom"])
	}
}

func TestReadMetrics(t *testing.T) {
	dir := t.TempDir()
	writeSyntheticRun(t, dir, 100)
	recs, err := ReadMetrics(filepath.Join(dir, rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	// 2 step rows a step, 2 view-learning evals, 2 stage-2 evals; the
	// truncated last line is dropped.
	if want := 2*100 + 2 + 2; len(recs) != want {
		t.Fatalf("read %d records, want %d", len(recs), want)
	}
	if got := recs.Values("player"); !reflect.DeepEqual(got, []string{"estimator", "generator"}) {
		t.Errorf("players %v", got)
	}
	if got := recs.Values("stage"); !reflect.DeepEqual(got, []string{"view-learning", "stage2"}) {
		t.Errorf("stages %v", got)
	}

	_, err = ReadMetrics(filepath.Join(dir, "absent.jsonl"))
	if err == nil || !strings.Contains(err.Error(), "absent.jsonl") || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: error %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

func TestWhere(t *testing.T) {
	recs := mustDecode(t, `{"kind":"step","step":1,"player":"estimator","stage":"a"}
{"kind":"step","step":1,"player":"generator","stage":"a"}
{"kind":"eval","step":1,"split":"test","stage":"a"}
{"kind":"eval","step":1,"split":"train","stage":"b"}
{"kind":"step","step":2,"player":"estimator","stage":"b"}
`)
	tests := []struct {
		m         Match
		wantLines []int
	}{
		{Match{}, []int{1, 2, 3, 4, 5}},
		{Match{Kind: "step"}, []int{1, 2, 5}},
		{Match{Kind: "step", Player: "estimator"}, []int{1, 5}},
		{Match{Player: "estimator", Stage: "a"}, []int{1}},
		{Match{Kind: "eval", Split: "test"}, []int{3}},
		{Match{Stage: "b"}, []int{4, 5}},
		{Match{Player: "nobody"}, nil},
	}
	for _, tc := range tests {
		var lines []int
		for _, r := range recs.Where(tc.m) {
			lines = append(lines, r.Line)
		}
		if !reflect.DeepEqual(lines, tc.wantLines) {
			t.Errorf("Where(%+v) lines %v, want %v", tc.m, lines, tc.wantLines)
		}
	}
}

func mustDecode(t testing.TB, s string) Records {
	t.Helper()
	recs, err := DecodeMetrics(strings.NewReader(s), "test")
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestSeries(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		key    string
		wantXs []float64
		wantYs []float64
	}{
		{
			name:   "skips rows without a finite number",
			input:  `{"kind":"step","step":0,"v":1}` + "\n" + `{"kind":"step","step":1}` + "\n" + `{"kind":"step","step":2,"v":null}` + "\n" + `{"kind":"step","step":3,"v":"x"}` + "\n" + `{"kind":"step","step":4,"v":3}`,
			key:    "v",
			wantXs: []float64{0, 4}, wantYs: []float64{1, 3},
		},
		{
			name: "a resumed run replaces the steps it logs again",
			input: `{"kind":"step","step":0,"v":0}
{"kind":"step","step":1,"v":1}
{"kind":"step","step":2,"v":2}
{"kind":"step","step":3,"v":3}
{"kind":"step","step":2,"v":20}
{"kind":"step","step":3,"v":30}
{"kind":"step","step":4,"v":40}`,
			key:    "v",
			wantXs: []float64{0, 1, 2, 3, 4}, wantYs: []float64{0, 1, 20, 30, 40},
		},
		{name: "no such key", input: `{"kind":"step","step":0,"v":0}`, key: "w"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustDecode(t, tc.input).Series(tc.key)
			if s.Name != tc.key || s.Len() != len(tc.wantXs) {
				t.Fatalf("series %q with %d points, want %q with %d", s.Name, s.Len(), tc.key, len(tc.wantXs))
			}
			for i := range tc.wantXs {
				if x, y := s.XY(i); x != tc.wantXs[i] || y != tc.wantYs[i] {
					t.Errorf("point %d = (%v, %v), want (%v, %v)", i, x, y, tc.wantXs[i], tc.wantYs[i])
				}
			}
		})
	}
}

func TestSeriesXYAndLast(t *testing.T) {
	recs := mustDecode(t, `{"kind":"eval","step":5,"ince":3,"probe_acc":0.5}
{"kind":"eval","step":6,"ince":2,"probe_acc":0.7}
{"kind":"eval","step":7,"ince":1}
{"kind":"eval","step":8,"probe_acc":0.6}
`)
	s := recs.SeriesXY("ince", "probe_acc")
	if !reflect.DeepEqual(s.X, []float64{3, 2}) || !reflect.DeepEqual(s.Y, []float64{0.5, 0.7}) {
		t.Errorf("SeriesXY = %v %v", s.X, s.Y)
	}
	if r, ok := recs.Last("ince"); !ok || r.Step != 7 {
		t.Errorf("Last(ince) = step %d, %v; want 7", r.Step, ok)
	}
	if _, ok := recs.Last("knn_acc"); ok {
		t.Error("Last(knn_acc) found a row")
	}
}

func TestSmooth(t *testing.T) {
	in := Series{Name: "v", X: []float64{0, 1, 2, 3}, Y: []float64{0, 1, 1, 1}}
	tests := []struct {
		weight float64
		want   []float64
	}{
		{0, []float64{0, 1, 1, 1}},
		{-1, []float64{0, 1, 1, 1}}, // clamped to 0
		{0.5, []float64{0, 2.0 / 3, 6.0 / 7, 14.0 / 15}},
	}
	for _, tc := range tests {
		got := in.Smooth(tc.weight)
		for i := range tc.want {
			if math.Abs(got.Y[i]-tc.want[i]) > 1e-12 || got.X[i] != in.X[i] {
				t.Errorf("Smooth(%v) = %v, want %v", tc.weight, got.Y, tc.want)
				break
			}
		}
	}
	// Debiasing keeps a constant series constant from the first point.
	c := Series{X: []float64{0, 1, 2}, Y: []float64{4, 4, 4}}.Smooth(0.9)
	for _, y := range c.Y {
		if math.Abs(y-4) > 1e-9 {
			t.Fatalf("constant series smoothed to %v", c.Y)
		}
	}
	if in.Y[1] != 1 {
		t.Error("Smooth changed its input")
	}
}

// metrics.jsonl, whatever its bytes, decodes or fails with an error.
func FuzzDecodeMetrics(f *testing.F) {
	f.Add([]byte("{\"kind\":\"step\",\"step\":1,\"ince\":2.5}\n{\"kind\":\"eval\",\"step\":2,\"probe_acc\":0.3}\n"))
	f.Add([]byte("{\"kind\":\"step\",\"step\":1}\n{\"kind\":\"st"))
	f.Add([]byte("\x00\x00\x00\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := DecodeMetrics(bytes.NewReader(b), "m.jsonl")
		if err != nil {
			return
		}
		for _, r := range recs {
			r.Float("ince")
			r.Player()
		}
	})
}
