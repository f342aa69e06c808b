package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/learnviews/learnviews/chw"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/games"
	"github.com/learnviews/learnviews/viewgen"
)

// closingFeed is a games.Feed that owns background iterators.
type closingFeed interface {
	games.Feed
	close()
}

// evalBatch is the batch of the feature extractors.
const evalBatch = 100

// stream is an endless, resumable, shuffled batch stream over a data set.
type stream struct {
	ds      datasets.Dataset
	cfg     datasets.IteratorConfig
	it      *datasets.Iterator
	batches int   // batches delivered: seeds the augmentations
	last    []int // the examples of the last batch
}

func newStream(ds datasets.Dataset, batch, workers int, seed uint64) (*stream, error) {
	if ds.Len() < batch {
		return nil, fmt.Errorf("%d images are fewer than one batch of %d: lower the batch size or use more data", ds.Len(), batch)
	}
	cfg := datasets.IteratorConfig{BatchSize: batch, Seed: seed, DropLast: true, Workers: workers}
	it, err := datasets.NewIterator(ds, cfg)
	if err != nil {
		return nil, err
	}
	return &stream{ds: ds, cfg: cfg, it: it}, nil
}

func (s *stream) next() (*datasets.Batch, error) {
	b, err := s.it.Next()
	if err != nil {
		return nil, err
	}
	s.batches++
	s.last = append(s.last[:0], b.Indices...)
	return b, nil
}

// Indices returns the examples of the last batch: the memory-bank rows a
// game updates (games.IndexedFeed).
func (s *stream) Indices() []int { return s.last }

type streamState struct {
	Iterator datasets.IteratorState `json:"iterator"`
	Batches  int                    `json:"batches"`
}

func (s *stream) state() streamState { return streamState{s.it.State(), s.batches} }

func (s *stream) restore(st streamState) error {
	s.it.Close()
	it, err := datasets.ResumeIterator(s.ds, s.cfg, st.Iterator)
	if err != nil {
		return err
	}
	s.it, s.batches = it, st.Batches
	return nil
}

func (s *stream) close() { s.it.Close() }

// State and Restore save and restore the stream's position: a feed with
// one stream is resumed by them.
func (s *stream) State() (json.RawMessage, error) { return json.Marshal(s.state()) }

func (s *stream) Restore(b json.RawMessage) error {
	var st streamState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("feed state: %w", err)
	}
	return s.restore(st)
}

// images returns a batch's images, sharing its storage.
func images(b *datasets.Batch) []chw.Image {
	out := make([]chw.Image, b.Len())
	for i := range out {
		out[i] = b.Image(i)
	}
	return out
}

// inputPrep turns RGB images into the generator's input: converted to its
// colour space and, when stats is set, standardised channel by channel.
type inputPrep struct {
	space viewgen.ColorSpace
	stats *viewgen.Stats
}

// into writes the prepared images into dst (NCHW).
func (p inputPrep) into(dst []float32, imgs []chw.Image) error {
	off := 0
	for _, im := range imgs {
		if p.space == viewgen.RGB && p.stats == nil {
			off += copy(dst[off:], im.Pix)
			continue
		}
		c, err := p.space.Convert(im)
		if err != nil {
			return err
		}
		if p.stats != nil {
			if err := p.stats.Normalize(c); err != nil {
				return err
			}
		}
		off += copy(dst[off:], c.Pix)
	}
	return nil
}

// imageFeed feeds a view-learning game: unlabelled and labelled RGB batches
// prepared as the generator's input. With augmentations (the authors'
// game) each unlabelled image gives two crops, independently augmented and
// resized to size×size: the inputs of v1 and of v2; each labelled image
// gives one. Without, the images go in as they are.
type imageFeed struct {
	unl, lab *stream
	aug      *viewgen.Augmenter // nil: no augmentation
	prep     inputPrep
	seed     uint64
	size     int
	x, x2    []float32
	xl       []float32
}

