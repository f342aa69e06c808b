package rundir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadManifest(t *testing.T) {
	tests := []struct {
		name    string
		content string
		check   func(t *testing.T, m *Manifest)
		wantErr string
	}{
		{
			name: "all known keys and an unknown one",
			content: `{"config":{"lr":0.030,"game":{"k":4096}},"seeds":{"init":7},"git_commit":"abc123",
			"go_version":"go1.26.8","host":"box","start_time":"2026-03-04T05:06:07+01:00","device":"cpu"}`,
			check: func(t *testing.T, m *Manifest) {
				if m.GitCommit != "abc123" || m.GoVersion != "go1.26.8" || m.Host != "box" {
					t.Errorf("strings: %+v", m)
				}
				if want := time.Date(2026, 3, 4, 4, 6, 7, 0, time.UTC); !m.StartTime.Equal(want) {
					t.Errorf("start time %v, want %v", m.StartTime, want)
				}
				if m.Fields["device"] != "cpu" || m.Seeds["init"] == nil {
					t.Errorf("fields %v seeds %v", m.Fields, m.Seeds)
				}
				// Sorted keys, indented, numbers exactly as written.
				want := "{\n  \"game\": {\n    \"k\": 4096\n  },\n  \"lr\": 0.030\n}"
				if got := m.ConfigText(); got != want {
					t.Errorf("ConfigText =\n%s\nwant\n%s", got, want)
				}
			},
		},
		{
			name:    "empty object",
			content: `{}`,
			check: func(t *testing.T, m *Manifest) {
				if m.ConfigText() != "" || !m.StartTime.IsZero() {
					t.Errorf("got %+v", m)
				}
			},
		},
		{name: "bad start time", content: `{"start_time":"yesterday"}`, wantErr: `manifest.json: key "start_time": parsing time`},
		{name: "start time not a string", content: `{"start_time":5}`, wantErr: `key "start_time": want an RFC 3339 string, got number 5`},
		{name: "config not an object", content: `{"config":[1]}`, wantErr: `key "config": want an object`},
		{name: "host not a string", content: `{"host":1}`, wantErr: `key "host": want a string, got number 1`},
		{name: "null", content: `null`, wantErr: "manifest is null"},
		{name: "not JSON", content: `{"config":`, wantErr: "manifest.json: unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "manifest.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := ReadManifest(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, m)
		})
	}
	if _, err := ReadManifest(filepath.Join(t.TempDir(), "nope.json")); err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("missing file: error %v", err)
	}
}
