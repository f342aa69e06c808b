package datasets_test

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/internal/datatest"
)

// writeIDXPair writes an images and a labels IDX file, gzipped or not, and
// returns their paths.
func writeIDXPair(t *testing.T, dir string, gz bool, imgs, labels []byte) (string, string) {
	t.Helper()
	ext := ""
	if gz {
		ext = ".gz"
		imgs, labels = datatest.Gzip(imgs), datatest.Gzip(labels)
	}
	ip, lp := filepath.Join(dir, "images-idx3-ubyte"+ext), filepath.Join(dir, "labels-idx1-ubyte"+ext)
	datatest.WriteFile(t, ip, imgs)
	datatest.WriteFile(t, lp, labels)
	return ip, lp
}

func TestLoadIDX(t *testing.T) {
	// Three 2×3 images whose pixel (y, x) of image i is 10i+3y+x.
	pix := make([]byte, 3*2*3)
	for i := range 3 {
		for p := range 6 {
			pix[i*6+p] = byte(10*i + p)
		}
	}
	for _, gz := range []bool{false, true} {
		ip, lp := writeIDXPair(t, t.TempDir(), gz, datatest.IDX([]int{3, 2, 3}, pix), datatest.IDX([]int{3}, []byte{2, 0, 1}))
		ds, err := datasets.LoadIDX("toy", ip, lp, []string{"a", "b", "c"})
		if err != nil {
			t.Fatalf("gzip %v: %v", gz, err)
		}
		if ds.Len() != 3 || ds.Shape() != (datasets.Shape{C: 1, H: 2, W: 3}) {
			t.Fatalf("gzip %v: %d images of %v", gz, ds.Len(), ds.Shape())
		}
		img := make([]float32, 6)
		ds.Image(2, img)
		for p, v := range img {
			if want := float32(20+p) / 255; v != want {
				t.Fatalf("gzip %v: image 2 value %d is %v, want %v", gz, p, v, want)
			}
		}
		if got := []int{ds.Label(0), ds.Label(1), ds.Label(2)}; got[0] != 2 || got[1] != 0 || got[2] != 1 {
			t.Fatalf("gzip %v: labels %v", gz, got)
		}
	}
}

func TestLoadIDXRejectsBadFiles(t *testing.T) {
	good := datatest.IDX([]int{2, 2, 2}, make([]byte, 8))
	labels := datatest.IDX([]int{2}, []byte{0, 1})
	cases := []struct {
		name        string
		imgs, labs  []byte
		gz          bool
		wantErr     error
		badFile     string // "images" or "labels"
		wantMessage string
	}{
		{"empty file", nil, labels, false, datasets.ErrTruncated, "images", "magic number"},
		{"header cut in the dimensions", good[:9], labels, false, datasets.ErrTruncated, "images", "dimension sizes"},
		{"data cut short", good[:len(good)-1], labels, false, datasets.ErrTruncated, "images", "need 8 bytes"},
		{"data cut short, gzipped", good[:len(good)-3], labels, true, datasets.ErrTruncated, "images", "need 8 bytes"},
		{"gzip stream cut", nil, labels, false, datasets.ErrTruncated, "images", ""},
		{"not IDX", []byte("PK\x03\x04 a zip file"), labels, false, datasets.ErrBadMagic, "images", "not an IDX file"},
		{"float elements", append([]byte{0, 0, 0x0d}, good[3:]...), labels, false, datasets.ErrBadMagic, "images", "element type 0x0d"},
		{"zero dimensions", []byte{0, 0, 8, 0}, labels, false, datasets.ErrBadDimensions, "images", "zero dimensions"},
		{"a zero dimension", datatest.IDX([]int{2, 0, 2}, nil), labels, false, datasets.ErrBadDimensions, "images", "dimension 1 is zero"},
		{"huge claim", datatest.IDX([]int{1 << 20, 1 << 20, 1 << 20}, nil), labels, false, datasets.ErrBadDimensions, "images", "claim more than"},
		{"bytes left over", append(good, 9), labels, false, datasets.ErrBadDimensions, "images", "left over"},
		{"images not 3-D", datatest.IDX([]int{2, 4}, make([]byte, 8)), labels, false, datasets.ErrBadDimensions, "images", "want 3"},
		{"labels not 1-D", good, datatest.IDX([]int{2, 1}, []byte{0, 1}), false, datasets.ErrBadDimensions, "labels", "want 1"},
		{"label count differs", good, datatest.IDX([]int{3}, []byte{0, 1, 1}), false, datasets.ErrBadDimensions, "labels", "3 labels for the 2 images"},
		{"label out of range", good, datatest.IDX([]int{2}, []byte{0, 7}), false, datasets.ErrLabelRange, "labels", "label 7 of item 1"},
		// A plain file must hold what its header claims, checked before
		// the elements are allocated.
		{"claim beyond the file", datatest.IDX([]int{1 << 20, 16, 16}, make([]byte, 4)), labels, false, datasets.ErrTruncated, "images", "need 268435456 bytes of elements, file holds 4"},
		// A gzipped file cannot expand more than 1032-fold.
		{"claim beyond deflate", datatest.IDX([]int{1 << 20, 16, 16}, make([]byte, 4)), labels, true, datasets.ErrTruncated, "images", "need 268435456 bytes of elements, more than a"},
		{"2^31 labels, gzipped", good, datatest.IDX([]int{1 << 31}, make([]byte, 1<<16)), true, datasets.ErrBadDimensions, "labels", "claim more than 1073741824 elements"},
		{"more labels than images", good, datatest.IDX([]int{1 << 16}, make([]byte, 1<<16)), true, datasets.ErrBadDimensions, "labels", "65536 labels for the 2 images"},
		{"255 dimensions", datatest.IDX(slices.Repeat([]int{1}, 255), []byte{0}), labels, false, datasets.ErrBadDimensions, "images", "images have dimensions [1 1 1 1 1 1 … 1] (255 dimensions), want 3"},
		{"255 dimensions, a zero", datatest.IDX(append(slices.Repeat([]int{1}, 254), 0), nil), labels, false, datasets.ErrBadDimensions, "images", "dimension 254 is zero in [1 1 1 1 1 1 … 0] (255 dimensions)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ip, lp := writeIDXPair(t, dir, c.gz, c.imgs, c.labs)
			if c.name == "gzip stream cut" {
				z := datatest.Gzip(good)
				datatest.WriteFile(t, ip, z[:len(z)/2])
			}
			_, err := datasets.LoadIDX("toy", ip, lp, []string{"a", "b"})
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			file := ip
			if c.badFile == "labels" {
				file = lp
			}
			if !strings.HasPrefix(err.Error(), file+":") || !strings.Contains(err.Error(), c.wantMessage) {
				t.Fatalf("error %q should start with %s and say %q", err, file, c.wantMessage)
			}
		})
	}
}

