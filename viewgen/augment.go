package viewgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/learnviews/learnviews/chw"
)

// Aug is one augmentation of a view: its name, its strength knob, the
// probability of applying it to an image, and for RandAugment the number of
// operations. Build one with the constructors (Crop, Flip, Jitter, ...),
// which fill in the standard defaults.
//
// The augmentations, with the meaning of Strength and the defaults:
//
//	name     Strength                                default    P default
//	crop     least area fraction of the crop, (0, 1] 0.08       1
//	flip     (none)                                  -          0.5
//	jitter   colour jitter strength s, [0, 2.5]      1          0.8
//	blur     scale of the sigma range, (0, 100]      1          0.5
//	gray     (none)                                  -          0.2
//	drop     (none)                                  -          1
//	randaug  magnitude m on the 0-10 scale           9 (N = 2)  1
//	jigsaw   (none)                                  -          1
//
// crop is torchvision's random resized crop: area fraction uniform in
// [Strength, 1], aspect ratio log-uniform in [3/4, 4/3], ten tries before
// falling back to the central crop, then a bilinear resize to the view's size.
// flip mirrors left to right. jitter is SimCLR's colour jitter: brightness,
// contrast and saturation factors uniform in [max(0, 1-0.8s), 1+0.8s], a hue
// shift uniform in [-0.2s, 0.2s] of a turn, applied in random order. blur is a
// Gaussian blur with sigma uniform in [0.1, 2.0]×Strength pixels. gray
// replaces the colour by its luma (0.299 R + 0.587 G + 0.114 B). drop is the
// colour dropping of Doersch et al. (2015): one channel, drawn at random, is
// kept and the other two are replaced by its mean plus Gaussian noise of a
// hundredth of its standard deviation. randaug applies N operations drawn
// uniformly, with replacement, from RandAugment's fourteen (see
// RandAugmentOps) at magnitude m.
// jigsaw cuts the image into 3×3 tiles and shuffles them with a permutation
// drawn per image.
type Aug struct {
	Name     string
	Strength float64
	P        float64
	N        int
}

type knob int

const (
	knobStrength knob = iota // "=value" sets Strength
	knobP                    // "=value" sets P: the augmentation has no strength
)

type augDef struct {
	name     string
	knob     knob
	strength float64 // default Strength
	p        float64 // default P
	n        int     // default N; 0 when the augmentation takes none
	check    func(s float64) error
	build    func(a Aug) augOp
}

// augOp applies one augmentation; oh×ow is the size of the view, which only
// the crop uses. It owns img: it may overwrite it and return it, or return a
// new image.
type augOp func(img chw.Image, rng *rand.Rand, oh, ow int) chw.Image

var augDefs []augDef

func init() {
	augDefs = []augDef{
		{name: "crop", strength: 0.08, p: 1, check: inRange(0, 1, true), build: buildCrop},
		{name: "flip", knob: knobP, p: 0.5, build: func(Aug) augOp { return flipOp }},
		{name: "jitter", strength: 1, p: 0.8, check: inRange(0, 2.5, false), build: buildJitter},
		{name: "blur", strength: 1, p: 0.5, check: inRange(0, 100, true), build: buildBlur},
		{name: "gray", knob: knobP, p: 0.2, build: func(Aug) augOp { return grayOp }},
		{name: "drop", knob: knobP, p: 1, build: func(Aug) augOp { return dropOp }},
		{name: "randaug", strength: 9, p: 1, n: 2, check: inRange(0, 10, false), build: buildRandAugment},
		{name: "jigsaw", knob: knobP, p: 1, build: func(Aug) augOp { return jigsawOp }},
	}
}

func inRange(lo, hi float64, openLo bool) func(float64) error {
	return func(s float64) error {
		if math.IsNaN(s) || s > hi || s < lo || (openLo && s == lo) {
			left := "["
			if openLo {
				left = "("
			}
			return fmt.Errorf("strength %g is out of range %s%g, %g]", s, left, lo, hi)
		}
		return nil
	}
}

func lookupAug(name string) (*augDef, error) {
	for i := range augDefs {
		if augDefs[i].name == name {
			return &augDefs[i], nil
		}
	}
	names := make([]string, len(augDefs))
	for i, d := range augDefs {
		names[i] = d.name
	}
	return nil, fmt.Errorf("unknown augmentation %q: known are %s", name, strings.Join(names, ", "))
}

func defaultAug(name string) Aug {
	d, err := lookupAug(name)
	if err != nil {
		panic(err)
	}
	return Aug{Name: d.name, Strength: d.strength, P: d.p, N: d.n}
}

