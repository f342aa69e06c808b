package datasets

import "fmt"

// Materialize renders every image of ds, on all cores, into an InMemory set
// of bytes (values rounded to 1/255), keeping its classes and labels. It
// trades memory (Len×Shape.Size() bytes) for generation time, for generated
// sets read over many epochs.
func Materialize(ds Dataset, name string) (*InMemory, error) {
	n, shape := ds.Len(), ds.Shape()
	if n == 0 || shape.Size() <= 0 {
		return nil, fmt.Errorf("%s: nothing to materialize (%d images of %v)", name, n, shape)
	}
	size := shape.Size()
	pix := make([]uint8, n*size)
	labels := make([]int, n)
	const chunk = 256
	err := parallel((n+chunk-1)/chunk, func(c int) error {
		buf := make([]float32, size)
		for i := c * chunk; i < min(n, (c+1)*chunk); i++ {
			ds.Image(i, buf)
			quantize(pix[i*size:(i+1)*size], buf)
			labels[i] = ds.Label(i)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return NewInMemory(name, shape, ds.Classes(), pix, labels)
}
