package datasets

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// maxFolderSide bounds the image size of LoadImageFolder: its square is
// MaxPhotoPixels.
const maxFolderSide = 1 << 13

// LoadImageFolder loads a folder holding one sub-folder per class, named
// after the class, of PNG and JPEG images. Each image is scaled so that its
// shorter side is size pixels and its centre size×size square kept, in
// colour. Classes are the sub-folders sorted by name; other files are ignored.
// A file with an image extension that does not decode is an error, and so is
// an image of more than MaxPhotoPixels pixels, before or after scaling.
func LoadImageFolder(dir string, size int) (*InMemory, error) {
	if size <= 0 || size > maxFolderSide {
		return nil, fmt.Errorf("%s: image size %d, want 1 to %d", dir, size, maxFolderSide)
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
		return folderImage(p, size, pix[i*shape.Size():(i+1)*shape.Size()])
	})
	if err != nil {
		return nil, err
	}
	return NewInMemory(filepath.Base(dir), shape, classes, pix, labels)
}

// folderImage scales p so that its shorter side is size, and writes the
// centre size×size square of it to dst in bytes. A narrow image that would
// take more than MaxPhotoPixels pixels once scaled up is an error.
func folderImage(p *Photo, size int, dst []uint8) error {
	scale := float64(size) / float64(min(p.Shape.H, p.Shape.W))
	h, w := max(float64(size), math.Round(float64(p.Shape.H)*scale)), max(float64(size), math.Round(float64(p.Shape.W)*scale))
	if h*w > MaxPhotoPixels {
		return fmt.Errorf("%s: %w: a %d×%d image scaled to a shorter side of %d takes %.0f×%.0f pixels, more than %d", p.Path, ErrBadImage, p.Shape.W, p.Shape.H, size, w, h, MaxPhotoPixels)
	}
	sq, err := fitCrop(p.Shape, p.Pix, size)
	if err != nil {
		return fmt.Errorf("%s: %w", p.Path, err)
	}
	quantize(dst, sq)
	return nil
}