// Crop returns a random resized crop whose area fraction is drawn from
// [minScale, 1].
func Crop(minScale float64) Aug { a := defaultAug("crop"); a.Strength = minScale; return a }

// Flip returns a horizontal flip applied with probability 0.5.
func Flip() Aug { return defaultAug("flip") }

// Jitter returns SimCLR's colour jitter of the given strength, applied with
// probability 0.8.
func Jitter(strength float64) Aug { a := defaultAug("jitter"); a.Strength = strength; return a }

// Blur returns a Gaussian blur whose sigma range [0.1, 2] is scaled by
// strength, applied with probability 0.5.
func Blur(strength float64) Aug { a := defaultAug("blur"); a.Strength = strength; return a }

// Gray returns a conversion to greyscale applied with probability p.
func Gray(p float64) Aug { a := defaultAug("gray"); a.P = p; return a }

// ColorDrop returns colour dropping applied with probability p.
func ColorDrop(p float64) Aug { a := defaultAug("drop"); a.P = p; return a }

// RandAugment returns RandAugment with n operations at magnitude m (0-10).
func RandAugment(n int, m float64) Aug {
	a := defaultAug("randaug")
	a.N, a.Strength = n, m
	return a
}

// Jigsaw returns the 3×3 jigsaw shuffle.
func Jigsaw() Aug { return defaultAug("jigsaw") }

// InfoMinAugment returns the augmentations of the InfoMin model (the "D"
// set of the authors' code): crop from 0.08, flip, colour jitter of strength
// 1 with p = 0.8, blur with p = 0.5, RandAugment with two operations at
// magnitude 10, and greyscale with p = 0.2, in that order.
func InfoMinAugment() []Aug {
	return []Aug{Crop(0.08), Flip(), Jitter(1), Blur(1), RandAugment(2, 10), Gray(0.2)}
}

// Validate reports whether a names a known augmentation with its knobs in
// range.
func (a Aug) Validate() error {
	d, err := lookupAug(a.Name)
	if err != nil {
		return err
	}
	if math.IsNaN(a.P) || a.P < 0 || a.P > 1 {
		return fmt.Errorf("%s: probability %g is out of range [0, 1]", a.Name, a.P)
	}
	if d.knob == knobP {
		if a.Strength != 0 {
			return fmt.Errorf("%s: has no strength (got %g); its one knob is the probability P", a.Name, a.Strength)
		}
	} else if err := d.check(a.Strength); err != nil {
		return fmt.Errorf("%s: %w", a.Name, err)
	}
	if d.n == 0 && a.N != 0 {
		return fmt.Errorf("%s: takes no operation count (got N = %d)", a.Name, a.N)
	}
	if d.n != 0 && (a.N < 1 || a.N > len(randAugmentOps)) {
		return fmt.Errorf("%s: operation count %d is out of range [1, %d]", a.Name, a.N, len(randAugmentOps))
	}
	return nil
}

// String writes a as a spec token: the name, "=value" for the knob when it
// differs from the default (the strength, or the probability for
// augmentations that have no strength), then ",p=" and ",n=" for a
// probability or count that differ from the defaults.
func (a Aug) String() string {
	d, err := lookupAug(a.Name)
	if err != nil {
		return a.Name
	}
	var b strings.Builder
	b.WriteString(a.Name)
	if d.knob == knobP {
		if a.P != d.p {
			b.WriteString("=" + formatFloat(a.P))
		}
		return b.String()
	}
	if a.Strength != d.strength {
		b.WriteString("=" + formatFloat(a.Strength))
	}
	if a.P != d.p {
		b.WriteString(",p=" + formatFloat(a.P))
	}
	if a.N != d.n {
		b.WriteString(",n=" + strconv.Itoa(a.N))
	}
	return b.String()
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Augmenter applies a list of augmentations, in order, to images.
type Augmenter struct {
	augs []Aug
	ops  []augOp

	// Workers bounds the goroutines of ApplyBatch; 0 means GOMAXPROCS. The
	// results do not depend on it.
	Workers int
}

// NewAugmenter compiles augs, in the order given, after validating each.
func NewAugmenter(augs ...Aug) (*Augmenter, error) {
	a := &Augmenter{augs: append([]Aug(nil), augs...)}
	for i, g := range augs {
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("augmentation %d: %w", i+1, err)
		}
		d, _ := lookupAug(g.Name)
		op := d.build(g)
		if g.P < 1 {
			inner, p := op, g.P
			op = func(img chw.Image, rng *rand.Rand, oh, ow int) chw.Image {
				if rng.Float64() < p {
					return inner(img, rng, oh, ow)
				}
				return img
			}
		}
		a.ops = append(a.ops, op)
	}
	return a, nil
}

