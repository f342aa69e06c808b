package viewgen

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/learnviews/learnviews/chw"
)

// randAugmentFill is the colour that geometric operations move into view:
// the ImageNet mean, as the InfoMin code fills.
var randAugmentFill = []float32{0.485, 0.456, 0.406}

// randAugmentOp is one RandAugment operation at magnitude frac = m/10 in
// [0, 1]; signed operations draw their sign from rng. Like every augOp, it
// may overwrite the image it is given.
type randAugmentOp struct {
	name  string
	apply func(img chw.Image, rng *rand.Rand, frac float64) chw.Image
}

// The operations of RandAugment (Cubuk et al., 2020) as torchvision lists
// them. At magnitude m (0-10, frac = m/10): rotate by up to ±30°, shear by up
// to ±0.3, translate by up to ±45% of the side, blend colour, contrast,
// brightness and sharpness with factor 1±0.9·frac, keep 8-round(4·frac) bits
// (posterize), invert values above 1-frac (solarize). Geometric operations
// sample nearest neighbours about the image centre and fill with the ImageNet
// mean.
var randAugmentOps = []randAugmentOp{
	{"identity", func(img chw.Image, _ *rand.Rand, _ float64) chw.Image { return img }},
	{"autocontrast", func(img chw.Image, _ *rand.Rand, _ float64) chw.Image { return autocontrast(img) }},
	{"equalize", func(img chw.Image, _ *rand.Rand, _ float64) chw.Image { return equalize(img) }},
	{"rotate", func(img chw.Image, rng *rand.Rand, f float64) chw.Image { return rotate(img, signed(rng, 30*f)) }},
	{"solarize", func(img chw.Image, _ *rand.Rand, f float64) chw.Image { return solarize(img, float32(1-f)) }},
	{"color", func(img chw.Image, rng *rand.Rand, f float64) chw.Image {
		return adjustSaturation(img, float32(1+signed(rng, 0.9*f)))
	}},
	{"posterize", func(img chw.Image, _ *rand.Rand, f float64) chw.Image { return posterize(img, 8-int(math.Round(4*f))) }},
	{"contrast", func(img chw.Image, rng *rand.Rand, f float64) chw.Image {
		return adjustContrast(img, float32(1+signed(rng, 0.9*f)))
	}},
	{"brightness", func(img chw.Image, rng *rand.Rand, f float64) chw.Image {
		return adjustBrightness(img, float32(1+signed(rng, 0.9*f)))
	}},
	{"sharpness", func(img chw.Image, rng *rand.Rand, f float64) chw.Image {
		return sharpness(img, float32(1+signed(rng, 0.9*f)))
	}},
	{"shearx", func(img chw.Image, rng *rand.Rand, f float64) chw.Image { return shear(img, signed(rng, 0.3*f), 0) }},
	{"sheary", func(img chw.Image, rng *rand.Rand, f float64) chw.Image { return shear(img, 0, signed(rng, 0.3*f)) }},
	{"translatex", func(img chw.Image, rng *rand.Rand, f float64) chw.Image {
		return translate(img, 0, signed(rng, 0.45*f*float64(img.W)))
	}},
	{"translatey", func(img chw.Image, rng *rand.Rand, f float64) chw.Image {
		return translate(img, signed(rng, 0.45*f*float64(img.H)), 0)
	}},
}

// RandAugmentOps returns the names of the RandAugment operations, in the
// order they are indexed when drawn.
func RandAugmentOps() []string {
	names := make([]string, len(randAugmentOps))
	for i, op := range randAugmentOps {
		names[i] = op.name
	}
	return names
}

func signed(rng *rand.Rand, v float64) float64 {
	if rng.IntN(2) == 0 {
		return -v
	}
	return v
}

func buildRandAugment(a Aug) augOp {
	n, frac := a.N, a.Strength/10
	return func(img chw.Image, rng *rand.Rand, _, _ int) chw.Image {
		for range n {
			op := randAugmentOps[rng.IntN(len(randAugmentOps))]
			img = op.apply(img, rng, frac)
		}
		return img
	}
}

