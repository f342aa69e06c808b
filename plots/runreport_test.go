package plots

import (
	"bytes"
	"encoding/xml"
	"flag"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/chw"

	"github.com/learnviews/learnviews/rundir"
)

var reportOut = flag.String("report-out", "", "also write the synthetic run's report page to this file, for scripts/check-report.sh")

func TestBuildRunReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "infomin-lab")
	if err := os.MkdirAll(filepath.Join(dir, rundir.FiguresDir), 0o755); err != nil {
		t.Fatal(err)
	}
	writeSyntheticRun(t, dir, 300)
	// What the engine leaves in figures/: a colour-space figure with a caption
	// file, and files the report ignores.
	grid, err := ColorSpaceGrid(func(rgb []float32, h, w int) ([]float32, error) {
		out := make([]float32, len(rgb))
		hw := h * w
		for p := range hw {
			r, g, b := rgb[p], rgb[hw+p], rgb[2*hw+p]
			out[p], out[hw+p], out[2*hw+p] = 0.299*r+0.587*g+0.114*b, b-g, r-g
		}
		return out, nil
	}, []chw.Image{CubeSlice(24, 0.3), CubeSlice(24, 0.7)}, ColorSpaceOptions{Title: "learned colour space"})
	mustf(t, err, "colour space")
	img, err := grid.Render()
	mustf(t, err, "render")
	mustf(t, chw.SavePNG(filepath.Join(dir, rundir.FiguresDir, "colorspace.png"), img), "save")
	mustf(t, os.WriteFile(filepath.Join(dir, rundir.FiguresDir, "colorspace.txt"), []byte("Learned colour space (Figure 7).\n"), 0o644), "caption")
	mustf(t, os.WriteFile(filepath.Join(dir, rundir.FiguresDir, "notes.md"), []byte("# not a figure"), 0o644), "notes")
	mustf(t, os.MkdirAll(filepath.Join(dir, rundir.FiguresDir, "sub.png"), 0o755), "dir")

	rep, err := BuildRunReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Title != "learnviews run infomin-lab" {
		t.Errorf("title %q", rep.Title)
	}
	var captions []string
	for _, f := range rep.Figures {
		decodePNG(t, f.PNG)
		captions = append(captions, f.Caption)
	}
	if len(captions) != 4 || !strings.HasPrefix(captions[0], "I_NCE") || !strings.HasPrefix(captions[1], "Classifier heads") ||
		!strings.HasPrefix(captions[2], "Learning rate") || captions[3] != "Learned colour space (Figure 7)." {
		t.Errorf("figure captions %q", captions)
	}
	if !bytes.Equal(rep.Figures[3].PNG, must(os.ReadFile(filepath.Join(dir, rundir.FiguresDir, "colorspace.png")))) {
		t.Error("the colour-space figure is not embedded as found")
	}
	// The standard figures are written as PNG and SVG, one set per stage;
	// the PNG written is the one embedded.
	for i, stem := range []string{"ince-view-learning", "heads-view-learning", "lr-view-learning"} {
		data := must(os.ReadFile(filepath.Join(dir, rundir.FiguresDir, stem+".png")))
		if !bytes.Equal(data, rep.Figures[i].PNG) {
			t.Errorf("%s.png differs from the embedded figure", stem)
		}
		svg := must(os.ReadFile(filepath.Join(dir, rundir.FiguresDir, stem+".svg")))
		if err := xml.Unmarshal(svg, new(struct{})); err != nil {
			t.Errorf("%s.svg: %v", stem, err)
		}
	}

	if len(rep.Tables) != 2 {
		t.Fatalf("%d tables, want 2", len(rep.Tables))
	}
	evalRows := rep.Tables[0].Rows
	wantEval := [][]string{
		{"view-learning", "test", "299", "5", "59.90%", "54.90%", "5.797"},
		{"stage2", "test", "310", "–", "67.25%", "61.50%", "–"},
	}
	if !equalRows(evalRows, wantEval) {
		t.Errorf("eval table rows\n%q\nwant\n%q", evalRows, wantEval)
	}
	stepRows := rep.Tables[1].Rows
	if len(stepRows) != 2 || stepRows[0][0] != "estimator" || stepRows[1][0] != "generator" || stepRows[0][1] != "299" ||
		stepRows[0][4] != "6.931" || stepRows[1][5] != "–" {
		t.Errorf("step table rows %q", stepRows)
	}
	if !strings.Contains(rep.Config, `"name": "synthetic-stl10"`) {
		t.Errorf("config %q", rep.Config)
	}
	env := map[string]string{}
	for _, kv := range rep.Environment {
		env[kv.Key] = kv.Value
	}
	wantEnv := map[string]string{
		"git commit": "0123456789abcdef", "Go version": "go1.26.8", "host": "test-host",
		"start time": "2026-01-02T03:04:05Z", "seeds": `{"data":1,"init":2}`, "device": "cpu",
		"metrics rows": "608", "last step": "310", "wall time": "2m30s",
	}
	for k, v := range wantEnv {
		if env[k] != v {
			t.Errorf("environment %q = %q, want %q", k, env[k], v)
		}
	}
	if len(rep.Notes) != 0 {
		t.Errorf("notes %q", rep.Notes)
	}

	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	if n := len(elements(parseHTML(t, page.Bytes()), "img")); n != 4 {
		t.Errorf("page has %d images, want 4", n)
	}
	if *reportOut != "" {
		mustf(t, os.WriteFile(*reportOut, page.Bytes(), 0o644), "write %s", *reportOut)
	}
}

func equalRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") {
			return false
		}
	}
	return true
}

func TestBuildRunReportPartialRuns(t *testing.T) {
	tests := []struct {
		name      string
		metrics   string // "" writes no metrics file
		manifest  string // "" writes no manifest
		extraPNG  []byte // written as figures/extra.png when set
		wantErr   string
		wantNotes []string
		wantFigs  int
	}{
		{
			name:      "no manifest, no eval rows",
			metrics:   `{"kind":"step","step":0,"player":"estimator","ince":1}` + "\n" + `{"kind":"step","step":1,"player":"estimator","ince":2}` + "\n",
			wantNotes: []string{"no manifest.json", "No eval rows"},
			wantFigs:  1, // only the I_NCE curves have data
		},
		{
			name:     "nothing to plot",
			metrics:  `{"kind":"eval","step":0,"split":"test"}` + "\n",
			manifest: `{}`,
			wantFigs: 0,
		},
		{name: "no metrics", manifest: `{}`, wantErr: "metrics.jsonl: no such file"},
		{name: "malformed metrics", metrics: "{\"kind\":\"step\",\"step\":0}\nnot json\n{\"kind\":\"step\",\"step\":1}\n", wantErr: "metrics.jsonl:2:"},
		{name: "malformed manifest", metrics: `{"kind":"step","step":0}` + "\n", manifest: `{"host":`, wantErr: "manifest.json: unexpected EOF"},
		{name: "corrupt PNG in figures", metrics: `{"kind":"step","step":0}` + "\n", manifest: `{}`,
			extraPNG: []byte("\x89PNG\r\n\x1a\nnope"), wantErr: "extra.png"},
		{name: "engine PNG kept", metrics: `{"kind":"step","step":0}` + "\n", manifest: `{}`,
			extraPNG: pngOf(t, 5, 5, color.RGBA{9, 9, 9, 255}), wantFigs: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.metrics != "" {
				mustf(t, os.WriteFile(filepath.Join(dir, rundir.MetricsFile), []byte(tc.metrics), 0o644), "metrics")
			}
			if tc.manifest != "" {
				mustf(t, os.WriteFile(filepath.Join(dir, rundir.ManifestFile), []byte(tc.manifest), 0o644), "manifest")
			}
			if tc.extraPNG != nil {
				mustf(t, os.MkdirAll(filepath.Join(dir, rundir.FiguresDir), 0o755), "mkdir")
				mustf(t, os.WriteFile(filepath.Join(dir, rundir.FiguresDir, "extra.png"), tc.extraPNG, 0o644), "png")
			}
			rep, err := BuildRunReport(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Figures) != tc.wantFigs {
				t.Errorf("%d figures, want %d", len(rep.Figures), tc.wantFigs)
			}
			notes := strings.Join(rep.Notes, "\n")
			for _, want := range tc.wantNotes {
				if !strings.Contains(notes, want) {
					t.Errorf("notes %q lack %q", rep.Notes, want)
				}
			}
			if len(tc.wantNotes) == 0 && tc.manifest != "" && strings.Contains(notes, "manifest") {
				t.Errorf("unexpected manifest note %q", notes)
			}
			if err := rep.WriteHTML(new(bytes.Buffer)); err != nil {
				t.Errorf("WriteHTML: %v", err)
			}
		})
	}
}
