package plots

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/png"
	"io"
)

// Report is the content of a run's report page.
type Report struct {
	Title       string
	Config      string // run configuration as text, shown preformatted
	Figures     []Figure
	Tables      []Table
	Environment []KeyValue // e.g. git commit, Go version, host, start time
	Notes       []string
}

// Figure is an image of the report with its caption.
type Figure struct {
	Caption string
	PNG     []byte
}

// Table is a table of the report, e.g. final accuracies beside a raw-view
// baseline and the paper's numbers.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// KeyValue is one entry of the report's environment list.
type KeyValue struct {
	Key, Value string
}

//go:embed report.html.tmpl
var reportTemplateText string

var reportTemplate = template.Must(template.New("report").Parse(reportTemplateText))

type htmlFigure struct {
	Caption       string
	Src           template.URL
	Width, Height int
}

// WriteHTML writes the report as one self-contained HTML page: figures are
// embedded as base64 data URIs and the page needs no other file. An inline
// script sets the attribute data-report-check on <body> to "ok" once every
// image has decoded and no script error occurred, and to "failed: ..."
// otherwise, for headless checks of the page.
//
// Every figure must be a PNG, and every table row as long as its header.
func (r *Report) WriteHTML(w io.Writer) error {
	data := struct {
		*Report
		Figures []htmlFigure
	}{Report: r}
	for i, f := range r.Figures {
		cfg, err := png.DecodeConfig(bytes.NewReader(f.PNG))
		if err != nil {
			return fmt.Errorf("plots: report figure %d (%q): not a PNG: %w", i, f.Caption, err)
		}
		data.Figures = append(data.Figures, htmlFigure{
			Caption: f.Caption,
			Src:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(f.PNG)),
			Width:   cfg.Width,
			Height:  cfg.Height,
		})
	}
	for i, t := range r.Tables {
		for j, row := range t.Rows {
			if len(t.Header) > 0 && len(row) != len(t.Header) {
				return fmt.Errorf("plots: report table %d (%q), row %d: %d cells for %d columns", i, t.Caption, j, len(row), len(t.Header))
			}
		}
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, data); err != nil {
		return fmt.Errorf("plots: report %q: %w", r.Title, err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("plots: write report %q: %w", r.Title, err)
	}
	return nil
}
