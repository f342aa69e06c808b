package datasets_test

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"testing"

	"github.com/learnviews/learnviews/datasets"
)

// codedSet is a Paired, Factored data set whose every value encodes the
// item's index, so that a batch can be checked against its Indices.
type codedSet struct {
	n     int
	shape datasets.Shape
}

func (s codedSet) Len() int                    { return s.n }
func (s codedSet) Shape() datasets.Shape       { return s.shape }
func (s codedSet) Classes() []string           { return []string{"a", "b", "c"} }
func (s codedSet) Label(i int) int             { return i % 3 }
func (s codedSet) FactorNames() []string       { return []string{"index", "double"} }
func (s codedSet) SecondShape() datasets.Shape { return datasets.Shape{C: 1, H: 1, W: 2} }
func (s codedSet) Image(i int, dst []float32) {
	for j := range dst {
		dst[j] = float32(i) / float32(s.n)
	}
}
func (s codedSet) Factors(i int, dst []float64) { dst[0], dst[1] = float64(i), float64(2*i) }
func (s codedSet) SecondView(i int, dst []float32) {
	dst[0], dst[1] = float32(i)/float32(s.n), 1-float32(i)/float32(s.n)
}

func decode(v float32, n int) int { return int(math.Round(float64(v) * float64(n))) }

// checkBatch verifies that every part of b belongs to the items in b.Indices.
func checkBatch(t *testing.T, s codedSet, b *datasets.Batch) {
	t.Helper()
	if len(b.Images) != b.Len()*s.shape.Size() || len(b.Labels) != b.Len() || len(b.Factors) != 2*b.Len() || len(b.Second) != 2*b.Len() {
		t.Fatalf("batch of %d: %d image values, %d labels, %d factors, %d second-view values", b.Len(), len(b.Images), len(b.Labels), len(b.Factors), len(b.Second))
	}
	for j, i := range b.Indices {
		for _, v := range b.Image(j).Pix {
			if decode(v, s.n) != i {
				t.Fatalf("item %d of batch holds image of item %d, want %d", j, decode(v, s.n), i)
			}
		}
		if b.Labels[j] != i%3 || b.Factors[2*j] != float64(i) || b.Factors[2*j+1] != float64(2*i) {
			t.Fatalf("item %d (index %d): label %d factors %v", j, i, b.Labels[j], b.Factors[2*j:2*j+2])
		}
		if decode(b.Second[2*j], s.n) != i || decode(1-b.Second[2*j+1], s.n) != i {
			t.Fatalf("item %d (index %d): second view %v", j, i, b.Second[2*j:2*j+2])
		}
	}
}

// drain reads batches until io.EOF, checking each, and appends the indices
// of each epoch in delivery order to those already delivered.
func drain(t *testing.T, s codedSet, it *datasets.Iterator, epochs [][]int) [][]int {
	t.Helper()
	for {
		b, err := it.Next()
		if err == io.EOF {
			return epochs
		}
		if err != nil {
			t.Fatal(err)
		}
		checkBatch(t, s, b)
		for len(epochs) <= b.Epoch {
			epochs = append(epochs, nil)
		}
		if b.Start != len(epochs[b.Epoch]) {
			t.Fatalf("batch says it starts at %d of epoch %d, %d items delivered before it", b.Start, b.Epoch, len(epochs[b.Epoch]))
		}
		epochs[b.Epoch] = append(epochs[b.Epoch], b.Indices...)
		b.Release()
	}
}

