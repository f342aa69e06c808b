package datasets

import (
	"bytes"
	"compress/gzip"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"slices"
	"testing"
)

// idxBytes encodes an unsigned-byte IDX array.
func idxBytes(dims []int, data []byte) []byte {
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
	}
	return append(b, data...)
}

// knownError reports whether err is one of the loaders' documented kinds.
func knownError(err error) bool {
	for _, k := range []error{ErrTruncated, ErrCorrupt, ErrBadMagic, ErrBadDimensions, ErrLabelRange} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(idxBytes([]int{3}, []byte{0, 9, 4}))
	f.Add(idxBytes([]int{1, 28, 28}, make([]byte, 784)))
	f.Add(idxBytes([]int{2, 2, 2}, []byte{1, 2, 3}))
	f.Add([]byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadIDX(bytes.NewReader(data), "fuzz.idx")
		if err != nil {
			if !knownError(err) {
				t.Fatalf("error of no documented kind: %v", err)
			}
			return
		}
		n := 1
		for _, d := range m.Dims {
			n *= d
		}
		if n != len(m.Data) || 4+4*len(m.Dims)+n != len(data) {
			t.Fatalf("dims %v, %d elements, from %d bytes", m.Dims, len(m.Data), len(data))
		}
	})
}

func FuzzReadIDXGzip(f *testing.F) {
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	f.Add(gz(idxBytes([]int{2, 2}, []byte{1, 2, 3, 4})))
	f.Add(gz(idxBytes([]int{4}, []byte{1, 2})))
	f.Fuzz(func(t *testing.T, data []byte) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		if _, err := ReadIDX(zr, "fuzz.idx.gz"); err != nil && !knownError(err) {
			t.Fatalf("error of no documented kind: %v", err)
		}
	})
}

// gzipBytes compresses b as a .gz file does.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// FuzzOpenIDX fuzzes the reading of an IDX file, plain or gzipped, whose
// size is known, as OpenIDX reads it: knowing the size may only make a bad
// file fail sooner.
func FuzzOpenIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(gzipBytes(idxBytes([]int{2, 2}, []byte{1, 2, 3, 4})))
	f.Add(idxBytes([]int{1 << 20, 16, 16}, []byte{1, 2, 3, 4}))
	f.Add(gzipBytes(idxBytes([]int{1 << 20, 16, 16}, make([]byte, 1<<12))))
	f.Add(gzipBytes(idxBytes([]int{1 << 31}, make([]byte, 1<<12))))
	f.Fuzz(func(t *testing.T, data []byte) {
		sized, err := newIDXStream("fuzz.idx", bytes.NewReader(data), int64(len(data)))
		var m *IDX
		if err == nil {
			m, err = sized.read()
			sized.close()
		}
		if err != nil && !knownError(err) {
			t.Fatalf("error of no documented kind: %v", err)
		}
		stream, serr := newIDXStream("fuzz.idx", bytes.NewReader(data), -1)
		var ms *IDX
		if serr == nil {
			ms, serr = stream.read()
			stream.close()
		}
		if (err == nil) != (serr == nil) {
			t.Fatalf("size known: %v; size unknown: %v", err, serr)
		}
		if err == nil && (!slices.Equal(m.Dims, ms.Dims) || !bytes.Equal(m.Data, ms.Data)) {
			t.Fatalf("size known: dims %v; size unknown: dims %v", m.Dims, ms.Dims)
		}
	})
}

