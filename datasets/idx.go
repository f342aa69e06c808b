package datasets

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
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

// idxMaxElements bounds the elements an IDX header may claim: 1 GiB, twenty
// times the largest file of MNIST or Fashion-MNIST.
const idxMaxElements = 1 << 30

// deflateMaxRatio bounds how many bytes deflate can expand one compressed
// byte into: its longest match, 258 bytes, takes at least 2 bits.
const deflateMaxRatio = 1032

// idxFirstRead is the buffer an IDX reader starts with when it cannot know
// how many bytes its source holds; it doubles as the bytes arrive.
const idxFirstRead = 1 << 20

// OpenIDX reads the IDX file at path, gunzipping it when it starts with the
// gzip magic number (as the published .gz files do). The header is checked
// against the file's size before the elements are allocated: a plain file
// must hold exactly the bytes its header claims, and a gzipped one no more
// than deflate can expand it into.
func OpenIDX(path string) (*IDX, error) {
	s, err := openIDX(path)
	if err != nil {
		return nil, err
	}
	defer s.close()
	return s.read()
}

// ReadIDX reads an IDX array from r; name names the source in errors. The
// reader must end where the array ends. As the length of r is not known, the
// array grows as its bytes arrive, up to what the header claims, so that a
// header that claims more than r holds costs memory in proportion to r.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	dims, total, err := readIDXHeader(r, name)
	if err != nil {
		return nil, err
	}
	s := &idxStream{name: name, r: r, dims: dims, total: total}
	return s.read()
}

// idxStream is an IDX source whose header has been read.
type idxStream struct {
	name  string
	file  *os.File     // nil unless opened by openIDX
	zr    *gzip.Reader // nil unless gzipped
	r     io.Reader    // the elements
	dims  []int
	total int64 // bytes of elements the header claims
	exact bool  // the source is known to hold exactly total bytes of elements
}

// openIDX opens the IDX file at path and reads its header, checking the
// size it claims against the file's size.
func openIDX(path string) (*idxStream, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s, err := newIDXStream(path, f, fileSize(f))
	if err != nil {
		f.Close()
		return nil, err
	}
	s.file = f
	return s, nil
}

// fileSize is the size of f when it is a regular file, else -1.
func fileSize(f *os.File) int64 {
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		return fi.Size()
	}
	return -1
}

// newIDXStream reads the header of the IDX source r, gzipped or not, of size
// bytes (or of unknown size when size < 0), and checks the size it claims
// against size.
func newIDXStream(name string, r io.Reader, size int64) (*idxStream, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	s := &idxStream{name: name, r: br}
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: gzip header: %v", name, ErrCorrupt, err)
		}
		s.zr, s.r = zr, zr
	}
	var err error
	if s.dims, s.total, err = readIDXHeader(s.r, name); err != nil {
		s.close()
		return nil, err
	}
	if size < 0 {
		return s, nil
	}
	head := int64(4 + 4*len(s.dims))
	if s.zr != nil {
		// The elements are what is left of the decompressed bytes.
		if most := deflateMaxRatio*size - head; s.total > most {
			s.close()
			return nil, fmt.Errorf("%s: %w: dimensions %s need %d bytes of elements, more than a %d-byte gzip file can hold (deflate expands at most %d-fold)",
				name, ErrTruncated, formatDims(s.dims), s.total, size, deflateMaxRatio)
		}
		return s, nil
	}
	switch held := size - head; {
	case held < s.total:
		s.close()
		return nil, fmt.Errorf("%s: %w: dimensions %s need %d bytes of elements, file holds %d", name, ErrTruncated, formatDims(s.dims), s.total, held)
	case held > s.total:
		s.close()
		return nil, fmt.Errorf("%s: %w: %d bytes left over after the %d elements of dimensions %s", name, ErrBadDimensions, held-s.total, s.total, formatDims(s.dims))
	}
	s.exact = true
	return s, nil
}

// close releases the stream's gzip reader and file.
func (s *idxStream) close() {
	if s.zr != nil {
		s.zr.Close()
	}
	if s.file != nil {
		s.file.Close()
	}
}

