package plots

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ErrNoData is returned (wrapped) by figure builders when the records hold
// nothing they can draw.
var ErrNoData = errors.New("no data to plot")

// Chart is one figure made of one or more plots stacked top to bottom with
// aligned axes, and its size on the page.
type Chart struct {
	Panels        []*plot.Plot
	Width, Height vg.Length
}

// Save writes the chart to path, choosing the format from the extension:
// .png and .svg, and also .pdf, .eps, .jpg/.jpeg and .tif/.tiff.
func (c *Chart) Save(path string) error {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if ext == "" {
		return fmt.Errorf("plots: save %s: no file extension to choose a format from (want .png or .svg)", path)
	}
	var buf bytes.Buffer
	if err := c.Encode(&buf, ext); err != nil {
		return fmt.Errorf("plots: save %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("plots: save chart: %w", err)
	}
	return nil
}

// Encode writes the chart to w in the given format ("png", "svg", ...).
func (c *Chart) Encode(w io.Writer, format string) error {
	if len(c.Panels) == 0 {
		return errors.New("chart has no panels")
	}
	if c.Width <= 0 || c.Height <= 0 {
		return fmt.Errorf("chart size %v x %v is not positive", c.Width, c.Height)
	}
	canvas, err := draw.NewFormattedCanvas(c.Width, c.Height, strings.ToLower(format))
	if err != nil {
		return err
	}
	dc := draw.New(canvas)
	if len(c.Panels) == 1 {
		c.Panels[0].Draw(dc)
	} else {
		rows := make([][]*plot.Plot, len(c.Panels))
		for i, p := range c.Panels {
			rows[i] = []*plot.Plot{p}
		}
		tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadY: vg.Points(6)}
		for i, cv := range plot.Align(rows, tiles, dc) {
			c.Panels[i].Draw(cv[0])
		}
	}
	_, err = canvas.WriteTo(w)
	return err
}

// PNG returns the chart encoded as PNG, at 96 dots per inch.
func (c *Chart) PNG() ([]byte, error) {
	var buf bytes.Buffer
	if err := c.Encode(&buf, "png"); err != nil {
		return nil, fmt.Errorf("plots: encode chart as PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// The colours of the figures. Curves of the two players keep the same colours
// in every figure.
var (
	colorEstimator = color.RGBA{31, 119, 180, 255} // blue
	colorGenerator = color.RGBA{214, 39, 40, 255}  // red
	colorEval      = color.RGBA{44, 160, 44, 255}  // green
	colorBound     = color.RGBA{0, 0, 0, 255}
	colorReference = color.RGBA{110, 110, 110, 255} // grey
	palette        = []color.RGBA{
		colorEstimator, colorGenerator, colorEval,
		{255, 127, 14, 255},  // orange
		{148, 103, 189, 255}, // purple
		{140, 86, 75, 255},   // brown
		{227, 119, 194, 255}, // pink
		{23, 190, 207, 255},  // cyan
	}
)

var (
	lineWidth = vg.Points(1.5)
	dashes    = []vg.Length{vg.Points(6), vg.Points(3)}
)

func faded(c color.RGBA, alpha uint8) color.NRGBA {
	return color.NRGBA{c.R, c.G, c.B, alpha}
}

// newPlot returns a plot with the package's look: title, axis labels, a grid
// and the legend at the top right.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.X.Tick.Marker = plainTicks
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = vg.Points(24)
	return p
}

// plainTicks are gonum/plot's default ticks labelled without trailing zeros
// ("250", not "250.00"), for axes such as steps. Labels are the shortest
// decimal that reads back as the same float32, so that a tick at 1.6+0.8
// reads 2.4, not 2.4000000000000004.
var plainTicks = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'f', -1, 32)
		}
	}
	return ticks
})

// roomForLegend raises the top of the y axis so that a legend with n entries
// at the top of the plot does not cover the data.
func roomForLegend(p *plot.Plot, n int) {
	if n == 0 {
		return
	}
	span := p.Y.Max - p.Y.Min
	if span <= 0 {
		span = 1
	}
	p.Y.Max += span * (0.08 + 0.07*float64(n))
}
