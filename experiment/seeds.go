package experiment

// Every random choice of a run draws from a source derived from the
// configuration's seed. The streams below name them; their values are
// fixed, since changing one changes every result of a profile. Two runs
// with the same configuration and seed give the same numbers on the same
// machine.
//
// Initial weights draw from rand.NewPCG(seed, stream):
const (
	streamViewLearning = 1 // g, then f1 and f2, then the heads of stage 1
	streamStage2       = 2 // stage 2's fresh f1 and f2
	// streamFixed draws f1 and f2 trained on fixed views (the contrastive
	// stage, stage 2's raw-view baseline) and the supervised encoder with
	// its heads. No run has two of these stages, except stage2-raw beside
	// stage 2, which has its own stream.
	streamFixed = 3
)

// Data order, augmentations and graph seeds use seed + offset:
const (
	offsetTrainSubset   = 0 // the data.train images kept
	offsetTestSubset    = 1 // the data.test images kept
	offsetLabelledSplit = 0 // the data.labelled images among them
	offsetViewLearning  = 0 // stage 1's batches; its graphs use seed and seed+1 (package games)
	offsetLabelledFeed  = 100
	offsetStage2        = 2  // stage 2's batches, augmentations and graph
	offsetFixed         = 3  // fixed-view and supervised stages' batches and graph
	offsetEvalTrain     = 7  // the labelled images the probe trains on
	offsetEvalTest      = 8  // the test images it is scored on
	offsetBanks         = 11 // a memory-bank bound's initial entries and negatives (and +1 for v2's)
	offsetStats         = 12 // the training images the generator's input statistics are computed on
	offsetValidation    = 13 // the training images held out as the validation split
)

// subsetStream is the PCG stream of the permutations that pick subsets.
const subsetStream = 0x5eb5e7
