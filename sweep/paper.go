package sweep

import (
	"fmt"
	"math"
	"strings"
)

// Table4 is the paper's Table 4 (Colorful-Moving-MNIST): for each set of
// factors that v2 shares with the next frame, the digit classification
// error (%), the background classification error (%) and the digit
// localisation error (pixels) of linear heads on frozen features. Keys are
// the point labels of the table-cmnist profile.
var Table4 = map[string][3]float64{
	"digit":            {16.8, 88.6, 13.6},
	"bkgd":             {88.6, 51.7, 16.1},
	"pos":              {57.9, 87.6, 3.95},
	"bkgd, digit, pos": {88.8, 56.3, 16.2},
	"bkgd, digit":      {88.2, 53.9, 16.3},
	"bkgd, pos":        {88.8, 53.8, 15.9},
	"digit, pos":       {14.5, 88.9, 13.7},
	"supervised":       {3.4, 45.3, 0.93},
}

// Table4Order is the row order of the paper's Table 4.
var Table4Order = []string{"digit", "bkgd", "pos", "bkgd, digit, pos", "bkgd, digit", "bkgd, pos", "digit, pos", "supervised"}

// PaperStat is a number of the paper with its ± (0 when none is given).
type PaperStat struct{ Mean, Std float64 }

func (s PaperStat) String() string {
	if s.Std == 0 {
		return fmt.Sprintf("%.1f", s.Mean)
	}
	return fmt.Sprintf("%.1f ± %.1f", s.Mean, s.Std)
}

// Table5 is the paper's Table 5: STL-10 linear-probe accuracy (%) of
// views from each generator, with RGB and YDbDr input, mean ± std over
// runs. Keys are the generator part of the table-learned-views labels.
var Table5 = map[string]map[string]PaperStat{
	"unsupervised":    {"RGB": {82.4, 3.2}, "YDbDr": {84.3, 0.5}},
	"supervised":      {"RGB": {79.9, 1.5}, "YDbDr": {78.5, 2.3}},
	"semi-supervised": {"RGB": {86.0, 0.6}, "YDbDr": {87.0, 0.3}},
	"raw views":       {"RGB": {81.5, 0.2}, "YDbDr": {86.6, 0.2}},
}

// Table5Order is the row order of the paper's Table 5.
var Table5Order = []string{"unsupervised", "supervised", "semi-supervised", "raw views"}

// errorStat turns an accuracy statistic into an error one (1 − accuracy).
func errorStat(s Stat) Stat {
	if s.N == 0 {
		return s
	}
	return Stat{Mean: 1 - s.Mean, Std: s.Std, N: s.N}
}

// Table4Cells sets the sweep's rows beside the paper's Table 4: digit
// error %, background error % and localisation error in pixels.
func Table4Cells(p *Plan, rows []Row) Cells {
	c := Cells{
		Caption: fmt.Sprintf("%s: linear heads on frozen f1 features of Colorful-Moving-MNIST, mean ± std over seeds %s, beside the paper's Table 4. "+
			"Chance is 90%% error for the digit and the background.", titleOr(p, "Table 4"), seedList(p.Seeds)),
		Header: []string{"shared factors", "digit err %", "paper", "bkgd err %", "paper", "loc err px", "paper"},
	}
	for _, r := range rows {
		want := len(r.Seeds) + r.Missing
		ref, ok := Table4[r.Label]
		paper := []string{"–", "–", "–"}
		if ok {
			paper = []string{fmt.Sprintf("%.1f", ref[0]), fmt.Sprintf("%.1f", ref[1]), fmt.Sprintf("%.2f", ref[2])}
		}
		c.Rows = append(c.Rows, []string{r.Label,
			pm(errorStat(r.Probe), 100, 1, want), paper[0],
			pm(errorStat(r.Bkgd), 100, 1, want), paper[1],
			pm(r.PosErr, 1, 2, want), paper[2]})
	}
	return c
}

// SplitLabel5 splits a table-learned-views label "generator, input" into
// its generator and input colour space.
func SplitLabel5(label string) (gen, input string) {
	i := strings.LastIndex(label, ", ")
	if i < 0 {
		return label, ""
	}
	return label[:i], label[i+2:]
}

