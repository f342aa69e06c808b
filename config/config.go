// Package config is the typed configuration of a learnviews run and its
// viper profiles. A run's settings resolve, from lowest to highest
// precedence, from the built-in defaults, an embedded profile (--profile),
// a user YAML file (--config), LEARNVIEWS_* environment variables and
// --set key=value overrides; an unknown key or a bad value is an error
// that names the key, the value and what is allowed.
package config

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/learnviews/learnviews/registry"
)

// Config is every setting of a run. Keys are the lower-case, dotted paths
// of the yaml tags, e.g. optim.lr or game.steps.
type Config struct {
	Profile     string `yaml:"profile" mapstructure:"profile"`
	Description string `yaml:"description" mapstructure:"description"`
	// Note is what the profile's author measured with it, for its users:
	// the run's report shows it beside the accuracies.
	Note      string    `yaml:"note" mapstructure:"note"`
	Seed      uint64    `yaml:"seed" mapstructure:"seed"`
	Device    string    `yaml:"device" mapstructure:"device"` // auto, cpu, cuda (a binary built with -tags cuda)
	Scale     string    `yaml:"scale" mapstructure:"scale"`   // default, small: see Small
	Small     []string  `yaml:"small" mapstructure:"small"`   // key=value settings that scale=small applies over the profile
	Sweep     Sweep     `yaml:"sweep" mapstructure:"sweep"`
	Data      Data      `yaml:"data" mapstructure:"data"`
	Views     Views     `yaml:"views" mapstructure:"views"`
	Generator Generator `yaml:"generator" mapstructure:"generator"`
	Encoder   Encoder   `yaml:"encoder" mapstructure:"encoder"`
	Critic    Critic    `yaml:"critic" mapstructure:"critic"`
	Game      Game      `yaml:"game" mapstructure:"game"`
	Optim     Optim     `yaml:"optim" mapstructure:"optim"`
	Stage2    Stage2    `yaml:"stage2" mapstructure:"stage2"`
	Eval      Eval      `yaml:"eval" mapstructure:"eval"`
	Run       Run       `yaml:"run" mapstructure:"run"`

	// Deprecations says which old values Load rewrote (a renamed game
	// kind, say): one message each, for the user to see.
	Deprecations []string `yaml:"-" mapstructure:"-"`
}

// NoGenerator is the generator.kind of a run on fixed views.
const NoGenerator = "none"

// Data selects the images.
type Data struct {
	Name     string `yaml:"name" mapstructure:"name"`         // fashion-photos, cmnist, stl10, cifar10, folder
	Dir      string `yaml:"dir" mapstructure:"dir"`           // stl10, cifar10, folder: where the files are
	Size     int    `yaml:"size" mapstructure:"size"`         // image side in pixels
	Train    int    `yaml:"train" mapstructure:"train"`       // training images used; 0 = all
	Test     int    `yaml:"test" mapstructure:"test"`         // test images for evaluation; 0 = all
	Labelled int    `yaml:"labelled" mapstructure:"labelled"` // labelled subset for heads and probes
	// Validation holds this many training images out of every stage, as
	// the validation split that settings are chosen on (eval.split).
	Validation int    `yaml:"validation" mapstructure:"validation"`
	Workers    int    `yaml:"workers" mapstructure:"workers"` // background batch workers
	Factors    string `yaml:"factors" mapstructure:"factors"` // cmnist: factors v2 shares with x_t, e.g. "digit,pos"
	Frames     int    `yaml:"frames" mapstructure:"frames"`   // cmnist: frames k in v1
}

// Views are the fixed views: a viewgen spec (colour space, channel split,
// patches, augmentations), e.g. "ydbdr:0|1,2+crop=0.2+flip".
type Views struct {
	Spec string `yaml:"spec" mapstructure:"spec"`
}