func newImageFeed(unl, lab datasets.Dataset, batch, lbatch, workers, size int, seed uint64, augs []viewgen.Aug, prep inputPrep) (*imageFeed, error) {
	f := &imageFeed{prep: prep, seed: seed, size: size}
	if len(augs) > 0 {
		var err error
		if f.aug, err = viewgen.NewAugmenter(augs...); err != nil {
			return nil, err
		}
	}
	u, err := newStream(unl, batch, workers, seed)
	if err != nil {
		return nil, fmt.Errorf("unlabelled images: %w", err)
	}
	l, err := newStream(lab, lbatch, workers, seed+offsetLabelledFeed)
	if err != nil {
		u.close()
		return nil, fmt.Errorf("labelled images: %w", err)
	}
	f.unl, f.lab = u, l
	n := 3 * size * size
	f.x, f.xl = make([]float32, batch*n), make([]float32, lbatch*n)
	if f.aug != nil {
		f.x2 = make([]float32, batch*n)
	}
	return f, nil
}

// prepared augments imgs with the draw seed (when the feed augments, to
// size×size) or fits them to size×size, and prepares them into dst.
func (f *imageFeed) prepared(dst []float32, imgs []chw.Image, seed uint64) error {
	var err error
	if f.aug != nil {
		imgs, err = f.aug.ApplyBatch(imgs, f.size, f.size, seed)
	} else {
		imgs, err = fitAll(imgs, f.size)
	}
	if err != nil {
		return err
	}
	return f.prep.into(dst, imgs)
}

// Next returns the unlabelled batch: one input per image, or the two
// crops' inputs.
func (f *imageFeed) Next() ([]float32, []float32, error) {
	b, err := f.unl.next()
	if err != nil {
		return nil, nil, err
	}
	defer b.Release()
	imgs := images(b)
	if f.aug == nil {
		return f.x, nil, f.prepared(f.x, imgs, 0)
	}
	base := f.seed<<20 + 2*uint64(f.unl.batches)
	if err := f.prepared(f.x, imgs, base); err != nil {
		return nil, nil, err
	}
	return f.x, f.x2, f.prepared(f.x2, imgs, base+1)
}

// Indices returns the examples of the last unlabelled batch.
func (f *imageFeed) Indices() []int { return f.unl.Indices() }

func (f *imageFeed) NextLabelled() ([]float32, []int, error) {
	b, err := f.lab.next()
	if err != nil {
		return nil, nil, err
	}
	defer b.Release()
	labels := append([]int(nil), b.Labels...)
	return f.xl, labels, f.prepared(f.xl, images(b), (f.seed+offsetLabelledFeed)<<20+uint64(f.lab.batches))
}

func (f *imageFeed) State() (json.RawMessage, error) {
	return json.Marshal(map[string]streamState{"unlabelled": f.unl.state(), "labelled": f.lab.state()})
}

func (f *imageFeed) Restore(b json.RawMessage) error {
	var st map[string]streamState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("feed state: %w", err)
	}
	if err := f.unl.restore(st["unlabelled"]); err != nil {
		return err
	}
	return f.lab.restore(st["labelled"])
}

func (f *imageFeed) close() { f.unl.close(); f.lab.close() }

// pipelineFeed feeds a contrastive game with fixed views.
type pipelineFeed struct {
	*stream // its State, Restore and close are the feed's
	pipe    *viewgen.Pipeline
	seed    uint64
}

func newPipelineFeed(ds datasets.Dataset, batch, workers int, seed uint64, pipe *viewgen.Pipeline) (*pipelineFeed, error) {
	s, err := newStream(ds, batch, workers, seed)
	if err != nil {
		return nil, err
	}
	return &pipelineFeed{stream: s, pipe: pipe, seed: seed}, nil
}

func (f *pipelineFeed) Next() ([]float32, []float32, error) {
	b, err := f.next()
	if err != nil {
		return nil, nil, err
	}
	defer b.Release()
	v1, v2, err := f.pipe.Views(images(b), f.seed<<20+uint64(f.batches))
	if err != nil {
		return nil, nil, err
	}
	return v1.Pix, v2.Pix, nil
}

func (f *pipelineFeed) NextLabelled() ([]float32, []int, error) {
	return nil, nil, fmt.Errorf("a fixed-view game has no labelled batches")
}

// pairFeed feeds a contrastive game from a paired data set (cmnist).
type pairFeed struct {
	*stream // its State, Restore and close are the feed's
	v1, v2  []float32
	labels  []int
	factors []float64
}

