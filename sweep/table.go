package sweep

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteCSV writes one line per point: its index and label, the values of
// the keys the sweep varies, the evaluation stage, the seeds that finished
// and those missing, then mean and standard deviation of I_NCE (nats), the
// linear probe's test and train accuracy, kNN accuracy and, when any point
// has them, the Colorful-Moving-MNIST heads (background accuracy and
// localisation error in pixels). Accuracies are fractions; an empty cell is
// a value no seed gave.
func WriteCSV(w io.Writer, p *Plan, rows []Row) error {
	cw := csv.NewWriter(w)
	factors := hasFactors(rows)
	head := append([]string{"point", "label"}, p.Keys...)
	head = append(head, "stage", "seeds", "missing")
	stats := []string{"ince", "probe_acc", "probe_train_acc", "knn_acc"}
	if factors {
		stats = append(stats, "bkgd_acc", "pos_err_px")
	}
	for _, s := range stats {
		head = append(head, s+"_mean", s+"_std")
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range rows {
		rec := []string{strconv.Itoa(r.Point), r.Label}
		for _, k := range p.Keys {
			rec = append(rec, r.Values[k])
		}
		rec = append(rec, r.Stage, strconv.Itoa(len(r.Seeds)), strconv.Itoa(r.Missing))
		vals := []Stat{r.INCE, r.Probe, r.Train, r.KNN}
		if factors {
			vals = append(vals, r.Bkgd, r.PosErr)
		}
		for _, s := range vals {
			if s.N == 0 {
				rec = append(rec, "", "")
				continue
			}
			rec = append(rec, num(s.Mean), num(s.Std))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }

func hasFactors(rows []Row) bool {
	for _, r := range rows {
		if r.Bkgd.N > 0 || r.PosErr.N > 0 {
			return true
		}
	}
	return false
}

// WriteJSONL writes one JSON object per line for each value (rows or
// results), as pandas.read_json(path, lines=True) reads them.
func WriteJSONL[T any](w io.Writer, values []T) error {
	enc := json.NewEncoder(w)
	for _, v := range values {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

// Cells is a table as text: a caption, a header and rows of cells.
type Cells struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// Markdown writes the table as a Markdown pipe table under its caption.
func (c Cells) Markdown(w io.Writer) error {
	var b strings.Builder
	if c.Caption != "" {
		fmt.Fprintf(&b, "%s\n\n", c.Caption)
	}
	widths := make([]int, len(c.Header))
	for i, h := range c.Header {
		widths[i] = len([]rune(h))
	}
	for _, r := range c.Rows {
		for i, cell := range r {
			if i < len(widths) && len([]rune(cell)) > widths[i] {
				widths[i] = len([]rune(cell))
			}
		}
	}
	line := func(cells []string) {
		b.WriteString("|")
		for i := range widths {
			cell := ""
			if i < len(cells) {
				cell = cells[i]
			}
			fmt.Fprintf(&b, " %s%s |", cell, strings.Repeat(" ", widths[i]-len([]rune(cell))))
		}
		b.WriteString("\n")
	}
	line(c.Header)
	sep := make([]string, len(widths))
	for i, wd := range widths {
		sep[i] = strings.Repeat("-", max(3, wd))
	}
	b.WriteString("|")
	for i := range sep {
		fmt.Fprintf(&b, " %s%s |", sep[i], strings.Repeat(" ", widths[i]-len(sep[i])))
	}
	b.WriteString("\n")
	for _, r := range c.Rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// pm formats a statistic as "mean ± std" with the given decimals, scaled
// by f; "–" when no value was there, and the seed count when it is not
// the full set.
func pm(s Stat, f float64, decimals int, want int) string {
	if s.N == 0 {
		return "–"
	}
	s = s.Scale(f)
	out := strconv.FormatFloat(s.Mean, 'f', decimals, 64)
	if s.N > 1 {
		out += " ± " + strconv.FormatFloat(s.Std, 'f', decimals, 64)
	}
	if s.N < want {
		out += fmt.Sprintf(" (%d of %d)", s.N, want)
	}
	return out
}

// SweepCells is the table of a reverse-U sweep: per point, I_NCE at the
// end of training and the downstream accuracies, mean ± std over seeds.
func SweepCells(p *Plan, rows []Row) Cells {
	c := Cells{
		Caption: fmt.Sprintf("%s: I_NCE at the end of training (nats) and downstream accuracy of frozen features (%%), mean ± std over seeds %s.",
			titleOr(p, "Sweep of "+p.Profile), seedList(p.Seeds)),
		Header: []string{"point", "I_NCE", "linear probe", "kNN", "probe (train)"},
	}
	for _, r := range rows {
		want := len(r.Seeds) + r.Missing
		c.Rows = append(c.Rows, []string{r.Label, pm(r.INCE, 1, 2, want), pm(r.Probe, 100, 1, want), pm(r.KNN, 100, 1, want), pm(r.Train, 100, 1, want)})
	}
	return c
}

func titleOr(p *Plan, def string) string {
	if p.Title != "" {
		return p.Title
	}
	return def
}

func seedList(seeds []uint64) string {
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = strconv.FormatUint(s, 10)
	}
	return strings.Join(parts, ", ")
}
