package rundir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
)

// Checkpoint is the record of one checkpoint of a stage: where the stage
// stopped, the folder of its tensors and their checksums, and what the
// players and the data feed need to continue exactly. A stage's folder
// holds the record of its newest checkpoint as latest.json, and each step
// folder holds its own as record.json.
type Checkpoint struct {
	Stage        string                 `json:"stage"`
	Step         int                    `json:"step"` // iterations done
	Done         bool                   `json:"done"`
	Dir          string                 `json:"dir,omitempty"` // folder of the tensors, inside the stage's folder
	MetricsBytes int64                  `json:"metrics_bytes"` // size of metrics.jsonl when it was written
	WallSeconds  float64                `json:"wall_s"`
	Players      map[string]PlayerState `json:"players,omitempty"`
	Feed         json.RawMessage        `json:"feed,omitempty"`
	Time         string                 `json:"time,omitempty"`
	// Files maps each file of Dir to its SHA-256, checked on resume.
	Files map[string]string `json:"files,omitempty"`
}

// PlayerState is the part of a player that a checkpoint keeps besides its
// parameters and optimiser state.
type PlayerState struct {
	Failures  int     `json:"failures"`
	BackScale float64 `json:"back_scale"`
	Steps     int     `json:"steps"`
}

// RecordFile is the name of a checkpoint's record inside its step folder.
const RecordFile = "record.json"

// CheckpointDir is the folder that holds a stage's checkpoints.
func CheckpointDir(runDir, stage string) string {
	return filepath.Join(runDir, CheckpointsDir, stage)
}

// StepDir is the name of the step folder of a checkpoint at step.
func StepDir(step int) string { return fmt.Sprintf("step-%08d", step) }

var stepDirPattern = regexp.MustCompile(`^step-[0-9]{8,}$`)

// Check reports the first field of the record that no checkpoint could
// hold: a negative count, a non-positive learning-rate scale, a folder
// outside the stage's folder. It cannot know the stage's length: the
// runner checks Step against it.
func (c *Checkpoint) Check() error {
	switch {
	case c.Step < 0:
		return fmt.Errorf("step %d is negative", c.Step)
	case c.MetricsBytes < 0:
		return fmt.Errorf("metrics_bytes %d is negative", c.MetricsBytes)
	case !(c.WallSeconds >= 0) || math.IsInf(c.WallSeconds, 0):
		return fmt.Errorf("wall_s %v is not a duration", c.WallSeconds)
	case c.Dir != "" && !stepDirPattern.MatchString(c.Dir):
		return fmt.Errorf("dir %q is not a step folder (step-NNNNNNNN)", c.Dir)
	}
	names := make([]string, 0, len(c.Players))
	for name := range c.Players {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := c.Players[name]
		switch {
		case p.Failures < 0:
			return fmt.Errorf("players.%s.failures %d is negative", name, p.Failures)
		case p.Steps < 0:
			return fmt.Errorf("players.%s.steps %d is negative", name, p.Steps)
		case !(p.BackScale > 0) || math.IsInf(p.BackScale, 0):
			return fmt.Errorf("players.%s.back_scale %v is not a positive learning-rate factor", name, p.BackScale)
		}
	}
	for name := range c.Files {
		if name != filepath.Base(name) || name == "." || name == ".." {
			return fmt.Errorf("files: %q is not a file of the step folder", name)
		}
	}
	return nil
}

// readCheckpoint decodes and checks the record at path; a missing file is
// (nil, nil).
func readCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rundir: %w", err)
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("rundir: %s is not a valid checkpoint record: %w", path, err)
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("rundir: %s: %w", path, err)
	}
	return &c, nil
}

// ReadCheckpoint returns the record of a stage's newest checkpoint as
// latest.json holds it, or nil if the stage has none. It checks the
// record's fields, not the files it names: see LatestCheckpoint.
func ReadCheckpoint(runDir, stage string) (*Checkpoint, error) {
	return readCheckpoint(filepath.Join(CheckpointDir(runDir, stage), LatestFile))
}

// WriteRecord writes c as the newest record of its stage (latest.json),
// atomically.
func WriteRecord(runDir string, c Checkpoint) error {
	base := CheckpointDir(runDir, c.Stage)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return fmt.Errorf("rundir: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("rundir: %w", err)
	}
	return WriteBytesAtomic(filepath.Join(base, LatestFile), b)
}

// HashFile returns the hexadecimal SHA-256 of a file.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Verify checks that every file the record lists is in its step folder
// with the recorded checksum. A record without checksums (written before
// they were kept) verifies if its folder exists.
func (c *Checkpoint) Verify(runDir string) error {
	if c.Dir == "" {
		return nil
	}
	dir := filepath.Join(CheckpointDir(runDir, c.Stage), c.Dir)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("checkpoint folder: %w", err)
	}
	names := make([]string, 0, len(c.Files))
	for name := range c.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sum, err := HashFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if sum != c.Files[name] {
			return fmt.Errorf("%s: checksum %.12s…, the record says %.12s… (the file is damaged)", filepath.Join(dir, name), sum, c.Files[name])
		}
	}
	return nil
}

