package chw

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Cell is one tile of a Grid: an image with an optional caption below it.
type Cell struct {
	Image   image.Image // nil leaves the cell blank
	Caption string      // may hold '\n'
}

// Row is a row of cells with an optional label on its left.
type Row struct {
	Label string
	Cells []Cell
}

// Grid is a titled grid of captioned images on a white background: the one
// layout of every preview and figure of images. Rows may be ragged.
type Grid struct {
	Title        string
	Notes        string   // lines under the title, in grey
	ColumnLabels []string // a label above each column
	Rows         []Row
	// CellSize > 0 fits each image into a square of that side (nearest
	// neighbour, keeping its aspect ratio, centred). 0 draws each image
	// Scale times its own size (0 means 1), cells as wide as the widest
	// image or caption.
	CellSize int
	Scale    int
}

// Spacing of a grid, in pixels.
const (
	GridMargin = 8 // around the grid
	GridGap    = 8 // between cells
	gridPad    = 4 // between a label and what it labels
)

var (
	gridInk   = color.RGBA{0x10, 0x10, 0x10, 0xff}
	gridFaint = color.RGBA{0x60, 0x60, 0x60, 0xff}
)

// gridFace is the labels' font: a fixed 7×13 bitmap, the same on every
// machine.
var gridFace font.Face = basicfont.Face7x13

type gridLayout struct {
	cols, cellW, imgH, capH, lineH, ascent int
	headH, colLabelH, rowLabelW            int
}

func textWidth(s string) int {
	w := 0
	for _, line := range strings.Split(s, "\n") {
		w = max(w, font.MeasureString(gridFace, line).Ceil())
	}
	return w
}

func lines(s string) int {
	if s == "" {
		return 0
	}
	return strings.Count(s, "\n") + 1
}

func (g *Grid) scale() int { return max(g.Scale, 1) }

func (g *Grid) layout() (gridLayout, error) {
	m := gridFace.Metrics()
	l := gridLayout{lineH: m.Height.Ceil(), ascent: m.Ascent.Ceil()}
	if g.CellSize < 0 || g.Scale < 0 {
		return l, fmt.Errorf("chw: grid: cell size %d and scale %d must not be negative", g.CellSize, g.Scale)
	}
	capLines := 0
	for _, r := range g.Rows {
		l.cols = max(l.cols, len(r.Cells))
		if r.Label != "" {
			l.rowLabelW = max(l.rowLabelW, textWidth(r.Label)+gridPad)
		}
		for _, c := range r.Cells {
			capLines = max(capLines, lines(c.Caption))
			if g.CellSize > 0 {
				continue
			}
			l.cellW = max(l.cellW, textWidth(c.Caption))
			if c.Image != nil {
				b := c.Image.Bounds()
				l.cellW = max(l.cellW, b.Dx()*g.scale())
				l.imgH = max(l.imgH, b.Dy()*g.scale())
			}
		}
	}
	if len(g.Rows) == 0 || l.cols == 0 {
		return l, errors.New("chw: grid: no cells")
	}
	if len(g.ColumnLabels) > l.cols {
		return l, fmt.Errorf("chw: grid: %d column labels for %d columns", len(g.ColumnLabels), l.cols)
	}
	if g.CellSize > 0 {
		l.cellW, l.imgH = g.CellSize, g.CellSize
	}
	if capLines > 0 {
		l.capH = gridPad + capLines*l.lineH
	}
	if n := lines(g.Title) + lines(g.Notes); n > 0 {
		l.headH = n*l.lineH + GridGap
	}
	for _, s := range g.ColumnLabels {
		if s != "" {
			l.colLabelH = l.lineH + gridPad
		}
	}
	return l, nil
}

// CellRect returns where the image of the cell at (row, col) lies in the
// picture Render draws (the caption goes below it), or the empty rectangle
// when the grid cannot be drawn.
func (g *Grid) CellRect(row, col int) image.Rectangle {
	l, err := g.layout()
	if err != nil {
		return image.Rectangle{}
	}
	return l.cellRect(row, col)
}

func (l gridLayout) cellRect(row, col int) image.Rectangle {
	x := GridMargin + l.rowLabelW + col*(l.cellW+GridGap)
	y := GridMargin + l.headH + l.colLabelH + row*(l.imgH+l.capH+GridGap)
	return image.Rect(x, y, x+l.cellW, y+l.imgH)
}

