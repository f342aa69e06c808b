package rundir

// Row is one line of metrics.jsonl: a JSON object with at least KeyKind and
// KeyStep.
type Row map[string]any

// Kinds of row.
const (
	KindStep = "step" // one logged iteration of one player
	KindEval = "eval" // one evaluation of a stage's frozen features
)

// Players of a game, as KeyPlayer names them.
const (
	PlayerEstimator = "estimator" // the encoders and critic: maximise I_NCE
	PlayerGenerator = "generator" // the view generator (and heads): minimise it
	// PlayerSupervised is the encoder of the supervised baseline.
	PlayerSupervised = "supervised"
)

// Keys of every row.
const (
	KeyKind   = "kind"
	KeyStep   = "step"
	KeyStage  = "stage"
	KeyPlayer = "player"
)

// Keys of step rows.
const (
	KeyLoss       = "loss"
	KeyINCE       = "ince"       // the in-batch estimate of I_NCE, nats
	KeyINCEBound  = "ince_bound" // its ceiling log K
	KeyLR         = "lr"
	KeyRecovered  = "recovered" // the step was undone by the NaN guard
	KeyWall       = "wall_s"
	KeyImagesPerS = "images_per_s"
	KeyEpoch      = "epoch"
	KeyCE1        = "ce1" // heads' cross-entropies (semi-supervised and supervised views)
	KeyCE2        = "ce2"
	KeyAcc1       = "acc1" // heads' accuracies on the labelled batch
	KeyAcc2       = "acc2"
	// The supervised baseline's losses and accuracies.
	KeyCEDigit  = "ce_digit"
	KeyCEBkgd   = "ce_bkgd"
	KeyMSEPos   = "mse_pos"
	KeyAccDigit = "acc_digit"
	KeyAccBkgd  = "acc_bkgd"
)

// Keys of eval rows.
const (
	KeySplit         = "split"
	KeyProbeAcc      = "probe_acc"
	KeyProbeTrainAcc = "probe_train_acc"
	KeyKNNAcc        = "knn_acc"
	KeyBkgdAcc       = "bkgd_acc"
	KeyPosErr        = "pos_err_px"
	KeyTrainImages   = "train_images"
	KeyTestImages    = "test_images"
)