// Augs returns the augmentations a applies.
func (a *Augmenter) Augs() []Aug { return append([]Aug(nil), a.augs...) }

// Apply augments one image, drawing from rng, and returns an h×w image
// (img's size when h and w are 0). The crop resizes to h×w; without one the
// result is resized at the end if its size differs. img is not modified.
func (a *Augmenter) Apply(img chw.Image, h, w int, rng *rand.Rand) (chw.Image, error) {
	if err := img.Check(); err != nil {
		return chw.Image{}, err
	}
	if h < 0 || w < 0 {
		return chw.Image{}, fmt.Errorf("view size %d×%d: sides must not be negative", h, w)
	}
	if h == 0 || w == 0 {
		h, w = img.H, img.W
	}
	// Every op owns the image it is given and may overwrite it.
	out := img.Clone()
	for _, op := range a.ops {
		out = op(out, rng, h, w)
	}
	if out.H != h || out.W != w {
		out = chw.ResizeRegion(out, 0, 0, out.H, out.W, h, w)
	}
	return out, nil
}

// ApplyBatch augments each image i, in parallel, with a random source derived
// from (seed, i), and returns the h×w results in order: the same seed gives
// the same images whatever Workers is.
func (a *Augmenter) ApplyBatch(images []chw.Image, h, w int, seed uint64) ([]chw.Image, error) {
	out := make([]chw.Image, len(images))
	errs := make([]error, len(images))
	parallelFor(len(images), a.Workers, func(i int) {
		out[i], errs[i] = a.Apply(images[i], h, w, imageRand(seed, streamAugment, i))
	})
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
	}
	return out, nil
}

// ---- crop and flip ----

// cropParams draws the box of torchvision's RandomResizedCrop for an h×w
// image: area fraction uniform in [minScale, 1], aspect ratio log-uniform in
// [3/4, 4/3], ten tries, then the central crop clamped to those ratios.
func cropParams(h, w int, minScale float64, rng *rand.Rand) (y, x, ch, cw int) {
	area := float64(h * w)
	logLo, logHi := math.Log(3.0/4), math.Log(4.0/3)
	for range 10 {
		target := area * (minScale + (1-minScale)*rng.Float64())
		ratio := math.Exp(logLo + (logHi-logLo)*rng.Float64())
		cw = int(math.Round(math.Sqrt(target * ratio)))
		ch = int(math.Round(math.Sqrt(target / ratio)))
		if cw > 0 && cw <= w && ch > 0 && ch <= h {
			return rng.IntN(h - ch + 1), rng.IntN(w - cw + 1), ch, cw
		}
	}
	inRatio := float64(w) / float64(h)
	switch {
	case inRatio < 3.0/4:
		cw, ch = w, int(math.Round(float64(w)/(3.0/4)))
	case inRatio > 4.0/3:
		ch, cw = h, int(math.Round(float64(h)*(4.0/3)))
	default:
		ch, cw = h, w
	}
	return (h - ch) / 2, (w - cw) / 2, ch, cw
}

func buildCrop(a Aug) augOp {
	s := a.Strength
	return func(img chw.Image, rng *rand.Rand, oh, ow int) chw.Image {
		y, x, ch, cw := cropParams(img.H, img.W, s, rng)
		return chw.ResizeRegion(img, y, x, ch, cw, oh, ow)
	}
}

func flipOp(img chw.Image, _ *rand.Rand, _, _ int) chw.Image {
	for r := 0; r < img.C*img.H; r++ {
		slices.Reverse(img.Pix[r*img.W : (r+1)*img.W])
	}
	return img
}

// ---- colour ----
//
// The colour operations work in place on 3-channel images, as every augOp
// may: Augmenter.Apply hands each one an image it owns.

// Luma weights of ITU-R BT.601, as PIL's convert("L") (torchvision rounds
// the first to 0.2989).
const (
	lumaR = 0.299
	lumaG = 0.587
	lumaB = 0.114
)

func grayOp(img chw.Image, _ *rand.Rand, _, _ int) chw.Image {
	if img.C != 3 {
		return img
	}
	n := img.H * img.W
	r, g, b := img.Pix[:n], img.Pix[n:2*n], img.Pix[2*n:3*n]
	for i := range r {
		y := lumaR*r[i] + lumaG*g[i] + lumaB*b[i]
		r[i], g[i], b[i] = y, y, y
	}
	return img
}