// Generator is the learned flow g; kind none means fixed views.
type Generator struct {
	Kind       string `yaml:"kind" mapstructure:"kind"`               // none, or a registered generator: vp, nvp
	InputSpace string `yaml:"input_space" mapstructure:"input_space"` // colour space g reads: rgb, ydbdr, ...
	// Normalize standardises each channel of the input space with the
	// mean and std of the training images before g (the authors' choice);
	// the statistics are saved inside generator.safetensors.
	Normalize   bool   `yaml:"normalize" mapstructure:"normalize"`
	StatsImages int    `yaml:"stats_images" mapstructure:"stats_images"` // training images the statistics are computed on
	Blocks      int    `yaml:"blocks" mapstructure:"blocks"`
	Coupling    string `yaml:"coupling" mapstructure:"coupling"`     // revnet (the authors' RevBlockV2) or rotate
	Hidden      int    `yaml:"hidden" mapstructure:"hidden"`         // coupling networks' width; 0: their input's (revnet) or 16 (rotate)
	Activation  string `yaml:"activation" mapstructure:"activation"` // relu or leaky, inside the coupling networks
	Kernel3x3   string `yaml:"kernel3x3" mapstructure:"kernel3x3"`   // none, first, last
	Identity    bool   `yaml:"identity" mapstructure:"identity"`     // start as the identity map
}

// Encoder sizes f1 and f2.
type Encoder struct {
	Arch       string `yaml:"arch" mapstructure:"arch"` // a registered encoder: convnet, resnet10, resnet18
	Width      int    `yaml:"width" mapstructure:"width"`
	EmbedDim   int    `yaml:"embed_dim" mapstructure:"embed_dim"`
	HeadHidden int    `yaml:"head_hidden" mapstructure:"head_hidden"`
}

// Critic is h and the bound.
type Critic struct {
	Kind  string  `yaml:"kind" mapstructure:"kind"` // a registered critic: cosine, bilinear
	Tau   float64 `yaml:"tau" mapstructure:"tau"`
	Bound string  `yaml:"bound" mapstructure:"bound"` // a registered bound: symmetric, infonce, dv, membank
	// The memory-bank bound: negatives per anchor and the banks' momentum.
	BankK        int     `yaml:"bank_k" mapstructure:"bank_k"`
	BankMomentum float64 `yaml:"bank_momentum" mapstructure:"bank_momentum"`
}

// Game is the minimax schedule.
type Game struct {
	Kind           string  `yaml:"kind" mapstructure:"kind"` // a registered game: contrastive, unsupervised, semisupervised, supervised-views, supervised-encoder
	InfoW          float64 `yaml:"info_w" mapstructure:"info_w"`
	ClsW           float64 `yaml:"cls_w" mapstructure:"cls_w"`
	EstimatorSteps int     `yaml:"estimator_steps" mapstructure:"estimator_steps"` // per generator step
	WarmupSteps    int     `yaml:"warmup_steps" mapstructure:"warmup_steps"`       // estimator-only steps first
	Steps          int     `yaml:"steps" mapstructure:"steps"`                     // iterations
	Batch          int     `yaml:"batch" mapstructure:"batch"`
	LabelledBatch  int     `yaml:"labelled_batch" mapstructure:"labelled_batch"`
	// Augment is what each of the two crops of an image gets before g in
	// stage 1 (viewgen augmentation tokens, e.g. "crop=0.2+flip", the
	// authors' choice): v1 comes from g of one crop, v2 from g of the
	// other. "" shows g one image, both views from the same pixels.
	Augment   string `yaml:"augment" mapstructure:"augment"`
	HeadArch  string `yaml:"head_arch" mapstructure:"head_arch"`   // classifier heads c1, c2: a registered encoder; "" is encoder.arch
	HeadWidth int    `yaml:"head_width" mapstructure:"head_width"` // their width; 0 is encoder.width
}

