package plots

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"gonum.org/v1/plot"
	pfont "gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// ImageGrid is a grid of labelled image tiles on a white background: an
// optional title, a label above each column, a label left of each row.
type ImageGrid struct {
	Title        string
	ColumnLabels []string
	RowLabels    []string
	// Cells holds the tiles row by row; rows may be ragged and a nil image
	// leaves its cell blank.
	Cells [][]image.Image
	// CellSize is the side of each square cell in pixels (0 means 96). Each
	// image is scaled, nearest neighbour, to fit its cell, keeping its aspect
	// ratio, and centred in it.
	CellSize int
}

const (
	gridMargin = 8 // around the grid, in pixels
	gridGap    = 4 // between cells
	gridPad    = 6 // between a label and its cells
)

type gridLayout struct {
	cols, cell, lineH, ascent    int
	titleH, colLabelH, rowLabelW int
}

func (g *ImageGrid) layout(face font.Face) (gridLayout, error) {
	l := gridLayout{cell: g.CellSize}
	if l.cell == 0 {
		l.cell = 96
	}
	if l.cell < 0 {
		return l, fmt.Errorf("plots: image grid: cell size %d is negative", g.CellSize)
	}
	for _, row := range g.Cells {
		l.cols = max(l.cols, len(row))
	}
	if len(g.Cells) == 0 || l.cols == 0 {
		return l, errors.New("plots: image grid: no cells")
	}
	if len(g.ColumnLabels) > l.cols {
		return l, fmt.Errorf("plots: image grid: %d column labels for %d columns", len(g.ColumnLabels), l.cols)
	}
	if len(g.RowLabels) > len(g.Cells) {
		return l, fmt.Errorf("plots: image grid: %d row labels for %d rows", len(g.RowLabels), len(g.Cells))
	}
	m := face.Metrics()
	l.ascent = m.Ascent.Ceil()
	l.lineH = m.Height.Ceil()
	if g.Title != "" {
		l.titleH = l.lineH + gridPad
	}
	for _, s := range g.ColumnLabels {
		if s != "" {
			l.colLabelH = l.lineH + gridPad/2
		}
	}
	for _, s := range g.RowLabels {
		l.rowLabelW = max(l.rowLabelW, font.MeasureString(face, s).Ceil()+gridPad)
	}
	return l, nil
}

// CellRect returns where the cell at (row, col) lies in the image Render
// draws, or the empty rectangle when the grid cannot be rendered.
func (g *ImageGrid) CellRect(row, col int) image.Rectangle {
	l, err := g.layout(labelFace())
	if err != nil {
		return image.Rectangle{}
	}
	return l.cellRect(row, col)
}

func (l gridLayout) cellRect(row, col int) image.Rectangle {
	x := gridMargin + l.rowLabelW + col*(l.cell+gridGap)
	y := gridMargin + l.titleH + l.colLabelH + row*(l.cell+gridGap)
	return image.Rect(x, y, x+l.cell, y+l.cell)
}

// Render draws the grid.
func (g *ImageGrid) Render() (*image.RGBA, error) {
	face := labelFace()
	l, err := g.layout(face)
	if err != nil {
		return nil, err
	}
	last := l.cellRect(len(g.Cells)-1, l.cols-1)
	width := max(last.Max.X+gridMargin, gridMargin*2+font.MeasureString(face, g.Title).Ceil())
	dst := image.NewRGBA(image.Rect(0, 0, width, last.Max.Y+gridMargin))
	xdraw.Draw(dst, dst.Bounds(), image.White, image.Point{}, xdraw.Src)

	d := &font.Drawer{Dst: dst, Src: image.NewUniform(color.Black), Face: face}
	text := func(s string, x, y, maxW int) {
		s = fitText(face, s, maxW)
		d.Dot = fixed.P(x, y)
		d.DrawString(s)
	}
	if g.Title != "" {
		text(g.Title, gridMargin, gridMargin+l.ascent, width-2*gridMargin)
	}
	for c, s := range g.ColumnLabels {
		r := l.cellRect(0, c)
		w := font.MeasureString(face, fitText(face, s, l.cell+gridGap)).Ceil()
		text(s, r.Min.X+(l.cell-w)/2, r.Min.Y-gridPad/2-(l.lineH-l.ascent), l.cell+gridGap)
	}
	for r, s := range g.RowLabels {
		rect := l.cellRect(r, 0)
		text(s, gridMargin, rect.Min.Y+(l.cell+l.ascent)/2, l.rowLabelW)
	}
	for r, row := range g.Cells {
		for c, img := range row {
			if img == nil {
				continue
			}
			xdraw.NearestNeighbor.Scale(dst, fitRect(img.Bounds(), l.cellRect(r, c)), img, img.Bounds(), xdraw.Src, nil)
		}
	}
	return dst, nil
}

// fitRect returns the largest rectangle of src's aspect ratio centred in cell.
func fitRect(src, cell image.Rectangle) image.Rectangle {
	sw, sh := src.Dx(), src.Dy()
	if sw <= 0 || sh <= 0 {
		return image.Rectangle{}
	}
	w, h := cell.Dx(), cell.Dy()
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
func fitText(face font.Face, s string, maxW int) string {
	if font.MeasureString(face, s).Ceil() <= maxW {
		return s
	}
	r := []rune(s)
	for len(r) > 0 {
		r = r[:len(r)-1]
		if t := string(r) + "…"; font.MeasureString(face, t).Ceil() <= maxW {
			return t
		}
	}
	return ""
}

// labelFace returns the sans-serif face gonum/plot embeds, at 10 points and
// 96 dots per inch, or a fixed bitmap face if it is missing.
func labelFace() font.Face {
	f := pfont.DefaultCache.Lookup(pfont.Font{Typeface: plot.DefaultFont.Typeface, Variant: "Sans"}, vg.Points(10))
	if f.Face == nil {
		return basicfont.Face7x13
	}
	return f.FontFace(96)
}

// SavePNG writes img to path as PNG.
func SavePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plots: save PNG: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("plots: save %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plots: save %s: %w", path, err)
	}
	return nil
}
