// Package experiment turns a configuration into a run and its results: it
// opens the data, builds the feeds, the view generator, the encoders and
// the game, plays view learning, trains stage 2 on the learned and on the
// raw views, evaluates frozen features with a linear probe and kNN, and
// writes the artefacts of a run directory (package rundir) — every stage
// resumable after a crash or a Ctrl-C.
//
// The command learnviews is a thin shell around it; a Go program, a test
// or a notebook-like main can run an experiment the same way:
//
//	cfg, _ := config.Load(config.Sources{Profile: "quick"})
//	evals, err := experiment.Run(ctx, cfg, "runs/mine", experiment.Options{})
//
// Its registries (DataSets, Generators) and those of the packages it wires
// (contrast.Encoders, contrast.Critics, contrast.Bounds, games.Kinds,
// viewgen's colour spaces) are where a new data set, generator, encoder,
// bound or game is added: docs/ARCHITECTURE.md says how.
package experiment