// Optim holds both players' optimiser settings.
type Optim struct {
	LR          float64   `yaml:"lr" mapstructure:"lr"` // estimator (encoders) learning rate
	Beta1       float64   `yaml:"beta1" mapstructure:"beta1"`
	Beta2       float64   `yaml:"beta2" mapstructure:"beta2"`
	WeightDecay float64   `yaml:"weight_decay" mapstructure:"weight_decay"`
	GeneratorLR float64   `yaml:"generator_lr" mapstructure:"generator_lr"` // the generator
	HeadLR      float64   `yaml:"head_lr" mapstructure:"head_lr"`           // the classifier heads
	Schedule    string    `yaml:"schedule" mapstructure:"schedule"`         // constant, step, cosine
	Milestones  []float64 `yaml:"milestones" mapstructure:"milestones"`     // step schedule, fractions of the steps
	Gamma       float64   `yaml:"gamma" mapstructure:"gamma"`
	Clip        float64   `yaml:"clip" mapstructure:"clip"`                 // gradient-norm clipping of each network (f1, f2, g, c1, c2); 0 = off
	MaxFailures int       `yaml:"max_failures" mapstructure:"max_failures"` // NaN/Inf recoveries before stopping
	Backoff     float64   `yaml:"backoff" mapstructure:"backoff"`           // lr factor after a failure
}

// Stage2 trains fresh encoders on the frozen generator's views.
type Stage2 struct {
	Enabled bool    `yaml:"enabled" mapstructure:"enabled"`
	Steps   int     `yaml:"steps" mapstructure:"steps"`
	Batch   int     `yaml:"batch" mapstructure:"batch"`
	Augment string  `yaml:"augment" mapstructure:"augment"` // viewgen augmentation tokens, e.g. "crop=0.2+flip"
	LR      float64 `yaml:"lr" mapstructure:"lr"`
	Raw     bool    `yaml:"raw" mapstructure:"raw"` // also train on raw views as the baseline
}

// Eval is the linear probe and kNN on frozen features.
type Eval struct {
	ProbeEpochs int     `yaml:"probe_epochs" mapstructure:"probe_epochs"`
	ProbeLR     float64 `yaml:"probe_lr" mapstructure:"probe_lr"`
	ProbeWD     float64 `yaml:"probe_wd" mapstructure:"probe_wd"`
	KNNK        int     `yaml:"knn_k" mapstructure:"knn_k"`
	TrainImages int     `yaml:"train_images" mapstructure:"train_images"`
	TestImages  int     `yaml:"test_images" mapstructure:"test_images"`
	// Split is what the probe is scored on: "test", or "validation" (the
	// data.validation images held out of training) while settings are
	// being chosen.
	Split string `yaml:"split" mapstructure:"split"`
}

// Run holds logging and checkpointing.
type Run struct {
	Dtype           string `yaml:"dtype" mapstructure:"dtype"` // float32, float64
	LogEvery        int    `yaml:"log_every" mapstructure:"log_every"`
	CheckpointEvery int    `yaml:"checkpoint_every" mapstructure:"checkpoint_every"`
}

