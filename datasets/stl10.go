package datasets

import (
	"fmt"
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
// is empty for the unlabelled images.
func LoadSTL10Files(imagesPath, labelsPath string) (*InMemory, error) {
	pix, err := os.ReadFile(imagesPath)
	if err != nil {
		return nil, err
	}
	if err := decodeSTL10Images(imagesPath, pix); err != nil {
		return nil, err
	}
	var labels []int
	if labelsPath != "" {
		raw, err := os.ReadFile(labelsPath)
		if err != nil {
			return nil, err
		}
		if labels, err = decodeSTL10Labels(labelsPath, raw); err != nil {
			return nil, err
		}
		if n := len(pix) / stl10Image; len(labels) != n {
			return nil, fmt.Errorf("%s: %w: %d labels for the %d images of %s", labelsPath, ErrBadDimensions, len(labels), n, imagesPath)
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
	if len(data) == 0 {
		return fmt.Errorf("%s: %w: empty file, want %d×%d×3-byte images", name, ErrTruncated, side, side)
	}
	if r := len(data) % (3 * plane); r != 0 {
		return fmt.Errorf("%s: %w: %d bytes is %d whole %d×%d×3 images and %d bytes over", name, ErrTruncated, len(data), len(data)/(3*plane), side, side, r)
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