// autocontrast stretches each channel linearly so that its least value
// becomes 0 and its greatest 1; a constant channel is left alone.
func autocontrast(img chw.Image) chw.Image {
	for c := 0; c < img.C; c++ {
		p := img.Plane(c)
		lo, hi := slices.Min(p), slices.Max(p)
		if hi <= lo {
			continue
		}
		s := 1 / (hi - lo)
		for i, v := range p {
			p[i] = (v - lo) * s
		}
	}
	return img
}

func quantize8(v float32) int { return int(math.Round(float64(clamp01(v)) * 255)) }

// equalize equalises the histogram of each channel over 256 levels, with the
// lookup table of PIL's ImageOps.equalize.
func equalize(img chw.Image) chw.Image {
	for c := 0; c < img.C; c++ {
		p := img.Plane(c)
		var hist [256]int
		for _, v := range p {
			hist[quantize8(v)]++
		}
		last := 255
		for last > 0 && hist[last] == 0 {
			last--
		}
		step := (len(p) - hist[last]) / 255
		if step == 0 {
			continue
		}
		var lut [256]float32
		acc := step / 2
		for i := range lut {
			lut[i] = float32(min(acc/step, 255)) / 255
			acc += hist[i]
		}
		for i, v := range p {
			p[i] = lut[quantize8(v)]
		}
	}
	return img
}

// solarize inverts (v -> 1-v) every value above threshold.
func solarize(img chw.Image, threshold float32) chw.Image {
	for i, v := range img.Pix {
		if v > threshold {
			img.Pix[i] = 1 - v
		}
	}
	return img
}

// posterize keeps the top bits of each value quantised to 8 bits.
func posterize(img chw.Image, bits int) chw.Image {
	mask := ^(1<<(8-bits) - 1) & 0xff
	for i, v := range img.Pix {
		img.Pix[i] = float32(quantize8(v)&mask) / 255
	}
	return img
}

// sharpness returns img blended with PIL's smoothed copy of it (kernel 1 1 1 / 1 5 1 /
// 1 1 1 over 13, border pixels unchanged): factor 0 is the smoothed image, 1
// the original, above 1 sharper.
func sharpness(img chw.Image, factor float32) chw.Image {
	smooth := img.Clone()
	for c := 0; c < img.C; c++ {
		s, d := img.Plane(c), smooth.Plane(c)
		for y := 1; y < img.H-1; y++ {
			for x := 1; x < img.W-1; x++ {
				var sum float32
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						sum += s[(y+dy)*img.W+x+dx]
					}
				}
				i := y*img.W + x
				d[i] = (sum + 4*s[i]) / 13
			}
		}
	}
	out := chw.New(img.C, img.H, img.W)
	for i, v := range img.Pix {
		out.Pix[i] = clamp01(factor*v + (1-factor)*smooth.Pix[i])
	}
	return out
}

// rotate turns img by deg degrees anticlockwise about its centre.
func rotate(img chw.Image, deg float64) chw.Image {
	s, c := math.Sincos(deg * math.Pi / 180)
	cx, cy := float64(img.W)/2, float64(img.H)/2
	// Output point q maps to input p = c + R(-θ)·(q - c) in y-down
	// coordinates: p_x = cos·qx' - sin·qy', p_y = sin·qx' + cos·qy'.
	return affineNearest(img, [6]float64{
		c, -s, cx - c*cx + s*cy,
		s, c, cy - s*cx - c*cy,
	}, randAugmentFill)
}

// shear shears img about its centre: the point (x, y) moves to
// (x + sx·(y-cy), y) or, for sy, to (x, y + sy·(x-cx)); one of sx, sy is 0.
func shear(img chw.Image, sx, sy float64) chw.Image {
	cx, cy := float64(img.W)/2, float64(img.H)/2
	if sy == 0 {
		return affineNearest(img, [6]float64{1, -sx, sx * cy, 0, 1, 0}, randAugmentFill)
	}
	return affineNearest(img, [6]float64{1, 0, 0, -sy, 1, sy * cx}, randAugmentFill)
}

// translate moves img's content down by dy and right by dx pixels (rounded).
func translate(img chw.Image, dy, dx float64) chw.Image {
	return affineNearest(img, [6]float64{1, 0, -math.Round(dx), 0, 1, -math.Round(dy)}, randAugmentFill)
}