// Default returns the built-in defaults, on which every profile builds.
func Default() Config {
	return Config{
		Profile: "default",
		Seed:    1,
		Scale:   "default",
		Data:    Data{Name: "fashion-photos", Size: 32, Labelled: 5000, Workers: 2, Factors: "digit", Frames: 3},
		Views:   Views{Spec: "ydbdr:0|1,2"},
		Generator: Generator{Kind: "vp", InputSpace: "rgb", Normalize: true, StatsImages: 2000, Blocks: 4,
			Coupling: "revnet", Hidden: 0, Activation: "relu", Kernel3x3: "none", Identity: false},
		Encoder: Encoder{Arch: "convnet", Width: 16, EmbedDim: 128},
		Critic:  Critic{Kind: "cosine", Tau: 0.07, Bound: "symmetric", BankK: 4096, BankMomentum: 0.5},
		Game: Game{Kind: "semisupervised", InfoW: 1, ClsW: 1, EstimatorSteps: 1, Steps: 1000,
			Batch: 128, LabelledBatch: 64, Augment: "crop=0.2+flip"},
		Optim: Optim{LR: 2e-4, Beta1: 0.5, Beta2: 0.999, GeneratorLR: 1e-3, HeadLR: 1e-3, Schedule: "step",
			Milestones: []float64{0.6, 0.8}, Gamma: 0.2, Clip: 0, MaxFailures: 5, Backoff: 0.5},
		Stage2: Stage2{Enabled: true, Steps: 1000, Batch: 128, Augment: "crop=0.2+flip", LR: 1e-3, Raw: true},
		Eval:   Eval{ProbeEpochs: 100, ProbeLR: 1e-3, KNNK: 200, TrainImages: 5000, TestImages: 2000, Split: "test"},
		Run:    Run{Dtype: "float32", LogEvery: 10, CheckpointEvery: 200},
		Device: "auto",
	}
}

// The largest flow a configuration may ask for (package flow checks the
// same bounds).
const (
	MaxGeneratorBlocks = 256
	MaxGeneratorHidden = 4096
)

// Known values of the enumerated keys that config owns. The names of
// encoders, critics, bounds, generators, games, colour spaces and data
// sets belong to registries (package registry) in the packages that build
// them; Validate checks them against the registries the program links.
var (
	Kernel3x3s  = []string{"none", "first", "last"}
	Couplings   = []string{"revnet", "rotate"}
	Activations = []string{"relu", "leaky"}
	Schedules   = []string{"constant", "step", "cosine"}
	Dtypes      = []string{"float32", "float64"}
	Devices     = []string{"auto", "cpu", "cuda"}
	Scales      = []string{"default", "small"}
	Tables      = []string{"", "cmnist", "learned-views"}
	EvalSplits  = []string{"test", "validation"}
)

// registered is the check of a key whose names a registry owns: the value
// must be registered (or be one of extra). A registry that the program
// does not link checks nothing.
func registered(key, v string, extra ...string) error { return registeredAs(key, key, v, extra...) }

// registeredAs checks key's value against the registry of another key
// (game.head_arch names an encoder, as encoder.arch does).
func registeredAs(key, registryKey, v string, extra ...string) error {
	names, ok := registry.Names(registryKey)
	if !ok || slices.Contains(names, v) || slices.Contains(extra, v) {
		return nil
	}
	return &ValueError{key, fmt.Sprintf("%q", v), "want one of " + strings.Join(append(extra, names...), ", ")}
}

// migrate rewrites values that were renamed, noting each in Deprecations.
func (c *Config) migrate() {
	if c.Game.Kind == "supervised" {
		to, what := "supervised-views", "a view generator learned from labels alone (Table 5)"
		if c.Generator.Kind == NoGenerator {
			to, what = "supervised-encoder", "the supervised encoder baseline (Table 4)"
		}
		c.Game.Kind = to
		c.Deprecations = append(c.Deprecations, fmt.Sprintf(`game.kind "supervised" is deprecated: it is now %q (%s)`, to, what))
	}
}

// ValueError is a bad value of a key.
type ValueError struct {
	Key     string
	Value   any
	Allowed string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("config: %s = %v is not allowed: %s", e.Key, e.Value, e.Allowed)
}

