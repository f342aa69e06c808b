// Package plots turns what a learnviews run writes (metrics.jsonl, manifest.json)
// and what a view generator computes into figures and a self-contained HTML report.
// It owns reading those files, the training-curve, I_NCE-versus-accuracy and
// learned-colour-space figures, and the report page; it reads files and plain
// slices only and knows nothing of the training engine.
package plots
