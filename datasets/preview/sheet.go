// Package preview draws sheets of labelled sample images from the data sets,
// written as PNG with the standard library, labelled in basicfont. It
// owns the layout (a title, rows with labels, captioned cells) and the
// sheets of each data set: a grid by class, and for Colorful-Moving-MNIST the
// first-view frames beside a second view for each set of shared factors.
package preview

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"

	"github.com/learnviews/learnviews/datasets"
)

// Cell is one image with a caption below it.
type Cell struct {
	Pix     []float32      // CHW in [0,1]: one channel (grey) or three (RGB)
	Shape   datasets.Shape // its shape
	Caption string         // may hold '\n'
}

// Row is a labelled row of cells.
type Row struct {
	Label string
	Cells []Cell
}

// Sheet is a titled grid of rows.
type Sheet struct {
	Title string
	Notes string // lines under the title
	Scale int    // each image pixel drawn as Scale×Scale; 0 means 1
	Rows  []Row
}

var (
	paper = color.RGBA{0xf4, 0xf4, 0xf0, 0xff}
	ink   = color.RGBA{0x20, 0x20, 0x20, 0xff}
	faint = color.RGBA{0x60, 0x60, 0x60, 0xff}
)

const margin = 8

// Image lays the sheet out and draws it.
func (s *Sheet) Image() (*image.RGBA, error) {
	scale := max(s.Scale, 1)
	labelW, cellW, imgH, capH, cols := 0, 0, 0, 0, 0
	for _, r := range s.Rows {
		labelW = max(labelW, TextWidth(r.Label, 1))
		cols = max(cols, len(r.Cells))
		for _, c := range r.Cells {
			if c.Shape.C != 1 && c.Shape.C != 3 || len(c.Pix) != c.Shape.Size() {
				return nil, fmt.Errorf("preview: cell %q: %d values of shape %v, want 1 or 3 channels", c.Caption, len(c.Pix), c.Shape)
			}
			cellW = max(cellW, c.Shape.W*scale, TextWidth(c.Caption, 1))
			imgH = max(imgH, c.Shape.H*scale)
			if c.Caption != "" {
				capH = max(capH, TextHeight(c.Caption, 1))
			}
		}
	}
	if labelW > 0 {
		labelW += margin
	}
	headH := 0
	if s.Title != "" {
		headH += TextHeight(s.Title, 2)
	}
	if s.Notes != "" {
		headH += TextHeight(s.Notes, 1)
	}
	if headH > 0 {
		headH += margin
	}
	rowH := imgH + capH + margin
	w := 2*margin + labelW + cols*(cellW+margin) - margin
	w = max(w, 2*margin+TextWidth(s.Title, 2), 2*margin+TextWidth(s.Notes, 1))
	h := 2*margin + headH + len(s.Rows)*rowH - margin
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(paper), image.Point{}, draw.Src)

	y := margin
	if s.Title != "" {
		DrawText(img, margin, y, s.Title, ink, 2)
		y += TextHeight(s.Title, 2)
	}
	if s.Notes != "" {
		DrawText(img, margin, y, s.Notes, faint, 1)
		y += TextHeight(s.Notes, 1)
	}
	if headH > 0 {
		y += margin
	}
	for _, r := range s.Rows {
		DrawText(img, margin, y+(imgH-TextHeight(r.Label, 1))/2, r.Label, ink, 1)
		x := margin + labelW
		for _, c := range r.Cells {
			drawCell(img, x+(cellW-c.Shape.W*scale)/2, y, c, scale)
			DrawText(img, x+(cellW-TextWidth(c.Caption, 1))/2, y+c.Shape.H*scale+2, c.Caption, ink, 1)
			x += cellW + margin
		}
		y += rowH
	}
	return img, nil
}

// drawCell paints an image with its top-left corner at (x0, y0).
func drawCell(img *image.RGBA, x0, y0 int, c Cell, scale int) {
	plane := c.Shape.H * c.Shape.W
	at := func(ch, y, x int) uint8 {
		if c.Shape.C == 1 {
			ch = 0
		}
		return uint8(min(max(c.Pix[ch*plane+y*c.Shape.W+x], 0), 1)*255 + 0.5)
	}
	for y := range c.Shape.H * scale {
		for x := range c.Shape.W * scale {
			yy, xx := y/scale, x/scale
			img.SetRGBA(x0+x, y0+y, color.RGBA{at(0, yy, xx), at(1, yy, xx), at(2, yy, xx), 0xff})
		}
	}
}

// WritePNG draws the sheet and writes it to path as PNG.
func (s *Sheet) WritePNG(path string) error {
	img, err := s.Image()
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
