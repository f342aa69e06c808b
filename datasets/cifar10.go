package datasets

import (
	"fmt"
	"path/filepath"
)

// CIFAR-10's binary layout: records of one label byte and 3,072 image bytes,
// the red, green and blue 32×32 planes one after another, each row-major.
const (
	cifarSide   = 32
	cifarImage  = 3 * cifarSide * cifarSide
	cifarRecord = 1 + cifarImage

	// CIFAR10DirEnv names the cifar-10-batches-bin folder.
	CIFAR10DirEnv = "LEARNVIEWS_CIFAR10_DIR"
	// CIFAR10Install says how to install CIFAR-10, which no Debian package ships.
	CIFAR10Install = "unpack cifar-10-binary.tar.gz from the CIFAR-10 web site and set $" + CIFAR10DirEnv + " to its cifar-10-batches-bin folder"
)

// CIFAR10Classes are CIFAR-10's class names.
var CIFAR10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// cifar10Files are the files of each split.
var cifar10Files = map[Split][]string{
	Train: {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
	Test:  {"test_batch.bin"},
}

// FindCIFAR10 is the folder named by $LEARNVIEWS_CIFAR10_DIR, checked to hold
// CIFAR-10's batch files.
func FindCIFAR10() (string, error) {
	return findBinaryDir("cifar10", CIFAR10DirEnv, CIFAR10Install, append(cifar10Files[Train], cifar10Files[Test]...)...)
}

// LoadCIFAR10 loads a split of CIFAR-10 from dir: Train (data_batch_1..5.bin,
// 50,000 images) or Test (test_batch.bin, 10,000 images).
func LoadCIFAR10(dir string, split Split) (*InMemory, error) {
	files, ok := cifar10Files[split]
	if !ok {
		return nil, fmt.Errorf("cifar10: split %q: want %q or %q", split, Train, Test)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f)
	}
	return LoadCIFAR10Files(paths...)
}

// LoadCIFAR10Files loads CIFAR-10 batch files, one after another, into one
// data set. Every file's size is checked to be whole records, and their sum
// to be at most binaryMaxBytes, before any is read.
func LoadCIFAR10Files(paths ...string) (*InMemory, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("cifar10: no files given")
	}
	files := make([]*sizedFile, 0, len(paths))
	defer func() {
		for _, f := range files {
			f.close()
		}
	}()
	var records, total int64
	for _, p := range paths {
		f, err := openSized(p)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		n, err := wholeUnits(p, f.size, cifarRecord, fmt.Sprintf("%d-byte records", cifarRecord))
		if err != nil {
			return nil, err
		}
		if total += f.size; total > binaryMaxBytes {
			return nil, fmt.Errorf("%s: %w: the files up to this one hold %d bytes, more than the %d that may be loaded together", p, ErrBadDimensions, total, int64(binaryMaxBytes))
		}
		records += n
	}
	pix := make([]uint8, 0, records*cifarImage)
	labels := make([]int, 0, records)
	for _, f := range files {
		data, err := f.readAll()
		if err != nil {
			return nil, err
		}
		if pix, labels, err = decodeCIFAR10(f.path, data, pix, labels); err != nil {
			return nil, err
		}
	}
	return NewInMemory("cifar10", Shape{C: 3, H: cifarSide, W: cifarSide}, CIFAR10Classes, pix, labels)
}

// decodeCIFAR10 appends the records of one batch file to pix and labels.
func decodeCIFAR10(name string, data, pix []uint8, labels []int) ([]uint8, []int, error) {
	return decodeRecords(name, data, cifarImage, pix, labels)
}

// decodeRecords appends records of one label byte (0..9) and image bytes
// to pix and labels.
func decodeRecords(name string, data []uint8, image int, pix []uint8, labels []int) ([]uint8, []int, error) {
	record := 1 + image
	if _, err := wholeUnits(name, int64(len(data)), int64(record), fmt.Sprintf("%d-byte records", record)); err != nil {
		return nil, nil, err
	}
	for off, i := 0, 0; off < len(data); off, i = off+record, i+1 {
		y := data[off]
		if int(y) >= len(CIFAR10Classes) {
			return nil, nil, fmt.Errorf("%s: %w: label %d of record %d, want 0..%d", name, ErrLabelRange, y, i, len(CIFAR10Classes)-1)
		}
		labels = append(labels, int(y))
		pix = append(pix, data[off+1:off+record]...)
	}
	return pix, labels, nil
}
