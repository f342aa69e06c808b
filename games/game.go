package games

import (
	"math/rand/v2"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/nn"
	"github.com/learnviews/learnviews/registry"
	"github.com/learnviews/learnviews/rundir"
)

// Game is what a Runner plays: one iteration at a time, with the parameters
// and players that a checkpoint saves. ViewGame and SupervisedEncoderGame
// implement it.
type Game interface {
	// Iterate plays iteration step on batches from feed and returns one
	// metrics row per player that moved.
	Iterate(feed Feed, step int) ([]rundir.Row, error)
	// Params returns every parameter and buffer, for checkpoints.
	Params() nn.Params
	// Players returns the players, whose optimiser states and counters
	// checkpoints keep.
	Players() []*Player
	// Close releases the compiled programs.
	Close()
}

// Parts are what a game is built from. Which of them a kind needs, its
// Kind says.
type Parts struct {
	Settings  Settings
	Generator Generator           // the view generator g (Kind.Generator)
	Estimator *contrast.Estimator // f1, f2 and the critic
	Heads     *Heads              // classifier heads (Kind.Heads)
	// The players: the estimator's, and the generator's (g and the heads).
	EstimatorPlayer, GeneratorPlayer *Player
	// NewPlayer makes a player over parameters that the game creates
	// itself (the supervised encoder's heads), with the run's optimiser
	// settings.
	NewPlayer func(name string, ps nn.Params, sign float64) (*Player, error)
	// Rand initialises the networks a game creates itself.
	Rand *rand.Rand
}

// What a kind of game trains.
const (
	TrainsViews     = "views"     // a view generator against the estimator
	TrainsEstimator = "estimator" // the estimator alone, on fixed views
	TrainsEncoder   = "encoder"   // an encoder on labels
)

// Kind describes a kind of game: what it trains, which terms the
// generator's loss has, and how to build it.
type Kind struct {
	Trains    string // TrainsViews, TrainsEstimator or TrainsEncoder
	Generator bool   // it learns a view generator
	Info      bool   // the generator's loss has the I_NCE term (info_w)
	Heads     bool   // it has the classifier heads' terms (cls_w)
	New       func(Parts) (Game, error)
}

// Kinds holds the kinds of game by the names game.kind takes.
var Kinds = registry.New[Kind]("game.kind")

func init() {
	newView := func(p Parts) (Game, error) { return NewViewGame(p) }
	Kinds.Register(Contrastive, "encoders trained contrastively on fixed views (no generator)",
		Kind{Trains: TrainsEstimator, New: newView})
	Kinds.Register(Unsupervised, "view generator minimising I_NCE alone (cls_w = 0)",
		Kind{Trains: TrainsViews, Generator: true, Info: true, New: newView})
	Kinds.Register(SemiSupervised, "view generator minimising info_w·I_NCE + cls_w·(CE1 + CE2)",
		Kind{Trains: TrainsViews, Generator: true, Info: true, Heads: true, New: newView})
	Kinds.Register(SupervisedViews, "view generator learned from labels alone (info_w = 0; Table 5's supervised row)",
		Kind{Trains: TrainsViews, Generator: true, Heads: true, New: newView})
	Kinds.Register(SupervisedEncoder, "encoder trained on labels, no views learned (Table 4's supervised baseline)",
		Kind{Trains: TrainsEncoder, New: func(p Parts) (Game, error) { return NewSupervisedEncoderGame(p) }})
}

// A FactorFeed is a Feed whose labelled batches also carry each image's
// factors, k per image in a fixed order (Colorful-Moving-MNIST: digit,
// background class, x and y of the digit's centre).
type FactorFeed interface {
	Feed
	NextFactored() (x []float32, labels []int, factors []float64, err error)
}

// A StatefulGame keeps state besides its parameters and its players'
// optimisers (the estimator's memory banks, say); a checkpoint saves it
// into its step folder and a resume loads it back.
type StatefulGame interface {
	Game
	// SaveState writes the state into the folder dir and returns the
	// names of the files it wrote (none when there is no state).
	SaveState(dir string) (files []string, err error)
	// LoadState reads what SaveState wrote into dir.
	LoadState(dir string) error
}
