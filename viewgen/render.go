package viewgen

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"slices"
	"strings"
)

// RenderView returns a 3-channel RGB image in [0, 1] that shows the view v,
// whose channels are channels chans of colour space cs (unnormalised):
//
//   - one channel is drawn as grey, black and white being the least and
//     greatest value the channel takes over the RGB cube (ChannelRanges);
//   - two channels are drawn in colour: the missing channel is held at its
//     value for mid grey (RGB 0.5, 0.5, 0.5) and the colour converted back
//     to RGB, so that for a luma/chroma split the chroma view appears as its
//     hues at one brightness;
//   - three channels are converted back to RGB.
func RenderView(v Image, cs ColorSpace, chans []int) (Image, error) {
	if err := v.Check(); err != nil {
		return Image{}, err
	}
	if !cs.valid() {
		return Image{}, fmt.Errorf("invalid colour space %d", int(cs))
	}
	if len(chans) != v.C {
		return Image{}, fmt.Errorf("view has %d channels but %d channel indices %v", v.C, len(chans), chans)
	}
	if err := (Split{V1: chans, V2: chans}).Validate(); err != nil {
		return Image{}, err
	}
	n := v.H * v.W
	ranges := cs.ChannelRanges()
	if v.C == 1 {
		lo, hi := ranges[chans[0]][0], ranges[chans[0]][1]
		out := NewImage(3, v.H, v.W)
		for i, x := range v.Pix {
			g := float32((float64(x) - lo) / (hi - lo))
			out.Pix[i], out.Pix[n+i], out.Pix[2*n+i] = g, g, g
		}
		return clipImage(out), nil
	}
	full := NewImage(3, v.H, v.W)
	for c := range 3 {
		k := slices.Index(chans, c)
		dst := full.Plane(c)
		if k >= 0 {
			copy(dst, v.Plane(k))
			continue
		}
		grey := float32(cs.FromRGB([3]float64{0.5, 0.5, 0.5})[c])
		for i := range dst {
			dst[i] = grey
		}
	}
	out, err := cs.Invert(full)
	if err != nil {
		return Image{}, err
	}
	return clipImage(out), nil
}

// RenderScaled returns a 3-channel image in [0, 1] that shows an image of 1 to
// 3 channels of unknown range: each channel is stretched from its least to
// its greatest value; one channel is drawn as grey, two channels drive red
// and green (blue held at one half), three channels are drawn as RGB.
func RenderScaled(v Image) (Image, error) {
	if err := v.Check(); err != nil {
		return Image{}, err
	}
	if v.C > 3 {
		return Image{}, fmt.Errorf("image has %d channels: at most 3 can be drawn", v.C)
	}
	out := NewImage(3, v.H, v.W)
	for c := 0; c < v.C; c++ {
		src := v.Plane(c)
		lo, hi := slices.Min(src), slices.Max(src)
		scale := float32(0)
		if hi > lo {
			scale = 1 / (hi - lo)
		}
		dst := out.Plane(c)
		for i, x := range src {
			dst[i] = (x - lo) * scale
		}
	}
	switch v.C {
	case 1:
		copy(out.Plane(1), out.Plane(0))
		copy(out.Plane(2), out.Plane(0))
	case 2:
		for i := range out.Plane(2) {
			out.Plane(2)[i] = 0.5
		}
	}
	return out, nil
}

func clipImage(img Image) Image {
	for i, v := range img.Pix {
		if math.IsNaN(float64(v)) {
			v = 0
		}
		img.Pix[i] = clamp01(v)
	}
	return img
}

// A tile is one labelled cell of a preview grid; an empty image leaves the
// cell blank.
type tile struct {
	img   Image
	label string
}

var (
	gridBackground = color.RGBA{0x20, 0x20, 0x20, 0xff}
	gridInk        = color.RGBA{0xf0, 0xf0, 0xf0, 0xff}
)

const gridGap = 6

// fitText shortens s with a trailing "..." until it fits width pixels.
func fitText(s string, width int) string {
	if textWidth(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && textWidth(string(r)+"...") > width {
		r = r[:len(r)-1]
	}
	return string(r) + "..."
}

// drawGrid lays out the rows of tiles under a title, each tile under its
// label; columns are as wide as their widest tile.
func drawGrid(title string, rows [][]tile) (*image.RGBA, error) {
	var colW []int
	rowH := make([]int, len(rows))
	for r, row := range rows {
		for c, t := range row {
			if c >= len(colW) {
				colW = append(colW, 0)
			}
			colW[c] = max(colW[c], t.img.W)
			rowH[r] = max(rowH[r], t.img.H)
		}
	}
	labelH := labelHeight + 2
	width := gridGap
	for _, w := range colW {
		width += w + gridGap
	}
	titleH := labelHeight + 2*gridGap
	height := titleH
	for _, h := range rowH {
		height += labelH + h + gridGap
	}
	dst := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(gridBackground), image.Point{}, draw.Src)
	drawText(dst, gridGap, gridGap, fitText(title, width-2*gridGap), gridInk)
	y := titleH
	for r, row := range rows {
		x := gridGap
		for c, t := range row {
			if t.img.C > 0 {
				drawText(dst, x, y, fitText(t.label, colW[c]), gridInk)
				pic, err := t.img.RGBA()
				if err != nil {
					return nil, fmt.Errorf("tile %q: %w", t.label, err)
				}
				draw.Draw(dst, pic.Bounds().Add(image.Pt(x, y+labelH)), pic, image.Point{}, draw.Src)
			}
			x += colW[c] + gridGap
		}
		y += labelH + rowH[r] + gridGap
	}
	return dst, nil
}

