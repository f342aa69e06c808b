package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// SweepPoint is one setting of a sweep: its I_NCE and downstream accuracy,
// and optionally their standard deviations over seeds (0 draws no bar).
type SweepPoint struct {
	Label           string // e.g. "Lab" or "offset 16"
	INCE, Accuracy  float64
	INCEStd, AccStd float64
}

// Sweep is a set of points drawn in one style, e.g. one family of views.
type Sweep struct {
	Name   string // legend entry; "" adds none
	Points []SweepPoint
	// Join draws a line through the points in the order given (sweep order).
	Join bool
	// Reference draws the sweep as reference values, e.g. the paper's
	// numbers: grey hollow markers and a dashed join.
	Reference bool
}

// SweepOptions tunes INCEVsAccuracy. Empty labels get defaults.
type SweepOptions struct {
	Title, XLabel, YLabel string
	Width, Height         vg.Length
}

// INCEVsAccuracy draws the paper's central figure: downstream accuracy against
// I_NCE for each sweep, every point labelled, with error bars where standard
// deviations are given. A sweep that is not a reference gets its own colour,
// in order: blue, red, green, orange, purple...
func INCEVsAccuracy(sweeps []Sweep, opt SweepOptions) (*Chart, error) {
	p := newPlot(opt.Title, opt.XLabel, opt.YLabel)
	if p.Title.Text == "" {
		p.Title.Text = "Downstream accuracy against I_NCE"
	}
	if p.X.Label.Text == "" {
		p.X.Label.Text = "I_NCE (nats)"
	}
	if p.Y.Label.Text == "" {
		p.Y.Label.Text = "accuracy"
	}
	p.Legend.Top = false
	entries, colorIndex := 0, 0
	for si, sw := range sweeps {
		name := sw.Name
		if name == "" {
			name = fmt.Sprintf("#%d", si)
		}
		if len(sw.Points) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(sw.Points))
		labels := make([]string, len(sw.Points))
		var xerr plotter.XErrors
		var yerr plotter.YErrors
		for i, pt := range sw.Points {
			for _, v := range []struct {
				key string
				val float64
			}{{"INCE", pt.INCE}, {"Accuracy", pt.Accuracy}, {"INCEStd", pt.INCEStd}, {"AccStd", pt.AccStd}} {
				if !finite(v.val) {
					return nil, fmt.Errorf("plots: sweep %q, point %d (%q): %s is %v", name, i, pt.Label, v.key, v.val)
				}
			}
			if pt.INCEStd < 0 || pt.AccStd < 0 {
				return nil, fmt.Errorf("plots: sweep %q, point %d (%q): negative standard deviation", name, i, pt.Label)
			}
			xys[i] = plotter.XY{X: pt.INCE, Y: pt.Accuracy}
			labels[i] = pt.Label
			xerr = append(xerr, struct{ Low, High float64 }{pt.INCEStd, pt.INCEStd})
			yerr = append(yerr, struct{ Low, High float64 }{pt.AccStd, pt.AccStd})
		}
		col := colorReference
		if !sw.Reference {
			col = palette[colorIndex%len(palette)]
			colorIndex++
		}
		var thumbs []plot.Thumbnailer
		if sw.Join && len(xys) > 1 {
			line, err := plotter.NewLine(xys)
			if err != nil {
				return nil, fmt.Errorf("plots: sweep %q: %w", name, err)
			}
			line.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1.25)}
			if sw.Reference {
				line.Dashes = dashes
			}
			p.Add(line)
			thumbs = append(thumbs, line)
		}
		errStyle := draw.LineStyle{Color: col, Width: vg.Points(1)}
		if hasPositive(xerr) {
			bars, err := plotter.NewXErrorBars(struct {
				plotter.XYs
				plotter.XErrors
			}{xys, xerr})
			if err != nil {
				return nil, fmt.Errorf("plots: sweep %q: %w", name, err)
			}
			bars.LineStyle = errStyle
			p.Add(bars)
		}
		if hasPositive(plotter.XErrors(yerr)) {
			bars, err := plotter.NewYErrorBars(struct {
				plotter.XYs
				plotter.YErrors
			}{xys, yerr})
			if err != nil {
				return nil, fmt.Errorf("plots: sweep %q: %w", name, err)
			}
			bars.LineStyle = errStyle
			p.Add(bars)
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, fmt.Errorf("plots: sweep %q: %w", name, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
		if sw.Reference {
			sc.GlyphStyle.Shape = draw.RingGlyph{}
		}
		p.Add(sc)
		thumbs = append(thumbs, sc)
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return nil, fmt.Errorf("plots: sweep %q: %w", name, err)
		}
		for i := range lab.TextStyle {
			lab.TextStyle[i].Color = col
			lab.TextStyle[i].Font.Size = vg.Points(9)
		}
		lab.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(4)}
		p.Add(lab)
		if sw.Name != "" {
			p.Legend.Add(sw.Name, thumbs...)
			entries++
		}
	}
	if math.IsInf(p.X.Min, 0) || p.X.Min > p.X.Max {
		return nil, fmt.Errorf("plots: I_NCE against accuracy: no sweep has points: %w", ErrNoData)
	}
	padAxis(&p.X, 0.08)
	padAxis(&p.Y, 0.08)
	w, h := 6*vg.Inch, 4.5*vg.Inch
	if opt.Width > 0 {
		w = opt.Width
	}
	if opt.Height > 0 {
		h = opt.Height
	}
	return &Chart{Panels: []*plot.Plot{p}, Width: w, Height: h}, nil
}

func hasPositive(errs plotter.XErrors) bool {
	for _, e := range errs {
		if e.Low > 0 || e.High > 0 {
			return true
		}
	}
	return false
}

// padAxis widens an axis by frac of its span on each side (by a fixed amount
// when the span is zero) so that markers and labels are not cut at the edge.
func padAxis(a *plot.Axis, frac float64) {
	span := a.Max - a.Min
	if span <= 0 {
		span = math.Max(math.Abs(a.Max), 1) * 10 * frac
	}
	a.Min -= span * frac
	a.Max += span * frac
}
