package chw

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// darkPixels counts the pixels of img inside r darker than mid-grey.
func darkPixels(img *image.RGBA, r image.Rectangle) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := img.RGBAAt(x, y)
			if int(c.R)+int(c.G)+int(c.B) < 3*0x80 {
				n++
			}
		}
	}
	return n
}

var (
	red   = color.RGBA{255, 0, 0, 255}
	green = color.RGBA{0, 255, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
	white = color.RGBA{255, 255, 255, 255}
)

// A grid of fixed cells fits each image into its square, keeping its
// aspect ratio; labels and captions go where they belong and no further.
func TestGridFixedCells(t *testing.T) {
	g := &Grid{
		Title:        "a grid",
		ColumnLabels: []string{"first", "second", "a label far too long to fit above its column"},
		Rows: []Row{
			{Label: "row one", Cells: []Cell{{Image: solid(4, 4, red)}, {Image: solid(8, 2, green)}, {}}},
			{Label: "row two", Cells: []Cell{{Image: solid(2, 8, blue), Caption: "tall"}}},
		},
		CellSize: 40,
	}
	img, err := g.Render()
	if err != nil {
		t.Fatal(err)
	}
	cells := []struct {
		row, col  int
		centre    color.RGBA
		top, left color.RGBA // pixels just inside the cell's top-centre and left-centre edges
	}{
		{0, 0, red, red, red},       // square: fills the cell
		{0, 1, green, white, green}, // wide: letterboxed above and below
		{0, 2, white, white, white}, // no image: blank
		{1, 0, blue, blue, white},   // tall: pillarboxed left and right
		{1, 1, white, white, white}, // ragged row: blank
	}
	for _, c := range cells {
		r := g.CellRect(c.row, c.col)
		if r.Dx() != 40 || r.Dy() != 40 {
			t.Fatalf("cell (%d,%d) is %v, want 40x40", c.row, c.col, r.Size())
		}
		mid := r.Min.Add(image.Pt(20, 20))
		for _, ch := range []struct {
			name string
			at   image.Point
			want color.RGBA
		}{{"centre", mid, c.centre}, {"top", image.Pt(mid.X, r.Min.Y+1), c.top}, {"left", image.Pt(r.Min.X+1, mid.Y), c.left}} {
			if got := img.RGBAAt(ch.at.X, ch.at.Y); got != ch.want {
				t.Errorf("cell (%d,%d) %s pixel %v = %v, want %v", c.row, c.col, ch.name, ch.at, got, ch.want)
			}
		}
	}
	first, rowTwo := g.CellRect(0, 0), g.CellRect(1, 0)
	if n := darkPixels(img, image.Rect(first.Min.X, first.Min.Y-16, first.Max.X, first.Min.Y)); n < 10 {
		t.Errorf("column label: %d dark pixels", n)
	}
	if n := darkPixels(img, image.Rect(0, rowTwo.Min.Y, rowTwo.Min.X, rowTwo.Max.Y)); n < 10 {
		t.Errorf("row label: %d dark pixels", n)
	}
	if n := darkPixels(img, image.Rect(0, 0, img.Bounds().Dx(), GridMargin+14)); n < 10 {
		t.Errorf("title: %d dark pixels", n)
	}
	if n := darkPixels(img, image.Rect(rowTwo.Min.X, rowTwo.Max.Y, rowTwo.Max.X, rowTwo.Max.Y+20)); n < 10 {
		t.Errorf("caption: %d dark pixels", n)
	}
	// The long label is cut to its column: nothing dark right of the grid.
	third := g.CellRect(0, 2)
	if n := darkPixels(img, image.Rect(third.Max.X+GridGap, 0, img.Bounds().Max.X, third.Min.Y)); n != 0 {
		t.Errorf("long column label spills right of its column: %d dark pixels", n)
	}
	// The picture ends a margin after the last caption.
	if b := img.Bounds(); b.Max.X < third.Max.X+GridMargin || b.Max.Y <= rowTwo.Max.Y+13 {
		t.Errorf("picture %v does not hold the last cell %v and its caption", b, third)
	}
}

// A grid without a cell size draws each image Scale times its size, each
// cell as wide as its widest image, GridGap apart.
func TestGridScaledCells(t *testing.T) {
	rgb := New(3, 4, 5)
	for i := range 4 * 5 {
		rgb.Pix[i] = 1 // the red plane
	}
	grey := New(1, 4, 5)
	for i := range grey.Pix {
		grey.Pix[i] = 0.5
	}
	a, _ := rgb.RGBA()
	b, _ := grey.RGBA()
	g := &Grid{Scale: 3, Rows: []Row{{Cells: []Cell{{Image: a}, {Image: b}}}}}
	img, err := g.Render()
	if err != nil {
		t.Fatal(err)
	}
	if r := g.CellRect(0, 0); r != image.Rect(GridMargin, GridMargin, GridMargin+15, GridMargin+12) {
		t.Fatalf("first cell at %v", r)
	}
	second := g.CellRect(0, 1)
	if second.Min.X != GridMargin+15+GridGap {
		t.Fatalf("second cell at %v", second)
	}
	if got := img.RGBAAt(GridMargin, GridMargin); got != red {
		t.Errorf("first cell's corner is %v, want red", got)
	}
	if got := img.RGBAAt(GridMargin+14, GridMargin+11); got != red {
		t.Errorf("first cell's far corner is %v, want red", got)
	}
	if got := img.RGBAAt(second.Min.X, second.Min.Y); got != (color.RGBA{128, 128, 128, 255}) {
		t.Errorf("second cell's corner is %v, want mid grey", got)
	}
	if bd := img.Bounds(); bd.Dx() != 2*GridMargin+2*15+GridGap || bd.Dy() != 2*GridMargin+12 {
		t.Errorf("grid is %v", bd)
	}
}

func TestGridErrors(t *testing.T) {
	one := []Row{{Cells: []Cell{{Image: solid(2, 2, red)}}}}
	tests := []struct {
		name    string
		grid    Grid
		wantErr string
	}{
		{"no rows", Grid{}, "no cells"},
		{"empty rows", Grid{Rows: []Row{{}, {}}}, "no cells"},
		{"too many column labels", Grid{Rows: one, ColumnLabels: []string{"a", "b"}}, "2 column labels for 1 columns"},
		{"negative cell size", Grid{Rows: one, CellSize: -3}, "cell size -3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.grid.Render()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
			if r := tc.grid.CellRect(0, 0); !r.Empty() {
				t.Errorf("CellRect of an invalid grid = %v, want empty", r)
			}
		})
	}
}

