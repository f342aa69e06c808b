// Package contrast holds the estimator side of contrastive learning: the
// encoders f1 and f2 with their projection heads, the critics, the InfoNCE,
// memory-bank and Donsker-Varadhan bounds with their I_NCE estimates, and
// the linear-probe and kNN evaluation of frozen features.
//
// Every estimate is reported in nats. With K candidates per anchor, InfoNCE
// gives I_NCE = log K − L_NCE, a lower bound on I(v1; v2) that never exceeds
// log K.
package contrast
