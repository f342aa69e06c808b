package datasets

import (
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
)

// Source describes a data set installed from outside the project: where it
// is, or how to install it, and what it holds.
type Source struct {
	Name        string
	Description string
	Install     string // command or steps that install it
	Dir         string // where it was found; empty when missing
	Err         error  // why it is missing or unreadable; nil when installed
	Images      int    // images over all its files and splits
	Shape       Shape  // shape of one image as loaded (photos: the largest)
	DiskBytes   int64  // size of its files
	MemoryBytes int64  // memory its loaders hold for all of it
}

// Installed reports whether the source was found and read.
func (s Source) Installed() bool { return s.Err == nil }

// Sources surveys the data sets the loaders know, reading only file headers.
func Sources() []Source {
	return []Source{
		surveyIDX("mnist", "MNIST digits, 28×28 grey, 60,000 train + 10,000 test", MNISTInstall, FindMNIST),
		surveyIDX("fashion-mnist", "Fashion-MNIST, 28×28 grey, 60,000 train + 10,000 test", FashionMNISTInstall, FindFashionMNIST),
		surveyBackgrounds(),
		surveyFixed("stl10", "STL-10, 96×96 colour: 5,000 train, 8,000 test, 100,000 unlabelled", STL10Install, FindSTL10,
			Shape{C: 3, H: stl10Side, W: stl10Side}, stl10Image, 0, "train_X.bin", "test_X.bin", "unlabeled_X.bin"),
		surveyFixed("cifar10", "CIFAR-10, 32×32 colour: 50,000 train, 10,000 test", CIFAR10Install, FindCIFAR10,
			Shape{C: 3, H: cifarSide, W: cifarSide}, cifarRecord, 1, append(cifar10Files[Train], cifar10Files[Test]...)...),
	}
}

func surveyIDX(name, desc, install string, find func() (string, error)) Source {
	s := Source{Name: name, Description: desc, Install: install}
	if s.Dir, s.Err = find(); s.Err != nil {
		return s
	}
	for _, split := range []Split{Train, Test} {
		im, lb, _ := idxFiles(split)
		for _, base := range []string{im, lb} {
			path, err := idxPath(s.Dir, base)
			if err != nil {
				s.Err = err
				return s
			}
			fi, err := os.Stat(path)
			if err != nil {
				s.Err = err
				return s
			}
			s.DiskBytes += fi.Size()
			dims, err := idxHeader(path)
			if err != nil {
				s.Err = err
				return s
			}
			size := int64(1)
			for _, d := range dims {
				size *= int64(d)
			}
			if base == im {
				if len(dims) != 3 {
					s.Err = fmt.Errorf("%s: %w: dimensions %s, want 3", path, ErrBadDimensions, formatDims(dims))
					return s
				}
				s.Images += dims[0]
				s.Shape = Shape{C: 1, H: dims[1], W: dims[2]}
				s.MemoryBytes += size
			} else {
				s.MemoryBytes += 2 * size
			}
		}
	}
	return s
}

// idxHeader reads the dimensions of an IDX file, raw or gzipped, checked
// as OpenIDX checks them.
func idxHeader(path string) ([]int, error) {
	s, err := openIDX(path)
	if err != nil {
		return nil, err
	}
	s.close()
	return s.dims, nil
}

func surveyBackgrounds() Source {
	s := Source{Name: "backgrounds", Description: "natural colour photographs (mate-backgrounds nature), scaled to a shorter side of 256", Install: BackgroundsInstall}
	if s.Dir, s.Err = FindBackgrounds(); s.Err != nil {
		return s
	}
	paths, err := imageFiles(s.Dir)
	if err != nil {
		s.Err = err
		return s
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			s.Err = err
			return s
		}
		s.DiskBytes += fi.Size()
		f, err := os.Open(p)
		if err != nil {
			s.Err = err
			return s
		}
		cfg, _, err := image.DecodeConfig(f)
		f.Close()
		if err != nil {
			s.Err = fmt.Errorf("%s: %w: %v", p, ErrBadImage, err)
			return s
		}
		w, h := cfg.Width, cfg.Height
		if err := checkImageSize(w, h, MaxPhotoPixels); err != nil {
			s.Err = fmt.Errorf("%s: %w: %v", p, ErrBadImage, err)
			return s
		}
		if short := min(w, h); short > PhotoSide {
			scale := float64(PhotoSide) / float64(short)
			w, h = int(math.Round(float64(w)*scale)), int(math.Round(float64(h)*scale))
		}
		s.Images++
		s.MemoryBytes += int64(3 * w * h * 4)
		if w*h > s.Shape.H*s.Shape.W {
			s.Shape = Shape{C: 3, H: h, W: w}
		}
	}
	return s
}

// surveyFixed surveys a format of fixed-size records; labelBytes is the size
// of the label inside each record (CIFAR-10) or 0 (STL-10, whose labels are
// in separate files and not counted).
func surveyFixed(name, desc, install string, find func() (string, error), shape Shape, record, labelBytes int, files ...string) Source {
	s := Source{Name: name, Description: desc, Install: install, Shape: shape}
	if s.Dir, s.Err = find(); s.Err != nil {
		return s
	}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(s.Dir, f))
		if err != nil {
			continue // unlabeled_X.bin is optional
		}
		n := int(fi.Size() / int64(record))
		s.DiskBytes += fi.Size()
		s.Images += n
		s.MemoryBytes += int64(n) * int64(shape.Size()+2*labelBytes)
	}
	return s
}