// FuzzSTL10 fuzzes the STL-10 image decoding on planes of a small side
// (the loader's is 96), so that inputs stay small, and the label decoding.
func FuzzSTL10(f *testing.F) {
	img := make([]byte, 3*4*4)
	for i := range img {
		img[i] = byte(i)
	}
	f.Add(uint8(4), img, []byte{1})
	f.Add(uint8(2), append(img, img[:24]...), []byte{10, 3})
	f.Add(uint8(96), img, []byte{0})
	f.Add(uint8(1), []byte{}, []byte{11})
	f.Fuzz(func(t *testing.T, side uint8, x, y []byte) {
		if side == 0 {
			return
		}
		s := int(side)
		orig := bytes.Clone(x)
		if err := decodeColumnMajor("fuzz_X.bin", x, s); err != nil {
			if !knownError(err) {
				t.Fatalf("images: error of no documented kind: %v", err)
			}
		} else {
			// Each plane is transposed: row r, column c comes from the
			// column-major offset c*side+r of the same plane.
			for off := range x {
				base, in := off/(s*s)*(s*s), off%(s*s)
				r, c := in/s, in%s
				if x[off] != orig[base+c*s+r] {
					t.Fatalf("plane at %d: row %d column %d = %d, want %d", base, r, c, x[off], orig[base+c*s+r])
				}
			}
		}
		labels, err := decodeSTL10Labels("fuzz_y.bin", y)
		if err != nil {
			if !knownError(err) {
				t.Fatalf("labels: error of no documented kind: %v", err)
			}
			return
		}
		for i, l := range labels {
			if l < 0 || l > 9 || l != int(y[i])-1 {
				t.Fatalf("label %d read as %d", y[i], l)
			}
		}
	})
}

// FuzzCIFAR10 fuzzes the CIFAR-10 record decoding with a small image size
// (the loader's is 3,072 bytes), so that inputs stay small.
func FuzzCIFAR10(f *testing.F) {
	rec := make([]byte, 1+12)
	rec[0] = 3
	f.Add(uint8(12), rec)
	f.Add(uint8(12), append(bytes.Clone(rec), rec...))
	f.Add(uint8(200), rec)
	f.Add(uint8(0), []byte{10})
	f.Fuzz(func(t *testing.T, image uint8, data []byte) {
		n := int(image)
		pix, labels, err := decodeRecords("fuzz_batch.bin", data, n, nil, nil)
		if err != nil {
			if !knownError(err) {
				t.Fatalf("error of no documented kind: %v", err)
			}
			return
		}
		if len(labels)*(n+1) != len(data) || len(pix) != len(labels)*n {
			t.Fatalf("%d labels, %d pixels from %d bytes", len(labels), len(pix), len(data))
		}
		for i, l := range labels {
			if l < 0 || l > 9 || byte(l) != data[i*(n+1)] || !bytes.Equal(pix[i*n:(i+1)*n], data[i*(n+1)+1:(i+1)*(n+1)]) {
				t.Fatalf("record %d misread", i)
			}
		}
	})
}

// FuzzDecodePhoto fuzzes the decoding of a PNG or JPEG image as LoadPhoto
// and LoadImageFolder decode it, with a bound of 2^16 pixels so that inputs
// stay cheap: whatever decodes is within the bound and in [0,1].
func FuzzDecodePhoto(f *testing.F) {
	const maxPixels = 1 << 16
	img := image.NewNRGBA(image.Rect(0, 0, 6, 4))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	f.Add(bytes.Clone(b.Bytes()), uint8(3))
	b.Reset()
	jpeg.Encode(&b, img, nil)
	f.Add(bytes.Clone(b.Bytes()), uint8(2))
	b.Reset()
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 300, 1)))
	f.Add(bytes.Clone(b.Bytes()), uint8(16))
	f.Add([]byte("\x89PNG\r\n\x1a\n"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, side uint8) {
		p, err := decodePhoto("fuzz.png", bytes.NewReader(data), int(side), maxPixels)
		if err != nil {
			if !errors.Is(err, ErrBadImage) {
				t.Fatalf("error of no documented kind: %v", err)
			}
			return
		}
		s := p.Shape
		if s.C != 3 || s.H < 1 || s.W < 1 || s.H*s.W > maxPixels || len(p.Pix) != s.Size() {
			t.Fatalf("shape %v, %d values", s, len(p.Pix))
		}
		if side > 0 && min(s.H, s.W) > int(side) {
			t.Fatalf("shape %v: shorter side not scaled down to %d", s, side)
		}
		for _, v := range p.Pix {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("value %v outside [0,1]", v)
			}
		}
		if side == 0 {
			return
		}
		dst := make([]uint8, 3*int(side)*int(side))
		if err := folderImage(p, int(side), dst); err != nil && !errors.Is(err, ErrBadImage) {
			t.Fatalf("folder image: %v", err)
		}
	})
}
