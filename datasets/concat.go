package datasets

import (
	"fmt"
	"slices"
)

// Concat is the items of a, then those of b: as the paper's STL-10
// unlabelled pool is the labelled training images and the unlabelled ones.
// Both hold images of one shape and one set of classes (b's items may be
// unlabelled).
type Concat struct {
	a, b Dataset
}

// NewConcat returns the concatenation of a and b.
func NewConcat(a, b Dataset) (*Concat, error) {
	if a.Shape() != b.Shape() {
		return nil, fmt.Errorf("concat: images of %v and %v", a.Shape(), b.Shape())
	}
	if len(b.Classes()) > 0 && !slices.Equal(a.Classes(), b.Classes()) {
		return nil, fmt.Errorf("concat: classes %v and %v differ", a.Classes(), b.Classes())
	}
	return &Concat{a: a, b: b}, nil
}

// Len is the number of items of both.
func (c *Concat) Len() int { return c.a.Len() + c.b.Len() }

// Shape is the images' shape.
func (c *Concat) Shape() Shape { return c.a.Shape() }

// Classes are a's classes.
func (c *Concat) Classes() []string { return c.a.Classes() }

// Label is the label of item i.
func (c *Concat) Label(i int) int {
	if i < c.a.Len() {
		return c.a.Label(i)
	}
	return c.b.Label(i - c.a.Len())
}

// Image writes item i.
func (c *Concat) Image(i int, dst []float32) {
	if i < c.a.Len() {
		c.a.Image(i, dst)
		return
	}
	c.b.Image(i-c.a.Len(), dst)
}