func newPairFeed(ds datasets.Paired, batch, workers int, seed uint64) (*pairFeed, error) {
	s, err := newStream(ds, batch, workers, seed)
	if err != nil {
		return nil, err
	}
	return &pairFeed{stream: s}, nil
}

func (f *pairFeed) Next() ([]float32, []float32, error) {
	b, err := f.next()
	if err != nil {
		return nil, nil, err
	}
	defer b.Release()
	f.v1 = append(f.v1[:0], b.Images...)
	f.v2 = append(f.v2[:0], b.Second...)
	return f.v1, f.v2, nil
}

func (f *pairFeed) NextLabelled() ([]float32, []int, error) {
	return nil, nil, fmt.Errorf("a paired data set has no labelled batches")
}

// NextFactored returns the next batch's first views (the frames), labels
// and factors: the labelled batches of the supervised encoder game.
func (f *pairFeed) NextFactored() ([]float32, []int, []float64, error) {
	b, err := f.next()
	if err != nil {
		return nil, nil, nil, err
	}
	defer b.Release()
	f.v1 = append(f.v1[:0], b.Images...)
	f.labels = append(f.labels[:0], b.Labels...)
	f.factors = append(f.factors[:0], b.Factors...)
	return f.v1, f.labels, f.factors, nil
}

// generatorFeed feeds stage 2: each image is augmented twice
// independently (to size×size), prepared as the generator's input and
// mapped by the frozen generator; v1 keeps V1 of the first draw, v2 V2 of
// the second.
type generatorFeed struct {
	*stream // its State, Restore and close are the feed's
	aug     *viewgen.Augmenter
	prep    inputPrep
	gen     Generator
	split   viewgen.Split
	seed    uint64
	size    int
	in      []float32
	v1, v2  []float32
}

func newGeneratorFeed(ds datasets.Dataset, batch, workers, size int, seed uint64, augs []viewgen.Aug, prep inputPrep, gen Generator, split viewgen.Split) (*generatorFeed, error) {
	aug, err := viewgen.NewAugmenter(augs...)
	if err != nil {
		return nil, err
	}
	s, err := newStream(ds, batch, workers, seed)
	if err != nil {
		return nil, err
	}
	return &generatorFeed{stream: s, aug: aug, prep: prep, gen: gen, split: split, seed: seed, size: size,
		in: make([]float32, batch*3*size*size)}, nil
}

// mapped augments the batch with seed, prepares it and applies g.
func (f *generatorFeed) mapped(imgs []chw.Image, h, w int, seed uint64) ([]float32, error) {
	a, err := f.aug.ApplyBatch(imgs, h, w, seed)
	if err != nil {
		return nil, err
	}
	if err := f.prep.into(f.in, a); err != nil {
		return nil, err
	}
	return f.gen.Apply(f.in, len(imgs), h, w)
}

func (f *generatorFeed) Next() ([]float32, []float32, error) {
	b, err := f.next()
	if err != nil {
		return nil, nil, err
	}
	defer b.Release()
	imgs := images(b)
	h, w := f.size, f.size
	base := f.seed<<20 + 2*uint64(f.batches)
	g1, err := f.mapped(imgs, h, w, base)
	if err != nil {
		return nil, nil, err
	}
	g2, err := f.mapped(imgs, h, w, base+1)
	if err != nil {
		return nil, nil, err
	}
	f.v1 = selectChannels(f.v1[:0], g1, len(imgs), 3, h*w, f.split.V1)
	f.v2 = selectChannels(f.v2[:0], g2, len(imgs), 3, h*w, f.split.V2)
	return f.v1, f.v2, nil
}

func (f *generatorFeed) NextLabelled() ([]float32, []int, error) {
	return nil, nil, fmt.Errorf("stage 2 has no labelled batches")
}

// selectChannels appends channels chans of each of n images (c planes of
// p pixels) to dst.
func selectChannels(dst, src []float32, n, c, p int, chans []int) []float32 {
	for i := 0; i < n; i++ {
		for _, ch := range chans {
			dst = append(dst, src[(i*c+ch)*p:(i*c+ch+1)*p]...)
		}
	}
	return dst
}

