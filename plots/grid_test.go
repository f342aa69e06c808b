package plots

import (
	"image"
	"image/color"
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
func darkPixels(img image.Image, r image.Rectangle) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr+cg+cb < 3*0x8000 {
				n++
			}
		}
	}
	return n
}

func TestImageGridRender(t *testing.T) {
	red, green, blue := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 255, 0, 255}, color.RGBA{0, 0, 255, 255}
	white := color.RGBA{255, 255, 255, 255}
	g := &ImageGrid{
		Title:        "a grid",
		ColumnLabels: []string{"first", "second", "a label far too long to fit above its column"},
		RowLabels:    []string{"row one", "row two"},
		Cells: [][]image.Image{
			{solid(4, 4, red), solid(8, 2, green), nil},
			{solid(2, 8, blue)},
		},
		CellSize: 40,
	}
	img, err := g.Render()
	if err != nil {
		t.Fatal(err)
	}
	last := g.CellRect(1, 2)
	if b := img.Bounds(); b.Max.X < last.Max.X || b.Max.Y != last.Max.Y+gridMargin {
		t.Errorf("image %v does not end a margin after the last cell %v", b, last)
	}
	cells := []struct {
		row, col  int
		centre    color.RGBA
		top, left color.RGBA // pixels just inside the cell's top-centre and left-centre edges
	}{
		{0, 0, red, red, red},       // square: fills the cell
		{0, 1, green, white, green}, // wide: letterboxed above and below
		{0, 2, white, white, white}, // nil: blank
		{1, 0, blue, blue, white},   // tall: pillarboxed left and right
		{1, 1, white, white, white}, // ragged row: blank
	}
	for _, c := range cells {
		r := g.CellRect(c.row, c.col)
		if r.Dx() != 40 || r.Dy() != 40 {
			t.Fatalf("cell (%d,%d) is %v, want 40x40", c.row, c.col, r.Size())
		}
		mid := r.Min.Add(image.Pt(20, 20))
		checks := []struct {
			name string
			at   image.Point
			want color.RGBA
		}{{"centre", mid, c.centre}, {"top", image.Pt(mid.X, r.Min.Y+1), c.top}, {"left", image.Pt(r.Min.X+1, mid.Y), c.left}}
		for _, ch := range checks {
			if got := img.At(ch.at.X, ch.at.Y); !near(got, ch.want, 0) {
				t.Errorf("cell (%d,%d) %s pixel %v = %v, want %v", c.row, c.col, ch.name, ch.at, got, ch.want)
			}
		}
	}
	// Labels are drawn: text above the columns, left of the rows, and the
	// title at the top; nothing between the cells.
	first, rowTwo := g.CellRect(0, 0), g.CellRect(1, 0)
	if n := darkPixels(img, image.Rect(first.Min.X, first.Min.Y-16, first.Max.X, first.Min.Y)); n < 10 {
		t.Errorf("column label: %d dark pixels", n)
	}
	if n := darkPixels(img, image.Rect(0, rowTwo.Min.Y, rowTwo.Min.X, rowTwo.Max.Y)); n < 10 {
		t.Errorf("row label: %d dark pixels", n)
	}
	if n := darkPixels(img, image.Rect(0, 0, img.Bounds().Dx(), gridMargin+14)); n < 10 {
		t.Errorf("title: %d dark pixels", n)
	}
	// The long label is cut to its column: nothing dark right of the grid.
	third := g.CellRect(0, 2)
	if n := darkPixels(img, image.Rect(third.Max.X+gridGap, 0, img.Bounds().Max.X, third.Min.Y)); n != 0 {
		t.Errorf("long column label spills right of its column: %d dark pixels", n)
	}

	bare := &ImageGrid{Cells: [][]image.Image{{solid(4, 4, red)}}}
	bareImg, err := bare.Render()
	if err != nil {
		t.Fatal(err)
	}
	if r := bare.CellRect(0, 0); r != image.Rect(gridMargin, gridMargin, gridMargin+96, gridMargin+96) {
		t.Errorf("unlabelled grid cell at %v", r)
	}
	if b := bareImg.Bounds(); b.Dx() != 96+2*gridMargin || b.Dy() != 96+2*gridMargin {
		t.Errorf("unlabelled grid is %v", b.Size())
	}
}

func TestImageGridErrors(t *testing.T) {
	one := [][]image.Image{{solid(2, 2, color.RGBA{A: 255})}}
	tests := []struct {
		name    string
		grid    ImageGrid
		wantErr string
	}{
		{"no rows", ImageGrid{}, "no cells"},
		{"empty rows", ImageGrid{Cells: [][]image.Image{{}, {}}}, "no cells"},
		{"too many column labels", ImageGrid{Cells: one, ColumnLabels: []string{"a", "b"}}, "2 column labels for 1 columns"},
		{"too many row labels", ImageGrid{Cells: one, RowLabels: []string{"a", "b"}}, "2 row labels for 1 rows"},
		{"negative cell size", ImageGrid{Cells: one, CellSize: -3}, "cell size -3"},
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

func TestSavePNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.png")
	if err := SavePNG(path, solid(3, 2, color.RGBA{1, 2, 3, 255})); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, must(os.ReadFile(path)))
	if img.Bounds().Dx() != 3 || !near(img.At(2, 1), color.RGBA{1, 2, 3, 255}, 0) {
		t.Errorf("read back %v, %v", img.Bounds(), img.At(2, 1))
	}
	if err := SavePNG(filepath.Join(dir, "no/such/dir.png"), img); err == nil || !strings.Contains(err.Error(), "dir.png") {
		t.Errorf("error %v", err)
	}
}
