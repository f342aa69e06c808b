package datasets

import (
	"errors"
	"fmt"

	"github.com/learnviews/learnviews/chw"
)

// NoLabel is the label of an item whose class is unknown or withheld, such
// as an STL-10 unlabeled image or an item of an unlabelled split.
const NoLabel = -1

// Shape is the shape of one image: channels, height and width. It is
// chw.Shape, the shape of the project's one image type.
type Shape = chw.Shape

// Dataset is a fixed-length, random-access collection of labelled images.
// Implementations are safe for concurrent use by several goroutines.
type Dataset interface {
	// Len is the number of items.
	Len() int
	// Shape is the shape of every image.
	Shape() Shape
	// Classes names the classes; a label indexes it.
	Classes() []string
	// Label is the class of item i, or NoLabel.
	Label(i int) int
	// Image writes item i into dst (len Shape().Size()) channel by channel,
	// each channel row-major, with values in [0,1].
	Image(i int, dst []float32)
}

// Factored is a Dataset whose items carry named ground-truth factors, such as
// the digit class, background class and digit position of a generated frame.
type Factored interface {
	Dataset
	// FactorNames names the factors; nil or empty when there are none.
	FactorNames() []string
	// Factors writes the factors of item i into dst (len FactorNames()).
	Factors(i int, dst []float64)
}

// Paired is a Dataset whose items are two views of one scene: Image is the
// first view v1 and SecondView the second view v2 of the same item. Within a
// batch the second views of the other items are the negatives.
type Paired interface {
	Dataset
	// SecondShape is the shape of a second view; zero when there is none.
	SecondShape() Shape
	// SecondView writes the second view of item i into dst.
	SecondView(i int, dst []float32)
}

// Split names a part of a data set as its publisher divides it.
type Split string

// The splits of the published data sets.
const (
	Train     Split = "train"
	Test      Split = "test"
	Unlabeled Split = "unlabeled" // STL-10's unlabelled images
)

// Errors that the loaders wrap, with the file and the details, so that callers
// can test for the kind of problem with errors.Is.
var (
	ErrNotInstalled  = errors.New("data set not installed")
	ErrTruncated     = errors.New("truncated")
	ErrBadMagic      = errors.New("wrong magic number")
	ErrBadDimensions = errors.New("wrong dimensions")
	ErrLabelRange    = errors.New("label out of range")
	ErrBadImage      = errors.New("unreadable image")
	ErrCorrupt       = errors.New("corrupt compressed data")
)

// byteScale maps a stored byte to its value in [0,1].
var byteScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// InMemory is a data set held in memory as bytes, one byte a value: the form
// the file loaders return.
type InMemory struct {
	name    string
	shape   Shape
	classes []string
	pix     []uint8 // Len × C × H × W, channel-major per image
	labels  []int16 // NoLabel where unknown; nil when no item has a label
}

// NewInMemory wraps images already in memory. pix holds the images one after
// another, each channel-major with values 0..255; labels is nil when no item
// has a label, else one entry per image, each in 0..len(classes)-1 or
// NoLabel. name is used in messages.
func NewInMemory(name string, shape Shape, classes []string, pix []uint8, labels []int) (*InMemory, error) {
	size := shape.Size()
	if shape.C <= 0 || shape.H <= 0 || shape.W <= 0 {
		return nil, fmt.Errorf("%s: %w: image shape %v", name, ErrBadDimensions, shape)
	}
	if len(pix)%size != 0 {
		return nil, fmt.Errorf("%s: %w: %d bytes is not a whole number of %v images", name, ErrTruncated, len(pix), shape)
	}
	n := len(pix) / size
	m := &InMemory{name: name, shape: shape, classes: classes, pix: pix}
	if labels != nil {
		if len(labels) != n {
			return nil, fmt.Errorf("%s: %w: %d images but %d labels", name, ErrBadDimensions, n, len(labels))
		}
		m.labels = make([]int16, n)
		for i, y := range labels {
			if y != NoLabel && (y < 0 || y >= len(classes)) {
				return nil, fmt.Errorf("%s: %w: item %d has label %d, want 0..%d", name, ErrLabelRange, i, y, len(classes)-1)
			}
			m.labels[i] = int16(y)
		}
	}
	return m, nil
}

// Name is the data set's name, as given to NewInMemory or by its loader.
func (m *InMemory) Name() string { return m.name }

// Len is the number of images.
func (m *InMemory) Len() int { return len(m.pix) / m.shape.Size() }

// Shape is the shape of every image.
func (m *InMemory) Shape() Shape { return m.shape }

// Classes names the classes.
func (m *InMemory) Classes() []string { return m.classes }

// Label is the class of image i, or NoLabel.
func (m *InMemory) Label(i int) int {
	if m.labels == nil {
		return NoLabel
	}
	return int(m.labels[i])
}

// Image writes image i into dst with values in [0,1].
func (m *InMemory) Image(i int, dst []float32) {
	for j, v := range m.Bytes(i) {
		dst[j] = byteScale[v]
	}
}

// Bytes is image i as stored, channel-major, one byte a value. It aliases
// the data set's memory: do not modify it.
func (m *InMemory) Bytes(i int) []uint8 {
	size := m.shape.Size()
	return m.pix[i*size : (i+1)*size : (i+1)*size]
}

// MemoryBytes is the memory the images and labels hold.
func (m *InMemory) MemoryBytes() int64 { return int64(len(m.pix)) + 2*int64(len(m.labels)) }