// adjustBrightness multiplies every value by f, clipping to [0, 1].
func adjustBrightness(img chw.Image, f float32) chw.Image {
	for i, v := range img.Pix {
		img.Pix[i] = clamp01(f * v)
	}
	return img
}

// adjustContrast blends img with the mean of its luma: f·v + (1-f)·mean.
func adjustContrast(img chw.Image, f float32) chw.Image {
	n := img.H * img.W
	r, g, b := img.Pix[:n], img.Pix[n:2*n], img.Pix[2*n:3*n]
	var sum float64
	for i := range r {
		sum += float64(lumaR*r[i] + lumaG*g[i] + lumaB*b[i])
	}
	o := (1 - f) * float32(sum/float64(n))
	for i, v := range img.Pix {
		img.Pix[i] = clamp01(f*v + o)
	}
	return img
}

// adjustSaturation blends each pixel with its luma: f·v + (1-f)·luma.
func adjustSaturation(img chw.Image, f float32) chw.Image {
	n := img.H * img.W
	r, g, b := img.Pix[:n], img.Pix[n:2*n], img.Pix[2*n:3*n]
	for i := range r {
		o := (1 - f) * (lumaR*r[i] + lumaG*g[i] + lumaB*b[i])
		r[i] = clamp01(f*r[i] + o)
		g[i] = clamp01(f*g[i] + o)
		b[i] = clamp01(f*b[i] + o)
	}
	return img
}

// adjustHue turns every pixel's hue by shift (a fraction of a full turn):
// the HSV round trip of rgbToHSV and hsvToRGB, written out in float32 since
// it is the costliest step of the jitter. With d = max - min, the HSV
// intermediates reduce to p = min, q = max - f·d and t = min + f·d.
func adjustHue(img chw.Image, shift float64) chw.Image {
	n := img.H * img.W
	r, g, b := img.Pix[:n], img.Pix[n:2*n], img.Pix[2*n:3*n]
	sh := float32(shift)
	for i := range r {
		R, G, B := r[i], g[i], b[i]
		mx, mn := max(R, G, B), min(R, G, B)
		d := mx - mn
		if d == 0 {
			continue // grey has no hue to turn
		}
		var h float32
		switch mx {
		case B:
			h = 4 + (R-G)/d
		case G:
			h = 2 + (B-R)/d
		default:
			h = (G - B) / d
		}
		h = h/6 + sh
		h -= float32(math.Floor(float64(h)))
		h6 := h * 6
		sector := int(h6)
		f := h6 - float32(sector)
		q, t := mx-f*d, mn+f*d
		switch sector % 6 {
		case 0:
			r[i], g[i], b[i] = mx, t, mn
		case 1:
			r[i], g[i], b[i] = q, mx, mn
		case 2:
			r[i], g[i], b[i] = mn, mx, t
		case 3:
			r[i], g[i], b[i] = mn, q, mx
		case 4:
			r[i], g[i], b[i] = t, mn, mx
		default:
			r[i], g[i], b[i] = mx, mn, q
		}
	}
	return img
}

// jitterDraw is one draw of the colour jitter: the order of the four
// adjustments and their factors.
type jitterDraw struct {
	order                          []int // 0 brightness, 1 contrast, 2 saturation, 3 hue
	brightness, contrast, saturate float32
	hue                            float64
}

// drawJitter draws the jitter of strength s as torchvision's ColorJitter
// with brightness, contrast and saturation 0.8s and hue 0.2s: the order
// first, then factors uniform in [max(0, 1-0.8s), 1+0.8s] and a hue shift
// uniform in [-0.2s, 0.2s].
func drawJitter(s float64, rng *rand.Rand) jitterDraw {
	factor := func(k float64) float32 {
		lo := math.Max(0, 1-k)
		return float32(lo + (1+k-lo)*rng.Float64())
	}
	d := jitterDraw{order: rng.Perm(4)}
	d.brightness, d.contrast, d.saturate = factor(0.8*s), factor(0.8*s), factor(0.8*s)
	d.hue = 0.2 * s * (2*rng.Float64() - 1)
	return d
}

