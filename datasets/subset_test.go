package datasets_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/learnviews/learnviews/datasets"
)

// labelled is a one-pixel data set with the given labels over 3 classes.
func labelled(t *testing.T, labels []int) *datasets.InMemory {
	t.Helper()
	pix := make([]uint8, len(labels))
	for i := range pix {
		pix[i] = uint8(i)
	}
	ds, err := datasets.NewInMemory("toy", datasets.Shape{C: 1, H: 1, W: 1}, []string{"a", "b", "c"}, pix, labels)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestNewInMemoryChecksItsInput(t *testing.T) {
	one := datasets.Shape{C: 1, H: 2, W: 2}
	cases := []struct {
		name    string
		shape   datasets.Shape
		pix     []uint8
		labels  []int
		wantErr error
	}{
		{"good", one, make([]uint8, 8), []int{0, datasets.NoLabel}, nil},
		{"no labels", one, make([]uint8, 8), nil, nil},
		{"partial image", one, make([]uint8, 7), nil, datasets.ErrTruncated},
		{"zero shape", datasets.Shape{}, nil, nil, datasets.ErrBadDimensions},
		{"label count", one, make([]uint8, 8), []int{0}, datasets.ErrBadDimensions},
		{"label too big", one, make([]uint8, 8), []int{0, 2}, datasets.ErrLabelRange},
		{"negative label", one, make([]uint8, 8), []int{-2, 0}, datasets.ErrLabelRange},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := datasets.NewInMemory("toy", c.shape, []string{"x", "y"}, c.pix, c.labels)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
		})
	}
}

func TestSplitTrainTest(t *testing.T) {
	ds := labelled(t, make([]int, 100))
	train, test, err := datasets.SplitTrainTest(ds, 30, 9)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 70 || test.Len() != 30 {
		t.Fatalf("sizes %d/%d, want 70/30", train.Len(), test.Len())
	}
	all := append(train.Indices(), test.Indices()...)
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("train and test together miss or repeat item %d", i)
		}
	}
	img := make([]float32, 1)
	test.Image(4, img)
	if int(img[0]*255+0.5) != test.Indices()[4] {
		t.Fatalf("test item 4 shows parent item %v, want %d", img[0]*255, test.Indices()[4])
	}
	_, again, _ := datasets.SplitTrainTest(ds, 30, 9)
	_, other, _ := datasets.SplitTrainTest(ds, 30, 10)
	if !slices.Equal(again.Indices(), test.Indices()) || slices.Equal(other.Indices(), test.Indices()) {
		t.Fatal("the split must depend on the seed and on nothing else")
	}
	if _, _, err := datasets.SplitTrainTest(ds, 101, 1); err == nil {
		t.Fatal("more test items than the data set accepted")
	}
}

func TestSplitLabelled(t *testing.T) {
	labels := make([]int, 300)
	for i := range labels {
		labels[i] = i % 3
		if i%10 == 9 {
			labels[i] = datasets.NoLabel
		}
	}
	ds := labelled(t, labels)
	cases := []struct {
		n        int
		perClass []int
		wantErr  bool
	}{
		{30, []int{10, 10, 10}, false},
		{31, []int{11, 10, 10}, false},
		{0, []int{0, 0, 0}, false},
		{271, nil, true}, // only 270 items carry a label: 90 a class
	}
	for _, c := range cases {
		lab, unl, err := datasets.SplitLabelled(ds, c.n, 4)
		if c.wantErr {
			if err == nil {
				t.Fatalf("%d labelled items: accepted", c.n)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]int, 3)
		for i := range lab.Len() {
			counts[lab.Label(i)]++
		}
		if !slices.Equal(counts, c.perClass) {
			t.Fatalf("%d labelled items: per class %v, want %v", c.n, counts, c.perClass)
		}
		if unl.Len() != 300-c.n {
			t.Fatalf("%d labelled items: %d unlabelled, want %d", c.n, unl.Len(), 300-c.n)
		}
		for i := range unl.Len() {
			if unl.Label(i) != datasets.NoLabel {
				t.Fatalf("unlabelled item %d shows label %d", i, unl.Label(i))
			}
			if slices.Contains(lab.Indices(), unl.Indices()[i]) {
				t.Fatalf("item %d is in both parts", unl.Indices()[i])
			}
		}
	}
	a, _, _ := datasets.SplitLabelled(ds, 30, 4)
	b, _, _ := datasets.SplitLabelled(ds, 30, 5)
	if slices.Equal(a.Indices(), b.Indices()) {
		t.Fatal("seeds 4 and 5 pick the same labelled items")
	}
}

func TestSubsetKeepsFactorsAndSecondViews(t *testing.T) {
	s := codedSet{n: 10, shape: datasets.Shape{C: 1, H: 1, W: 1}}
	sub, err := datasets.NewSubset(s, []int{7, 2})
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float64, 2)
	sub.Factors(0, f)
	v := make([]float32, 2)
	sub.SecondView(1, v)
	if f[0] != 7 || decode(v[0], 10) != 2 || sub.SecondShape() != s.SecondShape() || !slices.Equal(sub.FactorNames(), s.FactorNames()) {
		t.Fatalf("factors %v, second view %v", f, v)
	}
	plain, _ := datasets.NewSubset(labelled(t, []int{0, 1}), []int{1})
	if plain.FactorNames() != nil || plain.SecondShape().Size() != 0 {
		t.Fatal("a subset of a plain data set claims factors or second views")
	}
	if _, err := datasets.NewSubset(s, []int{10}); err == nil {
		t.Fatal("index past the end accepted")
	}
}

func TestConcat(t *testing.T) {
	a, err := datasets.NewInMemory("a", datasets.Shape{C: 1, H: 1, W: 2}, []string{"x", "y"}, []uint8{1, 2, 3, 4}, []int{0, 1})
	require.NoError(t, err)
	b, err := datasets.NewInMemory("b", datasets.Shape{C: 1, H: 1, W: 2}, nil, []uint8{5, 6}, []int{datasets.NoLabel})
	require.NoError(t, err)
	c, err := datasets.NewConcat(a, b)
	require.NoError(t, err)
	require.Equal(t, 3, c.Len())
	assert.Equal(t, []int{0, 1, datasets.NoLabel}, []int{c.Label(0), c.Label(1), c.Label(2)})
	dst := make([]float32, 2)
	c.Image(2, dst)
	assert.InDeltaSlice(t, []float32{5.0 / 255, 6.0 / 255}, dst, 1e-6)
	other, err := datasets.NewInMemory("o", datasets.Shape{C: 1, H: 2, W: 1}, nil, []uint8{1, 2}, []int{datasets.NoLabel})
	require.NoError(t, err)
	_, err = datasets.NewConcat(a, other)
	assert.ErrorContains(t, err, "images of")
}