func TestIteratorVisitsEveryItemOncePerEpoch(t *testing.T) {
	cases := []struct {
		name              string
		n, batch          int
		dropLast          bool
		workers, prefetch int
		perEpoch          int
	}{
		{"exact batches, caller goroutine", 12, 4, false, 0, 0, 12},
		{"short last batch kept", 10, 4, false, 0, 0, 10},
		{"short last batch dropped", 10, 4, true, 0, 0, 8},
		{"one worker", 10, 3, false, 1, 1, 10},
		{"three workers, default prefetch", 101, 8, false, 3, 0, 101},
		{"workers and drop last", 101, 8, true, 2, 5, 96},
		{"batch larger than set", 5, 16, false, 2, 2, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := codedSet{n: c.n, shape: datasets.Shape{C: 2, H: 3, W: 2}}
			it, err := datasets.NewIterator(s, datasets.IteratorConfig{BatchSize: c.batch, Seed: 7, DropLast: c.dropLast, Epochs: 3, Workers: c.workers, Prefetch: c.prefetch})
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			epochs := drain(t, s, it, nil)
			if len(epochs) != 3 {
				t.Fatalf("%d epochs, want 3", len(epochs))
			}
			for e, got := range epochs {
				if len(got) != c.perEpoch {
					t.Fatalf("epoch %d delivered %d items, want %d", e, len(got), c.perEpoch)
				}
				sorted := slices.Clone(got)
				slices.Sort(sorted)
				if len(slices.Compact(sorted)) != len(got) {
					t.Fatalf("epoch %d repeats items: %v", e, got)
				}
				if !c.dropLast && (sorted[0] != 0 || sorted[len(sorted)-1] != c.n-1) {
					t.Fatalf("epoch %d misses items: %v", e, sorted)
				}
			}
			if slices.Equal(epochs[0], epochs[1]) {
				t.Fatalf("epochs 0 and 1 have the same order %v", epochs[0])
			}
			if want := (c.perEpoch + c.batch - 1) / c.batch; it.StepsPerEpoch() != want {
				t.Fatalf("StepsPerEpoch %d, want %d", it.StepsPerEpoch(), want)
			}
		})
	}
}

func TestIteratorOrderDependsOnSeedAlone(t *testing.T) {
	s := codedSet{n: 257, shape: datasets.Shape{C: 1, H: 2, W: 2}}
	order := func(seed uint64, workers, prefetch int, sequential bool) [][]int {
		it, err := datasets.NewIterator(s, datasets.IteratorConfig{BatchSize: 16, Seed: seed, Epochs: 2, Workers: workers, Prefetch: prefetch, Sequential: sequential})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		return drain(t, s, it, nil)
	}
	want := order(3, 0, 0, false)
	for _, w := range []struct{ workers, prefetch int }{{1, 1}, {2, 1}, {4, 8}, {8, 2}} {
		if got := order(3, w.workers, w.prefetch, false); !slices.EqualFunc(got, want, slices.Equal[[]int]) {
			t.Fatalf("%d workers, prefetch %d: order differs from the caller-goroutine order", w.workers, w.prefetch)
		}
	}
	if got := order(4, 0, 0, false); slices.Equal(got[0], want[0]) {
		t.Fatal("seeds 3 and 4 give the same order")
	}
	seq := order(3, 2, 2, true)
	for e, got := range seq {
		for i, v := range got {
			if v != i {
				t.Fatalf("sequential epoch %d: position %d holds item %d", e, i, v)
			}
		}
	}
}

func TestIteratorResumesExactly(t *testing.T) {
	s := codedSet{n: 50, shape: datasets.Shape{C: 1, H: 1, W: 3}}
	cases := []struct {
		name                   string
		stopAfter              int // batches read before saving
		workersBefore, workers int
		dropLast               bool
	}{
		{"at the start", 0, 0, 0, false},
		{"inside epoch 0", 3, 0, 0, false},
		{"at the end of epoch 0", 7, 2, 0, false}, // 7 batches of 8 cover 50 items
		{"inside epoch 1, workers before and after", 9, 3, 2, false},
		{"inside epoch 2, drop last", 15, 1, 3, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := datasets.IteratorConfig{BatchSize: 8, Seed: 11, Epochs: 4, DropLast: c.dropLast}
			ref, err := datasets.NewIterator(s, cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := drain(t, s, ref, nil)

			cfg.Workers = c.workersBefore
			first, err := datasets.NewIterator(s, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]int
			for range c.stopAfter {
				b, err := first.Next()
				if err != nil {
					t.Fatal(err)
				}
				for len(got) <= b.Epoch {
					got = append(got, nil)
				}
				got[b.Epoch] = append(got[b.Epoch], b.Indices...)
			}
			saved, err := json.Marshal(first.State())
			if err != nil {
				t.Fatal(err)
			}
			first.Close()

			var st datasets.IteratorState
			if err := json.Unmarshal(saved, &st); err != nil {
				t.Fatal(err)
			}
			cfg.Workers = c.workers
			second, err := datasets.ResumeIterator(s, cfg, st)
			if err != nil {
				t.Fatal(err)
			}
			defer second.Close()
			got = drain(t, s, second, got)
			if !slices.EqualFunc(got, want, slices.Equal[[]int]) {
				t.Fatalf("resumed run (state %s) differs from an uninterrupted one:\n got %v\nwant %v", saved, got, want)
			}
		})
	}
}

