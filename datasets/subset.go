package datasets

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Subset is a view of some items of a parent data set, in the order given.
// It keeps the parent's factors and second views, and can withhold labels.
type Subset struct {
	parent     Dataset
	indices    []int
	hideLabels bool
}

// NewSubset is the view of parent's items at indices, in that order.
func NewSubset(parent Dataset, indices []int) (*Subset, error) {
	n := parent.Len()
	for _, i := range indices {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("subset: index %d outside 0..%d", i, n-1)
		}
	}
	return &Subset{parent: parent, indices: slices.Clone(indices)}, nil
}

// Parent is the data set the subset views.
func (s *Subset) Parent() Dataset { return s.parent }

// Indices are the parent's indices of the subset's items, in order.
func (s *Subset) Indices() []int { return slices.Clone(s.indices) }

// Len is the number of items.
func (s *Subset) Len() int { return len(s.indices) }

// Shape is the parent's image shape.
func (s *Subset) Shape() Shape { return s.parent.Shape() }

// Classes are the parent's classes.
func (s *Subset) Classes() []string { return s.parent.Classes() }

// Label is the parent's label of item i, or NoLabel when labels are withheld.
func (s *Subset) Label(i int) int {
	if s.hideLabels {
		return NoLabel
	}
	return s.parent.Label(s.indices[i])
}

// Image writes the parent's image of item i.
func (s *Subset) Image(i int, dst []float32) { s.parent.Image(s.indices[i], dst) }

// FactorNames are the parent's factor names; nil when it has none.
func (s *Subset) FactorNames() []string {
	if f, ok := s.parent.(Factored); ok {
		return f.FactorNames()
	}
	return nil
}

// Factors writes the parent's factors of item i.
func (s *Subset) Factors(i int, dst []float64) {
	if f, ok := s.parent.(Factored); ok {
		f.Factors(s.indices[i], dst)
	}
}

// SecondShape is the shape of the parent's second views; zero when the
// parent is not Paired.
func (s *Subset) SecondShape() Shape {
	if p, ok := s.parent.(Paired); ok {
		return p.SecondShape()
	}
	return Shape{}
}

// SecondView writes the parent's second view of item i.
func (s *Subset) SecondView(i int, dst []float32) {
	if p, ok := s.parent.(Paired); ok {
		p.SecondView(s.indices[i], dst)
	}
}

// SplitTrainTest draws nTest items of ds at random, by seed, into test and
// leaves the rest in train. Both keep the parent's order.
func SplitTrainTest(ds Dataset, nTest int, seed uint64) (train, test *Subset, err error) {
	n := ds.Len()
	if nTest < 0 || nTest > n {
		return nil, nil, fmt.Errorf("split: %d test items asked of a data set of %d", nTest, n)
	}
	perm := rand.New(rand.NewPCG(seed, 0x7e57)).Perm(n)
	test = &Subset{parent: ds, indices: perm[:nTest]}
	train = &Subset{parent: ds, indices: perm[nTest:]}
	slices.Sort(test.indices)
	slices.Sort(train.indices)
	return train, test, nil
}

// SplitLabelled draws nLabelled items of ds, by seed, spread evenly over the
// classes (as STL-10's 5,000 labelled images are 500 a class), into labelled
// and puts the rest, labels withheld, into unlabelled. Items of ds without a
// label go to unlabelled. It fails when a class has too few items.
func SplitLabelled(ds Dataset, nLabelled int, seed uint64) (labelled, unlabelled *Subset, err error) {
	n, k := ds.Len(), len(ds.Classes())
	if nLabelled < 0 || nLabelled > n {
		return nil, nil, fmt.Errorf("split: %d labelled items asked of a data set of %d", nLabelled, n)
	}
	if k == 0 {
		return nil, nil, fmt.Errorf("split: labelled items asked of a data set without classes")
	}
	byClass := make([][]int, k)
	perm := rand.New(rand.NewPCG(seed, 0x1abe1)).Perm(n)
	for _, i := range perm {
		if y := ds.Label(i); y != NoLabel {
			byClass[y] = append(byClass[y], i)
		}
	}
	picked := make([]bool, n)
	labelled = &Subset{parent: ds}
	for c, items := range byClass {
		want := nLabelled / k
		if c < nLabelled%k {
			want++
		}
		if len(items) < want {
			return nil, nil, fmt.Errorf("split: class %q has %d items, %d needed for %d labelled items", ds.Classes()[c], len(items), want, nLabelled)
		}
		for _, i := range items[:want] {
			picked[i] = true
			labelled.indices = append(labelled.indices, i)
		}
	}
	slices.Sort(labelled.indices)
	unlabelled = &Subset{parent: ds, hideLabels: true}
	for i := range n {
		if !picked[i] {
			unlabelled.indices = append(unlabelled.indices, i)
		}
	}
	return labelled, unlabelled, nil
}