// Validate checks every key and returns the first bad one.
func (c *Config) Validate() error {
	oneOf := func(key, v string, allowed []string) error {
		if !slices.Contains(allowed, v) {
			return &ValueError{key, fmt.Sprintf("%q", v), "want one of " + strings.Join(allowed, ", ")}
		}
		return nil
	}
	positive := func(key string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return &ValueError{key, v, "must be a positive number"}
		}
		return nil
	}
	nonNeg := func(key string, v float64) error {
		if !(v >= 0) || math.IsInf(v, 0) {
			return &ValueError{key, v, "must be zero or positive"}
		}
		return nil
	}
	atLeastTwo := func(key string, v int) error {
		if v < 2 {
			return &ValueError{key, v, "must be at least 2 (InfoNCE needs a positive and a negative)"}
		}
		return nil
	}
	unit := func(key string, v float64) error {
		if !(v >= 0 && v < 1) {
			return &ValueError{key, v, "must be in [0, 1)"}
		}
		return nil
	}
	checks := []error{
		oneOf("scale", c.Scale, Scales),
		registered("data.name", c.Data.Name),
		positive("data.size", float64(c.Data.Size)),
		nonNeg("data.train", float64(c.Data.Train)),
		nonNeg("data.test", float64(c.Data.Test)),
		nonNeg("data.labelled", float64(c.Data.Labelled)),
		nonNeg("data.validation", float64(c.Data.Validation)),
		nonNeg("data.workers", float64(c.Data.Workers)),
		positive("data.frames", float64(c.Data.Frames)),
		registered("generator.kind", c.Generator.Kind, NoGenerator),
		registered("generator.input_space", c.Generator.InputSpace),
		positive("generator.blocks", float64(c.Generator.Blocks)),
		oneOf("generator.coupling", c.Generator.Coupling, Couplings),
		nonNeg("generator.hidden", float64(c.Generator.Hidden)),
		oneOf("generator.activation", c.Generator.Activation, Activations),
		positive("generator.stats_images", float64(c.Generator.StatsImages)),
		oneOf("generator.kernel3x3", c.Generator.Kernel3x3, Kernel3x3s),
		registered("encoder.arch", c.Encoder.Arch),
		positive("encoder.width", float64(c.Encoder.Width)),
		positive("encoder.embed_dim", float64(c.Encoder.EmbedDim)),
		nonNeg("encoder.head_hidden", float64(c.Encoder.HeadHidden)),
		registered("critic.kind", c.Critic.Kind),
		positive("critic.tau", c.Critic.Tau),
		registered("critic.bound", c.Critic.Bound),
		positive("critic.bank_k", float64(c.Critic.BankK)),
		unit("critic.bank_momentum", c.Critic.BankMomentum),
		registered("game.kind", c.Game.Kind),
		nonNeg("game.info_w", c.Game.InfoW),
		nonNeg("game.cls_w", c.Game.ClsW),
		positive("game.estimator_steps", float64(c.Game.EstimatorSteps)),
		nonNeg("game.warmup_steps", float64(c.Game.WarmupSteps)),
		nonNeg("game.steps", float64(c.Game.Steps)),
		atLeastTwo("game.batch", c.Game.Batch),
		positive("game.labelled_batch", float64(c.Game.LabelledBatch)),
		registeredAs("game.head_arch", "encoder.arch", c.Game.HeadArch, ""),
		nonNeg("game.head_width", float64(c.Game.HeadWidth)),
		positive("optim.lr", c.Optim.LR),
		unit("optim.beta1", c.Optim.Beta1),
		unit("optim.beta2", c.Optim.Beta2),
		nonNeg("optim.weight_decay", c.Optim.WeightDecay),
		positive("optim.generator_lr", c.Optim.GeneratorLR),
		positive("optim.head_lr", c.Optim.HeadLR),
		oneOf("optim.schedule", c.Optim.Schedule, Schedules),
		positive("optim.gamma", c.Optim.Gamma),
		nonNeg("optim.clip", c.Optim.Clip),
		nonNeg("optim.max_failures", float64(c.Optim.MaxFailures)),
		positive("optim.backoff", c.Optim.Backoff),
		nonNeg("stage2.steps", float64(c.Stage2.Steps)),
		atLeastTwo("stage2.batch", c.Stage2.Batch),
		positive("stage2.lr", c.Stage2.LR),
		positive("eval.probe_epochs", float64(c.Eval.ProbeEpochs)),
		positive("eval.probe_lr", c.Eval.ProbeLR),
		nonNeg("eval.probe_wd", c.Eval.ProbeWD),
		positive("eval.knn_k", float64(c.Eval.KNNK)),
		positive("eval.train_images", float64(c.Eval.TrainImages)),
		positive("eval.test_images", float64(c.Eval.TestImages)),
		oneOf("eval.split", c.Eval.Split, EvalSplits),
		oneOf("run.dtype", c.Run.Dtype, Dtypes),
		oneOf("device", c.Device, Devices),
		positive("run.log_every", float64(c.Run.LogEvery)),
		nonNeg("run.checkpoint_every", float64(c.Run.CheckpointEvery)),
	}
	// Upper bounds far beyond any run, so that sizes multiply without
	// overflow; whether a run fits in memory is the run's own check.
	atMost := func(key string, v, limit int) error {
		if v > limit {
			return &ValueError{key, v, fmt.Sprintf("must be at most %d", limit)}
		}
		return nil
	}
	checks = append(checks,
		atMost("data.size", c.Data.Size, 4096),
		atMost("data.frames", c.Data.Frames, 64),
		atMost("generator.blocks", c.Generator.Blocks, MaxGeneratorBlocks),
		atMost("generator.hidden", c.Generator.Hidden, MaxGeneratorHidden),
		atMost("encoder.width", c.Encoder.Width, 4096),
		atMost("encoder.embed_dim", c.Encoder.EmbedDim, 1<<16),
		atMost("encoder.head_hidden", c.Encoder.HeadHidden, 1<<16),
		atMost("game.head_width", c.Game.HeadWidth, 4096),
		atMost("critic.bank_k", c.Critic.BankK, 1<<20),
		atMost("game.batch", c.Game.Batch, 1<<20),
		atMost("game.labelled_batch", c.Game.LabelledBatch, 1<<20),
		atMost("stage2.batch", c.Stage2.Batch, 1<<20),
		atMost("game.estimator_steps", c.Game.EstimatorSteps, 1<<10),
		atMost("eval.train_images", c.Eval.TrainImages, 1<<28),
		atMost("eval.test_images", c.Eval.TestImages, 1<<28),
		atMost("generator.stats_images", c.Generator.StatsImages, 1<<28),
	)
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	for i, m := range c.Optim.Milestones {
		if !(m > 0 && m < 1) {
			return &ValueError{fmt.Sprintf("optim.milestones[%d]", i), m, "milestones are fractions of the steps, in (0, 1)"}
		}
	}
	if c.Game.Batch > 0 && c.Game.LabelledBatch > c.Data.Labelled && c.Data.Labelled > 0 && (c.Game.Kind == "semisupervised" || c.Game.Kind == "supervised-views") {
		return &ValueError{"game.labelled_batch", c.Game.LabelledBatch, fmt.Sprintf("must not exceed data.labelled (%d)", c.Data.Labelled)}
	}
	if c.Eval.Split == "validation" && c.Data.Validation == 0 {
		return &ValueError{"eval.split", `"validation"`, "set data.validation to the number of training images to hold out for it"}
	}
	if c.Game.Kind == "supervised-encoder" && c.Data.Name != "cmnist" {
		return &ValueError{"game.kind", `"supervised-encoder"`, "the supervised encoder is the baseline of the Colorful-Moving-MNIST table (Table 4) and needs data.name cmnist; " +
			"for a view generator learned from labels set game.kind supervised-views"}
	}
	if err := checkSettings("small", c.Small, false); err != nil {
		return err
	}
	if err := c.Sweep.validate(); err != nil {
		return err
	}
	if (c.Data.Name == "stl10" || c.Data.Name == "cifar10" || c.Data.Name == "folder") && c.Data.Dir == "" {
		return &ValueError{"data.dir", `""`, fmt.Sprintf("data.name %s reads files: set data.dir to their folder", c.Data.Name)}
	}
	return nil
}