func buildJitter(a Aug) augOp {
	s := a.Strength
	return func(img chw.Image, rng *rand.Rand, _, _ int) chw.Image {
		if img.C != 3 {
			return img
		}
		d := drawJitter(s, rng)
		for _, k := range d.order {
			switch k {
			case 0:
				adjustBrightness(img, d.brightness)
			case 1:
				adjustContrast(img, d.contrast)
			case 2:
				adjustSaturation(img, d.saturate)
			case 3:
				adjustHue(img, d.hue)
			}
		}
		return img
	}
}

// dropOp keeps one random channel and replaces the others by its mean plus
// Gaussian noise of a hundredth of its standard deviation.
func dropOp(img chw.Image, rng *rand.Rand, _, _ int) chw.Image {
	keep := rng.IntN(img.C)
	plane := img.Plane(keep)
	var sum, sq float64
	for _, v := range plane {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(plane))
	mean := sum / n
	std := math.Sqrt(math.Max(sq/n-mean*mean, 0))
	for c := 0; c < img.C; c++ {
		if c == keep {
			continue
		}
		dst := img.Plane(c)
		for i := range dst {
			dst[i] = clamp01(float32(mean + std/100*rng.NormFloat64()))
		}
	}
	return img
}

// ---- blur ----

// gaussianKernel returns the normalised taps of a Gaussian of the given sigma
// over [-r, r] with r = ⌈3σ⌉ (at least 1).
func gaussianKernel(sigma float64) []float32 {
	r := max(1, int(math.Ceil(3*sigma)))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	out := make([]float32, len(k))
	for i, v := range k {
		out[i] = float32(v / sum)
	}
	return out
}

// mirrorIndex maps i into [0, n) by mirroring about the edge pixels (as
// ReflectionPad2d: -1 -> 1), for any distance outside.
func mirrorIndex(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}

// gaussianBlur blurs every channel in place, separably, with mirrored
// borders.
func gaussianBlur(img chw.Image, sigma float64) chw.Image {
	k := gaussianKernel(sigma)
	r := len(k) / 2
	padded := make([]float32, img.W+2*r)
	tmp := make([]float32, img.H*img.W)
	rows := make([][]float32, len(k))
	for c := 0; c < img.C; c++ {
		plane := img.Plane(c)
		for y := 0; y < img.H; y++ {
			row := plane[y*img.W : (y+1)*img.W]
			for i := range padded {
				padded[i] = row[mirrorIndex(i-r, img.W)]
			}
			out := tmp[y*img.W : (y+1)*img.W]
			for x := range out {
				var s float32
				for j, wt := range k {
					s += wt * padded[x+j]
				}
				out[x] = s
			}
		}
		for y := 0; y < img.H; y++ {
			for j := range k {
				src := mirrorIndex(y+j-r, img.H)
				rows[j] = tmp[src*img.W : (src+1)*img.W]
			}
			drow := plane[y*img.W : (y+1)*img.W]
			for x := range drow {
				var s float32
				for j, wt := range k {
					s += wt * rows[j][x]
				}
				drow[x] = s
			}
		}
	}
	return img
}

func buildBlur(a Aug) augOp {
	lo, hi := 0.1*a.Strength, 2.0*a.Strength
	return func(img chw.Image, rng *rand.Rand, _, _ int) chw.Image {
		return gaussianBlur(img, lo+(hi-lo)*rng.Float64())
	}
}

// ---- jigsaw ----

// jigsawTiles is the number of tiles along each side.
const jigsawTiles = 3

// jigsawOp moves tile perm[k] of the 3×3 grid to position k. Tiles are
// ⌊H/3⌋×⌊W/3⌋; the rows and columns left over at the bottom and right stay
// in place.
func jigsawOp(img chw.Image, rng *rand.Rand, _, _ int) chw.Image {
	return jigsaw(img, rng.Perm(jigsawTiles*jigsawTiles))
}

func jigsaw(img chw.Image, perm []int) chw.Image {
	out := img.Clone()
	th, tw := img.H/jigsawTiles, img.W/jigsawTiles
	for k, src := range perm {
		dy, dx := (k/jigsawTiles)*th, (k%jigsawTiles)*tw
		sy, sx := (src/jigsawTiles)*th, (src%jigsawTiles)*tw
		for c := 0; c < img.C; c++ {
			s, d := img.Plane(c), out.Plane(c)
			for r := 0; r < th; r++ {
				copy(d[(dy+r)*img.W+dx:(dy+r)*img.W+dx+tw], s[(sy+r)*img.W+sx:])
			}
		}
	}
	return out
}

// clamp01 clips v to [0, 1].
func clamp01(v float32) float32 { return min(max(v, 0), 1) }