func TestLoadIDXMissingFile(t *testing.T) {
	dir := t.TempDir()
	_, err := datasets.LoadIDX("toy", filepath.Join(dir, "nope"), filepath.Join(dir, "nope2"), []string{"a"})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nope")) {
		t.Fatalf("error %v should name the missing file", err)
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A gzipped label file that claims 2^31 labels fails on its header, before
// any of its elements are read, whatever its stream holds.
func TestLoadIDXGzipBombFailsOnTheHeader(t *testing.T) {
	dir := t.TempDir()
	ip, lp := writeIDXPair(t, dir, true, datatest.IDX([]int{2, 28, 28}, make([]byte, 2*28*28)), datatest.IDX([]int{1 << 31}, make([]byte, 16<<20)))
	var err error
	n := allocated(func() { _, err = datasets.LoadIDX("mnist", ip, lp, datasets.MNISTClasses) })
	if !errors.Is(err, datasets.ErrBadDimensions) || !strings.HasPrefix(err.Error(), lp+":") || !strings.Contains(err.Error(), "[2147483648] claim more than") {
		t.Fatalf("error %v, want the label file's count named", err)
	}
	// The readers' buffers, the gzip state and the header: nothing like
	// the 16 MiB of zeros in the stream.
	if n > 1<<20 {
		t.Fatalf("allocated %d bytes to reject the header", n)
	}
}

// A stream that claims more than it holds costs memory in proportion to
// what it holds: the array grows as its bytes arrive.
func TestReadIDXMemoryFollowsTheData(t *testing.T) {
	const held = 4 << 20
	data := make([]byte, held)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	// 2^29 claimed; random bytes do not compress, so the file is larger
	// than the data and deflate's bound does not catch the claim.
	path := filepath.Join(t.TempDir(), "claim.idx.gz")
	datatest.WriteFile(t, path, datatest.Gzip(datatest.IDX([]int{1 << 29}, data)))
	var err error
	n := allocated(func() { _, err = datasets.OpenIDX(path) })
	if !errors.Is(err, datasets.ErrTruncated) || !strings.Contains(err.Error(), "need 536870912 bytes of elements, file holds 4194304") {
		t.Fatalf("error %v, want truncation", err)
	}
	// The buffer doubles from 1 MiB up to 8 MiB: 15 MiB in all.
	if n > 5*held {
		t.Fatalf("allocated %d bytes for a stream of %d", n, held)
	}
}