// Checkpoints returns a stage's checkpoints whose record and files are
// intact, newest first: latest.json, then the records of the step folders.
// skipped says what was wrong with each one passed over, so that the
// caller can tell the user. A stage without checkpoints has none and no
// error; one whose every checkpoint is damaged is an error.
func Checkpoints(runDir, stage string) (intact []*Checkpoint, skipped []string, err error) {
	base := CheckpointDir(runDir, stage)
	type candidate struct {
		path string
		c    *Checkpoint
		err  error
	}
	var cands []candidate
	latest, lerr := readCheckpoint(filepath.Join(base, LatestFile))
	if lerr != nil || latest != nil {
		cands = append(cands, candidate{filepath.Join(base, LatestFile), latest, lerr})
	}
	entries, err := os.ReadDir(base)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("rundir: %w", err)
	}
	var steps []string
	for _, e := range entries {
		if e.IsDir() && stepDirPattern.MatchString(e.Name()) {
			steps = append(steps, e.Name())
		}
	}
	for _, s := range steps {
		if latest != nil && s == latest.Dir {
			continue // latest.json's own folder: its record is latest.json's copy
		}
		p := filepath.Join(base, s, RecordFile)
		rc, rerr := readCheckpoint(p)
		if rc == nil && rerr == nil {
			continue // a folder left by a checkpoint that did not finish
		}
		cands = append(cands, candidate{p, rc, rerr})
	}
	// Records that do not even decode go first (they are reported as
	// passed over), then the others newest first.
	sort.SliceStable(cands, func(i, j int) bool {
		ci, cj := cands[i].c, cands[j].c
		switch {
		case ci == nil || cj == nil:
			return ci == nil && cj != nil
		}
		return ci.Step > cj.Step
	})
	for _, cd := range cands {
		switch {
		case cd.err != nil:
			skipped = append(skipped, cd.err.Error())
		case cd.c.Stage != stage:
			skipped = append(skipped, fmt.Sprintf("%s: the record is of stage %q, not %q", cd.path, cd.c.Stage, stage))
		default:
			if err := cd.c.Verify(runDir); err != nil {
				skipped = append(skipped, fmt.Sprintf("%s (iteration %d): %v", cd.path, cd.c.Step, err))
				continue
			}
			intact = append(intact, cd.c)
		}
	}
	if len(intact) == 0 && len(skipped) > 0 {
		return nil, skipped, fmt.Errorf("rundir: no intact checkpoint of stage %s in %s: %s", stage, base, skipped[0])
	}
	return intact, skipped, nil
}

// LatestCheckpoint returns the newest intact checkpoint of a stage (see
// Checkpoints), or nil if the stage has none.
func LatestCheckpoint(runDir, stage string) (c *Checkpoint, skipped []string, err error) {
	intact, skipped, err := Checkpoints(runDir, stage)
	if err != nil || len(intact) == 0 {
		return nil, skipped, err
	}
	return intact[0], skipped, nil
}

// Stages lists the stages (and evaluation records) that have a checkpoint
// folder in the run directory.
func Stages(runDir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(runDir, CheckpointsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rundir: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// MetricsBytes returns the size of metrics.jsonl that the run's intact
// checkpoints vouch for: the largest over the stages' newest intact
// checkpoints, 0 when there are none. A resumed run cuts the file back
// there (OpenMetrics) before it replays what came after.
func MetricsBytes(runDir string) (int64, error) {
	stages, err := Stages(runDir)
	if err != nil {
		return 0, err
	}
	var size int64
	for _, s := range stages {
		c, _, err := LatestCheckpoint(runDir, s)
		if err != nil {
			return 0, err
		}
		if c != nil && c.MetricsBytes > size {
			size = c.MetricsBytes
		}
	}
	return size, nil
}

// TrainWall sums the training time of a run's stages over all attempts, as
// their newest records give it.
func TrainWall(runDir string) float64 {
	stages, _ := Stages(runDir)
	var total float64
	for _, s := range stages {
		if c, err := ReadCheckpoint(runDir, s); err == nil && c != nil {
			total += c.WallSeconds
		}
	}
	return total
}

// WriteRecordIn writes c as the record of its own step folder dir
// (record.json), atomically: the copy that LatestCheckpoint falls back to
// when latest.json is lost or damaged.
func WriteRecordIn(dir string, c Checkpoint) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("rundir: %w", err)
	}
	return WriteBytesAtomic(filepath.Join(dir, RecordFile), b)
}
