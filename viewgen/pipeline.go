package viewgen

import (
	"fmt"

	"github.com/learnviews/learnviews/chw"
)

// Pipeline turns batches of RGB images into the two view batches of a Spec:
// for each image it cuts the patch pair (if any), gives each view its own
// augmentation draw (or one shared draw), converts both to the colour space,
// normalises them with the Stats (if any) and keeps each view's channels.
type Pipeline struct {
	spec  Spec
	stats *Stats
	aug   *Augmenter

	// Workers bounds the goroutines that process a batch; 0 means
	// GOMAXPROCS. The views do not depend on it.
	Workers int
}

// NewPipeline validates spec and builds its pipeline. stats, when not nil,
// normalises the views and must have been computed in spec.Space; nil leaves
// the values of the colour space as they are.
func NewPipeline(spec Spec, stats *Stats) (*Pipeline, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("view spec %q: %w", spec, err)
	}
	if stats != nil {
		if stats.Space != spec.Space {
			return nil, fmt.Errorf("view spec %q: stats were computed in %s, not %s", spec, stats.Space, spec.Space)
		}
		st := *stats
		stats = &st
	}
	aug, err := NewAugmenter(spec.Augment...)
	if err != nil {
		return nil, fmt.Errorf("view spec %q: %w", spec, err)
	}
	spec.Split = Split{V1: append([]int(nil), spec.Split.V1...), V2: append([]int(nil), spec.Split.V2...)}
	spec.Augment = aug.Augs()
	return &Pipeline{spec: spec, stats: stats, aug: aug}, nil
}

// Spec returns the spec the pipeline was built from.
func (p *Pipeline) Spec() Spec {
	s := p.spec
	s.Split = Split{V1: append([]int(nil), s.Split.V1...), V2: append([]int(nil), s.Split.V2...)}
	s.Augment = append([]Aug(nil), s.Augment...)
	return s
}

// viewSize returns the side of the views for images of h×w.
func (p *Pipeline) viewSize(h, w int) (int, int) {
	switch {
	case p.spec.Size > 0:
		return p.spec.Size, p.spec.Size
	case p.spec.Patch > 0:
		return p.spec.Patch, p.spec.Patch
	}
	return h, w
}

func (p *Pipeline) checkBatch(images []chw.Image) (oh, ow int, err error) {
	if len(images) == 0 {
		return 0, 0, fmt.Errorf("no images")
	}
	for i, img := range images {
		if err := img.CheckRGB(); err != nil {
			return 0, 0, fmt.Errorf("image %d: %w", i, err)
		}
		h, w := p.viewSize(img.H, img.W)
		if i == 0 {
			oh, ow = h, w
		} else if h != oh || w != ow {
			return 0, 0, fmt.Errorf("image %d is %d×%d but image 0 is %d×%d: give the spec a size to resize views of different images to one size",
				i, img.H, img.W, images[0].H, images[0].W)
		}
	}
	return oh, ow, nil
}

// augmentOne returns the two augmented RGB images of image i.
func (p *Pipeline) augmentOne(img chw.Image, i, oh, ow int, seed uint64) (a1, a2 chw.Image, err error) {
	src1, src2 := img, img
	if p.spec.Patch > 0 {
		src1, src2, err = PatchPair(img, p.spec.Patch, p.spec.Offset, imageRand(seed, streamPatch, i))
		if err != nil {
			return chw.Image{}, chw.Image{}, err
		}
	}
	if a1, err = p.aug.Apply(src1, oh, ow, imageRand(seed, streamView1, i)); err != nil {
		return chw.Image{}, chw.Image{}, err
	}
	stream2 := streamView2
	if p.spec.Shared {
		stream2 = streamView1 // the same draws as v1
	}
	if a2, err = p.aug.Apply(src2, oh, ow, imageRand(seed, stream2, i)); err != nil {
		return chw.Image{}, chw.Image{}, err
	}
	return a1, a2, nil
}

// Augmented returns, for each RGB image, the two augmented RGB images that
// the views are made from, before the colour conversion: the same draws as
// Views with the same seed.
func (p *Pipeline) Augmented(images []chw.Image, seed uint64) (a1, a2 []chw.Image, err error) {
	oh, ow, err := p.checkBatch(images)
	if err != nil {
		return nil, nil, err
	}
	a1, a2 = make([]chw.Image, len(images)), make([]chw.Image, len(images))
	errs := make([]error, len(images))
	parallelFor(len(images), p.Workers, func(i int) {
		a1[i], a2[i], errs[i] = p.augmentOne(images[i], i, oh, ow, seed)
	})
	for i, err := range errs {
		if err != nil {
			return nil, nil, fmt.Errorf("image %d: %w", i, err)
		}
	}
	return a1, a2, nil
}

// Views turns a batch of RGB images into the two view batches: v1 is
// N×len(V1)×H×W and v2 N×len(V2)×H×W. Image i draws from sources derived from
// (seed, i), so the same seed gives the same views.
func (p *Pipeline) Views(images []chw.Image, seed uint64) (v1, v2 chw.Batch, err error) {
	oh, ow, err := p.checkBatch(images)
	if err != nil {
		return chw.Batch{}, chw.Batch{}, err
	}
	n := len(images)
	v1 = chw.NewBatch(n, len(p.spec.Split.V1), oh, ow)
	v2 = chw.NewBatch(n, len(p.spec.Split.V2), oh, ow)
	errs := make([]error, n)
	parallelFor(n, p.Workers, func(i int) {
		a1, a2, err := p.augmentOne(images[i], i, oh, ow, seed)
		if err == nil {
			err = p.finish(a1, p.spec.Split.V1, v1.Image(i))
		}
		if err == nil {
			err = p.finish(a2, p.spec.Split.V2, v2.Image(i))
		}
		errs[i] = err
	})
	for i, err := range errs {
		if err != nil {
			return chw.Batch{}, chw.Batch{}, fmt.Errorf("image %d: %w", i, err)
		}
	}
	return v1, v2, nil
}

// finish converts the augmented RGB image a to the colour space in place,
// normalises it and copies the channels chans into dst.
func (p *Pipeline) finish(a chw.Image, chans []int, dst chw.Image) error {
	p.spec.Space.convertInPlace(a, false)
	if p.stats != nil {
		if err := p.stats.Normalize(a); err != nil {
			return err
		}
	}
	for k, c := range chans {
		copy(dst.Plane(k), a.Plane(c))
	}
	return nil
}
