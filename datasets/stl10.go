package datasets

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// STL-10's layout: 96×96 colour images, each stored channel by channel, each
// channel in column-major order; labels are bytes 1..10.
const (
	stl10Side  = 96
	stl10Image = 3 * stl10Side * stl10Side

	// STL10DirEnv names the stl10_binary folder.
	STL10DirEnv = "LEARNVIEWS_STL10_DIR"
	// STL10Install says how to install STL-10, which no Debian package ships.
	STL10Install = "unpack stl10_binary.tar.gz from the STL-10 web site and set $" + STL10DirEnv + " to its stl10_binary folder"
)

// STL10Classes are STL-10's class names; label 1 on disk is class 0.
var STL10Classes = []string{"airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"}

// FindSTL10 is the folder named by $LEARNVIEWS_STL10_DIR, checked to hold
// STL-10's train files.
func FindSTL10() (string, error) {
	return findBinaryDir("stl10", STL10DirEnv, STL10Install, "train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin")
}

// LoadSTL10 loads a split of STL-10 from dir: Train (5,000 labelled), Test
// (8,000 labelled) or Unlabeled (100,000, labels NoLabel; 2.8 GB in memory).
func LoadSTL10(dir string, split Split) (*InMemory, error) {
	switch split {
	case Train, Test:
		return LoadSTL10Files(filepath.Join(dir, string(split)+"_X.bin"), filepath.Join(dir, string(split)+"_y.bin"))
	case Unlabeled:
		return LoadSTL10Files(filepath.Join(dir, "unlabeled_X.bin"), "")
	}
	return nil, fmt.Errorf("stl10: split %q: want %q, %q or %q", split, Train, Test, Unlabeled)
}

// LoadSTL10Files loads an STL-10 image file and its label file; labelsPath
// is empty for the unlabelled images. The files' sizes are checked, the
// images file to hold whole images and the label file one byte for each,
// before either is read.
func LoadSTL10Files(imagesPath, labelsPath string) (*InMemory, error) {
	imgs, err := openSized(imagesPath)
	if err != nil {
		return nil, err
	}
	defer imgs.close()
	n, err := wholeUnits(imagesPath, imgs.size, stl10Image, fmt.Sprintf("%d×%d×3 images", stl10Side, stl10Side))
	if err != nil {
		return nil, err
	}
	var labs *sizedFile
	if labelsPath != "" {
		if labs, err = openSized(labelsPath); err != nil {
			return nil, err
		}
		defer labs.close()
		if labs.size == 0 {
			return nil, fmt.Errorf("%s: %w: empty label file", labelsPath, ErrTruncated)
		}
		if labs.size != n {
			return nil, fmt.Errorf("%s: %w: %d labels for the %d images of %s", labelsPath, ErrBadDimensions, labs.size, n, imagesPath)
		}
	}
	pix, err := imgs.readAll()
	if err != nil {
		return nil, err
	}
	if err := decodeSTL10Images(imagesPath, pix); err != nil {
		return nil, err
	}
	var labels []int
	if labs != nil {
		raw, err := labs.readAll()
		if err != nil {
			return nil, err
		}
		if labels, err = decodeSTL10Labels(labelsPath, raw); err != nil {
			return nil, err
		}
	}
	return NewInMemory("stl10", Shape{C: 3, H: stl10Side, W: stl10Side}, STL10Classes, pix, labels)
}

// decodeSTL10Images checks an STL-10 image file's size and turns each channel
// from column-major into row-major order, in place.
func decodeSTL10Images(name string, data []byte) error {
	return decodeColumnMajor(name, data, stl10Side)
}

// decodeColumnMajor checks that data holds whole side×side×3 images and
// transposes each side×side plane from column-major into row-major order,
// in place.
func decodeColumnMajor(name string, data []byte, side int) error {
	plane := side * side
	if _, err := wholeUnits(name, int64(len(data)), int64(3*plane), fmt.Sprintf("%d×%d×3 images", side, side)); err != nil {
		return err
	}
	tmp := make([]byte, plane)
	for off := 0; off < len(data); off += plane {
		p := data[off : off+plane]
		copy(tmp, p)
		for x := range side { // column x is stored contiguously
			for y, v := range tmp[x*side : (x+1)*side] {
				p[y*side+x] = v
			}
		}
	}
	return nil
}

// wholeUnits checks that size bytes are a positive whole number of units of
// unit bytes, which it returns; units names them in errors.
func wholeUnits(name string, size, unit int64, units string) (int64, error) {
	if size == 0 {
		return 0, fmt.Errorf("%s: %w: empty file, want %s", name, ErrTruncated, units)
	}
	if r := size % unit; r != 0 {
		return 0, fmt.Errorf("%s: %w: %d bytes is %d whole %s and %d bytes over", name, ErrTruncated, size, size/unit, units, r)
	}
	return size / unit, nil
}

// decodeSTL10Labels reads labels 1..10 into classes 0..9.
func decodeSTL10Labels(name string, data []byte) ([]int, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: %w: empty label file", name, ErrTruncated)
	}
	labels := make([]int, len(data))
	for i, v := range data {
		if v < 1 || int(v) > len(STL10Classes) {
			return nil, fmt.Errorf("%s: %w: label %d of item %d, want 1..%d", name, ErrLabelRange, v, i, len(STL10Classes))
		}
		labels[i] = int(v) - 1
	}
	return labels, nil
}

// findBinaryDir checks that the folder named by env holds files.
func findBinaryDir(name, env, install string, files ...string) (string, error) {
	dir := os.Getenv(env)
	if dir == "" {
		return "", fmt.Errorf("%s: %w: $%s is not set; %s", name, ErrNotInstalled, env, install)
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return "", fmt.Errorf("%s: %w: no %s in $%s (%s); %s", name, ErrNotInstalled, f, env, dir, install)
		}
	}
	return dir, nil
}

// binaryMaxBytes bounds the size of an STL-10 or CIFAR-10 file, and of the
// CIFAR-10 files loaded together: 8 GiB, nearly three times the largest,
// STL-10's 2.8 GB of unlabelled images.
const binaryMaxBytes = 8 << 30

// sizedFile is an open regular file of at most binaryMaxBytes and its size,
// so that its size can be checked before it is read.
type sizedFile struct {
	path string
	f    *os.File
	size int64
}

func openSized(path string) (*sizedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w: not a regular file (%v), so its size is unknown", path, ErrBadDimensions, fi.Mode().Type())
	}
	if fi.Size() > binaryMaxBytes {
		f.Close()
		return nil, fmt.Errorf("%s: %w: %d bytes, more than the %d a file may hold", path, ErrBadDimensions, fi.Size(), int64(binaryMaxBytes))
	}
	return &sizedFile{path: path, f: f, size: fi.Size()}, nil
}

// readAll reads the file's size bytes.
func (s *sizedFile) readAll() ([]byte, error) {
	b := make([]byte, s.size)
	if _, err := io.ReadFull(s.f, b); err != nil {
		return nil, readErr(s.path, err, fmt.Sprintf("%d bytes its size promised", s.size))
	}
	return b, nil
}

func (s *sizedFile) close() { s.f.Close() }
