package rundir

import (
	"os"
	"path/filepath"
	"testing"
)

// A checkpoint record, whatever its bytes, is either refused with an error
// or passes Check; resuming never panics.
func FuzzCheckpointRecord(f *testing.F) {
	for _, seed := range []string{
		`{"stage":"s","step":4,"done":false,"dir":"step-00000004","metrics_bytes":10,"wall_s":1,"players":{"estimator":{"failures":0,"back_scale":1,"steps":4}}}`,
		`{"stage":"s","step":-5,"dir":"step-00000004"}`,
		`{"stage":"s","step":999999,"dir":"step-00000004"}`,
		`{"stage":"s","step":4,"dir":"step-00000004","players":{"estimator":{"back_scale":-1}}}`,
		`{"stage":"s","step":4,"dir":"../../etc"}`,
		`{"stage":"s","step":4,"dir":"step-00000004","files":{"../x":"00"}}`,
		`{"stage":"s","step":4,"wall_s":1e309}`,
		`{"stage":"s","st`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		base := CheckpointDir(dir, "s")
		if err := os.MkdirAll(filepath.Join(base, "step-00000004"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, LatestFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		cs, _, err := Checkpoints(dir, "s")
		if err != nil {
			return
		}
		for _, c := range cs {
			if err := c.Check(); err != nil {
				t.Fatalf("an intact checkpoint fails its check: %v", err)
			}
		}
		MetricsBytes(dir)
		TrainWall(dir)
	})
}

// manifest.json and evaluations.json, whatever their bytes, read or fail.
func FuzzRunFiles(f *testing.F) {
	for _, seed := range []string{
		`{"config":{"seed":1},"git_commit":"abc","start_time":"2026-01-02T03:04:05Z"}`,
		`{"config": [`,
		`{"start_time":5}`,
		`[{"stage":"stage2","probe_acc":0.5,"ince":1.2}]`,
		`[{"probe_acc":0.5}]`,
		`null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, EvaluationsFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if m, err := ReadManifest(filepath.Join(dir, ManifestFile)); err == nil {
			m.ConfigText()
		}
		if evs, err := ReadEvaluations(dir); err == nil {
			for _, e := range evs {
				if e.Stage == "" {
					t.Fatal("an evaluation without a stage was read")
				}
				e.Row(0)
			}
		}
	})
}
