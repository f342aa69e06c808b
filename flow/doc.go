// Package flow is the learned view generator g: an invertible, pixel-wise
// map of a 3-channel image onto a 3-channel image, built from additive (VP)
// or affine (NVP) coupling blocks on gorgonia, with its exact inverse, its
// log-determinant, a fast batch Apply outside any graph, and safetensors
// files that rebuild it.
//
// A view-learning game trains g to minimise I_NCE between its output's
// channel 0 and channels 1-2; stage 2 then applies the frozen g to images
// with Apply. The fixed views (colour spaces, patches, augmentations) live
// in package viewgen, which needs no gorgonia.
package flow
