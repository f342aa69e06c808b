// Package viewgen turns images into the pairs of views that contrastive
// learning compares: colour spaces and their channel splits, patch pairs at a
// given offset, seeded augmentations, the compact view spec that profiles name,
// and previews of all of them.
//
// Images are float32 CHW slices (see [chw.Image]); an RGB image has three channels
// with values in [0, 1]. A [Pipeline] built from a [Spec] turns a batch of RGB
// images into the two view batches v1 and v2. Every random choice draws from a
// source derived from (seed, image index), so the same seed gives the same views
// whatever the number of worker goroutines.
package viewgen