// featureExtractor computes the frozen features that evaluation uses: f1's
// features of v1 and f2's of v2, concatenated (f1's alone for a paired data
// set, whose v1 is the frame sequence).
type featureExtractor struct {
	e        *Experiment
	gen      Generator
	pipe     *viewgen.Pipeline
	ex1, ex2 *contrast.Extractor
	batch    int
	paired   bool
}

func newFeatureExtractor(e *Experiment, est *contrast.Estimator, gen Generator, spec viewgen.Spec) (*featureExtractor, error) {
	c := e.cfg
	fx := &featureExtractor{e: e, gen: gen, batch: evalBatch}
	size := c.Data.Size
	c1, c2 := e.fixedChannels(spec)
	var err error
	if _, ok := paired(e.data.Train); ok {
		fx.paired = true
	} else if gen == nil {
		if fx.pipe, err = viewgen.NewPipeline(spec, nil); err != nil {
			return nil, err
		}
	}
	if fx.ex1, err = contrast.NewExtractor(est.F1.Encoder, e.dt, fx.batch, c1, size, size); err != nil {
		return nil, err
	}
	if !fx.paired {
		if fx.ex2, err = contrast.NewExtractor(est.F2.Encoder, e.dt, fx.batch, c2, size, size); err != nil {
			return nil, err
		}
	}
	return fx, nil
}

func (fx *featureExtractor) close() {
	fx.ex1.Close()
	if fx.ex2 != nil {
		fx.ex2.Close()
	}
}

// features returns the features, labels and (for factored sets) factors of
// every image of ds.
func (fx *featureExtractor) features(ctx context.Context, ds datasets.Dataset) ([][]float64, []int, [][]float64, error) {
	it, err := datasets.NewIterator(ds, datasets.IteratorConfig{BatchSize: fx.batch, Sequential: true, Epochs: 1, Workers: fx.e.cfg.Data.Workers})
	if err != nil {
		return nil, nil, nil, err
	}
	defer it.Close()
	var feats [][]float64
	var labels []int
	var factors [][]float64
	for {
		if ctx.Err() != nil {
			return nil, nil, nil, fmt.Errorf("while computing features: %w", games.ErrInterrupted)
		}
		b, err := it.Next()
		if err != nil {
			if isEOF(err) {
				break
			}
			return nil, nil, nil, err
		}
		f, err := fx.batchFeatures(b)
		if err != nil {
			b.Release()
			return nil, nil, nil, err
		}
		feats = append(feats, f...)
		labels = append(labels, b.Labels...)
		if k := len(b.FactorNames); k > 0 {
			for i := 0; i < b.Len(); i++ {
				factors = append(factors, append([]float64(nil), b.Factors[i*k:(i+1)*k]...))
			}
		}
		b.Release()
	}
	return feats, labels, factors, nil
}

func (fx *featureExtractor) batchFeatures(b *datasets.Batch) ([][]float64, error) {
	if fx.paired {
		return fx.ex1.Features(b.Images)
	}
	size := fx.e.cfg.Data.Size
	imgs, err := fitAll(images(b), size)
	if err != nil {
		return nil, err
	}
	var v1, v2 []float32
	h, w := size, size
	if fx.gen == nil {
		b1, b2, err := fx.pipe.Views(imgs, 0)
		if err != nil {
			return nil, err
		}
		v1, v2 = b1.Pix, b2.Pix
	} else {
		in := make([]float32, len(imgs)*3*h*w)
		if err := fx.e.prep.into(in, imgs); err != nil {
			return nil, err
		}
		g, err := fx.gen.Apply(in, len(imgs), h, w)
		if err != nil {
			return nil, err
		}
		split := fx.e.views.Split
		v1 = selectChannels(nil, g, len(imgs), 3, h*w, split.V1)
		v2 = selectChannels(nil, g, len(imgs), 3, h*w, split.V2)
	}
	f1, err := fx.ex1.Features(v1)
	if err != nil {
		return nil, err
	}
	f2, err := fx.ex2.Features(v2)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(f1))
	for i := range f1 {
		out[i] = append(append([]float64(nil), f1[i]...), f2[i]...)
	}
	return out, nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
