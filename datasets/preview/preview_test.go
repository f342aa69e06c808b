package preview_test

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/cmnist"
	"github.com/learnviews/learnviews/datasets/preview"
)

func TestEveryPrintableCharacterHasAGlyph(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for r := rune(33); r < 127; r++ {
		// Each printable character inks at least one pixel, and not the
		// same pixels as '?', the stand-in for unknown characters.
		draw := func(s string) []uint8 {
			clear(img.Pix)
			preview.DrawText(img, 0, 0, s, color.White, 1)
			return append([]uint8(nil), img.Pix...)
		}
		got := draw(string(r))
		if !slicesAny(got) {
			t.Fatalf("%q draws nothing", r)
		}
		if r != '?' && string(got) == string(draw("?")) {
			t.Fatalf("%q has no glyph of its own", r)
		}
	}
}

func TestDrawTextAtScale(t *testing.T) {
	small, big := image.NewRGBA(image.Rect(0, 0, 20, 20)), image.NewRGBA(image.Rect(0, 0, 40, 40))
	preview.DrawText(small, 0, 0, "A", color.White, 1)
	preview.DrawText(big, 0, 0, "A", color.White, 2)
	for y := range 20 {
		for x := range 20 {
			if small.RGBAAt(x, y) != big.RGBAAt(2*x+1, 2*y+1) {
				t.Fatalf("pixel (%d,%d) at scale 1 is %v, its double at scale 2 %v", x, y, small.RGBAAt(x, y), big.RGBAAt(2*x+1, 2*y+1))
			}
		}
	}
	if !slicesAny(small.Pix) {
		t.Fatal("'A' draws nothing")
	}
	unknown, question := image.NewRGBA(image.Rect(0, 0, 20, 20)), image.NewRGBA(image.Rect(0, 0, 20, 20))
	preview.DrawText(unknown, 0, 0, "\u2603", color.White, 1)
	preview.DrawText(question, 0, 0, "?", color.White, 1)
	if string(unknown.Pix) != string(question.Pix) {
		t.Fatal("a character the font lacks is not drawn as '?'")
	}
}

func TestDrawTextStartsANewLineAtNewline(t *testing.T) {
	for _, scale := range []int{1, 2} {
		two, lines := image.NewRGBA(image.Rect(0, 0, 40, 80)), image.NewRGBA(image.Rect(0, 0, 40, 80))
		preview.DrawText(two, 0, 0, "A\nB", color.White, scale)
		preview.DrawText(lines, 0, 0, "A", color.White, scale)
		preview.DrawText(lines, 0, preview.TextHeight("A", scale), "B", color.White, scale)
		if string(two.Pix) != string(lines.Pix) {
			t.Fatalf("scale %d: \"A\\nB\" differs from \"A\" above \"B\"", scale)
		}
	}
}

func slicesAny(p []uint8) bool {
	for _, v := range p {
		if v != 0 {
			return true
		}
	}
	return false
}

func TestTextSize(t *testing.T) {
	cases := []struct {
		s     string
		scale int
		w, h  int
	}{
		{"abc", 1, 21, 14},
		{"abc", 2, 42, 28},
		{"a\nlonger", 1, 42, 28},
		{"", 1, 0, 14},
	}
	for _, c := range cases {
		if w, h := preview.TextWidth(c.s, c.scale), preview.TextHeight(c.s, c.scale); w != c.w || h != c.h {
			t.Fatalf("%q at %d: %d×%d, want %d×%d", c.s, c.scale, w, h, c.w, c.h)
		}
	}
}

func TestSheetDrawsEachCellWhereItBelongs(t *testing.T) {
	red := datasets.Shape{C: 3, H: 4, W: 5}
	pix := make([]float32, red.Size())
	for i := range red.H * red.W {
		pix[i] = 1 // red plane
	}
	grey := datasets.Shape{C: 1, H: 4, W: 5}
	half := make([]float32, grey.Size())
	for i := range half {
		half[i] = 0.5
	}
	s := &preview.Sheet{Scale: 3, Rows: []preview.Row{{Cells: []preview.Cell{{Pix: pix, Shape: red}, {Pix: half, Shape: grey}}}}}
	img, err := s.Image()
	if err != nil {
		t.Fatal(err)
	}
	// No title, no row label: the first cell starts at the margin (8), each
	// cell is 15 pixels wide and 8 apart.
	if got := img.RGBAAt(8, 8); got != (color.RGBA{255, 0, 0, 255}) {
		t.Fatalf("first cell's corner is %v, want red", got)
	}
	if got := img.RGBAAt(8+14, 8+11); got != (color.RGBA{255, 0, 0, 255}) {
		t.Fatalf("first cell's far corner is %v, want red", got)
	}
	if got := img.RGBAAt(8+15+8, 8); got != (color.RGBA{128, 128, 128, 255}) {
		t.Fatalf("second cell's corner is %v, want mid grey", got)
	}
	if b := img.Bounds(); b.Dx() != 8+15+8+15+8 || b.Dy() != 8+12+8 {
		t.Fatalf("sheet is %v", b)
	}
	bad := &preview.Sheet{Rows: []preview.Row{{Cells: []preview.Cell{{Pix: pix[:3], Shape: red}}}}}
	if _, err := bad.Image(); err == nil {
		t.Fatal("a cell with too few values accepted")
	}
}

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
			if c.Pix[0] != float32(y)/10 || c.Caption != "x" {
				t.Fatalf("row %q holds an image of class %v", r.Label, c.Pix[0]*10)
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
	want, _ := sheet.Image()
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
	if _, err := sheet.Image(); err != nil {
		t.Fatal(err)
	}
}

func ExampleSheet_WritePNG() {
	shape := datasets.Shape{C: 3, H: 8, W: 8}
	sheet := &preview.Sheet{
		Title: "colours",
		Scale: 4,
		Rows: []preview.Row{{Label: "row", Cells: []preview.Cell{
			{Pix: make([]float32, shape.Size()), Shape: shape, Caption: "black"},
		}}},
	}
	dir, _ := os.MkdirTemp("", "sheet")
	defer os.RemoveAll(dir)
	err := sheet.WritePNG(filepath.Join(dir, "colours.png"))
	img, _ := sheet.Image()
	fmt.Println(err, img.Bounds().Dx() >= 8*4)
	// Output: <nil> true
}
