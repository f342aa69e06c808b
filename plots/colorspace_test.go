package plots

import (
	"errors"
	"image"
	"image/color"
	"math"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/chw"
)

func identity(rgb []float32, h, w int) ([]float32, error) {
	return append([]float32(nil), rgb...), nil
}

// uniform returns an h x w CHW image of one RGB colour.
func uniform(h, w int, r, g, b float32) chw.Image {
	img := chw.New(3, h, w)
	for p := range h * w {
		img.Pix[p], img.Pix[h*w+p], img.Pix[2*h*w+p] = r, g, b
	}
	return img
}

// cellPixel returns the colour at fractional position (fx, fy) of a cell.
func cellPixel(img image.Image, r image.Rectangle, fx, fy float64) color.RGBA {
	x := r.Min.X + int(fx*float64(r.Dx()-1))
	y := r.Min.Y + int(fy*float64(r.Dy()-1))
	c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
	return c
}

func grey(v uint8) color.RGBA { return color.RGBA{v, v, v, 255} }

func TestColorSpaceGridIdentity(t *testing.T) {
	samples := []chw.Image{uniform(2, 3, 1, 0.5, 0), uniform(2, 3, 0, 0.25, 1)}
	grid, err := ColorSpaceGrid(identity, samples, ColorSpaceOptions{CubeBlue: []float64{0, 1}, CubeSize: 8, CellSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []string{"sample 1", "sample 2", "RGB, B=0", "RGB, B=1"}
	var labels []string
	for _, r := range grid.Rows {
		labels = append(labels, r.Label)
	}
	if strings.Join(labels, "|") != strings.Join(wantRows, "|") || len(grid.Rows) != 4 || len(grid.Rows[0].Cells) != 6 {
		t.Fatalf("rows %q, %d x %d cells", labels, len(grid.Rows), len(grid.Rows[0].Cells))
	}
	img, err := grid.Render()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what     string
		row, col int
		fx, fy   float64
		want     color.RGBA
	}{
		// Samples: the input as is; each channel min-max normalised over both
		// samples, so the larger value is white and the smaller black.
		{"sample 1 input", 0, 0, .5, .5, color.RGBA{255, 128, 0, 255}},
		{"sample 1 R (max)", 0, 1, .5, .5, grey(255)},
		{"sample 2 R (min)", 1, 1, .5, .5, grey(0)},
		{"sample 1 G (max)", 0, 2, .5, .5, grey(255)},
		{"sample 2 G (min)", 1, 2, .5, .5, grey(0)},
		{"sample 1 B (min)", 0, 3, .5, .5, grey(0)},
		{"sample 2 view 1 = channel 0", 1, 4, .5, .5, grey(0)},
		// Cube slices: red grows to the right, green upwards, blue by slice.
		{"cube B=0 input bottom-left", 2, 0, 0, 1, color.RGBA{0, 0, 0, 255}},
		{"cube B=0 input top-right", 2, 0, 1, 0, color.RGBA{255, 255, 0, 255}},
		{"cube B=1 input bottom-right", 3, 0, 1, 1, color.RGBA{255, 0, 255, 255}},
		{"cube R at left", 2, 1, 0, .5, grey(0)},
		{"cube R at right", 2, 1, 1, .5, grey(255)},
		{"cube G at bottom", 3, 2, .5, 1, grey(0)},
		{"cube G at top", 3, 2, .5, 0, grey(255)},
		{"cube B=0 blue", 2, 3, .5, .5, grey(0)},
		{"cube B=1 blue", 3, 3, .5, .5, grey(255)},
		{"cube view 1 at right", 3, 4, 1, .5, grey(255)},
		// View 2 = (G, B) as opponent colours.
		{"view 2, G=0 B=0", 2, 5, .5, 1, opponentColor(0, 0)},
		{"view 2, G=1 B=1", 3, 5, .5, 0, opponentColor(1, 1)},
	}
	for _, c := range checks {
		if got := cellPixel(img, grid.CellRect(c.row, c.col), c.fx, c.fy); !near(got, c.want, 2) {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
}

func TestOpponentColor(t *testing.T) {
	mid := opponentColor(0.5, 0.5)
	if max(mid.R, mid.G, mid.B)-min(mid.R, mid.G, mid.B) > 2 || mid.R < 140 || mid.R > 170 {
		t.Errorf("neutral point %v, want a mid grey (L* = 65)", mid)
	}
	tests := []struct {
		name   string
		n1, n2 float64
		check  func(c color.RGBA) bool
	}{
		{"high channel 1 is red-magenta", 1, 0.5, func(c color.RGBA) bool { return c.R > c.G+60 }},
		{"low channel 1 is green", 0, 0.5, func(c color.RGBA) bool { return c.G > c.R+60 }},
		{"high channel 2 is yellow", 0.5, 1, func(c color.RGBA) bool { return c.R > c.B+60 && c.G > c.B+60 }},
		{"low channel 2 is blue", 0.5, 0, func(c color.RGBA) bool { return c.B > c.R+60 && c.B > c.G+20 }},
	}
	for _, tc := range tests {
		if c := opponentColor(tc.n1, tc.n2); !tc.check(c) {
			t.Errorf("%s: got %v", tc.name, c)
		}
	}
}

func TestColorSpaceGridNormalisesAcrossSamples(t *testing.T) {
	// A transform with a huge range and a constant channel.
	g := func(rgb []float32, h, w int) ([]float32, error) {
		out := make([]float32, len(rgb))
		for i := range h * w {
			out[i] = 1000 * rgb[i]
			out[h*w+i] = -5
			out[2*h*w+i] = rgb[i] - rgb[h*w+i]
		}
		return out, nil
	}
	samples := []chw.Image{uniform(1, 1, 0.2, 0, 0), uniform(1, 1, 0.4, 0, 0), uniform(1, 1, 0.8, 0, 0)}
	grid, err := ColorSpaceGrid(g, samples, ColorSpaceOptions{CubeBlue: []float64{}})
	if err != nil {
		t.Fatal(err)
	}
	img := must(grid.Render())
	want := []uint8{0, 85, 255} // 0.2, 0.4, 0.8 min-max normalised
	for i, v := range want {
		if got := cellPixel(img, grid.CellRect(i, 1), .5, .5); !near(got, grey(v), 1) {
			t.Errorf("sample %d channel 0: %v, want grey %d", i+1, got, v)
		}
		if got := cellPixel(img, grid.CellRect(i, 2), .5, .5); !near(got, grey(128), 1) {
			t.Errorf("sample %d constant channel: %v, want mid grey", i+1, got)
		}
	}
	if len(grid.Rows) != 3 {
		t.Errorf("%d rows, want 3 (no cube slices)", len(grid.Rows))
	}
}

func TestColorSpaceGridErrors(t *testing.T) {
	boom := errors.New("boom")
	ok := []chw.Image{uniform(2, 2, 0, 0, 0)}
	tests := []struct {
		name    string
		g       Transform
		samples []chw.Image
		opt     ColorSpaceOptions
		wantErr string
		wantIs  error
	}{
		{name: "nil transform", samples: ok, wantErr: "transform is nil"},
		{name: "transform fails", g: func([]float32, int, int) ([]float32, error) { return nil, boom }, samples: ok,
			wantErr: "transform of sample 0: boom", wantIs: boom},
		{name: "wrong output length", g: func(rgb []float32, h, w int) ([]float32, error) { return rgb[:h*w], nil }, samples: ok,
			wantErr: "transform of sample 0 returned 4 values, want 12"},
		{name: "NaN output", g: func(rgb []float32, h, w int) ([]float32, error) {
			out := append([]float32(nil), rgb...)
			out[h*w+3] = float32(math.NaN())
			return out, nil
		}, samples: ok, wantErr: "transform of sample 0: channel 1 at pixel 3 is NaN"},
		{name: "sample of the wrong size", g: identity, samples: []chw.Image{ok[0], {C: 3, Pix: make([]float32, 5), H: 1, W: 2}},
			wantErr: "sample 1: image has shape 3×1×2 but 5 values"},
		{name: "cube fails too", g: func(rgb []float32, h, w int) ([]float32, error) {
			if h == 8 {
				return nil, boom
			}
			return rgb, nil
		}, samples: ok, opt: ColorSpaceOptions{CubeSize: 8}, wantErr: "transform of cube slice B=0: boom"},
		{name: "cube too small", g: identity, opt: ColorSpaceOptions{CubeSize: 1}, wantErr: "cube size 1"},
		{name: "nothing to draw", g: identity, opt: ColorSpaceOptions{CubeBlue: []float64{}}, wantIs: ErrNoData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ColorSpaceGrid(tc.g, tc.samples, tc.opt)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tc.wantIs)
			}
		})
	}
}

func TestCubeSlice(t *testing.T) {
	s := CubeSlice(3, 0.25)
	hw := 9
	// Pixel (x=2, y=0) is the top right: R = 1, G = 1.
	if r, g, b := s.Pix[2], s.Pix[hw+2], s.Pix[2*hw+2]; r != 1 || g != 1 || b != 0.25 {
		t.Errorf("top right = (%v, %v, %v)", r, g, b)
	}
	// Pixel (x=0, y=2) is the bottom left: R = 0, G = 0.
	if r, g := s.Pix[6], s.Pix[hw+6]; r != 0 || g != 0 {
		t.Errorf("bottom left = (%v, %v)", r, g)
	}
	if s.Pix[hw+4] != 0.5 {
		t.Errorf("centre green %v", s.Pix[hw+4])
	}
}
