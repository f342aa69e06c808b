package main

import (
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/flow"
)

// previewPNG runs views preview --generator on a photo-like image and
// returns the picture.
func previewPNG(t *testing.T, generator string, extra ...string) image.Image {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.png")
	src := chw.New(3, 12, 16)
	for i := range src.Pix {
		src.Pix[i] = float32(i%37) / 36
	}
	pic, err := src.RGBA()
	require.NoError(t, err)
	require.NoError(t, chw.SavePNG(in, pic))
	out := filepath.Join(dir, "out.png")
	args := append([]string{"views", "preview", "--generator", generator, "--in", in, "--out", out, "--size", "0"}, extra...)
	require.NoError(t, execute(t, args...))
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img
}

// cells returns the picture below its title line, as wide as the narrower
// of two pictures: the images and their captions.
func cells(a, b image.Image) (*image.RGBA, *image.RGBA) {
	w := min(a.Bounds().Dx(), b.Bounds().Dx())
	r := image.Rect(0, chw.GridMargin+14, w, a.Bounds().Dy())
	return a.(*image.RGBA).SubImage(r).(*image.RGBA), b.(*image.RGBA).SubImage(r).(*image.RGBA)
}

func samePixels(a, b *image.RGBA) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.RGBAAt(x, y) != b.RGBAAt(x, y) {
				return false
			}
		}
	}
	return true
}

// views preview --generator applies the colour space and the
// standardisation that a run saved inside the generator.
func TestPreviewGeneratorAppliesItsInput(t *testing.T) {
	dir := t.TempDir()
	g, err := flow.New("g", tensor.Float32, flow.Config{Blocks: 2}, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	raw := filepath.Join(dir, "raw.safetensors")
	require.NoError(t, g.Save(raw))
	require.NoError(t, g.SetInput(flow.Input{Space: "ydbdr", Std: [3]float64{1, 1, 1}}))
	plain := filepath.Join(dir, "ydbdr.safetensors")
	require.NoError(t, g.Save(plain))
	require.NoError(t, g.SetInput(flow.Input{Space: "ydbdr", Mean: [3]float64{0.4, 0.1, -0.1}, Std: [3]float64{0.3, 0.6, 0.6}}))
	standardised := filepath.Join(dir, "standardised.safetensors")
	require.NoError(t, g.Save(standardised))

	// A file that records YDbDr draws as an old file read as YDbDr does...
	byFlag, byFile := cells(previewPNG(t, raw, "--input-space", "ydbdr"), previewPNG(t, plain))
	assert.True(t, samePixels(byFlag, byFile), "the recorded space stands in for --input-space")
	rgb, _ := cells(previewPNG(t, raw), previewPNG(t, plain))
	assert.False(t, samePixels(rgb, byFile), "and differs from reading RGB")
	// ...and its standardisation changes what g sees.
	a, b := cells(previewPNG(t, plain), previewPNG(t, standardised))
	assert.False(t, samePixels(a, b), "the statistics are applied")
	// The recorded input wins over the flag.
	b, c := cells(previewPNG(t, standardised), previewPNG(t, standardised, "--input-space", "rgb"))
	assert.True(t, samePixels(b, c))
}
