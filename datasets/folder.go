package datasets

import (
	"fmt"
	"os"
	"path/filepath"
)

// LoadImageFolder loads a folder holding one sub-folder per class, named
// after the class, of PNG and JPEG images. Each image is scaled so that its
// shorter side is size pixels and its centre size×size square kept, in
// colour. Classes are the sub-folders sorted by name; other files are ignored.
// A file with an image extension that does not decode is an error.
func LoadImageFolder(dir string, size int) (*InMemory, error) {
	if size <= 0 {
		return nil, fmt.Errorf("%s: image size %d, want > 0", dir, size)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var classes, paths []string
	var labels []int
	for _, e := range entries {
		if !e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		files, err := imageFiles(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: %w: class folder %q holds no PNG or JPEG images", dir, ErrBadDimensions, e.Name())
		}
		for _, f := range files {
			paths = append(paths, f)
			labels = append(labels, len(classes))
		}
		classes = append(classes, e.Name())
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("%s: %w: no class sub-folders", dir, ErrBadDimensions)
	}
	shape := Shape{C: 3, H: size, W: size}
	pix := make([]uint8, len(paths)*shape.Size())
	err = parallel(len(paths), func(i int) error {
		p, err := LoadPhoto(paths[i], size)
		if err != nil {
			return err
		}
		sq, err := fitCrop(p.Shape, p.Pix, size)
		if err != nil {
			return fmt.Errorf("%s: %w", paths[i], err)
		}
		quantize(pix[i*shape.Size():(i+1)*shape.Size()], sq)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return NewInMemory(filepath.Base(dir), shape, classes, pix, labels)
}