// Table5Cells sets the sweep's rows beside the paper's Table 5: for each
// generator, the linear-probe accuracy with RGB and with YDbDr input.
func Table5Cells(p *Plan, rows []Row) Cells {
	c := Cells{
		Caption: fmt.Sprintf("%s: linear-probe accuracy (%%) on frozen features of encoders trained on each generator's views, mean ± std over seeds %s, "+
			"beside the paper's Table 5 (STL-10).", titleOr(p, "Table 5"), seedList(p.Seeds)),
		Header: []string{"view generator", "RGB", "paper", "YDbDr", "paper"},
	}
	var gens []string
	cell := map[string]map[string]string{}
	for _, r := range rows {
		gen, in := SplitLabel5(r.Label)
		if cell[gen] == nil {
			cell[gen] = map[string]string{}
			gens = append(gens, gen)
		}
		cell[gen][in] = pm(r.Probe, 100, 1, len(r.Seeds)+r.Missing)
	}
	for _, g := range gens {
		ref := Table5[g]
		row := []string{g}
		for _, in := range []string{"RGB", "YDbDr"} {
			ours, ok := cell[g][in]
			if !ok {
				ours = "–"
			}
			paper := "–"
			if s, ok := ref[in]; ok {
				paper = s.String()
			}
			row = append(row, ours, paper)
		}
		c.Rows = append(c.Rows, row)
	}
	return c
}

// CellsFor returns the plan's main table: Table 4 or Table 5 beside the
// paper for those tables, the sweep table otherwise.
func CellsFor(p *Plan, rows []Row) Cells {
	switch p.Table {
	case "cmnist":
		return Table4Cells(p, rows)
	case "learned-views":
		return Table5Cells(p, rows)
	}
	return SweepCells(p, rows)
}

// WelchT is Welch's t statistic of the difference of the means of a and b,
// with its Welch–Satterthwaite degrees of freedom; ok is false when either
// sample has fewer than two values or both have no spread.
func WelchT(a, b []float64) (t, df float64, ok bool) {
	sa, sb := MeanStd(a), MeanStd(b)
	if sa.N < 2 || sb.N < 2 {
		return 0, 0, false
	}
	va, vb := sa.Std*sa.Std/float64(sa.N), sb.Std*sb.Std/float64(sb.N)
	if va+vb == 0 {
		return 0, 0, false
	}
	t = (sa.Mean - sb.Mean) / math.Sqrt(va+vb)
	df = (va + vb) * (va + vb) / (va*va/float64(sa.N-1) + vb*vb/float64(sb.N-1))
	return t, df, true
}

// Table5Tests compares the semi-supervised generator's accuracies with the
// raw views' and the unsupervised generator's, input space by input space:
// the difference of the means (points) and Welch's t over the seeds.
func Table5Tests(p *Plan, results []Result) Cells {
	c := Cells{
		Caption: "Semi-supervised views against the others: difference of the mean linear-probe accuracies (points) and Welch's t over the seeds " +
			"(|t| above about 2.8 is significant at 5% with two to four degrees of freedom).",
		Header: []string{"comparison", "input", "difference", "Welch t", "df"},
	}
	acc := map[string][]float64{}
	for _, r := range results {
		acc[r.Label] = append(acc[r.Label], 100*r.ProbeAcc)
	}
	for _, other := range []string{"raw views", "unsupervised", "supervised"} {
		for _, in := range []string{"RGB", "YDbDr"} {
			semi, them := acc["semi-supervised, "+in], acc[other+", "+in]
			if len(semi) == 0 || len(them) == 0 {
				continue
			}
			row := []string{"semi-supervised − " + other, in, fmt.Sprintf("%+.1f", MeanStd(semi).Mean-MeanStd(them).Mean), "–", "–"}
			if t, df, ok := WelchT(semi, them); ok {
				row[3], row[4] = fmt.Sprintf("%+.2f", t), fmt.Sprintf("%.1f", df)
			}
			c.Rows = append(c.Rows, row)
		}
	}
	return c
}
