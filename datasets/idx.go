package datasets

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// IDX is an array read from an IDX file, the format of MNIST and
// Fashion-MNIST: a magic number (two zero bytes, an element type and the
// number of dimensions), each dimension as a big-endian uint32, then the
// elements in row-major order. Only unsigned-byte elements (type 0x08) are
// supported, the type all the published files use.
type IDX struct {
	Dims []int
	Data []uint8
}

// idxMaxElements bounds the size an IDX header may claim (16 GiB).
const idxMaxElements = 1 << 34

// OpenIDX reads the IDX file at path, gunzipping it when it starts with the
// gzip magic number (as the published .gz files do).
func OpenIDX(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	head, _ := br.Peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: gzip header: %v", path, ErrCorrupt, err)
		}
		defer zr.Close()
		return ReadIDX(zr, path)
	}
	return ReadIDX(br, path)
}

// ReadIDX reads an IDX array from r; name names the source in errors. The
// reader must end where the array ends.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, readErr(name, err, "magic number")
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("%s: %w: % x, want 00 00 08 nn (not an IDX file)", name, ErrBadMagic, magic)
	}
	if magic[2] != 0x08 {
		return nil, fmt.Errorf("%s: %w: element type 0x%02x, want 0x08 (unsigned byte)", name, ErrBadMagic, magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, fmt.Errorf("%s: %w: zero dimensions", name, ErrBadDimensions)
	}
	raw := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, readErr(name, err, fmt.Sprintf("%d dimension sizes", nd))
	}
	dims := make([]int, nd)
	total := int64(1)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(raw[4*i:]))
		if dims[i] == 0 {
			return nil, fmt.Errorf("%s: %w: dimension %d is zero in %v", name, ErrBadDimensions, i, dims[:i+1])
		}
		if int64(dims[i]) > idxMaxElements/total {
			return nil, fmt.Errorf("%s: %w: dimensions %v claim more than %d elements", name, ErrBadDimensions, dims[:i+1], int64(idxMaxElements))
		}
		total *= int64(dims[i])
	}
	data, err := readExactly(r, total)
	if err != nil {
		return nil, readErr(name, err, "elements")
	}
	if int64(len(data)) < total {
		return nil, fmt.Errorf("%s: %w: dimensions %v need %d bytes of elements, file holds %d", name, ErrTruncated, dims, total, len(data))
	}
	if int64(len(data)) > total {
		return nil, fmt.Errorf("%s: %w: bytes left over after the %d elements of dimensions %v", name, ErrBadDimensions, total, dims)
	}
	return &IDX{Dims: dims, Data: data}, nil
}

// readExactly reads up to want+1 bytes, so that both a short and a long
// source show, allocating no more than the source holds.
func readExactly(r io.Reader, want int64) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(want+1, 1<<20)))
	_, err := buf.ReadFrom(io.LimitReader(r, want+1))
	return buf.Bytes(), err
}

// readErr wraps a read failure, reporting a short read as truncation.
func readErr(name string, err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %w: file ends inside the %s", name, ErrTruncated, what)
	}
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.As(err, &corrupt) {
		return fmt.Errorf("%s: %w: gzip stream broken in the %s: %v", name, ErrCorrupt, what, err)
	}
	return fmt.Errorf("%s: reading the %s: %w", name, what, err)
}

// LoadIDX pairs an IDX image file (N×H×W) with an IDX label file (N) into a
// single-channel data set whose labels index classes.
func LoadIDX(name, imagesPath, labelsPath string, classes []string) (*InMemory, error) {
	imgs, err := OpenIDX(imagesPath)
	if err != nil {
		return nil, err
	}
	if len(imgs.Dims) != 3 {
		return nil, fmt.Errorf("%s: %w: images have dimensions %v, want 3 (count, rows, columns)", imagesPath, ErrBadDimensions, imgs.Dims)
	}
	labs, err := OpenIDX(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(labs.Dims) != 1 {
		return nil, fmt.Errorf("%s: %w: labels have dimensions %v, want 1 (count)", labelsPath, ErrBadDimensions, labs.Dims)
	}
	if labs.Dims[0] != imgs.Dims[0] {
		return nil, fmt.Errorf("%s: %w: %d labels for the %d images of %s", labelsPath, ErrBadDimensions, labs.Dims[0], imgs.Dims[0], imagesPath)
	}
	labels := make([]int, len(labs.Data))
	for i, y := range labs.Data {
		if int(y) >= len(classes) {
			return nil, fmt.Errorf("%s: %w: label %d of item %d, want 0..%d", labelsPath, ErrLabelRange, y, i, len(classes)-1)
		}
		labels[i] = int(y)
	}
	return NewInMemory(name, Shape{C: 1, H: imgs.Dims[1], W: imgs.Dims[2]}, classes, imgs.Data, labels)
}
