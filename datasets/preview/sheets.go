// Package preview draws sheets of labelled sample images from the data sets
// (chw.Grid), and lists what is installed: a grid by class, the
// photographs, and for Colorful-Moving-MNIST the first-view frames beside a
// second view for each set of shared factors.
package preview

import (
	"fmt"
	"math/rand/v2"

	"github.com/learnviews/learnviews/chw"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/cmnist"
)

// cell draws an image of values in [0, 1] into a captioned grid cell.
func cell(img chw.Image, caption string) (chw.Cell, error) {
	pic, err := img.RGBA()
	if err != nil {
		return chw.Cell{}, fmt.Errorf("preview: %q: %w", caption, err)
	}
	return chw.Cell{Image: pic, Caption: caption}, nil
}

// ByClass is a sheet with one row per class, labelled with the class name,
// of perClass items drawn at random by seed; caption, when not nil, captions
// each item by its index. A data set without labels gets a single row.
func ByClass(ds datasets.Dataset, title string, perClass int, seed uint64, caption func(i int) string) (*chw.Grid, error) {
	if ds.Len() == 0 || perClass <= 0 {
		return nil, fmt.Errorf("preview: %s: nothing to show (%d items, %d a class)", title, ds.Len(), perClass)
	}
	classes := ds.Classes()
	rows := make([]chw.Row, len(classes)+1) // the last row gathers unlabelled items
	for c, name := range classes {
		rows[c].Label = name
	}
	rows[len(classes)].Label = "unlabelled"
	shape := ds.Shape()
	if shape.C != 1 && shape.C != 3 {
		return nil, fmt.Errorf("preview: %s: images have %d channels, want 1 or 3", title, shape.C)
	}
	for _, i := range rand.New(rand.NewPCG(seed, 0x5ee)).Perm(ds.Len()) {
		y := ds.Label(i)
		if y == datasets.NoLabel {
			y = len(classes)
		}
		if len(rows[y].Cells) >= perClass {
			continue
		}
		img := chw.New(shape.C, shape.H, shape.W)
		ds.Image(i, img.Pix)
		c, err := cell(img, "")
		if err != nil {
			return nil, err
		}
		if caption != nil {
			c.Caption = caption(i)
		}
		rows[y].Cells = append(rows[y].Cells, c)
	}
	s := &chw.Grid{Title: title, Scale: max(1, 96/max(shape.H, shape.W))}
	for _, r := range rows {
		if len(r.Cells) > 0 {
			s.Rows = append(s.Rows, r)
		}
	}
	return s, nil
}

// Photos is a sheet of photographs, each scaled to a shorter side of side
// pixels and captioned with its name, cols to a row.
func Photos(title string, photos []*datasets.Photo, side, cols int) (*chw.Grid, error) {
	s := &chw.Grid{Title: title, Scale: 1}
	for k, p := range photos {
		q, err := p.Resized(side)
		if err != nil {
			return nil, err
		}
		if k%cols == 0 {
			s.Rows = append(s.Rows, chw.Row{})
		}
		c, err := cell(chw.Image{C: q.Shape.C, H: q.Shape.H, W: q.Shape.W, Pix: q.Pix}, fmt.Sprintf("%d %s", k, p.Name))
		if err != nil {
			return nil, err
		}
		r := &s.Rows[len(s.Rows)-1]
		r.Cells = append(r.Cells, c)
	}
	return s, nil
}

// secondViews are the shared-factor sets shown for Colorful-Moving-MNIST,
// with their captions.
var secondViews = []struct {
	shared  cmnist.Factors
	caption string
}{
	{cmnist.Digit, "v2 digit"},
	{cmnist.Background, "v2 bg"},
	{cmnist.Position, "v2 pos"},
	{cmnist.Digit | cmnist.Background, "v2 digit+bg"},
	{cmnist.Digit | cmnist.Position, "v2 digit+pos"},
	{cmnist.Background | cmnist.Position, "v2 bg+pos"},
	{cmnist.All, "v2 all"},
	{cmnist.None, "negative"},
}

// CMNIST is a sheet with one row per sequence 0..sequences-1: the first
// view's k frames, the next frame x_t, then a second view for each set of
// factors it may share with x_t, and a negative that shares none. Captions
// give the digit class, the background and the digit's centre.
func CMNIST(s *cmnist.Set, sequences int) (*chw.Grid, error) {
	cfg := s.Config()
	n := cfg.Size
	shape := chw.Shape{C: 3, H: n, W: n}
	names := s.BackgroundNames()
	caption := func(head string, sc cmnist.Scene) string {
		x, y := s.Centre(sc)
		return fmt.Sprintf("%s\n%d %s\n(%.0f,%.0f)", head, sc.Class, names[sc.Background], x, y)
	}
	sheet := &chw.Grid{
		Title: "cmnist: Colorful-Moving-MNIST",
		Notes: fmt.Sprintf("v1 = %d frames of %dx%d; x_t = the next frame; v2 shares the named factors with x_t, the rest drawn afresh and different.\n"+
			"Captions: digit class, background, digit centre (x,y). Pairs use v2 sharing %v.", cfg.Frames, n, n, cfg.Shared),
		Scale: max(1, 128/n),
	}
	for i := range min(sequences, s.Len()) {
		row := chw.Row{Label: fmt.Sprintf("seq %d", i)}
		for t := 0; t <= cfg.Frames; t++ {
			sc := s.Scene(i, t)
			head := fmt.Sprintf("v1 t-%d", cfg.Frames-t)
			if t == cfg.Frames {
				head = "x_t"
			}
			img := chw.New(shape.C, shape.H, shape.W)
			s.Render(sc, img.Pix)
			c, err := cell(img, caption(head, sc))
			if err != nil {
				return nil, err
			}
			row.Cells = append(row.Cells, c)
		}
		for _, v := range secondViews {
			sc := s.SecondScene(i, v.shared)
			img := chw.New(shape.C, shape.H, shape.W)
			s.Render(sc, img.Pix)
			c, err := cell(img, caption(v.caption, sc))
			if err != nil {
				return nil, err
			}
			row.Cells = append(row.Cells, c)
		}
		sheet.Rows = append(sheet.Rows, row)
	}
	return sheet, nil
}