// Render draws the grid.
func (g *Grid) Render() (*image.RGBA, error) {
	l, err := g.layout()
	if err != nil {
		return nil, err
	}
	last := l.cellRect(len(g.Rows)-1, l.cols-1)
	width := max(last.Max.X, GridMargin+textWidth(g.Title), GridMargin+textWidth(g.Notes)) + GridMargin
	dst := image.NewRGBA(image.Rect(0, 0, width, last.Max.Y+l.capH+GridMargin))
	xdraw.Draw(dst, dst.Bounds(), image.White, image.Point{}, xdraw.Src)
	// text draws s with its first line's top at y, each line fitted to
	// maxW (0: no limit) and, with centre, centred on x.
	text := func(s string, x, y, maxW int, centre bool, ink color.Color) {
		d := &font.Drawer{Dst: dst, Src: image.NewUniform(ink), Face: gridFace}
		for i, line := range strings.Split(s, "\n") {
			if maxW > 0 {
				line = fitText(line, maxW)
			}
			lx := x
			if centre {
				lx = x - font.MeasureString(gridFace, line).Ceil()/2
			}
			d.Dot = fixed.P(lx, y+i*l.lineH+l.ascent)
			d.DrawString(line)
		}
	}
	y := GridMargin
	if g.Title != "" {
		text(g.Title, GridMargin, y, 0, false, gridInk)
		y += lines(g.Title) * l.lineH
	}
	if g.Notes != "" {
		text(g.Notes, GridMargin, y, 0, false, gridFaint)
	}
	for c, s := range g.ColumnLabels {
		r := l.cellRect(0, c)
		text(s, r.Min.X+l.cellW/2, r.Min.Y-l.colLabelH, l.cellW+GridGap, true, gridInk)
	}
	for i, row := range g.Rows {
		r := l.cellRect(i, 0)
		text(row.Label, GridMargin, r.Min.Y+(l.imgH-lines(row.Label)*l.lineH)/2, l.rowLabelW, false, gridInk)
		for j, c := range row.Cells {
			r := l.cellRect(i, j)
			if c.Image != nil {
				xdraw.NearestNeighbor.Scale(dst, g.place(c.Image.Bounds(), r), c.Image, c.Image.Bounds(), xdraw.Src, nil)
			}
			if c.Caption != "" {
				maxW := 0
				if g.CellSize > 0 {
					maxW = l.cellW + GridGap
				}
				text(c.Caption, r.Min.X+l.cellW/2, r.Max.Y+gridPad, maxW, true, gridInk)
			}
		}
	}
	return dst, nil
}

// place returns where an image of bounds src goes in cell: fitted to a
// fixed cell, or drawn at the grid's scale, centred across the top.
func (g *Grid) place(src, cell image.Rectangle) image.Rectangle {
	sw, sh := src.Dx(), src.Dy()
	if sw <= 0 || sh <= 0 {
		return image.Rectangle{}
	}
	w, h := cell.Dx(), cell.Dy()
	if g.CellSize == 0 {
		w, h = sw*g.scale(), sh*g.scale()
		x := cell.Min.X + (cell.Dx()-w)/2
		return image.Rect(x, cell.Min.Y, x+w, cell.Min.Y+h)
	}
	if sw*h > sh*w { // wider than the cell
		h = max(1, sh*w/sw)
	} else {
		w = max(1, sw*h/sh)
	}
	x := cell.Min.X + (cell.Dx()-w)/2
	y := cell.Min.Y + (cell.Dy()-h)/2
	return image.Rect(x, y, x+w, y+h)
}

// fitText shortens s with an ellipsis until it is at most maxW pixels wide.
func fitText(s string, maxW int) string {
	if font.MeasureString(gridFace, s).Ceil() <= maxW {
		return s
	}
	r := []rune(s)
	for len(r) > 0 {
		r = r[:len(r)-1]
		if t := string(r) + "..."; font.MeasureString(gridFace, t).Ceil() <= maxW {
			return t
		}
	}
	return ""
}

// WritePNG draws the grid and writes it to path as PNG.
func (g *Grid) WritePNG(path string) error {
	img, err := g.Render()
	if err != nil {
		return err
	}
	return SavePNG(path, img)
}

// SavePNG writes img to path as PNG.
func SavePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chw: save PNG: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("chw: save %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("chw: save %s: %w", path, err)
	}
	return nil
}
