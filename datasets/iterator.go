package datasets

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/learnviews/learnviews/chw"
)

// IteratorConfig sets how an Iterator walks a data set.
type IteratorConfig struct {
	// BatchSize is the number of items in a batch; the last batch of an
	// epoch may be shorter unless DropLast is set.
	BatchSize int
	// Seed seeds the shuffle: epoch e visits the items in an order drawn from
	// (Seed, e) alone.
	Seed uint64
	// Sequential visits the items in data-set order instead of shuffling.
	Sequential bool
	// DropLast leaves out the short last batch of each epoch.
	DropLast bool
	// Epochs is the number of epochs after which Next returns io.EOF,
	// counted from epoch 0 even when resuming; 0 means no end.
	Epochs int
	// Workers is the number of goroutines that fill batches in the
	// background; 0 fills each batch on the caller's goroutine inside Next.
	Workers int
	// Prefetch bounds how many batches are prepared ahead of the caller
	// when Workers > 0; 0 means 2×Workers.
	Prefetch int
}

// IteratorState is the position of an Iterator: enough, with the data set
// and the config, to resume a run exactly where it stopped. It encodes as
// JSON for checkpoints.
type IteratorState struct {
	Seed       uint64 `json:"seed"`
	Sequential bool   `json:"sequential,omitempty"`
	BatchSize  int    `json:"batch_size"`
	Len        int    `json:"len"`   // data-set length, checked on resume
	Epoch      int    `json:"epoch"` // epoch of the next batch
	Index      int    `json:"index"` // items of that epoch already delivered
}

// ErrIteratorClosed is returned by Next after Close.
var ErrIteratorClosed = errors.New("iterator closed")

// Batch is a run of items, stored one after another in flat slices.
type Batch struct {
	Epoch   int   // epoch the batch belongs to
	Start   int   // position of its first item within the epoch
	Indices []int // data-set index of each item

	Shape  Shape     // shape of one image
	Images []float32 // Len()×Shape.Size(); for a Paired set the first views
	Labels []int     // class of each item, or NoLabel

	FactorNames []string  // nil when the data set has no factors
	Factors     []float64 // Len()×len(FactorNames), item by item

	SecondShape Shape     // zero unless the data set is Paired
	Second      []float32 // Len()×SecondShape.Size(): the second views

	pool     chan *Batch
	released atomic.Bool
}

// Len is the number of items in the batch.
func (b *Batch) Len() int { return len(b.Indices) }

// Image is the j-th image of the batch, sharing b.Images' storage.
func (b *Batch) Image(j int) chw.Image {
	n := b.Shape.Size()
	return chw.Image{C: b.Shape.C, H: b.Shape.H, W: b.Shape.W, Pix: b.Images[j*n : (j+1)*n]}
}

// Release hands the batch's memory back to its iterator for reuse. The batch
// must not be used afterwards. Calling it is optional; a second call does
// nothing.
func (b *Batch) Release() {
	if b.pool == nil || b.released.Swap(true) {
		return
	}
	select {
	case b.pool <- b:
	default:
	}
}

// Iterator delivers the batches of a data set, epoch after epoch, in an order
// fixed by the seed alone: the number of workers changes only the speed.
// Next and State are for one goroutine; the workers are internal.
type Iterator struct {
	ds     Dataset
	cfg    IteratorConfig
	n      int // data-set length
	limit  int // items delivered per epoch
	shape  Shape
	names  []string
	second Shape

	factored Factored
	paired   Paired

	epoch, index int // position of the next batch to deliver
	done         bool
	closed       bool

	// Synchronous mode.
	perm      []int
	permEpoch int

	// Background mode.
	free    chan *Batch
	ordered chan *slot
	quit    chan struct{}
	wg      sync.WaitGroup
}

type slot struct {
	batch *Batch
	done  chan struct{}
}

// NewIterator starts an iterator at the beginning of epoch 0.
func NewIterator(ds Dataset, cfg IteratorConfig) (*Iterator, error) {
	return ResumeIterator(ds, cfg, IteratorState{Seed: cfg.Seed, Sequential: cfg.Sequential, BatchSize: cfg.BatchSize, Len: ds.Len()})
}

