package plots

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"image/color"
	"image/png"
	"io"
	"strconv"
	"strings"
	"testing"
)

// htmlNode is an element of a parsed page.
type htmlNode struct {
	Name  string
	Attrs map[string]string
	Text  string // all text inside, concatenated
	Depth int
}

// parseHTML parses the page with encoding/xml in its lenient HTML mode and
// returns its elements in document order; it fails on unbalanced markup.
func parseHTML(t *testing.T, page []byte) []*htmlNode {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(page))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	var all, open []*htmlNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("page does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &htmlNode{Name: strings.ToLower(tok.Name.Local), Attrs: map[string]string{}, Depth: len(open)}
			for _, a := range tok.Attr {
				n.Attrs[a.Name.Local] = a.Value
			}
			all = append(all, n)
			open = append(open, n)
		case xml.EndElement:
			if len(open) == 0 || open[len(open)-1].Name != strings.ToLower(tok.Name.Local) {
				t.Fatalf("unbalanced </%s>", tok.Name.Local)
			}
			open = open[:len(open)-1]
		case xml.CharData:
			for _, n := range open {
				n.Text += string(tok)
			}
		}
	}
	if len(open) != 0 {
		t.Fatalf("unclosed <%s>", open[len(open)-1].Name)
	}
	return all
}

func elements(nodes []*htmlNode, name string) []*htmlNode {
	var out []*htmlNode
	for _, n := range nodes {
		if n.Name == name {
			out = append(out, n)
		}
	}
	return out
}

func texts(nodes []*htmlNode, name string) []string {
	var out []string
	for _, n := range elements(nodes, name) {
		out = append(out, strings.TrimSpace(n.Text))
	}
	return out
}

func pngOf(t *testing.T, w, h int, c color.RGBA) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, solid(w, h, c)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReportWriteHTML(t *testing.T) {
	rep := &Report{
		Title:  "run <7> & co",
		Config: "{\n  \"lr\": 0.03\n}",
		Figures: []Figure{
			{Caption: "curves", PNG: pngOf(t, 30, 20, color.RGBA{255, 0, 0, 255})},
			{Caption: "colour space", PNG: pngOf(t, 7, 9, color.RGBA{0, 0, 255, 255})},
		},
		Tables: []Table{{
			Caption: "Final accuracies",
			Header:  []string{"views", "ours", "raw-view baseline", "paper"},
			Rows:    [][]string{{"Lab", "70.1%", "65.0%", "71.9%"}, {"YCbCr", "69.0%", "64.2%", "–"}},
		}},
		Environment: []KeyValue{{"git commit", "abc"}, {"host", "box"}},
		Notes:       []string{"<script>alert(1)</script> is text here"},
	}
	var buf bytes.Buffer
	if err := rep.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.Bytes()
	if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) {
		t.Errorf("page starts %q", page[:20])
	}
	nodes := parseHTML(t, page)

	if got := texts(nodes, "title"); len(got) != 1 || got[0] != rep.Title {
		t.Errorf("<title> %q", got)
	}
	if got := texts(nodes, "h1"); len(got) != 1 || got[0] != rep.Title {
		t.Errorf("<h1> %q", got)
	}
	imgs := elements(nodes, "img")
	if len(imgs) != len(rep.Figures) {
		t.Fatalf("%d <img>, want %d", len(imgs), len(rep.Figures))
	}
	for i, img := range imgs {
		src := img.Attrs["src"]
		data, found := strings.CutPrefix(src, "data:image/png;base64,")
		if !found {
			t.Fatalf("img %d src %.40q is not a PNG data URI", i, src)
		}
		raw, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Fatalf("img %d: %v", i, err)
		}
		if !bytes.Equal(raw, rep.Figures[i].PNG) {
			t.Errorf("img %d does not carry figure %d's bytes", i, i)
		}
		want := decodePNG(t, rep.Figures[i].PNG).Bounds()
		if img.Attrs["width"] != strconv.Itoa(want.Dx()) || img.Attrs["height"] != strconv.Itoa(want.Dy()) || img.Attrs["alt"] != rep.Figures[i].Caption {
			t.Errorf("img %d attributes %v", i, img.Attrs)
		}
	}
	if got := strings.Join(texts(nodes, "figcaption"), "|"); got != "curves|colour space" {
		t.Errorf("figcaptions %q", got)
	}
	if got := strings.Join(texts(nodes, "th"), "|"); got != "views|ours|raw-view baseline|paper" {
		t.Errorf("table header %q", got)
	}
	if got := strings.Join(texts(nodes, "td"), "|"); got != "Lab|70.1%|65.0%|71.9%|YCbCr|69.0%|64.2%|–" {
		t.Errorf("table cells %q", got)
	}
	if got := texts(nodes, "caption"); len(got) != 1 || got[0] != "Final accuracies" {
		t.Errorf("table caption %q", got)
	}
	if got := texts(nodes, "pre"); len(got) != 1 || got[0] != rep.Config {
		t.Errorf("config %q", got)
	}
	if got := strings.Join(texts(nodes, "dt"), "|") + "=" + strings.Join(texts(nodes, "dd"), "|"); got != "git commit|host=abc|box" {
		t.Errorf("environment %q", got)
	}
	if got := texts(nodes, "li"); len(got) != 1 || got[0] != rep.Notes[0] {
		t.Errorf("notes %q", got)
	}
	// The note's markup stays text: the only script is the page's check.
	if n := len(elements(nodes, "script")); n != 1 {
		t.Errorf("%d <script> elements, want 1", n)
	}
	body := elements(nodes, "body")
	if len(body) != 1 || body[0].Attrs["data-report-check"] != "pending" {
		t.Errorf("body attributes %v", body[0].Attrs)
	}
	if bytes.Contains(page, []byte("http://")) || bytes.Contains(page, []byte("https://")) {
		t.Error("page refers to the network; it must be self-contained")
	}
}

func TestReportWriteHTMLSections(t *testing.T) {
	// Empty parts leave their sections out.
	var buf bytes.Buffer
	if err := (&Report{Title: "bare"}).WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	nodes := parseHTML(t, buf.Bytes())
	if h2 := texts(nodes, "h2"); len(h2) != 0 {
		t.Errorf("bare report has sections %q", h2)
	}
	for _, name := range []string{"img", "table", "pre", "dl", "ul"} {
		if n := len(elements(nodes, name)); n != 0 {
			t.Errorf("bare report has %d <%s>", n, name)
		}
	}
}

func TestReportWriteHTMLErrors(t *testing.T) {
	tests := []struct {
		name    string
		rep     Report
		wantErr string
	}{
		{"figure not a PNG", Report{Figures: []Figure{{Caption: "ok", PNG: pngOf(t, 1, 1, color.RGBA{})}, {Caption: "bad", PNG: []byte("GIF89a")}}},
			`report figure 1 ("bad"): not a PNG`},
		{"empty figure", Report{Figures: []Figure{{Caption: "empty"}}}, `report figure 0 ("empty"): not a PNG`},
		{"ragged table", Report{Tables: []Table{{Caption: "acc", Header: []string{"a", "b"}, Rows: [][]string{{"1", "2"}, {"3"}}}}},
			`report table 0 ("acc"), row 1: 1 cells for 2 columns`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := tc.rep.WriteHTML(&buf)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}