// readIDXHeader reads and checks an IDX header: the magic number and the
// dimensions, whose product, the number of elements, it returns. The product
// is bounded as it is multiplied out, so that it cannot overflow.
func readIDXHeader(r io.Reader, name string) ([]int, int64, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, 0, readErr(name, err, "magic number")
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, 0, fmt.Errorf("%s: %w: % x, want 00 00 08 nn (not an IDX file)", name, ErrBadMagic, magic)
	}
	if magic[2] != 0x08 {
		return nil, 0, fmt.Errorf("%s: %w: element type 0x%02x, want 0x08 (unsigned byte)", name, ErrBadMagic, magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, 0, fmt.Errorf("%s: %w: zero dimensions", name, ErrBadDimensions)
	}
	raw := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, 0, readErr(name, err, fmt.Sprintf("%d dimension sizes", nd))
	}
	dims := make([]int, nd)
	total := int64(1)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(raw[4*i:]))
		if dims[i] == 0 {
			return nil, 0, fmt.Errorf("%s: %w: dimension %d is zero in %s", name, ErrBadDimensions, i, formatDims(dims[:i+1]))
		}
		if int64(dims[i]) > idxMaxElements/total {
			return nil, 0, fmt.Errorf("%s: %w: dimensions %s claim more than %d elements", name, ErrBadDimensions, formatDims(dims[:i+1]), int64(idxMaxElements))
		}
		total *= int64(dims[i])
	}
	return dims, total, nil
}

// read reads the elements and checks that the source ends with them.
func (s *idxStream) read() (*IDX, error) {
	var data []byte
	if s.exact {
		data = make([]byte, s.total)
		n, err := io.ReadFull(s.r, data)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, readErr(s.name, err, "elements")
		}
		data = data[:n]
	} else {
		var err error
		if data, err = readAtMost(s.r, s.total); err != nil {
			return nil, readErr(s.name, err, "elements")
		}
	}
	if int64(len(data)) < s.total {
		return nil, fmt.Errorf("%s: %w: dimensions %s need %d bytes of elements, file holds %d", s.name, ErrTruncated, formatDims(s.dims), s.total, len(data))
	}
	// The source must end here; reading on also checks a gzip stream's
	// checksum.
	var one [1]byte
	if n, err := io.ReadFull(s.r, one[:]); n > 0 {
		return nil, fmt.Errorf("%s: %w: bytes left over after the %d elements of dimensions %s", s.name, ErrBadDimensions, s.total, formatDims(s.dims))
	} else if err != io.EOF {
		return nil, readErr(s.name, err, "stream after the elements")
	}
	return &IDX{Dims: s.dims, Data: data}, nil
}

// readAtMost reads up to n bytes of r, fewer when r ends first. Its buffer
// starts at idxFirstRead bytes and doubles, never past n, as the bytes
// arrive, so that it holds no more than twice what r delivered.
func readAtMost(r io.Reader, n int64) ([]byte, error) {
	buf := make([]byte, 0, min(n, idxFirstRead))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, 2*int64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// formatDims formats IDX dimensions for an error, abbreviating a long list
// (a header may claim up to 255 dimensions).
func formatDims(dims []int) string {
	const most = 8
	if len(dims) <= most {
		return fmt.Sprint(dims)
	}
	head := strings.Trim(fmt.Sprint(dims[:most-2]), "[]")
	return fmt.Sprintf("[%s … %d] (%d dimensions)", head, dims[len(dims)-1], len(dims))
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
	// Both headers are read and checked against each other before either
	// file's elements are read.
	imgFile, err := openIDX(imagesPath)
	if err != nil {
		return nil, err
	}
	defer imgFile.close()
	if len(imgFile.dims) != 3 {
		return nil, fmt.Errorf("%s: %w: images have dimensions %s, want 3 (count, rows, columns)", imagesPath, ErrBadDimensions, formatDims(imgFile.dims))
	}
	labFile, err := openIDX(labelsPath)
	if err != nil {
		return nil, err
	}
	defer labFile.close()
	if len(labFile.dims) != 1 {
		return nil, fmt.Errorf("%s: %w: labels have dimensions %s, want 1 (count)", labelsPath, ErrBadDimensions, formatDims(labFile.dims))
	}
	if labFile.dims[0] != imgFile.dims[0] {
		return nil, fmt.Errorf("%s: %w: %d labels for the %d images of %s", labelsPath, ErrBadDimensions, labFile.dims[0], imgFile.dims[0], imagesPath)
	}
	imgs, err := imgFile.read()
	if err != nil {
		return nil, err
	}
	labs, err := labFile.read()
	if err != nil {
		return nil, err
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