// ResumeIterator starts an iterator at a position saved by State. The state
// must come from an iterator over a data set of the same length with the same
// seed, order and batch size.
func ResumeIterator(ds Dataset, cfg IteratorConfig, st IteratorState) (*Iterator, error) {
	n := ds.Len()
	switch {
	case n == 0:
		return nil, fmt.Errorf("iterator: empty data set")
	case cfg.BatchSize <= 0:
		return nil, fmt.Errorf("iterator: batch size %d, want > 0", cfg.BatchSize)
	case cfg.DropLast && cfg.BatchSize > n:
		return nil, fmt.Errorf("iterator: batch size %d with DropLast over %d items yields no batch", cfg.BatchSize, n)
	case cfg.Workers < 0 || cfg.Prefetch < 0 || cfg.Epochs < 0:
		return nil, fmt.Errorf("iterator: negative Workers, Prefetch or Epochs")
	case st.Len != n:
		return nil, fmt.Errorf("iterator: state is for %d items, data set has %d", st.Len, n)
	case st.Seed != cfg.Seed || st.Sequential != cfg.Sequential:
		return nil, fmt.Errorf("iterator: state has seed %d (sequential %v), config seed %d (sequential %v)", st.Seed, st.Sequential, cfg.Seed, cfg.Sequential)
	case st.BatchSize != cfg.BatchSize:
		return nil, fmt.Errorf("iterator: state has batch size %d, config %d", st.BatchSize, cfg.BatchSize)
	case st.Epoch < 0 || st.Index < 0 || st.Index > n:
		return nil, fmt.Errorf("iterator: state position epoch %d index %d outside the data set", st.Epoch, st.Index)
	}
	it := &Iterator{ds: ds, cfg: cfg, n: n, limit: n, shape: ds.Shape(), epoch: st.Epoch, index: st.Index, permEpoch: -1}
	if cfg.DropLast {
		it.limit = n - n%cfg.BatchSize
	}
	if f, ok := ds.(Factored); ok && len(f.FactorNames()) > 0 {
		it.factored, it.names = f, f.FactorNames()
	}
	if p, ok := ds.(Paired); ok && p.SecondShape().Size() > 0 {
		it.paired, it.second = p, p.SecondShape()
	}
	it.normalize()
	if cfg.Workers > 0 {
		it.start()
	} else {
		it.free = make(chan *Batch, 2)
	}
	return it, nil
}

// StepsPerEpoch is the number of batches in one epoch.
func (it *Iterator) StepsPerEpoch() int { return (it.limit + it.cfg.BatchSize - 1) / it.cfg.BatchSize }

// State is the position after the last batch Next returned.
func (it *Iterator) State() IteratorState {
	return IteratorState{Seed: it.cfg.Seed, Sequential: it.cfg.Sequential, BatchSize: it.cfg.BatchSize, Len: it.n, Epoch: it.epoch, Index: it.index}
}

// Next returns the next batch, or io.EOF after the configured epochs. With
// workers the batch was usually prepared while the caller worked on the
// previous one.
func (it *Iterator) Next() (*Batch, error) {
	if it.closed {
		return nil, ErrIteratorClosed
	}
	if it.done {
		return nil, io.EOF
	}
	var b *Batch
	if it.cfg.Workers == 0 {
		b = it.newBatch()
		it.plan(b, it.epoch, it.index, it.order(it.epoch))
		it.fill(b)
	} else {
		s, ok := <-it.ordered
		if !ok {
			it.done = true
			return nil, io.EOF
		}
		<-s.done
		b = s.batch
	}
	it.epoch, it.index = b.Epoch, b.Start+b.Len()
	it.normalize()
	return b, nil
}

// Close stops the background workers and drops the batches they prepared.
// The iterator's State stays valid.
func (it *Iterator) Close() {
	if it.closed {
		return
	}
	it.closed = true
	if it.quit != nil {
		close(it.quit)
		it.wg.Wait()
	}
}

// normalize moves a position at the end of an epoch to the start of the
// next and marks the end of the configured epochs.
func (it *Iterator) normalize() {
	if it.index >= it.limit {
		it.epoch++
		it.index = 0
	}
	if it.cfg.Epochs > 0 && it.epoch >= it.cfg.Epochs {
		it.done = true
	}
}

