package rundir

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// Metrics appends rows to a run's metrics.jsonl.
type Metrics struct {
	path string
	f    *os.File
	w    *bufio.Writer
}

// OpenMetrics opens dir/metrics.jsonl for appending, creating it if needed,
// after cutting it back to keep bytes: the size that the newest checkpoint
// of the run vouches for (0 when there is none). Rows beyond it belong to
// an attempt that the resumed run replays, and a torn last line goes with
// them. A file shorter than keep is an error, never padded: rows the
// checkpoint counted are missing. keep < 0 leaves the file as it is.
func OpenMetrics(dir string, keep int64) (*Metrics, error) {
	path := filepath.Join(dir, MetricsFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("rundir: metrics: %w", err)
	}
	if keep >= 0 {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("rundir: metrics: %w", err)
		}
		if st.Size() < keep {
			f.Close()
			return nil, fmt.Errorf("rundir: %s holds %d bytes but the run's checkpoints vouch for %d: rows are missing (was the file replaced or cut?)", path, st.Size(), keep)
		}
		if err := f.Truncate(keep); err != nil {
			f.Close()
			return nil, fmt.Errorf("rundir: metrics: cutting %s back to %d bytes: %w", path, keep, err)
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, fmt.Errorf("rundir: metrics: %w", err)
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
			return fmt.Errorf("rundir: metrics: %w", err)
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
		return 0, fmt.Errorf("rundir: metrics: %w", err)
	}
	if err := m.f.Sync(); err != nil {
		return 0, fmt.Errorf("rundir: metrics: %w", err)
	}
	st, err := m.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("rundir: metrics: %w", err)
	}
	return st.Size(), nil
}

// CutTo cuts the file back to size bytes, after flushing: the rows after a
// checkpoint that a resumed stage replays. A file shorter than size is an
// error, as in OpenMetrics.
func (m *Metrics) CutTo(size int64) error {
	have, err := m.Flush()
	if err != nil {
		return err
	}
	if have < size {
		return fmt.Errorf("rundir: %s holds %d bytes but the checkpoint vouches for %d: rows are missing", m.path, have, size)
	}
	if err := m.f.Truncate(size); err != nil {
		return fmt.Errorf("rundir: metrics: cutting %s back to %d bytes: %w", m.path, size, err)
	}
	if _, err := m.f.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("rundir: metrics: %w", err)
	}
	return nil
}

// Close flushes and closes the file.
func (m *Metrics) Close() error {
	if _, err := m.Flush(); err != nil {
		m.f.Close()
		return err
	}
	return m.f.Close()
}