func TestWritePNG(t *testing.T) {
	dir := t.TempDir()
	g := &Grid{Title: "t", Rows: []Row{{Cells: []Cell{{Image: solid(3, 2, color.RGBA{1, 2, 3, 255})}}}}}
	path := filepath.Join(dir, "x.png")
	if err := g.WritePNG(path); err != nil {
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
	want, _ := g.Render()
	r := g.CellRect(0, 0)
	if img.Bounds() != want.Bounds() || img.At(r.Min.X+2, r.Min.Y+1) != (color.RGBA{1, 2, 3, 255}) {
		t.Errorf("read back %v, %v", img.Bounds(), img.At(r.Min.X+2, r.Min.Y+1))
	}
	if err := SavePNG(filepath.Join(dir, "no/such/dir.png"), img); err == nil || !strings.Contains(err.Error(), "dir.png") {
		t.Errorf("error %v", err)
	}
}

func ExampleGrid() {
	tile := func(c color.RGBA) image.Image { return solid(8, 8, c) }
	grid := &Grid{
		Title:        "views",
		ColumnLabels: []string{"view 1", "view 2"},
		Rows:         []Row{{Label: "sample 1", Cells: []Cell{{Image: tile(color.RGBA{90, 90, 90, 255})}, {Image: tile(color.RGBA{200, 40, 40, 255}), Caption: "red"}}}},
		CellSize:     64,
	}
	img, err := grid.Render()
	if err != nil {
		fmt.Println(err)
		return
	}
	r := grid.CellRect(0, 1)
	fmt.Println(r.Size(), img.At(r.Min.X+32, r.Min.Y+32))
	// Output:
	// (64,64) {200 40 40 255}
}
