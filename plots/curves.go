package plots

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// CurveOptions tunes the training-curve figures.
type CurveOptions struct {
	// Title replaces the figure's default title.
	Title string
	// Stage keeps only rows of this stage ("" keeps all).
	Stage string
	// Smoothing is the weight of the exponential moving average drawn over
	// step rows (see Series.Smooth); the raw values are then drawn faded
	// behind it. 0 draws the raw values only.
	Smoothing float64
	// Width and Height set the figure size; zero keeps the default.
	Width, Height vg.Length
}

// maxCurvePoints bounds the points drawn per curve: longer series are thinned
// (after smoothing) so that figures of long runs stay small, SVG above all.
const maxCurvePoints = 4000

func (o CurveOptions) size(w, h vg.Length) (vg.Length, vg.Length) {
	if o.Width > 0 {
		w = o.Width
	}
	if o.Height > 0 {
		h = o.Height
	}
	return w, h
}

func (o CurveOptions) title(def string) string {
	if o.Title != "" {
		return o.Title
	}
	return def
}

// INCECurves draws I_NCE (key "ince") against step for each player of the
// step rows on one axis: the estimator in blue, the generator in red. When
// rows carry "ince_bound" the ceiling log K is drawn as a dashed black line,
// and eval rows with "ince" are drawn as points joined per split and stage,
// the first such group in green. It returns an error wrapping ErrNoData when
// no row has I_NCE.
func INCECurves(recs Records, opt CurveOptions) (*Chart, error) {
	steps := recs.Where(Match{Kind: "step", Stage: opt.Stage})
	evals := recs.Where(Match{Kind: "eval", Stage: opt.Stage})
	p := newPlot(opt.title("I_NCE between the two views"), "step", "I_NCE (nats)")
	entries := 0
	for i, player := range playersWith(steps, "ince") {
		s := steps.Where(Match{Player: player}).Series("ince")
		if err := addCurve(p, s, curveStyle{color: playerColor(player, i), smoothing: opt.Smoothing}, playerLabel(player)); err != nil {
			return nil, err
		}
		entries++
	}
	for i, grp := range evalGroups(evals, "ince") {
		s := grp.recs.Series("ince")
		if err := addCurve(p, s, curveStyle{color: evalColor(i), points: true}, "eval"+grp.suffix); err != nil {
			return nil, err
		}
		entries++
	}
	if entries == 0 {
		return nil, fmt.Errorf("plots: I_NCE curves: no row has %q: %w", "ince", ErrNoData)
	}
	bound := steps.Series("ince_bound")
	if bound.Len() == 0 {
		bound = evals.Series("ince_bound")
	}
	if bound.Len() > 0 {
		if err := addBound(p, bound); err != nil {
			return nil, err
		}
		entries++
	}
	roomForLegend(p, entries)
	w, h := opt.size(7*vg.Inch, 4*vg.Inch)
	return &Chart{Panels: []*plot.Plot{p}, Width: w, Height: h}, nil
}

