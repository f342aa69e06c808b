package datasets_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/internal/datatest"
)

// halves is a w×h image whose left half is left and right half is right.
func halves(w, h int, left, right color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := left
			if x >= w/2 {
				c = right
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encodePNG(t *testing.T, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mkdir(t *testing.T, dir string) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	red   = color.NRGBA{255, 0, 0, 255}
	blue  = color.NRGBA{0, 0, 255, 255}
	green = color.NRGBA{0, 255, 0, 255}
)

func TestLoadImageFolder(t *testing.T) {
	dir := t.TempDir()
	cats, dogs := mkdir(t, filepath.Join(dir, "cats")), mkdir(t, filepath.Join(dir, "dogs"))
	// A wide image: red | blue halves; its centre crop is half red, half blue.
	datatest.WriteFile(t, filepath.Join(cats, "a.png"), encodePNG(t, halves(64, 32, red, blue)))
	// A tall green JPEG, upper-case extension.
	datatest.WriteFile(t, filepath.Join(dogs, "b.JPG"), encodeJPEG(t, halves(10, 20, green, green)))
	datatest.WriteFile(t, filepath.Join(dogs, "notes.txt"), []byte("not an image"))

	ds, err := datasets.LoadImageFolder(dir, 16)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 2 || ds.Shape() != (datasets.Shape{C: 3, H: 16, W: 16}) {
		t.Fatalf("%d images of %v", ds.Len(), ds.Shape())
	}
	if got := ds.Classes(); len(got) != 2 || got[0] != "cats" || got[1] != "dogs" || ds.Label(0) != 0 || ds.Label(1) != 1 {
		t.Fatalf("classes %v, labels %d %d", got, ds.Label(0), ds.Label(1))
	}
	img := make([]float32, 3*16*16)
	ds.Image(0, img)
	at := func(c, y, x int) float32 { return img[(c*16+y)*16+x] }
	if at(0, 8, 0) < 0.99 || at(2, 8, 0) > 0.01 || at(2, 8, 15) < 0.99 || at(0, 8, 15) > 0.01 {
		t.Fatalf("centre crop of red|blue: left (%v,%v) right (%v,%v)", at(0, 8, 0), at(2, 8, 0), at(0, 8, 15), at(2, 8, 15))
	}
	ds.Image(1, img)
	if at(1, 3, 3) < 0.95 || at(0, 3, 3) > 0.05 {
		t.Fatalf("green JPEG reads as %v %v %v", at(0, 3, 3), at(1, 3, 3), at(2, 3, 3))
	}
}

func TestLoadImageFolderRejectsBadInput(t *testing.T) {
	cases := []struct {
		name     string
		build    func(dir string) string // returns the file the error must name
		wantErr  error
		wantText string
	}{
		{"unreadable image", func(dir string) string {
			p := filepath.Join(mkdir(t, filepath.Join(dir, "a")), "broken.png")
			datatest.WriteFile(t, p, []byte("\x89PNG but not really"))
			return p
		}, datasets.ErrBadImage, "unreadable image"},
		{"truncated jpeg", func(dir string) string {
			p := filepath.Join(mkdir(t, filepath.Join(dir, "a")), "cut.jpg")
			j := encodeJPEG(t, halves(40, 40, red, blue))
			datatest.WriteFile(t, p, j[:len(j)/2])
			return p
		}, datasets.ErrBadImage, "unreadable image"},
		{"empty class folder", func(dir string) string {
			mkdir(t, filepath.Join(dir, "empty"))
			return dir
		}, datasets.ErrBadDimensions, `class folder "empty" holds no PNG or JPEG`},
		{"no class folders", func(dir string) string { return dir }, datasets.ErrBadDimensions, "no class sub-folders"},
		{"png header claims 2.5 gigapixels", func(dir string) string {
			p := filepath.Join(mkdir(t, filepath.Join(dir, "a")), "huge.png")
			datatest.WriteFile(t, p, pngClaiming(t, 50000, 50000))
			return p
		}, datasets.ErrBadImage, "width 50000 × height 50000 is more than 67108864 pixels"},
		{"jpeg header claims 4 gigapixels", func(dir string) string {
			p := filepath.Join(mkdir(t, filepath.Join(dir, "a")), "huge.jpg")
			datatest.WriteFile(t, p, jpegClaiming(t, 65535, 65535))
			return p
		}, datasets.ErrBadImage, "width 65535 × height 65535 is more than 67108864 pixels"},
		{"png header claims no pixels", func(dir string) string {
			p := filepath.Join(mkdir(t, filepath.Join(dir, "a")), "empty.png")
			datatest.WriteFile(t, p, pngClaiming(t, 0, 7))
			return p
		}, datasets.ErrBadImage, ""},
		{"narrow image scaled up", func(dir string) string {
			p := filepath.Join(mkdir(t, filepath.Join(dir, "a")), "line.png")
			datatest.WriteFile(t, p, encodePNG(t, image.NewGray(image.Rect(0, 0, 1100000, 1))))
			return p
		}, datasets.ErrBadImage, "a 1100000×1 image scaled to a shorter side of 8 takes 8800000×8 pixels, more than 67108864"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			file := c.build(dir)
			_, err := datasets.LoadImageFolder(dir, 8)
			if !errors.Is(err, c.wantErr) || !strings.HasPrefix(err.Error(), file+":") || !strings.Contains(err.Error(), c.wantText) {
				t.Fatalf("error %v, want %v naming %s and saying %q", err, c.wantErr, file, c.wantText)
			}
		})
	}
}

// pngClaiming is a 1×1 PNG whose header claims w×h pixels.
func pngClaiming(t *testing.T, w, h uint32) []byte {
	b := encodePNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	// The IHDR chunk's data follows the 8-byte signature, its length and
	// type; its CRC covers the type and data.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// jpegClaiming is an 8×8 JPEG whose frame header claims w×h pixels.
func jpegClaiming(t *testing.T, w, h uint16) []byte {
	b := encodeJPEG(t, image.NewGray(image.Rect(0, 0, 8, 8)))
	i := bytes.Index(b, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no baseline frame header")
	}
	// Marker, length, precision, then height and width.
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

// The size of an image is checked from its header before the decoder
// allocates the image.
func TestLoadPhotoChecksSizeBeforeDecoding(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{"huge.png": pngClaiming(t, 50000, 50000), "huge.jpg": jpegClaiming(t, 65535, 65535)} {
		p := filepath.Join(dir, name)
		datatest.WriteFile(t, p, data)
		var err error
		n := allocatedBytes(func() { _, err = datasets.LoadPhoto(p, 0) })
		if !errors.Is(err, datasets.ErrBadImage) || !strings.HasPrefix(err.Error(), p+":") || !strings.Contains(err.Error(), "more than 67108864 pixels") {
			t.Fatalf("%s: error %v", name, err)
		}
		if n > 1<<20 {
			t.Fatalf("%s: allocated %d bytes to reject a %d-byte file", name, n, len(data))
		}
	}
	if _, err := datasets.LoadImageFolder(dir, 10000); err == nil || !strings.Contains(err.Error(), "image size 10000, want 1 to 8192") {
		t.Fatalf("image size 10000: %v", err)
	}
}

func TestLoadPhotos(t *testing.T) {
	dir := t.TempDir()
	datatest.WriteFile(t, filepath.Join(dir, "b.png"), encodePNG(t, halves(40, 20, red, blue)))
	datatest.WriteFile(t, filepath.Join(dir, "a.jpg"), encodeJPEG(t, halves(30, 60, green, green)))
	datatest.WriteFile(t, filepath.Join(dir, "readme"), []byte("skip me"))
	photos, err := datasets.LoadPhotos(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(photos) != 2 || photos[0].Name != "a" || photos[1].Name != "b" {
		t.Fatalf("photos %v", photos)
	}
	if photos[0].Shape != (datasets.Shape{C: 3, H: 20, W: 10}) || photos[1].Shape != (datasets.Shape{C: 3, H: 10, W: 20}) {
		t.Fatalf("shapes %v %v, want shorter sides of 10", photos[0].Shape, photos[1].Shape)
	}
	crop := make([]float32, 3*2*4)
	photos[1].Crop(crop, 8, 4, 4, 2) // columns 8..11 straddle the red|blue edge at 10
	for r := range 2 {
		row := func(c int) []float32 { return crop[(c*2+r)*4 : (c*2+r+1)*4] }
		if row(0)[0] < 0.99 || row(2)[0] > 0.01 || row(2)[3] < 0.99 || row(0)[3] > 0.01 {
			t.Fatalf("crop row %d: red %v blue %v", r, row(0), row(2))
		}
	}
	if _, err := datasets.SelectPhotos(photos, []string{"b", "zebra"}); err == nil || !strings.Contains(err.Error(), "zebra") {
		t.Fatalf("selecting a missing photo gave %v", err)
	}
	if _, err := datasets.LoadPhotos(t.TempDir(), 10); !errors.Is(err, datasets.ErrNotInstalled) {
		t.Fatalf("empty folder gave %v", err)
	}
}

// TestInstalledBackgrounds decodes the mate-backgrounds photographs.
func TestInstalledBackgrounds(t *testing.T) {
	dir, err := datasets.FindBackgrounds()
	datatest.Require(t, err)
	photos, err := datasets.LoadPhotos(dir, 64)
	if err != nil {
		t.Fatal(err)
	}
	if len(photos) < 10 {
		t.Fatalf("%d photographs in %s, want at least 10", len(photos), dir)
	}
	for _, p := range photos {
		if min(p.Shape.H, p.Shape.W) != 64 {
			t.Fatalf("%s: shape %v, want shorter side 64", p.Name, p.Shape)
		}
		var lo, hi float32 = 1, 0
		for _, v := range p.Pix {
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi-lo < 0.2 {
			t.Fatalf("%s: values span only %v..%v", p.Name, lo, hi)
		}
	}
}
