package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/learnviews/learnviews/chw"
)

// Transform maps a 3-channel CHW image of size h x w to g(X), again 3 channels
// CHW of the same size, in any range. It is how a learned view generator is
// handed to ColorSpaceGrid.
type Transform func(rgb []float32, h, w int) ([]float32, error)

// ColorSpaceOptions tunes ColorSpaceGrid.
type ColorSpaceOptions struct {
	Title string
	// CubeBlue lists the blue levels of the RGB-cube slices drawn below the
	// samples; nil means {0, 0.5, 1} and an empty non-nil slice draws none.
	CubeBlue []float64
	// CubeSize is the side, in pixels, of each cube slice fed to g (0 means 32).
	CubeSize int
	// CellSize is the side of each tile in the grid (0 means 96).
	CellSize int
}

// ColorSpaceColumns are the column labels of ColorSpaceGrid.
var ColorSpaceColumns = []string{"input", "g(X)_1", "g(X)_2", "g(X)_3", "view 1", "view 2"}

// ColorSpaceGrid draws what a learned colour transform g does, as in the
// paper's Figure 7. Each row shows, left to right: the input, the three
// channels of g(X) as grey, view 1 = g(X)_1 as grey, and view 2 = g(X)_{2:3}
// as colour. One row per sample comes first, then one row per slice of the RGB
// cube at a fixed blue level, with red increasing to the right and green
// increasing upwards, showing g over the whole gamut.
//
// Each channel of g is min-max normalised to [0, 1] over all samples (and,
// separately, over all cube slices), so greys are comparable across rows of a
// section; a constant channel is drawn mid-grey. View 2 is drawn as an
// opponent-colour pair, like the a*b* plane of CIELAB: its two normalised
// channels n1, n2 become a* = 80(2 n1 - 1) and b* = 80(2 n2 - 1) at lightness
// L* = 65, shown in sRGB (clipped). Equal channels at mid-range are neutral
// grey; high n1 is red-magenta, low n1 green, high n2 yellow, low n2 blue.
func ColorSpaceGrid(g Transform, samples []chw.Image, opt ColorSpaceOptions) (*chw.Grid, error) {
	if g == nil {
		return nil, fmt.Errorf("plots: colour space: transform is nil")
	}
	blues := opt.CubeBlue
	if blues == nil {
		blues = []float64{0, 0.5, 1}
	}
	size := opt.CubeSize
	if size == 0 {
		size = 32
	}
	if size < 2 {
		return nil, fmt.Errorf("plots: colour space: cube size %d, want at least 2", size)
	}
	if len(samples) == 0 && len(blues) == 0 {
		return nil, fmt.Errorf("plots: colour space: no samples and no cube slices: %w", ErrNoData)
	}

	cell := opt.CellSize
	if cell == 0 {
		cell = 96
	}
	grid := &chw.Grid{Title: opt.Title, ColumnLabels: ColorSpaceColumns, CellSize: cell}
	section := func(inputs []chw.Image, rowLabels []string, what func(i int) string) error {
		outs := make([][]float32, len(inputs))
		for i, in := range inputs {
			n := 3 * in.H * in.W
			if err := in.CheckRGB(); err != nil {
				return fmt.Errorf("plots: colour space: %s: %w", what(i), err)
			}
			out, err := g(in.Pix, in.H, in.W)
			if err != nil {
				return fmt.Errorf("plots: colour space: transform of %s: %w", what(i), err)
			}
			if len(out) != n {
				return fmt.Errorf("plots: colour space: transform of %s returned %d values, want %d", what(i), len(out), n)
			}
			for j, v := range out {
				if !finite(float64(v)) {
					return fmt.Errorf("plots: colour space: transform of %s: channel %d at pixel %d is %v", what(i), j/(in.H*in.W), j%(in.H*in.W), v)
				}
			}
			outs[i] = out
		}
		var lo, hi [3]float32
		for c := range 3 {
			lo[c], hi[c] = float32(math.Inf(1)), float32(math.Inf(-1))
			for i, in := range inputs {
				for _, v := range outs[i][c*in.H*in.W : (c+1)*in.H*in.W] {
					lo[c], hi[c] = min(lo[c], v), max(hi[c], v)
				}
			}
		}
		for i, in := range inputs {
			hw := in.H * in.W
			norm := func(c, p int) float64 {
				if hi[c] <= lo[c] {
					return 0.5
				}
				return float64((outs[i][c*hw+p] - lo[c]) / (hi[c] - lo[c]))
			}
			tiles := make([]*image.RGBA, 6)
			for t := range tiles {
				tiles[t] = image.NewRGBA(image.Rect(0, 0, in.W, in.H))
			}
			for p := range hw {
				x, y := p%in.W, p/in.W
				tiles[0].SetRGBA(x, y, color.RGBA{unit8(float64(in.Pix[p])), unit8(float64(in.Pix[hw+p])), unit8(float64(in.Pix[2*hw+p])), 255})
				for c := range 3 {
					v := unit8(norm(c, p))
					tiles[1+c].SetRGBA(x, y, color.RGBA{v, v, v, 255})
				}
				tiles[4].SetRGBA(x, y, tiles[1].RGBAAt(x, y))
				tiles[5].SetRGBA(x, y, opponentColor(norm(1, p), norm(2, p)))
			}
			row := chw.Row{Label: rowLabels[i], Cells: make([]chw.Cell, len(tiles))}
			for t := range tiles {
				row.Cells[t].Image = tiles[t]
			}
			grid.Rows = append(grid.Rows, row)
		}
		return nil
	}

	labels := make([]string, len(samples))
	for i := range samples {
		labels[i] = fmt.Sprintf("sample %d", i+1)
	}
	if err := section(samples, labels, func(i int) string { return fmt.Sprintf("sample %d", i) }); err != nil {
		return nil, err
	}
	slices := make([]chw.Image, len(blues))
	labels = make([]string, len(blues))
	for i, b := range blues {
		slices[i] = CubeSlice(size, b)
		labels[i] = fmt.Sprintf("RGB, B=%g", b)
	}
	if err := section(slices, labels, func(i int) string { return fmt.Sprintf("cube slice B=%g", blues[i]) }); err != nil {
		return nil, err
	}
	return grid, nil
}

