package plots

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/learnviews/learnviews/internal/jsondesc"
)

// Record is one line of metrics.jsonl.
//
// Kind ("step" or "eval") and Step are required on every line. Every key of the
// line, known or not, is kept in Fields exactly as decoded (numbers as
// json.Number), so rows written by newer engines lose nothing.
type Record struct {
	Kind   string
	Step   int
	Line   int            // 1-based line number in the file the record came from
	Fields map[string]any // all keys of the line, including kind and step
}

// Float returns the value of key as a float64. It reports false when the key
// is absent or its value is not a JSON number (null, a string, an object...).
func (r Record) Float(key string) (float64, bool) {
	switch v := r.Fields[key].(type) {
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return 0, false
		}
		return f, true
	case float64:
		return v, true
	case int:
		return float64(v), true
	}
	return 0, false
}

// Text returns the value of key if it is a string, and "" otherwise.
func (r Record) Text(key string) string {
	s, _ := r.Fields[key].(string)
	return s
}

// Player returns the "player" key: "estimator", "generator" or "".
func (r Record) Player() string { return r.Text("player") }

// Stage returns the "stage" key, e.g. "view-learning" or "stage2".
func (r Record) Stage() string { return r.Text("stage") }

// Split returns the "split" key of eval rows, e.g. "test".
func (r Record) Split() string { return r.Text("split") }

// Records is the content of a metrics file in file order.
type Records []Record

// Match selects records; an empty field matches any value.
type Match struct {
	Kind   string // "step" or "eval"
	Player string // "estimator" or "generator"
	Stage  string
	Split  string
}

func (m Match) matches(r Record) bool {
	return (m.Kind == "" || r.Kind == m.Kind) &&
		(m.Player == "" || r.Player() == m.Player) &&
		(m.Stage == "" || r.Stage() == m.Stage) &&
		(m.Split == "" || r.Split() == m.Split)
}

// Where returns the records that m selects, in order.
func (rs Records) Where(m Match) Records {
	var out Records
	for _, r := range rs {
		if m.matches(r) {
			out = append(out, r)
		}
	}
	return out
}

// Values returns the distinct non-empty values of the string key, in order of
// first appearance (e.g. Values("player") or Values("split")).
func (rs Records) Values(key string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs {
		if v := r.Text(key); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Last returns the last record, in file order, that has a finite numeric key.
func (rs Records) Last(key string) (Record, bool) {
	for i := len(rs) - 1; i >= 0; i-- {
		if v, ok := rs[i].Float(key); ok && finite(v) {
			return rs[i], true
		}
	}
	return Record{}, false
}

// Series returns key against step for the records that have a finite numeric
// value of key. A run resumed from a checkpoint logs some steps again; when a
// step is not after the previous one, the earlier points at or past it are
// dropped, so the series keeps the latest history and its steps increase.
func (rs Records) Series(key string) Series {
	s := Series{Name: key}
	for _, r := range rs {
		y, ok := r.Float(key)
		if !ok || !finite(y) {
			continue
		}
		x := float64(r.Step)
		for len(s.X) > 0 && s.X[len(s.X)-1] >= x {
			s.X, s.Y = s.X[:len(s.X)-1], s.Y[:len(s.Y)-1]
		}
		s.X = append(s.X, x)
		s.Y = append(s.Y, y)
	}
	return s
}

// SeriesXY returns yKey against xKey, in file order, for the records where
// both are finite numbers ("step", "epoch" and "wall_s" are usual x keys).
func (rs Records) SeriesXY(xKey, yKey string) Series {
	s := Series{Name: yKey}
	for _, r := range rs {
		x, okx := r.Float(xKey)
		y, oky := r.Float(yKey)
		if okx && oky && finite(x) && finite(y) {
			s.X = append(s.X, x)
			s.Y = append(s.Y, y)
		}
	}
	return s
}

// Series is a named sequence of (x, y) points. It implements plotter.XYer.
type Series struct {
	Name string
	X, Y []float64
}

// Len returns the number of points.
func (s Series) Len() int { return len(s.X) }

// XY returns point i.
func (s Series) XY(i int) (x, y float64) { return s.X[i], s.Y[i] }

// Smooth returns the exponential moving average of s with the given weight in
// [0, 1), debiased as TensorBoard does so that early points are not pulled
// towards zero: m_t = w*m_{t-1} + (1-w)*y_t, reported as m_t / (1 - w^t).
// A weight of 0 returns a copy of s; a weight outside [0, 1) is clamped.
func (s Series) Smooth(weight float64) Series {
	w := math.Min(math.Max(weight, 0), 0.999999)
	out := Series{Name: s.Name, X: append([]float64(nil), s.X...), Y: make([]float64, len(s.Y))}
	m, scale := 0.0, 1.0
	for i, y := range s.Y {
		m = w*m + (1-w)*y
		scale *= w
		out.Y[i] = m / (1 - scale)
	}
	return out
}

// ReadMetrics reads a metrics.jsonl file; see DecodeMetrics for the rules.
func ReadMetrics(path string) (Records, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plots: read metrics: %w", err)
	}
	defer f.Close()
	return DecodeMetrics(f, path)
}

// DecodeMetrics reads JSON lines from r; name is used in error messages.
//
// Blank lines are skipped. A last line that has no terminating newline and is
// not valid JSON is what a run killed mid-write leaves, and is skipped without
// error. Any other line that is not a JSON object with a string "kind" and an
// integer "step" is an error naming the file, the line and the key at fault.
func DecodeMetrics(r io.Reader, name string) (Records, error) {
	br := bufio.NewReader(r)
	var out Records
	for lineNo := 1; ; lineNo++ {
		line, readErr := br.ReadBytes('\n')
		if readErr != nil && readErr != io.EOF {
			return nil, fmt.Errorf("plots: %s:%d: %w", name, lineNo, readErr)
		}
		complete := readErr == nil
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			rec, err := decodeRecord(trimmed)
			var syntax *json.SyntaxError
			switch {
			case err == nil:
				rec.Line = lineNo
				out = append(out, rec)
			case !complete && (errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF)):
				// Truncated final line of a run killed mid-write.
			default:
				return nil, fmt.Errorf("plots: %s:%d: %w", name, lineNo, err)
			}
		}
		if !complete {
			return out, nil
		}
	}
}

func decodeRecord(line []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Record{}, fmt.Errorf("line is a JSON %s, want an object", typeErr.Value)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Record{}, err
	}
	if fields == nil {
		return Record{}, errors.New("line is JSON null, want an object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Record{}, errors.New("unexpected data after the JSON object")
	}
	kind, ok := fields["kind"].(string)
	if !ok || kind == "" {
		return Record{}, fmt.Errorf(`key "kind": want a non-empty string, got %s`, jsondesc.Describe(fields["kind"]))
	}
	num, ok := fields["step"].(json.Number)
	if !ok {
		return Record{}, fmt.Errorf(`key "step": want an integer, got %s`, jsondesc.Describe(fields["step"]))
	}
	step, err := num.Int64()
	if err != nil || step != int64(int(step)) {
		return Record{}, fmt.Errorf(`key "step": want an integer, got %s`, num)
	}
	return Record{Kind: kind, Step: int(step), Fields: fields}, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
