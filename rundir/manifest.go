package rundir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/learnviews/learnviews/internal/jsondesc"
)

// Manifest is the manifest.json a run writes when it starts.
type Manifest struct {
	Config    map[string]any // the run configuration, nested as written
	Seeds     map[string]any
	GitCommit string
	GoVersion string
	Host      string
	StartTime time.Time      // zero when absent
	Fields    map[string]any // every top-level key, known or not, as decoded
}

// ReadManifest reads a manifest.json file. Numbers are kept as json.Number so
// that the configuration prints back exactly as written.
func ReadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rundir: read manifest: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Errorf("rundir: %s: %w", path, err)
	}
	if fields == nil {
		return nil, fmt.Errorf("rundir: %s: manifest is null, want a JSON object", path)
	}
	m := &Manifest{Fields: fields}
	for _, obj := range []struct {
		key string
		dst *map[string]any
	}{{"config", &m.Config}, {"seeds", &m.Seeds}} {
		switch v := fields[obj.key].(type) {
		case nil:
		case map[string]any:
			*obj.dst = v
		default:
			return nil, fmt.Errorf("rundir: %s: key %q: want an object, got %s", path, obj.key, jsondesc.Describe(v))
		}
	}
	for _, str := range []struct {
		key string
		dst *string
	}{{"git_commit", &m.GitCommit}, {"go_version", &m.GoVersion}, {"host", &m.Host}} {
		switch v := fields[str.key].(type) {
		case nil:
		case string:
			*str.dst = v
		default:
			return nil, fmt.Errorf("rundir: %s: key %q: want a string, got %s", path, str.key, jsondesc.Describe(v))
		}
	}
	if v, ok := fields["start_time"]; ok && v != nil {
		s, isString := v.(string)
		if !isString {
			return nil, fmt.Errorf("rundir: %s: key %q: want an RFC 3339 string, got %s", path, "start_time", jsondesc.Describe(v))
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, fmt.Errorf("rundir: %s: key %q: %w", path, "start_time", err)
		}
		m.StartTime = t
	}
	return m, nil
}

// ConfigText returns the configuration as indented JSON with sorted keys, or
// "" when the manifest has none.
func (m *Manifest) ConfigText() string {
	if len(m.Config) == 0 {
		return ""
	}
	b, err := json.MarshalIndent(m.Config, "", "  ")
	if err != nil { // cannot happen for decoded JSON
		return fmt.Sprint(m.Config)
	}
	return string(b)
}