func channelLabel(cs ColorSpace, chans []int) string {
	names := cs.Channels()
	parts := make([]string, len(chans))
	for i, c := range chans {
		parts[i] = names[c]
	}
	return strings.Join(parts, ",")
}

// PreviewSpec renders draws pairs of views of the RGB image src under spec,
// one pair per row: the augmented RGB image and the view (drawn by
// RenderView) of v1, then of v2. Row d shows image d of a batch of draws
// copies of src, so the rows are the draws Pipeline.Views makes with seed.
func PreviewSpec(src Image, spec Spec, draws int, seed uint64) (*image.RGBA, error) {
	if draws < 1 {
		return nil, fmt.Errorf("draws %d: want at least 1", draws)
	}
	p, err := NewPipeline(spec, nil)
	if err != nil {
		return nil, err
	}
	batch := make([]Image, draws)
	for i := range batch {
		batch[i] = src
	}
	a1, a2, err := p.Augmented(batch, seed)
	if err != nil {
		return nil, err
	}
	cs := spec.Space
	rows := make([][]tile, draws)
	for d := range draws {
		row := []tile{{}}
		if d == 0 {
			row[0] = tile{img: src, label: "input"}
		}
		for k, a := range []Image{a1[d], a2[d]} {
			chans := spec.Split.V1
			if k == 1 {
				chans = spec.Split.V2
			}
			conv, err := cs.Convert(a)
			if err != nil {
				return nil, err
			}
			view := pickChannels(conv, chans)
			shown, err := RenderView(view, cs, chans)
			if err != nil {
				return nil, err
			}
			row = append(row,
				tile{img: a, label: fmt.Sprintf("aug %d", k+1)},
				tile{img: shown, label: fmt.Sprintf("v%d %s", k+1, channelLabel(cs, chans))})
		}
		rows[d] = row
	}
	return drawGrid(spec.String(), rows)
}

// PreviewSpaces renders the RGB image src in every colour space, one space
// per row: each channel as grey, channels 1 and 2 together in colour (the v2
// of the default split), and the image converted back to RGB.
func PreviewSpaces(src Image) (*image.RGBA, error) {
	if err := src.checkRGB(); err != nil {
		return nil, err
	}
	rows := [][]tile{{{img: src, label: "input"}}}
	for _, cs := range Spaces() {
		conv, err := cs.Convert(src)
		if err != nil {
			return nil, err
		}
		names := cs.Channels()
		row := make([]tile, 0, 5)
		for c := range 3 {
			shown, err := RenderView(pickChannels(conv, []int{c}), cs, []int{c})
			if err != nil {
				return nil, err
			}
			label := names[c]
			if c == 0 {
				label = cs.String() + " " + label
			}
			row = append(row, tile{img: shown, label: label})
		}
		chroma, err := RenderView(pickChannels(conv, []int{1, 2}), cs, []int{1, 2})
		if err != nil {
			return nil, err
		}
		back, err := cs.Invert(conv)
		if err != nil {
			return nil, err
		}
		row = append(row, tile{img: chroma, label: names[1] + "," + names[2]}, tile{img: clipImage(back), label: "back"})
		rows = append(rows, row)
	}
	return drawGrid("every colour space", rows)
}

// PreviewMapped renders a learned view generator: gen maps the RGB image src
// to a 3-channel image (a learned colour space), and the preview shows src,
// each generated channel as grey, and the two views of split, each drawn by
// RenderScaled since a learned space has no known range. name titles the
// preview.
func PreviewMapped(src Image, name string, gen func(Image) (Image, error), split Split) (*image.RGBA, error) {
	if err := src.checkRGB(); err != nil {
		return nil, err
	}
	if err := split.Validate(); err != nil {
		return nil, err
	}
	out, err := gen(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := out.checkRGB(); err != nil {
		return nil, fmt.Errorf("%s: generated image: %w", name, err)
	}
	row := []tile{{img: src, label: "input"}}
	for c := range 3 {
		shown, err := RenderScaled(pickChannels(out, []int{c}))
		if err != nil {
			return nil, err
		}
		row = append(row, tile{img: shown, label: fmt.Sprintf("ch %d", c)})
	}
	for k, chans := range [][]int{split.V1, split.V2} {
		shown, err := RenderScaled(pickChannels(out, chans))
		if err != nil {
			return nil, err
		}
		row = append(row, tile{img: shown, label: fmt.Sprintf("v%d %s", k+1, joinInts(chans))})
	}
	return drawGrid(name+" "+split.String(), [][]tile{row})
}
