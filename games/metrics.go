package games

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
)

// MetricsFile is the name of a run's metrics stream: one JSON object per
// line, for each logged step of each player and each evaluation.
const MetricsFile = "metrics.jsonl"

// Metrics appends rows to a run's metrics.jsonl.
type Metrics struct {
	path string
	f    *os.File
	w    *bufio.Writer
}

// OpenMetrics opens dir/metrics.jsonl for appending, first truncating it to
// size bytes if size ≥ 0 (a resumed run drops the rows written after its
// checkpoint, which it is about to write again).
func OpenMetrics(dir string, size int64) (*Metrics, error) {
	path := dir + string(os.PathSeparator) + MetricsFile
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("games: metrics: %w", err)
	}
	if size >= 0 {
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, fmt.Errorf("games: metrics: truncating %s to %d bytes: %w", path, size, err)
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, fmt.Errorf("games: metrics: %w", err)
	}
	return &Metrics{path: path, f: f, w: bufio.NewWriter(f)}, nil
}

// Write appends rows, one JSON object per line. Non-finite numbers, which
// JSON cannot hold, are written as null.
func (m *Metrics) Write(rows ...Row) error {
	for _, r := range rows {
		clean := make(Row, len(r))
		for k, v := range r {
			if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				v = nil
			}
			clean[k] = v
		}
		b, err := json.Marshal(clean)
		if err != nil {
			return fmt.Errorf("games: metrics: %w", err)
		}
		m.w.Write(b)
		m.w.WriteByte('\n')
	}
	return nil
}

// Flush writes buffered rows to the file and syncs it, and returns the
// file's size.
func (m *Metrics) Flush() (int64, error) {
	if err := m.w.Flush(); err != nil {
		return 0, fmt.Errorf("games: metrics: %w", err)
	}
	if err := m.f.Sync(); err != nil {
		return 0, fmt.Errorf("games: metrics: %w", err)
	}
	st, err := m.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// Close flushes and closes the file.
func (m *Metrics) Close() error {
	if _, err := m.Flush(); err != nil {
		m.f.Close()
		return err
	}
	return m.f.Close()
}