// CubeSlice returns the size x size slice of the RGB cube at blue level b:
// red increases to the right from 0 to 1, green increases upwards.
func CubeSlice(size int, b float64) chw.Image {
	img := chw.New(3, size, size)
	hw := size * size
	for y := range size {
		for x := range size {
			p := y*size + x
			img.Pix[p] = float32(x) / float32(size-1)
			img.Pix[hw+p] = float32(size-1-y) / float32(size-1)
			img.Pix[2*hw+p] = float32(b)
		}
	}
	return img
}

func unit8(v float64) uint8 {
	return uint8(math.Round(255 * math.Min(math.Max(v, 0), 1)))
}

// opponentColor maps two values in [0, 1] to an sRGB colour of lightness
// L* = 65 with a* and b* spanning [-80, 80].
func opponentColor(n1, n2 float64) color.RGBA {
	const lightness, chroma = 65.0, 80.0
	a, b := chroma*(2*n1-1), chroma*(2*n2-1)
	// CIELAB to XYZ (D65 white).
	fy := (lightness + 16) / 116
	fx, fz := fy+a/500, fy-b/200
	inv := func(t float64) float64 {
		if t > 6.0/29 {
			return t * t * t
		}
		return 3 * (6.0 / 29) * (6.0 / 29) * (t - 4.0/29)
	}
	x, y, z := 0.95047*inv(fx), inv(fy), 1.08883*inv(fz)
	// XYZ to linear sRGB, then gamma.
	r := 3.2406*x - 1.5372*y - 0.4986*z
	g := -0.9689*x + 1.8758*y + 0.0415*z
	bl := 0.0557*x - 0.2040*y + 1.0570*z
	gamma := func(c float64) uint8 {
		c = math.Min(math.Max(c, 0), 1)
		if c <= 0.0031308 {
			return unit8(12.92 * c)
		}
		return unit8(1.055*math.Pow(c, 1/2.4) - 0.055)
	}
	return color.RGBA{gamma(r), gamma(g), gamma(bl), 255}
}