// HeadCurves draws the classifier heads: cross-entropies "ce1", "ce2" in a top
// panel and accuracies "acc1", "acc2" in a bottom panel, one colour per head
// (c1 purple, c2 orange), solid for the estimator's rows and dashed for the
// generator's. Eval rows' "probe_acc" and "knn_acc" join the accuracy panel as
// points. A panel with nothing to draw is left out; with neither, the error
// wraps ErrNoData.
func HeadCurves(recs Records, opt CurveOptions) (*Chart, error) {
	steps := recs.Where(Match{Kind: "step", Stage: opt.Stage})
	evals := recs.Where(Match{Kind: "eval", Stage: opt.Stage})
	headColor := map[string]color.RGBA{
		"ce1": palette[4], "acc1": palette[4],
		"ce2": palette[3], "acc2": palette[3],
	}
	panel := func(title, yLabel string, keys []string) (*plot.Plot, int, error) {
		p := newPlot(title, "", yLabel)
		n := 0
		for _, key := range keys {
			for _, player := range playersWith(steps, key) {
				s := steps.Where(Match{Player: player}).Series(key)
				style := curveStyle{color: headColor[key], dashed: player == "generator", smoothing: opt.Smoothing}
				label := key
				if player != "" {
					label += " (" + player + ")"
				}
				if err := addCurve(p, s, style, label); err != nil {
					return nil, 0, err
				}
				n++
			}
		}
		return p, n, nil
	}
	ce, nCE, err := panel(opt.title("Classifier heads"), "cross-entropy (nats)", []string{"ce1", "ce2"})
	if err != nil {
		return nil, err
	}
	acc, nAcc, err := panel("", "accuracy", []string{"acc1", "acc2"})
	if err != nil {
		return nil, err
	}
	evalIndex := 0
	for _, key := range []string{"probe_acc", "knn_acc"} {
		for _, grp := range evalGroups(evals, key) {
			s := grp.recs.Series(key)
			if err := addCurve(acc, s, curveStyle{color: evalColor(evalIndex), points: true}, key+grp.suffix); err != nil {
				return nil, err
			}
			evalIndex++
			nAcc++
		}
	}
	var panels []*plot.Plot
	if nCE > 0 {
		roomForLegend(ce, nCE)
		panels = append(panels, ce)
	}
	if nAcc > 0 {
		// Accuracies rise from the left: the top left corner is free for
		// the legend, and the axis keeps the natural range [0, 1].
		acc.Y.Min = math.Min(acc.Y.Min, 0)
		acc.Y.Max = math.Max(acc.Y.Max, 1)
		acc.Legend.Left = true
		if nCE == 0 {
			acc.Title.Text = opt.title("Classifier heads")
		}
		panels = append(panels, acc)
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("plots: head curves: no row has ce1, ce2, acc1, acc2, probe_acc or knn_acc: %w", ErrNoData)
	}
	shareX(panels)
	panels[len(panels)-1].X.Label.Text = "step"
	w, h := opt.size(7*vg.Inch, vg.Length(len(panels))*3*vg.Inch)
	return &Chart{Panels: panels, Width: w, Height: h}, nil
}

// LRCurve draws the learning rate ("lr") of each player against step on a
// small figure, in the players' colours. The error wraps ErrNoData when no
// step row has "lr".
func LRCurve(recs Records, opt CurveOptions) (*Chart, error) {
	steps := recs.Where(Match{Kind: "step", Stage: opt.Stage})
	p := newPlot(opt.title("Learning rate"), "step", "lr")
	players := playersWith(steps, "lr")
	for i, player := range players {
		s := steps.Where(Match{Player: player}).Series("lr")
		// The schedule is smooth already: never smooth it.
		if err := addCurve(p, s, curveStyle{color: playerColor(player, i)}, playerLabel(player)); err != nil {
			return nil, err
		}
	}
	if len(players) == 0 {
		return nil, fmt.Errorf("plots: learning-rate curve: no step row has %q: %w", "lr", ErrNoData)
	}
	p.Y.Min = math.Min(p.Y.Min, 0)
	roomForLegend(p, len(players))
	w, h := opt.size(7*vg.Inch, 2.5*vg.Inch)
	return &Chart{Panels: []*plot.Plot{p}, Width: w, Height: h}, nil
}

type curveStyle struct {
	color     color.RGBA
	dashed    bool
	points    bool    // draw a marker at each point
	smoothing float64 // EMA weight; 0 for none
}

