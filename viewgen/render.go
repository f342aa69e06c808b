package viewgen

import (
	"fmt"
	"image"
	"math"
	"slices"
	"strings"

	"github.com/learnviews/learnviews/chw"
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
func RenderView(v chw.Image, cs ColorSpace, chans []int) (chw.Image, error) {
	if err := v.Check(); err != nil {
		return chw.Image{}, err
	}
	if !cs.valid() {
		return chw.Image{}, fmt.Errorf("invalid colour space %d", int(cs))
	}
	if len(chans) != v.C {
		return chw.Image{}, fmt.Errorf("view has %d channels but %d channel indices %v", v.C, len(chans), chans)
	}
	if err := (Split{V1: chans, V2: chans}).Validate(); err != nil {
		return chw.Image{}, err
	}
	n := v.H * v.W
	ranges := cs.ChannelRanges()
	if v.C == 1 {
		lo, hi := ranges[chans[0]][0], ranges[chans[0]][1]
		out := chw.New(3, v.H, v.W)
		for i, x := range v.Pix {
			g := float32((float64(x) - lo) / (hi - lo))
			out.Pix[i], out.Pix[n+i], out.Pix[2*n+i] = g, g, g
		}
		return clipImage(out), nil
	}
	full := chw.New(3, v.H, v.W)
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
		return chw.Image{}, err
	}
	return clipImage(out), nil
}

// RenderScaled returns a 3-channel image in [0, 1] that shows an image of 1 to
// 3 channels of unknown range: each channel is stretched from its least to
// its greatest value; one channel is drawn as grey, two channels drive red
// and green (blue held at one half), three channels are drawn as RGB.
func RenderScaled(v chw.Image) (chw.Image, error) {
	if err := v.Check(); err != nil {
		return chw.Image{}, err
	}
	if v.C > 3 {
		return chw.Image{}, fmt.Errorf("image has %d channels: at most 3 can be drawn", v.C)
	}
	out := chw.New(3, v.H, v.W)
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

func clipImage(img chw.Image) chw.Image {
	for i, v := range img.Pix {
		if math.IsNaN(float64(v)) {
			v = 0
		}
		img.Pix[i] = clamp01(v)
	}
	return img
}

// tile is one captioned cell of a preview; an empty image leaves it blank.
func tile(img chw.Image, caption string) (chw.Cell, error) {
	if img.C == 0 {
		return chw.Cell{}, nil
	}
	pic, err := img.RGBA()
	if err != nil {
		return chw.Cell{}, fmt.Errorf("tile %q: %w", caption, err)
	}
	return chw.Cell{Image: pic, Caption: caption}, nil
}

// row makes a grid row of tiles from images and their captions, in pairs.
func row(imgs []chw.Image, captions []string) (chw.Row, error) {
	var r chw.Row
	for i, img := range imgs {
		c, err := tile(img, captions[i])
		if err != nil {
			return r, err
		}
		r.Cells = append(r.Cells, c)
	}
	return r, nil
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
func PreviewSpec(src chw.Image, spec Spec, draws int, seed uint64) (*image.RGBA, error) {
	g, err := previewSpecGrid(src, spec, draws, seed)
	if err != nil {
		return nil, err
	}
	return g.Render()
}

func previewSpecGrid(src chw.Image, spec Spec, draws int, seed uint64) (*chw.Grid, error) {
	if draws < 1 {
		return nil, fmt.Errorf("draws %d: want at least 1", draws)
	}
	p, err := NewPipeline(spec, nil)
	if err != nil {
		return nil, err
	}
	batch := make([]chw.Image, draws)
	for i := range batch {
		batch[i] = src
	}
	a1, a2, err := p.Augmented(batch, seed)
	if err != nil {
		return nil, err
	}
	cs := spec.Space
	g := &chw.Grid{Title: spec.String()}
	for d := range draws {
		imgs, captions := []chw.Image{{}}, []string{""}
		if d == 0 {
			imgs[0], captions[0] = src, "input"
		}
		for k, a := range []chw.Image{a1[d], a2[d]} {
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
			imgs = append(imgs, a, shown)
			captions = append(captions, fmt.Sprintf("aug %d", k+1), fmt.Sprintf("v%d %s", k+1, channelLabel(cs, chans)))
		}
		r, err := row(imgs, captions)
		if err != nil {
			return nil, err
		}
		g.Rows = append(g.Rows, r)
	}
	return g, nil
}

// PreviewSpaces renders the RGB image src in every colour space, one space
// per row: each channel as grey, channels 1 and 2 together in colour (the v2
// of the default split), and the image converted back to RGB.
func PreviewSpaces(src chw.Image) (*image.RGBA, error) {
	if err := src.CheckRGB(); err != nil {
		return nil, err
	}
	first, err := row([]chw.Image{src}, []string{"input"})
	if err != nil {
		return nil, err
	}
	g := &chw.Grid{Title: "every colour space", Rows: []chw.Row{first}}
	for _, cs := range Spaces() {
		conv, err := cs.Convert(src)
		if err != nil {
			return nil, err
		}
		names := cs.Channels()
		var imgs []chw.Image
		var captions []string
		for c := range 3 {
			shown, err := RenderView(pickChannels(conv, []int{c}), cs, []int{c})
			if err != nil {
				return nil, err
			}
			label := names[c]
			if c == 0 {
				label = cs.String() + " " + label
			}
			imgs, captions = append(imgs, shown), append(captions, label)
		}
		chroma, err := RenderView(pickChannels(conv, []int{1, 2}), cs, []int{1, 2})
		if err != nil {
			return nil, err
		}
		back, err := cs.Invert(conv)
		if err != nil {
			return nil, err
		}
		r, err := row(append(imgs, chroma, clipImage(back)), append(captions, names[1]+","+names[2], "back"))
		if err != nil {
			return nil, err
		}
		g.Rows = append(g.Rows, r)
	}
	return g.Render()
}

// PreviewMapped renders a learned view generator: gen maps the RGB image src
// to a 3-channel image (a learned colour space), and the preview shows src,
// each generated channel as grey, and the two views of split, each drawn by
// RenderScaled since a learned space has no known range. name titles the
// preview.
func PreviewMapped(src chw.Image, name string, gen func(chw.Image) (chw.Image, error), split Split) (*image.RGBA, error) {
	if err := src.CheckRGB(); err != nil {
		return nil, err
	}
	if err := split.Validate(); err != nil {
		return nil, err
	}
	out, err := gen(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := out.CheckRGB(); err != nil {
		return nil, fmt.Errorf("%s: generated image: %w", name, err)
	}
	imgs, captions := []chw.Image{src}, []string{"input"}
	for c := range 3 {
		shown, err := RenderScaled(pickChannels(out, []int{c}))
		if err != nil {
			return nil, err
		}
		imgs, captions = append(imgs, shown), append(captions, fmt.Sprintf("ch %d", c))
	}
	for k, chans := range [][]int{split.V1, split.V2} {
		shown, err := RenderScaled(pickChannels(out, chans))
		if err != nil {
			return nil, err
		}
		imgs, captions = append(imgs, shown), append(captions, fmt.Sprintf("v%d %s", k+1, joinInts(chans)))
	}
	r, err := row(imgs, captions)
	if err != nil {
		return nil, err
	}
	return (&chw.Grid{Title: name + " " + split.String(), Rows: []chw.Row{r}}).Render()
}
