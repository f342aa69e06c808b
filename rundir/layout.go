package rundir

import (
	"io"
	"path/filepath"

	"github.com/learnviews/learnviews/internal/atomicfile"
)

// Files and folders of a run directory.
const (
	ConfigFile      = "config.yaml"
	ManifestFile    = "manifest.json"
	MetricsFile     = "metrics.jsonl"
	EvaluationsFile = "evaluations.json"
	GeneratorFile   = "generator.safetensors"
	EncodersFile    = "encoders.safetensors"
	ReportFile      = "report.html"
	FiguresDir      = "figures"
	CheckpointsDir  = "checkpoint"
	// LatestFile, inside a stage's checkpoint folder, is the record of its
	// newest checkpoint.
	LatestFile = "latest.json"
)

// Stages of a run, as they name metrics rows and checkpoint folders.
const (
	// StageViewLearning is the game between the view generator and the
	// estimator (stage 1).
	StageViewLearning = "view-learning"
	// StageStage2 trains fresh encoders on the frozen generator's views.
	StageStage2 = "stage2"
	// StageStage2Raw trains them on the raw views: the baseline of stage 2.
	StageStage2Raw = "stage2-raw"
	// StageContrastive trains encoders on fixed views (the sweeps).
	StageContrastive = "contrastive"
	// StageSupervisedEncoder trains f1 on labels: the supervised baseline of
	// the Colorful-Moving-MNIST table. The stage keeps the name of the
	// paper's row, "supervised".
	StageSupervisedEncoder = "supervised"
)

// EvalStage is the name of the record that marks stage's evaluation done.
func EvalStage(stage string) string { return stage + "-eval" }

// Path joins a run directory and a file or folder of it.
func Path(dir string, elem ...string) string {
	return filepath.Join(append([]string{dir}, elem...)...)
}

// WriteFileAtomic writes a file through write so that a reader, or a crash
// at any moment, sees either the old file or the complete new one: it
// writes a temporary file in the same directory, syncs it, renames it over
// path and syncs the directory.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, write)
}

// WriteBytesAtomic writes b to path as WriteFileAtomic does.
func WriteBytesAtomic(path string, b []byte) error { return atomicfile.WriteBytes(path, b) }
