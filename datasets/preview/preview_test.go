package preview_test

import (
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/cmnist"
	"github.com/learnviews/learnviews/datasets/preview"
)

// classSet is a set whose every pixel holds its label/10.
type classSet struct{ n int }

func (s classSet) Len() int                   { return s.n }
func (s classSet) Shape() datasets.Shape      { return datasets.Shape{C: 1, H: 2, W: 2} }
func (s classSet) Classes() []string          { return []string{"zero", "one", "two"} }
func (s classSet) Label(i int) int            { return i % 3 }
func (s classSet) Image(i int, dst []float32) { clear(dst); dst[0] = float32(i%3) / 10 }

func TestByClass(t *testing.T) {
	sheet, err := preview.ByClass(classSet{n: 100}, "classes", 4, 1, func(i int) string { return "x" })
	if err != nil {
		t.Fatal(err)
	}
	if len(sheet.Rows) != 3 {
		t.Fatalf("%d rows, want one per class", len(sheet.Rows))
	}
	for y, r := range sheet.Rows {
		if r.Label != []string{"zero", "one", "two"}[y] || len(r.Cells) != 4 {
			t.Fatalf("row %d: %q with %d cells", y, r.Label, len(r.Cells))
		}
		for _, c := range r.Cells {
			got := c.Image.(*image.RGBA).RGBAAt(0, 0).R
			if want := uint8(math.Round(255 * float64(y) / 10)); got != want || c.Caption != "x" {
				t.Fatalf("row %q holds an image of grey %d, want %d (class %d)", r.Label, got, want, y)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "sheet.png")
	if err := sheet.WritePNG(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := sheet.Render()
	if img.Bounds() != want.Bounds() {
		t.Fatalf("PNG is %v, sheet %v", img.Bounds(), want.Bounds())
	}
	if err := sheet.WritePNG(filepath.Join(t.TempDir(), "no", "such", "dir.png")); err == nil {
		t.Fatal("writing into a missing folder succeeded")
	}
}

func TestCMNISTSheet(t *testing.T) {
	pix := make([]uint8, 20*784)
	labels := make([]int, 20)
	for i := range labels {
		labels[i] = i % 10
		pix[i*784+400] = 255
	}
	digits, _ := datasets.NewInMemory("digits", datasets.Shape{C: 1, H: 28, W: 28}, datasets.MNISTClasses, pix, labels)
	photos := make([]*datasets.Photo, 10)
	for b := range photos {
		photos[b] = &datasets.Photo{Name: string(rune('A' + b)), Shape: datasets.Shape{C: 3, H: 64, W: 64}, Pix: make([]float32, 3*64*64)}
	}
	cfg := cmnist.DefaultConfig()
	cfg.Backgrounds = []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"}
	s, err := cmnist.New(cfg, digits, photos)
	if err != nil {
		t.Fatal(err)
	}
	sheet, err := preview.CMNIST(s, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(sheet.Rows) != 3 {
		t.Fatalf("%d rows, want 3 sequences", len(sheet.Rows))
	}
	k := s.Config().Frames
	for _, r := range sheet.Rows {
		if len(r.Cells) != k+1+8 {
			t.Fatalf("%d cells, want %d frames, x_t and 8 second views", len(r.Cells), k)
		}
		if !strings.HasPrefix(r.Cells[k].Caption, "x_t") || !strings.HasPrefix(r.Cells[len(r.Cells)-1].Caption, "negative") {
			t.Fatalf("captions %q ... %q", r.Cells[k].Caption, r.Cells[len(r.Cells)-1].Caption)
		}
	}
	if _, err := sheet.Render(); err != nil {
		t.Fatal(err)
	}
}

func ExampleByClass() {
	// A made-up set of 30 grey 2×2 images in three classes.
	sheet, err := preview.ByClass(classSet{n: 30}, "three classes", 2, 1, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "sheet")
	defer os.RemoveAll(dir)
	err = sheet.WritePNG(filepath.Join(dir, "classes.png"))
	fmt.Println(err, len(sheet.Rows), sheet.Rows[1].Label, len(sheet.Rows[1].Cells))
	// Output: <nil> 3 one 2
}
