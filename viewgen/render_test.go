package viewgen

import (
	"errors"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/chw"
)

func TestRenderViewOneChannel(t *testing.T) {
	// L runs from 0 (black) to 100 (white) over the RGB cube.
	v := chw.New(1, 1, 3)
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
	if _, err := RenderView(chw.New(2, 2, 2), Lab, []int{0}); err == nil {
		t.Error("RenderView with fewer indices than channels succeeded")
	}
	if _, err := RenderView(chw.New(2, 2, 2), Lab, []int{1, 1}); err == nil {
		t.Error("RenderView with a repeated channel succeeded")
	}
}

func TestRenderScaled(t *testing.T) {
	v := chw.New(2, 1, 3)
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
	g, err := previewSpecGrid(src, spec, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Three rows of five cells: the input (first row only), then the
	// augmented image and the view of v1 and of v2.
	if len(g.Rows) != 3 {
		t.Fatalf("%d rows, want 3", len(g.Rows))
	}
	for r, row := range g.Rows {
		if len(row.Cells) != 5 {
			t.Fatalf("row %d has %d cells, want 5", r, len(row.Cells))
		}
		if blank := row.Cells[0].Image == nil; blank != (r > 0) {
			t.Errorf("row %d: input cell blank = %v", r, blank)
		}
		for c, cell := range row.Cells[1:] {
			if cell.Image == nil || cell.Image.Bounds().Dx() != 32 || cell.Image.Bounds().Dy() != 24 {
				t.Errorf("row %d cell %d is not a 32×24 image", r, c+1)
			}
		}
	}
	if got := g.Rows[0].Cells[4].Caption; got != "v2 a,b" {
		t.Errorf("v2's caption is %q, want %q", got, "v2 a,b")
	}
	img, err := PreviewSpec(src, spec, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 5*32 || b.Dy() < 3*24 {
		t.Errorf("preview is %v", b)
	}
	if _, err := PreviewSpec(src, spec, 0, 1); err == nil {
		t.Error("PreviewSpec with no draws succeeded")
	}
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
	swap := func(img chw.Image) (chw.Image, error) {
		calls++
		out := chw.New(3, img.H, img.W)
		copy(out.Plane(0), img.Plane(2))
		copy(out.Plane(1), img.Plane(0))
		copy(out.Plane(2), img.Plane(1))
		return out, nil
	}
	if _, err := PreviewMapped(src, "swap", swap, DefaultSplit()); err != nil || calls != 1 {
		t.Errorf("PreviewMapped: %v after %d calls", err, calls)
	}
	broken := func(chw.Image) (chw.Image, error) { return chw.Image{}, errors.New("no weights") }
	if _, err := PreviewMapped(src, "flow", broken, DefaultSplit()); err == nil || !strings.Contains(err.Error(), "flow: no weights") {
		t.Errorf("failing generator: error = %v", err)
	}
	grey := func(img chw.Image) (chw.Image, error) { return chw.New(1, img.H, img.W), nil }
	if _, err := PreviewMapped(src, "grey", grey, DefaultSplit()); err == nil || !strings.Contains(err.Error(), "1 channels") {
		t.Errorf("1-channel generator: error = %v", err)
	}
}
