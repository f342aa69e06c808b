package preview

import (
	"image"
	"image/color"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Text is drawn in basicfont's 7×13 face, one line every lineH pixels.
var face = basicfont.Face7x13

const (
	advance = 7
	lineH   = 14
	ascent  = 11
)

// printable replaces the characters the face lacks by '?'.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if _, ok := face.GlyphAdvance(r); !ok {
			return '?'
		}
		return r
	}, s)
}

// TextWidth is the width in pixels of the longest line of s drawn at scale.
func TextWidth(s string, scale int) int {
	w := 0
	for _, line := range strings.Split(s, "\n") {
		w = max(w, len([]rune(line))*advance*scale)
	}
	return w
}

// TextHeight is the height in pixels of s drawn at scale.
func TextHeight(s string, scale int) int {
	return len(strings.Split(s, "\n")) * lineH * scale
}

// DrawText draws s with its top-left corner at (x, y), each font pixel a
// scale×scale square; '\n' starts a new line and characters the font lacks
// show as '?'.
func DrawText(img *image.RGBA, x, y int, s string, c color.Color, scale int) {
	scale = max(scale, 1)
	for k, line := range strings.Split(s, "\n") {
		line = printable(line)
		top := y + k*lineH*scale
		if scale == 1 {
			d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, top+ascent)}
			d.DrawString(line)
			continue
		}
		// Draw at the face's size, then enlarge pixel by pixel.
		small := image.NewAlpha(image.Rect(0, 0, TextWidth(line, 1), lineH))
		d := font.Drawer{Dst: small, Src: image.Opaque, Face: face, Dot: fixed.P(0, ascent)}
		d.DrawString(line)
		b := small.Bounds()
		for sy := b.Min.Y; sy < b.Max.Y; sy++ {
			for sx := b.Min.X; sx < b.Max.X; sx++ {
				if small.AlphaAt(sx, sy).A < 128 {
					continue
				}
				for dy := range scale {
					for dx := range scale {
						img.Set(x+sx*scale+dx, top+sy*scale+dy, c)
					}
				}
			}
		}
	}
}
