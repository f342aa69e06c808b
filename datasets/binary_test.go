package datasets_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/internal/datatest"
)

// stl10Value is the byte the test files hold at channel c, row y, column x
// of image i.
func stl10Value(i, c, y, x int) byte { return byte(i*7 + c*50 + y*3 + x*5) }

// stl10Images encodes n images in STL-10's layout: channel by channel, each
// channel column-major.
func stl10Images(n int) []byte {
	var b []byte
	for i := range n {
		for c := range 3 {
			for x := range 96 {
				for y := range 96 {
					b = append(b, stl10Value(i, c, y, x))
				}
			}
		}
	}
	return b
}

func TestLoadSTL10(t *testing.T) {
	dir := t.TempDir()
	datatest.WriteFile(t, filepath.Join(dir, "train_X.bin"), stl10Images(3))
	datatest.WriteFile(t, filepath.Join(dir, "train_y.bin"), []byte{1, 10, 4})
	datatest.WriteFile(t, filepath.Join(dir, "unlabeled_X.bin"), stl10Images(2))
	ds, err := datasets.LoadSTL10(dir, datasets.Train)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 3 || ds.Shape() != (datasets.Shape{C: 3, H: 96, W: 96}) {
		t.Fatalf("%d images of %v", ds.Len(), ds.Shape())
	}
	for i, want := range []int{0, 9, 3} {
		if ds.Label(i) != want {
			t.Fatalf("label %d = %d, want %d (disk labels are 1-based)", i, ds.Label(i), want)
		}
	}
	img := make([]float32, 3*96*96)
	for i := range 3 {
		ds.Image(i, img)
		for _, p := range [][3]int{{0, 0, 1}, {0, 1, 0}, {1, 5, 90}, {2, 95, 3}, {2, 40, 77}} {
			c, y, x := p[0], p[1], p[2]
			if got, want := img[(c*96+y)*96+x], float32(stl10Value(i, c, y, x))/255; got != want {
				t.Fatalf("image %d channel %d row %d column %d = %v, want %v", i, c, y, x, got, want)
			}
		}
	}
	un, err := datasets.LoadSTL10(dir, datasets.Unlabeled)
	if err != nil {
		t.Fatal(err)
	}
	if un.Len() != 2 || un.Label(1) != datasets.NoLabel {
		t.Fatalf("unlabeled: %d images, label %d", un.Len(), un.Label(1))
	}
}

func TestLoadSTL10RejectsBadFiles(t *testing.T) {
	cases := []struct {
		name     string
		x, y     []byte
		wantErr  error
		badFile  string
		wantText string
	}{
		{"truncated images", stl10Images(2)[:2*27648-1], []byte{1, 2}, datasets.ErrTruncated, "train_X.bin", "1 whole 96×96×3 images and 27647 bytes over"},
		{"empty images", nil, []byte{1}, datasets.ErrTruncated, "train_X.bin", "empty"},
		{"label 0", stl10Images(2), []byte{0, 2}, datasets.ErrLabelRange, "train_y.bin", "label 0 of item 0"},
		{"label 11", stl10Images(2), []byte{1, 11}, datasets.ErrLabelRange, "train_y.bin", "label 11 of item 1"},
		{"too few labels", stl10Images(2), []byte{1}, datasets.ErrBadDimensions, "train_y.bin", "1 labels for the 2 images"},
		{"too many labels", stl10Images(2), []byte{1, 2, 3}, datasets.ErrBadDimensions, "train_y.bin", "3 labels for the 2 images"},
		{"empty labels", stl10Images(2), nil, datasets.ErrTruncated, "train_y.bin", "empty label file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			datatest.WriteFile(t, filepath.Join(dir, "train_X.bin"), c.x)
			datatest.WriteFile(t, filepath.Join(dir, "train_y.bin"), c.y)
			_, err := datasets.LoadSTL10(dir, datasets.Train)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if !strings.HasPrefix(err.Error(), filepath.Join(dir, c.badFile)+":") || !strings.Contains(err.Error(), c.wantText) {
				t.Fatalf("error %q should start with %s and say %q", err, c.badFile, c.wantText)
			}
		})
	}
	if _, err := datasets.LoadSTL10(t.TempDir(), datasets.Test); err == nil || !strings.Contains(err.Error(), "test_X.bin") {
		t.Fatalf("missing files gave %v", err)
	}
}

// cifarRecords encodes n CIFAR-10 records: label i%10, then R, G, B planes
// whose pixel (y, x) of channel c holds i+c*40+y+2x.
func cifarRecords(n int) []byte {
	var b []byte
	for i := range n {
		b = append(b, byte(i%10))
		for c := range 3 {
			for y := range 32 {
				for x := range 32 {
					b = append(b, byte(i+c*40+y+2*x))
				}
			}
		}
	}
	return b
}