// order is the visiting order of an epoch, cached for the synchronous mode.
func (it *Iterator) order(epoch int) []int {
	if it.permEpoch != epoch {
		it.perm, it.permEpoch = epochOrder(it.n, it.cfg, epoch), epoch
	}
	return it.perm
}

func epochOrder(n int, cfg IteratorConfig, epoch int) []int {
	if cfg.Sequential {
		p := make([]int, n)
		for i := range p {
			p[i] = i
		}
		return p
	}
	return rand.New(rand.NewPCG(cfg.Seed, uint64(epoch))).Perm(n)
}

// newBatch takes a batch from the free list or allocates one.
func (it *Iterator) newBatch() *Batch {
	select {
	case b := <-it.free:
		b.released.Store(false)
		return b
	default:
	}
	b := &Batch{Shape: it.shape, FactorNames: it.names, SecondShape: it.second, pool: it.free}
	bs := it.cfg.BatchSize
	b.Indices = make([]int, 0, bs)
	b.Images = make([]float32, bs*it.shape.Size())
	b.Labels = make([]int, bs)
	if it.factored != nil {
		b.Factors = make([]float64, bs*len(it.names))
	}
	if it.paired != nil {
		b.Second = make([]float32, bs*it.second.Size())
	}
	return b
}

// plan sets the batch's position and indices, from order, starting at
// (epoch, index).
func (it *Iterator) plan(b *Batch, epoch, index int, order []int) {
	end := min(index+it.cfg.BatchSize, it.limit)
	b.Epoch, b.Start = epoch, index
	b.Indices = append(b.Indices[:0], order[index:end]...)
	m := len(b.Indices)
	b.Images = b.Images[:m*it.shape.Size()]
	b.Labels = b.Labels[:m]
	if b.Factors != nil {
		b.Factors = b.Factors[:m*len(it.names)]
	}
	if b.Second != nil {
		b.Second = b.Second[:m*it.second.Size()]
	}
}

// fill reads the planned items into the batch.
func (it *Iterator) fill(b *Batch) {
	size, nf, ss := it.shape.Size(), len(it.names), it.second.Size()
	for j, i := range b.Indices {
		it.ds.Image(i, b.Images[j*size:(j+1)*size])
		b.Labels[j] = it.ds.Label(i)
		if it.factored != nil {
			it.factored.Factors(i, b.Factors[j*nf:(j+1)*nf])
		}
		if it.paired != nil {
			it.paired.SecondView(i, b.Second[j*ss:(j+1)*ss])
		}
	}
}

// start launches the planner and the workers. The planner hands each batch
// to the workers and, in order, to Next through a channel whose capacity
// bounds the prefetch.
func (it *Iterator) start() {
	prefetch := it.cfg.Prefetch
	if prefetch == 0 {
		prefetch = 2 * it.cfg.Workers
	}
	it.free = make(chan *Batch, prefetch+it.cfg.Workers+2)
	it.ordered = make(chan *slot, prefetch)
	it.quit = make(chan struct{})
	work := make(chan *slot)
	it.wg.Add(1 + it.cfg.Workers)
	go func() {
		defer it.wg.Done()
		defer close(work)
		defer close(it.ordered)
		epoch, index := it.epoch, it.index
		var order []int
		orderEpoch := -1
		for it.cfg.Epochs == 0 || epoch < it.cfg.Epochs {
			if orderEpoch != epoch {
				order, orderEpoch = epochOrder(it.n, it.cfg, epoch), epoch
			}
			b := it.newBatch()
			it.plan(b, epoch, index, order)
			s := &slot{batch: b, done: make(chan struct{})}
			select {
			case it.ordered <- s:
			case <-it.quit:
				return
			}
			select {
			case work <- s:
			case <-it.quit:
				return
			}
			index += b.Len()
			if index >= it.limit {
				epoch, index = epoch+1, 0
			}
		}
	}()
	for range it.cfg.Workers {
		go func() {
			defer it.wg.Done()
			for s := range work {
				it.fill(s.batch)
				close(s.done)
			}
		}()
	}
}
