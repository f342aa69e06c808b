package viewgen

import (
	"image"
	"image/color"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// labelFace is the fixed 7×13 bitmap font of the preview labels.
var labelFace = basicfont.Face7x13

// labelHeight is the height in pixels of one line of label text.
var labelHeight = labelFace.Height

// textWidth returns the width in pixels of s drawn in labelFace.
func textWidth(s string) int {
	return font.MeasureString(labelFace, s).Ceil()
}

// drawText draws s in labelFace with the top of its line at y.
func drawText(dst *image.RGBA, x, y int, s string, col color.RGBA) {
	d := font.Drawer{
		Dst:  dst,
		Src:  image.NewUniform(col),
		Face: labelFace,
		Dot:  fixed.P(x, y+labelFace.Ascent),
	}
	d.DrawString(s)
}