func TestLoadCIFAR10(t *testing.T) {
	dir := t.TempDir()
	for k := 1; k <= 5; k++ {
		datatest.WriteFile(t, filepath.Join(dir, "data_batch_"+string(rune('0'+k))+".bin"), cifarRecords(k))
	}
	datatest.WriteFile(t, filepath.Join(dir, "test_batch.bin"), cifarRecords(4))
	ds, err := datasets.LoadCIFAR10(dir, datasets.Train)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 15 || ds.Shape() != (datasets.Shape{C: 3, H: 32, W: 32}) {
		t.Fatalf("%d images of %v, want 15 of 3×32×32", ds.Len(), ds.Shape())
	}
	// Item 1+2 = 3 is the first record of data_batch_3.bin: i = 0 in that file.
	img := make([]float32, 3072)
	ds.Image(3, img)
	if ds.Label(3) != 0 || img[(2*32+5)*32+7] != float32(0+80+5+14)/255 || img[0] != 0 {
		t.Fatalf("item 3: label %d, blue (5,7) = %v", ds.Label(3), img[(2*32+5)*32+7]*255)
	}
	test, err := datasets.LoadCIFAR10(dir, datasets.Test)
	if err != nil || test.Len() != 4 || test.Label(3) != 3 {
		t.Fatalf("test split: %v", err)
	}
}

func TestLoadCIFAR10RejectsBadFiles(t *testing.T) {
	bad := cifarRecords(3)
	bad[3073] = 10
	cases := []struct {
		name     string
		data     []byte
		wantErr  error
		wantText string
	}{
		{"truncated", cifarRecords(2)[:3073+100], datasets.ErrTruncated, "1 whole 3073-byte records and 100 bytes over"},
		{"empty", nil, datasets.ErrTruncated, "empty"},
		{"label 10", bad, datasets.ErrLabelRange, "label 10 of record 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "test_batch.bin")
			datatest.WriteFile(t, path, c.data)
			_, err := datasets.LoadCIFAR10Files(path)
			if !errors.Is(err, c.wantErr) || !strings.HasPrefix(err.Error(), path+":") || !strings.Contains(err.Error(), c.wantText) {
				t.Fatalf("error %v, want %v naming %s and saying %q", err, c.wantErr, path, c.wantText)
			}
		})
	}
}

func TestFindBinarySetsSayHowToInstall(t *testing.T) {
	cases := []struct {
		name string
		env  string
		find func() (string, error)
	}{
		{"stl10", datasets.STL10DirEnv, datasets.FindSTL10},
		{"cifar10", datasets.CIFAR10DirEnv, datasets.FindCIFAR10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(c.env, "")
			if _, err := c.find(); !errors.Is(err, datasets.ErrNotInstalled) || !strings.Contains(err.Error(), "set $"+c.env) {
				t.Fatalf("unset $%s gave %v", c.env, err)
			}
			t.Setenv(c.env, t.TempDir())
			if _, err := c.find(); !errors.Is(err, datasets.ErrNotInstalled) || !strings.Contains(err.Error(), ".bin") {
				t.Fatalf("empty $%s gave %v", c.env, err)
			}
		})
	}
}

// allocatedBytes returns the bytes f allocates.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// sparseFile makes a file of size bytes that takes no room on disk.
func sparseFile(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
}

// The binary loaders check every file's size before they read any, so that
// a bad file costs neither the time nor the memory of reading the others.
func TestBinaryLoadersCheckSizesFirst(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.bin")
	sparseFile(t, huge, 8<<30+27648) // the bound and one STL-10 image
	half := filepath.Join(dir, "half.bin")
	sparseFile(t, half, 3073<<21) // 2^21 CIFAR-10 records, 6.4 GB
	short := filepath.Join(dir, "short.bin")
	datatest.WriteFile(t, short, cifarRecords(2)[:3073+5])
	good := filepath.Join(dir, "good.bin")
	datatest.WriteFile(t, good, cifarRecords(2))
	labels := filepath.Join(dir, "labels.bin")
	datatest.WriteFile(t, labels, []byte{1, 2})
	cases := []struct {
		name    string
		load    func() error
		wantErr error
		file    string
		want    string
	}{
		{"stl10 beyond the bound", func() error { _, err := datasets.LoadSTL10Files(huge, labels); return err }, datasets.ErrBadDimensions, huge, "8589962240 bytes, more than the 8589934592 a file may hold"},
		{"stl10 directory", func() error { _, err := datasets.LoadSTL10Files(dir, labels); return err }, datasets.ErrBadDimensions, dir, "not a regular file"},
		{"stl10 labels for a larger file", func() error { _, err := datasets.LoadSTL10Files(filepath.Join(dir, "stl.bin"), labels); return err }, datasets.ErrBadDimensions, labels, "2 labels for the 1000 images"},
		{"cifar10 beyond the bound together", func() error { _, err := datasets.LoadCIFAR10Files(half, half); return err }, datasets.ErrBadDimensions, half, "more than the 8589934592 that may be loaded together"},
		{"cifar10 second file short", func() error { _, err := datasets.LoadCIFAR10Files(good, half, short); return err }, datasets.ErrTruncated, short, "1 whole 3073-byte records and 5 bytes over"},
		{"cifar10 directory", func() error { _, err := datasets.LoadCIFAR10Files(good, dir); return err }, datasets.ErrBadDimensions, dir, "not a regular file"},
	}
	sparseFile(t, filepath.Join(dir, "stl.bin"), 1000*27648)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			n := allocatedBytes(func() { err = c.load() })
			if !errors.Is(err, c.wantErr) || !strings.HasPrefix(err.Error(), c.file+":") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %v naming %s and saying %q", err, c.wantErr, c.file, c.want)
			}
			if n > 1<<20 {
				t.Fatalf("allocated %d bytes before failing", n)
			}
		})
	}
}
