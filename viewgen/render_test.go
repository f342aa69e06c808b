package viewgen

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"testing"
)

func TestRenderViewOneChannel(t *testing.T) {
	// L runs from 0 (black) to 100 (white) over the RGB cube.
	v := NewImage(1, 1, 3)
	copy(v.Pix, []float32{0, 50, 100})
	out, err := RenderView(v, Lab, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	for c := range 3 {
		assertClose(t, "rendered L", out.Plane(c), []float32{0, 0.5, 1}, 1e-6)
	}
}

func TestRenderViewColour(t *testing.T) {
	img := smoothImage(4, 4)
	for _, cs := range []ColorSpace{YDbDr, Lab, YCbCr} {
		conv, _ := cs.Convert(img)
		// All three channels give back the image.
		full, err := RenderView(conv, cs, []int{0, 1, 2})
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, cs.String()+" three channels", full.Pix, img.Pix, 1e-5)
		// The chroma of a grey image, drawn at mid-grey luma, is mid grey.
		grey, _ := cs.Convert(constImage(3, 2, 2, 0.8))
		chroma, err := RenderView(pickChannels(grey, []int{1, 2}), cs, []int{1, 2})
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, cs.String()+" grey chroma", chroma.Pix, constImage(3, 2, 2, 0.5).Pix, 1e-5)
	}
	if _, err := RenderView(NewImage(2, 2, 2), Lab, []int{0}); err == nil {
		t.Error("RenderView with fewer indices than channels succeeded")
	}
	if _, err := RenderView(NewImage(2, 2, 2), Lab, []int{1, 1}); err == nil {
		t.Error("RenderView with a repeated channel succeeded")
	}
}

func TestRenderScaled(t *testing.T) {
	v := NewImage(2, 1, 3)
	copy(v.Pix, []float32{-2, 0, 2, 5, 5, 5})
	out, err := RenderScaled(v)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0.5, 1, 0, 0, 0, 0.5, 0.5, 0.5}
	assertClose(t, "scaled two channels", out.Pix, want, 1e-6)
}

func TestPreviewSpec(t *testing.T) {
	src := smoothImage(24, 32)
	spec, _ := ParseSpec("lab:0|1,2+crop=0.3+flip+jitter")
	img, err := PreviewSpec(src, spec, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Five columns of 32 px and three rows of 24 px, with gaps and labels.
	b := img.Bounds()
	if b.Dx() != 5*32+6*gridGap || b.Dy() < 3*24 {
		t.Errorf("preview is %v", b)
	}
	// The input sits in the first row, the second row's first cell is blank.
	if countInk(img, image.Rect(gridGap, b.Dy()-24-gridGap, gridGap+32, b.Dy()-gridGap)) != 0 {
		t.Error("the input is repeated in the last row")
	}
	if _, err := PreviewSpec(src, spec, 0, 1); err == nil {
		t.Error("PreviewSpec with no draws succeeded")
	}
}

// countInk counts the pixels in r that differ from the grid background.
func countInk(img *image.RGBA, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) != gridBackground {
				n++
			}
		}
	}
	return n
}

func TestPreviewSpaces(t *testing.T) {
	img, err := PreviewSpaces(smoothImage(16, 20))
	if err != nil {
		t.Fatal(err)
	}
	// A row for the input and one for each space.
	if h := img.Bounds().Dy(); h < 13*16 {
		t.Errorf("preview is %d px tall for 13 rows of 16 px", h)
	}
}

func TestPreviewMapped(t *testing.T) {
	src := smoothImage(12, 12)
	calls := 0
	swap := func(img Image) (Image, error) {
		calls++
		out := NewImage(3, img.H, img.W)
		copy(out.Plane(0), img.Plane(2))
		copy(out.Plane(1), img.Plane(0))
		copy(out.Plane(2), img.Plane(1))
		return out, nil
	}
	if _, err := PreviewMapped(src, "swap", swap, DefaultSplit()); err != nil || calls != 1 {
		t.Errorf("PreviewMapped: %v after %d calls", err, calls)
	}
	broken := func(Image) (Image, error) { return Image{}, errors.New("no weights") }
	if _, err := PreviewMapped(src, "flow", broken, DefaultSplit()); err == nil || !strings.Contains(err.Error(), "flow: no weights") {
		t.Errorf("failing generator: error = %v", err)
	}
	grey := func(img Image) (Image, error) { return NewImage(1, img.H, img.W), nil }
	if _, err := PreviewMapped(src, "grey", grey, DefaultSplit()); err == nil || !strings.Contains(err.Error(), "1 channels") {
		t.Errorf("1-channel generator: error = %v", err)
	}
}

func TestDrawText(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 60, 20))
	draw.Draw(img, img.Bounds(), image.NewUniform(gridBackground), image.Point{}, draw.Src)
	drawText(img, 0, 0, "Lab", color.RGBA{255, 255, 255, 255})
	if countInk(img, image.Rect(0, 0, 21, labelHeight)) == 0 {
		t.Error("drawText drew nothing")
	}
	if countInk(img, image.Rect(21, 0, 60, 20)) != 0 {
		t.Error("drawText drew past the three 7-pixel cells of Lab")
	}
	if w := textWidth("Lab"); w != 21 {
		t.Errorf("textWidth(Lab) = %d, want 21", w)
	}
	for _, tt := range []struct {
		in    string
		width int
		want  string
	}{
		{"short", 70, "short"},
		{"a long label", 70, "a long ..."}, // ten 7-pixel cells
	} {
		if got := fitText(tt.in, tt.width); got != tt.want {
			t.Errorf("fitText(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}
