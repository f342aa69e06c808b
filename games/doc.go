// Package games is the minimax engine of view learning: players (a
// parameter set, its optimiser and schedule, and the sign with which it
// takes the shared objective), the games that alternate them — contrastive
// learning on fixed views, and unsupervised, semi-supervised and supervised
// view learning with a flow generator — and the runner that logs metrics,
// guards against NaNs, checkpoints and resumes.
//
// In a view-learning game the estimator (encoders f1, f2 and the critic)
// maximises I_NCE(g(X)_1; g(X)_{2:3}) while the generator g (with classifier
// heads c1, c2 in the semi-supervised game) minimises
// info_w·I_NCE + cls_w·(CE(c1(v1), y) + CE(c2(v2), y)). The estimator's step
// sees g's output as constants; the generator's step differentiates through
// the encoders into g. Each step overwrites only its own player's
// gradients, so nothing leaks into the other player's next step.
package games