// addCurve adds s to p in the given style and a legend entry for it.
func addCurve(p *plot.Plot, s Series, st curveStyle, label string) error {
	if s.Len() == 0 {
		return nil
	}
	ls := draw.LineStyle{Color: st.color, Width: lineWidth}
	if st.dashed {
		ls.Dashes = dashes
	}
	shown := s
	if st.smoothing > 0 && s.Len() > 1 {
		raw, err := plotter.NewLine(thin(s, maxCurvePoints))
		if err != nil {
			return fmt.Errorf("plots: curve %q: %w", label, err)
		}
		raw.LineStyle = ls
		raw.Color = faded(st.color, 70)
		raw.Width = vg.Points(1)
		p.Add(raw)
		shown = s.Smooth(st.smoothing)
	}
	shown = thin(shown, maxCurvePoints)
	line, err := plotter.NewLine(shown)
	if err != nil {
		return fmt.Errorf("plots: curve %q: %w", label, err)
	}
	line.LineStyle = ls
	thumbs := []plot.Thumbnailer{line}
	p.Add(line)
	if st.points || s.Len() == 1 {
		sc, err := plotter.NewScatter(shown)
		if err != nil {
			return fmt.Errorf("plots: curve %q: %w", label, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: st.color, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		thumbs = append(thumbs, sc)
	}
	p.Legend.Add(label, thumbs...)
	return nil
}

// thin returns s with at most n points, keeping the first and the last and
// an even stride between.
func thin(s Series, n int) Series {
	if s.Len() <= n || n < 2 {
		return s
	}
	out := Series{Name: s.Name, X: make([]float64, n), Y: make([]float64, n)}
	last := s.Len() - 1
	for i := range n {
		j := i * last / (n - 1)
		out.X[i], out.Y[i] = s.X[j], s.Y[j]
	}
	return out
}

// addBound draws the I_NCE ceiling as a dashed line: across the whole x range
// when it is constant, as a step curve when it changes.
func addBound(p *plot.Plot, bound Series) error {
	xys := plotter.XYs{}
	constant := true
	for _, y := range bound.Y {
		constant = constant && y == bound.Y[0]
	}
	if constant {
		lo, hi := p.X.Min, p.X.Max
		if lo > hi { // nothing else drawn: cannot happen, curves come first
			lo, hi = bound.X[0], bound.X[bound.Len()-1]
		}
		xys = append(xys, plotter.XY{X: lo, Y: bound.Y[0]}, plotter.XY{X: hi, Y: bound.Y[0]})
	} else {
		for i := range bound.X {
			xys = append(xys, plotter.XY{X: bound.X[i], Y: bound.Y[i]})
		}
	}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("plots: I_NCE bound: %w", err)
	}
	line.LineStyle = draw.LineStyle{Color: colorBound, Width: vg.Points(1.25), Dashes: dashes}
	if !constant {
		line.StepStyle = plotter.PostStep
	}
	p.Add(line)
	p.Legend.Add("log K (bound)", line)
	return nil
}

// playersWith returns the players of the rows that have a numeric key: the
// estimator, then the generator, then any others by name ("" last).
func playersWith(recs Records, key string) []string {
	seen := map[string]bool{}
	for _, r := range recs {
		if v, ok := r.Float(key); ok && finite(v) {
			seen[r.Player()] = true
		}
	}
	rank := func(p string) int {
		switch p {
		case "estimator":
			return 0
		case "generator":
			return 1
		case "":
			return 3
		}
		return 2
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return out[i] < out[j]
	})
	return out
}

type evalGroup struct {
	suffix string // legend suffix naming the split and, if several, the stage
	recs   Records
}

// evalGroups splits eval rows that have a numeric key by (stage, split), in
// order of first appearance.
func evalGroups(evals Records, key string) []evalGroup {
	type id struct{ stage, split string }
	var order []id
	groups := map[id]Records{}
	stages := map[string]bool{}
	for _, r := range evals {
		if v, ok := r.Float(key); !ok || !finite(v) {
			continue
		}
		k := id{r.Stage(), r.Split()}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
		stages[k.stage] = true
	}
	out := make([]evalGroup, len(order))
	for i, k := range order {
		var parts []string
		if k.split != "" {
			parts = append(parts, k.split)
		}
		if len(stages) > 1 && k.stage != "" {
			parts = append(parts, k.stage)
		}
		if len(parts) > 0 {
			out[i].suffix = " (" + strings.Join(parts, ", ") + ")"
		}
		out[i].recs = groups[k]
	}
	return out
}

// shareX gives every panel the union of their x ranges.
func shareX(panels []*plot.Plot) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range panels {
		lo, hi = math.Min(lo, p.X.Min), math.Max(hi, p.X.Max)
	}
	for _, p := range panels {
		p.X.Min, p.X.Max = lo, hi
	}
}

func playerColor(player string, i int) color.RGBA {
	switch player {
	case "estimator":
		return colorEstimator
	case "generator":
		return colorGenerator
	}
	return palette[3+i%(len(palette)-3)]
}

func playerLabel(player string) string {
	if player == "" {
		return "training"
	}
	return player
}

func evalColor(i int) color.RGBA {
	if i == 0 {
		return colorEval
	}
	return palette[(4+i)%len(palette)]
}