func TestIteratorStateJSON(t *testing.T) {
	s := codedSet{n: 20, shape: datasets.Shape{C: 1, H: 1, W: 1}}
	it, err := datasets.NewIterator(s, datasets.IteratorConfig{BatchSize: 8, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // 8 + 8 + 4: the third batch ends epoch 0
		if _, err := it.Next(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := json.Marshal(it.State())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"seed":5,"batch_size":8,"len":20,"epoch":1,"index":0}`
	if string(got) != want {
		t.Fatalf("state %s, want %s", got, want)
	}
}

func TestResumeIteratorRejectsForeignState(t *testing.T) {
	s := codedSet{n: 20, shape: datasets.Shape{C: 1, H: 1, W: 1}}
	cfg := datasets.IteratorConfig{BatchSize: 4, Seed: 1}
	good := datasets.IteratorState{Seed: 1, BatchSize: 4, Len: 20, Epoch: 2, Index: 8}
	cases := []struct {
		name string
		edit func(*datasets.IteratorState)
	}{
		{"other seed", func(st *datasets.IteratorState) { st.Seed = 2 }},
		{"other length", func(st *datasets.IteratorState) { st.Len = 21 }},
		{"other batch size", func(st *datasets.IteratorState) { st.BatchSize = 5 }},
		{"sequential", func(st *datasets.IteratorState) { st.Sequential = true }},
		{"index past the end", func(st *datasets.IteratorState) { st.Index = 21 }},
		{"negative epoch", func(st *datasets.IteratorState) { st.Epoch = -1 }},
	}
	if it, err := datasets.ResumeIterator(s, cfg, good); err != nil {
		t.Fatalf("good state: %v", err)
	} else {
		it.Close()
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := good
			c.edit(&st)
			if _, err := datasets.ResumeIterator(s, cfg, st); err == nil {
				t.Fatalf("state %+v accepted", st)
			}
		})
	}
}

func TestNewIteratorRejectsBadConfig(t *testing.T) {
	s := codedSet{n: 10, shape: datasets.Shape{C: 1, H: 1, W: 1}}
	cases := []struct {
		name string
		ds   datasets.Dataset
		cfg  datasets.IteratorConfig
	}{
		{"zero batch", s, datasets.IteratorConfig{}},
		{"empty set", codedSet{shape: s.shape}, datasets.IteratorConfig{BatchSize: 1}},
		{"drop last leaves nothing", s, datasets.IteratorConfig{BatchSize: 11, DropLast: true}},
		{"negative workers", s, datasets.IteratorConfig{BatchSize: 2, Workers: -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := datasets.NewIterator(c.ds, c.cfg); err == nil {
				t.Fatalf("config %+v accepted", c.cfg)
			}
		})
	}
}

func TestIteratorClose(t *testing.T) {
	s := codedSet{n: 1000, shape: datasets.Shape{C: 1, H: 4, W: 4}}
	for _, workers := range []int{0, 2} {
		it, err := datasets.NewIterator(s, datasets.IteratorConfig{BatchSize: 10, Seed: 1, Workers: workers, Prefetch: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := it.Next(); err != nil {
			t.Fatal(err)
		}
		it.Close()
		it.Close()
		if _, err := it.Next(); !errors.Is(err, datasets.ErrIteratorClosed) {
			t.Fatalf("%d workers: Next after Close gave %v", workers, err)
		}
		if st := it.State(); st.Epoch != 0 || st.Index != 10 {
			t.Fatalf("%d workers: state after Close %+v, want epoch 0 index 10", workers, st)
		}
	}
}

func TestBatchReleaseIsIdempotent(t *testing.T) {
	s := codedSet{n: 64, shape: datasets.Shape{C: 1, H: 2, W: 2}}
	for _, workers := range []int{0, 1} {
		it, err := datasets.NewIterator(s, datasets.IteratorConfig{BatchSize: 4, Seed: 1, Workers: workers, Prefetch: 1})
		if err != nil {
			t.Fatal(err)
		}
		b, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
		b.Release() // must not put the batch in the free list twice
		seen := map[*float32]bool{}
		for range 8 {
			b, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			checkBatch(t, s, b)
			if seen[&b.Images[0]] {
				t.Fatalf("%d workers: two held batches share memory", workers)
			}
			seen[&b.Images[0]] = true
		}
		it.Close()
	}
}
