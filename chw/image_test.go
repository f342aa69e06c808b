package chw

import (
	"image"
	"image/color"
	"testing"
)

func TestFromImageAndBack(t *testing.T) {
	src := image.NewNRGBA(image.Rect(2, 3, 5, 5)) // not at the origin
	src.SetNRGBA(2, 3, color.NRGBA{255, 0, 0, 255})
	src.SetNRGBA(4, 4, color.NRGBA{0, 51, 255, 255})
	img := FromImage(src)
	if img.C != 3 || img.H != 2 || img.W != 3 {
		t.Fatalf("FromImage gave %d×%d×%d, want 3×2×3", img.C, img.H, img.W)
	}
	if img.At(0, 0, 0) != 1 || img.At(1, 0, 0) != 0 || img.At(1, 1, 2) != 0.2 || img.At(2, 1, 2) != 1 {
		t.Errorf("pixels = %v", img.Pix)
	}
	back, err := img.RGBA()
	if err != nil {
		t.Fatal(err)
	}
	if got := back.RGBAAt(2, 1); got != (color.RGBA{0, 51, 255, 255}) {
		t.Errorf("round trip of (0, 51, 255) = %v", got)
	}
	// YCbCr (as JPEG decodes) goes through draw's conversion.
	ycc := image.NewYCbCr(image.Rect(0, 0, 2, 2), image.YCbCrSubsampleRatio444)
	for i := range ycc.Y {
		ycc.Y[i], ycc.Cb[i], ycc.Cr[i] = 235, 128, 128
	}
	if got := FromImage(ycc).At(1, 1, 1); got < 0.9 {
		t.Errorf("YCbCr white read as %v", got)
	}
	grey := constImage(1, 1, 1, 1.5)
	if g, err := grey.RGBA(); err != nil || g.RGBAAt(0, 0) != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("grey 1.5 drawn as %v, %v; want clipped white", g.RGBAAt(0, 0), err)
	}
	if _, err := New(2, 1, 1).RGBA(); err == nil {
		t.Error("drawing a 2-channel image succeeded")
	}
}

func constImage(c, h, w int, vals ...float32) Image {
	img := New(c, h, w)
	for k := range c {
		p := img.Plane(k)
		for i := range p {
			p[i] = vals[k%len(vals)]
		}
	}
	return img
}
