// Package rundir owns the layout of a run directory: the names of its files
// and stages, the keys of its metrics rows, the checkpoint and evaluation
// records, the metrics stream, the manifest and the atomic writer.
//
// It needs no gorgonia, so that plots, sweep and the command line read a run
// through it without linking the training engine. The engine (packages games
// and experiment) writes runs through it too: there is one definition of
// every file name and every metric key.
//
// A run directory holds:
//
//	config.yaml            the resolved configuration
//	manifest.json          configuration, seeds, code version and machine
//	metrics.jsonl          one JSON object per logged step and per evaluation
//	evaluations.json       the evaluation record of each evaluated stage
//	generator.safetensors  the learned view generator (view-learning runs)
//	encoders.safetensors   f1 and f2 of stage 2, or of the contrastive stage
//	checkpoint/STAGE/      each stage's checkpoints (latest.json and step folders)
//	figures/               PNG and SVG figures, with NAME.txt captions
//	report.html            the self-contained report
package rundir
