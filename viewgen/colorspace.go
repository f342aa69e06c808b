package viewgen

import (
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/learnviews/learnviews/chw"

	"github.com/learnviews/learnviews/registry"
)

// ColorSpace names a colour space with a forward conversion from RGB and its
// inverse. The conversions use the published matrices and formulas that
// scikit-image's skimage.color documents and uses; see each constant.
type ColorSpace int

// The colour spaces. Their names, as ParseColorSpace reads and String writes
// them, are given in brackets.
const (
	// RGB [rgb] is the identity: the image as given (sRGB in [0, 1]).
	RGB ColorSpace = iota
	// YCbCr [ycbcr] is ITU-R BT.601 studio-swing YCbCr as skimage.rgb2ycbcr:
	// Y in [16, 235], Cb and Cr in [16, 240] for RGB in [0, 1].
	YCbCr
	// YDbDr [ydbdr] is the SECAM colour space: Y in [0, 1], Db and Dr in
	// [-1.333, 1.333].
	YDbDr
	// YPbPr [ypbpr] is analogue BT.601 component video: Y in [0, 1], Pb and Pr
	// in [-0.5, 0.5].
	YPbPr
	// YIQ [yiq] is the NTSC colour space.
	YIQ
	// YUV [yuv] is BT.601 YUV (PAL).
	YUV
	// XYZ [xyz] is CIE 1931 XYZ of linear sRGB (D65): the sRGB gamma is
	// undone first; white maps to (0.950456, 1, 1.088754).
	XYZ
	// Lab [lab] is CIE L*a*b* under illuminant D65 and the 2° observer, white
	// point (0.95047, 1, 1.08883): L in [0, 100].
	Lab
	// LUV [luv] is CIE L*u*v* under illuminant D65 and the 2° observer.
	LUV
	// HSV [hsv] is hue, saturation and value, each in [0, 1].
	HSV
	// HED [hed] is the haematoxylin-eosin-DAB stain space of Ruifrok and
	// Johnston (2001): optical densities -log(max(rgb, 1e-6))/-log(1e-6) times
	// the inverse of skimage's rgb_from_hed matrix. Unlike skimage.rgb2hed,
	// negative stain amounts are kept rather than clipped to zero, so that the
	// conversion stays invertible; max(v, 0) gives skimage's values.
	HED
	// CIERGB [rgbcie] is the CIE 1931 RGB space of 700, 546.1 and 435.8 nm
	// primaries, as skimage.rgb2rgbcie: a linear map of the RGB values through
	// XYZ, without the sRGB gamma.
	CIERGB

	numBuiltinSpaces
)

type spaceInfo struct {
	name     string
	channels [3]string
	fromRGB  func([3]float64) [3]float64
	toRGB    func([3]float64) [3]float64
	// fwd and inv are set for the affine spaces, whose images convert in a
	// tight loop instead of one call per pixel.
	fwd, inv *affine
}

// affine maps v to m·(v + pre) + post.
type affine struct {
	m         mat3
	pre, post [3]float64
}

func (a *affine) apply(v [3]float64) [3]float64 {
	o := a.m.mul([3]float64{v[0] + a.pre[0], v[1] + a.pre[1], v[2] + a.pre[2]})
	return [3]float64{o[0] + a.post[0], o[1] + a.post[1], o[2] + a.post[2]}
}

// applyPlanes applies a to the n pixels of the CHW planes in src, writing to
// dst; dst and src may be the same slice.
func (a *affine) applyPlanes(dst, src []float32, n int) {
	m := a.m
	p0, p1, p2 := a.pre[0], a.pre[1], a.pre[2]
	q0, q1, q2 := a.post[0], a.post[1], a.post[2]
	s0, s1, s2 := src[:n], src[n:2*n], src[2*n:3*n]
	d0, d1, d2 := dst[:n], dst[n:2*n], dst[2*n:3*n]
	for i := range s0 {
		x, y, z := float64(s0[i])+p0, float64(s1[i])+p1, float64(s2[i])+p2
		d0[i] = float32(m[0][0]*x + m[0][1]*y + m[0][2]*z + q0)
		d1[i] = float32(m[1][0]*x + m[1][1]*y + m[1][2]*z + q1)
		d2[i] = float32(m[2][0]*x + m[2][1]*y + m[2][2]*z + q2)
	}
}

// spaces holds every colour space, indexed by ColorSpace: the built-in
// ones in the order of the constants, then those registered later. It is
// written only while packages initialise.
var spaces []spaceInfo

// ColorSpaces holds the colour spaces by name: the names that
// generator.input_space and the view specs take.
var ColorSpaces = registry.New[ColorSpace]("generator.input_space")

// ColorSpaceDef defines a colour space: its name (lower case), the names of
// its three channels, and the conversion of one colour from RGB (components
// in [0, 1]) and back.
type ColorSpaceDef struct {
	Name     string
	Channels [3]string
	FromRGB  func([3]float64) [3]float64
	ToRGB    func([3]float64) [3]float64
}

// RegisterColorSpace adds a colour space, which every view spec, profile
// and figure can then name; doc says what it is in one line. It is meant
// for a package's init function, and panics on a duplicate name.
func RegisterColorSpace(def ColorSpaceDef, doc string) ColorSpace {
	return register(spaceInfo{name: def.Name, channels: def.Channels, fromRGB: def.FromRGB, toRGB: def.ToRGB}, doc)
}

func register(info spaceInfo, doc string) ColorSpace {
	cs := ColorSpace(len(spaces))
	ColorSpaces.Register(info.name, doc, cs)
	spaces = append(spaces, info)
	return cs
}

// Spaces returns every colour space: the built-in ones in the order of the
// constants, then the registered ones.
func Spaces() []ColorSpace {
	out := make([]ColorSpace, len(spaces))
	for i := range out {
		out[i] = ColorSpace(i)
	}
	return out
}

func spaceNames() string {
	names := make([]string, len(spaces))
	for i := range names {
		names[i] = spaces[i].name
	}
	return strings.Join(names, ", ")
}

// ParseColorSpace returns the colour space with the given name; case, spaces,
// hyphens and underscores are ignored, and "ciergb" is read as "rgbcie".
func ParseColorSpace(name string) (ColorSpace, error) {
	key := spaceKey(name)
	if key == "ciergb" {
		key = "rgbcie"
	}
	for i, s := range spaces {
		if spaceKey(s.name) == key {
			return ColorSpace(i), nil
		}
	}
	return 0, fmt.Errorf("unknown colour space %q: known are %s", name, spaceNames())
}

// spaceKey is a space's name as ParseColorSpace compares it: lower case,
// without spaces, hyphens and underscores.
func spaceKey(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_':
			return -1
		}
		return r
	}, strings.ToLower(name))
}

func (cs ColorSpace) valid() bool { return cs >= 0 && int(cs) < len(spaces) }

// String returns the space's name, as ParseColorSpace reads it.
func (cs ColorSpace) String() string {
	if !cs.valid() {
		return fmt.Sprintf("ColorSpace(%d)", int(cs))
	}
	return spaces[cs].name
}

// MarshalText writes the space's name, so that a ColorSpace reads well in
// configuration files.
func (cs ColorSpace) MarshalText() ([]byte, error) {
	if !cs.valid() {
		return nil, fmt.Errorf("invalid colour space %d", int(cs))
	}
	return []byte(cs.String()), nil
}

// UnmarshalText reads a space's name as ParseColorSpace does.
func (cs *ColorSpace) UnmarshalText(text []byte) error {
	v, err := ParseColorSpace(string(text))
	if err != nil {
		return err
	}
	*cs = v
	return nil
}

// Channels returns the names of the space's three channels, e.g. "L", "a",
// "b" for Lab.
func (cs ColorSpace) Channels() [3]string { return spaces[cs].channels }

// FromRGB converts one RGB colour (components in [0, 1]) to the space.
func (cs ColorSpace) FromRGB(rgb [3]float64) [3]float64 { return spaces[cs].fromRGB(rgb) }

// ToRGB converts one colour of the space back to RGB. As in skimage, the
// results of XYZ, Lab, LUV and HED are clipped to [0, 1]; the others are not.
func (cs ColorSpace) ToRGB(v [3]float64) [3]float64 { return spaces[cs].toRGB(v) }

// Convert returns the RGB image img converted to the space.
func (cs ColorSpace) Convert(img chw.Image) (chw.Image, error) {
	return cs.mapImage(img, "convert")
}

// Invert returns the image img, given in the space, converted back to RGB.
func (cs ColorSpace) Invert(img chw.Image) (chw.Image, error) {
	return cs.mapImage(img, "invert")
}

func (cs ColorSpace) mapImage(img chw.Image, verb string) (chw.Image, error) {
	if !cs.valid() {
		return chw.Image{}, fmt.Errorf("invalid colour space %d", int(cs))
	}
	if err := img.CheckRGB(); err != nil {
		return chw.Image{}, fmt.Errorf("%s to %s: %w", verb, cs, err)
	}
	out := img.Clone()
	cs.convertInPlace(out, verb == "invert")
	return out, nil
}

// convertInPlace converts the 3-channel image img from RGB to the space, or
// back when inverse is set, overwriting it.
func (cs ColorSpace) convertInPlace(img chw.Image, inverse bool) {
	if cs == RGB {
		return
	}
	info := &spaces[cs]
	aff, f := info.fwd, info.fromRGB
	if inverse {
		aff, f = info.inv, info.toRGB
	}
	n := img.H * img.W
	if aff != nil {
		aff.applyPlanes(img.Pix, img.Pix, n)
		return
	}
	convertPixels(img.Pix, img.Pix, n, f)
}

// convertPixels applies f to each of the n pixels of the CHW planes in src,
// writing to dst; dst and src may be the same slice.
func convertPixels(dst, src []float32, n int, f func([3]float64) [3]float64) {
	for i := 0; i < n; i++ {
		v := f([3]float64{float64(src[i]), float64(src[n+i]), float64(src[2*n+i])})
		dst[i], dst[n+i], dst[2*n+i] = float32(v[0]), float32(v[1]), float32(v[2])
	}
}

var (
	rangesMu sync.Mutex
	ranges   = map[ColorSpace][3][2]float64{}
)

// ChannelRanges returns, for each channel, the least and greatest value the
// space takes over the RGB cube (sampled on a 33-point grid per axis). It is
// the natural display range of a channel.
func (cs ColorSpace) ChannelRanges() [3][2]float64 {
	rangesMu.Lock()
	defer rangesMu.Unlock()
	if r, ok := ranges[cs]; ok {
		return r
	}
	const n = 33
	var r [3][2]float64
	for c := range 3 {
		r[c] = [2]float64{math.Inf(1), math.Inf(-1)}
	}
	for i := range n {
		for j := range n {
			for k := range n {
				v := spaces[cs].fromRGB([3]float64{float64(i) / (n - 1), float64(j) / (n - 1), float64(k) / (n - 1)})
				for c := range 3 {
					r[c][0] = math.Min(r[c][0], v[c])
					r[c][1] = math.Max(r[c][1], v[c])
				}
			}
		}
	}
	ranges[cs] = r
	return r
}

// ---- matrices and formulas ----

type mat3 [3][3]float64

func (m mat3) mul(v [3]float64) [3]float64 {
	return [3]float64{
		m[0][0]*v[0] + m[0][1]*v[1] + m[0][2]*v[2],
		m[1][0]*v[0] + m[1][1]*v[1] + m[1][2]*v[2],
		m[2][0]*v[0] + m[2][1]*v[1] + m[2][2]*v[2],
	}
}

func (m mat3) matmul(n mat3) mat3 {
	var out mat3
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				out[i][j] += m[i][k] * n[k][j]
			}
		}
	}
	return out
}

func (m mat3) transpose() mat3 {
	var out mat3
	for i := range 3 {
		for j := range 3 {
			out[i][j] = m[j][i]
		}
	}
	return out
}

func (m mat3) scale(s float64) mat3 {
	for i := range 3 {
		for j := range 3 {
			m[i][j] *= s
		}
	}
	return m
}

// inverse returns m⁻¹ by cofactors; every matrix here is well conditioned.
func (m mat3) inverse() mat3 {
	var cof mat3
	for i := range 3 {
		for j := range 3 {
			a, b := (i+1)%3, (i+2)%3
			c, d := (j+1)%3, (j+2)%3
			cof[i][j] = m[a][c]*m[b][d] - m[a][d]*m[b][c]
		}
	}
	det := m[0][0]*cof[0][0] + m[0][1]*cof[0][1] + m[0][2]*cof[0][2]
	return cof.transpose().scale(1 / det)
}

// The matrices of skimage.color (colorconv.py), each mapping RGB to the space.
var (
	xyzFromRGB = mat3{
		{0.412453, 0.357580, 0.180423},
		{0.212671, 0.715160, 0.072169},
		{0.019334, 0.119193, 0.950227},
	}
	xyzFromRGBCIE = mat3{
		{0.49, 0.31, 0.20},
		{0.17697, 0.81240, 0.01063},
		{0.00, 0.01, 0.99},
	}.scale(1 / 0.17697)
	yuvFromRGB = mat3{
		{0.299, 0.587, 0.114},
		{-0.14714119, -0.28886916, 0.43601035},
		{0.61497538, -0.51496512, -0.10001026},
	}
	yiqFromRGB = mat3{
		{0.299, 0.587, 0.114},
		{0.59590059, -0.27455667, -0.32134392},
		{0.21153661, -0.52273617, 0.31119955},
	}
	ypbprFromRGB = mat3{
		{0.299, 0.587, 0.114},
		{-0.168736, -0.331264, 0.5},
		{0.5, -0.418688, -0.081312},
	}
	ycbcrFromRGB = mat3{
		{65.481, 128.553, 24.966},
		{-37.797, -74.203, 112.0},
		{112.0, -93.786, -18.214},
	}
	ydbdrFromRGB = mat3{
		{0.299, 0.587, 0.114},
		{-0.45, -0.883, 1.333},
		{-1.333, 1.116, 0.217},
	}
	// rgbFromHED holds the stain vectors of haematoxylin, eosin and DAB as rows.
	rgbFromHED = mat3{
		{0.65, 0.70, 0.29},
		{0.07, 0.99, 0.11},
		{0.27, 0.57, 0.78},
	}

	// d65 is the XYZ of illuminant D65 for the 2° observer, as skimage's
	// lab_ref_white.
	d65 = [3]float64{0.95047, 1, 1.08883}

	ycbcrOffset = [3]float64{16, 128, 128}
)

func init() {
	// The built-in spaces are registered in the order of their constants.
	put := func(cs ColorSpace, info spaceInfo) {
		if got := register(info, builtinDocs[cs]); got != cs {
			panic(fmt.Sprintf("viewgen: colour space %s registered as %d, want %d", info.name, got, cs))
		}
	}
	add := func(cs ColorSpace, name string, ch [3]string, fwd, inv func([3]float64) [3]float64) {
		put(cs, spaceInfo{name: name, channels: ch, fromRGB: fwd, toRGB: inv})
	}
	// addAffine adds a space reached by v -> m·v + offset.
	addAffine := func(cs ColorSpace, name string, ch [3]string, m mat3, offset [3]float64) {
		neg := [3]float64{-offset[0], -offset[1], -offset[2]}
		fwd := &affine{m: m, post: offset}
		inv := &affine{m: m.inverse(), pre: neg}
		put(cs, spaceInfo{name: name, channels: ch, fromRGB: fwd.apply, toRGB: inv.apply, fwd: fwd, inv: inv})
	}
	identity := func(v [3]float64) [3]float64 { return v }
	add(RGB, "rgb", [3]string{"R", "G", "B"}, identity, identity)
	addAffine(YCbCr, "ycbcr", [3]string{"Y", "Cb", "Cr"}, ycbcrFromRGB, ycbcrOffset)
	addAffine(YDbDr, "ydbdr", [3]string{"Y", "Db", "Dr"}, ydbdrFromRGB, [3]float64{})
	addAffine(YPbPr, "ypbpr", [3]string{"Y", "Pb", "Pr"}, ypbprFromRGB, [3]float64{})
	addAffine(YIQ, "yiq", [3]string{"Y", "I", "Q"}, yiqFromRGB, [3]float64{})
	addAffine(YUV, "yuv", [3]string{"Y", "U", "V"}, yuvFromRGB, [3]float64{})
	add(XYZ, "xyz", [3]string{"X", "Y", "Z"}, rgbToXYZ, xyzToRGB)
	add(Lab, "lab", [3]string{"L", "a", "b"},
		func(v [3]float64) [3]float64 { return xyzToLab(rgbToXYZ(v)) },
		func(v [3]float64) [3]float64 { return xyzToRGB(labToXYZ(v)) })
	add(LUV, "luv", [3]string{"L", "u", "v"},
		func(v [3]float64) [3]float64 { return xyzToLUV(rgbToXYZ(v)) },
		func(v [3]float64) [3]float64 { return xyzToRGB(luvToXYZ(v)) })
	add(HSV, "hsv", [3]string{"H", "S", "V"}, rgbToHSV, hsvToRGB)

	hedFromRGBT := rgbFromHED.inverse().transpose()
	rgbFromHEDT := rgbFromHED.transpose()
	add(HED, "hed", [3]string{"H", "E", "D"},
		func(v [3]float64) [3]float64 {
			var od [3]float64
			for c := range 3 {
				od[c] = math.Log(math.Max(v[c], hedFloor)) / math.Log(hedFloor)
			}
			return hedFromRGBT.mul(od)
		},
		func(v [3]float64) [3]float64 {
			od := rgbFromHEDT.mul(v)
			var out [3]float64
			for c := range 3 {
				out[c] = clip01(math.Exp(od[c] * math.Log(hedFloor)))
			}
			return out
		})

	addAffine(CIERGB, "rgbcie", [3]string{"R", "G", "B"}, xyzFromRGBCIE.inverse().matmul(xyzFromRGB), [3]float64{})
}

// builtinDocs say what each built-in space is, in one line.
var builtinDocs = [numBuiltinSpaces]string{
	RGB:    "sRGB as given, in [0, 1]",
	YCbCr:  "ITU-R BT.601 studio-swing YCbCr",
	YDbDr:  "SECAM luminance and two colour differences",
	YPbPr:  "analogue BT.601 component video",
	YIQ:    "NTSC luminance, in-phase and quadrature",
	YUV:    "BT.601 YUV (PAL)",
	XYZ:    "CIE 1931 XYZ of linear sRGB (D65)",
	Lab:    "CIE L*a*b* (D65, 2° observer)",
	LUV:    "CIE L*u*v* (D65, 2° observer)",
	HSV:    "hue, saturation and value",
	HED:    "haematoxylin-eosin-DAB stain densities (Ruifrok and Johnston)",
	CIERGB: "CIE 1931 RGB primaries (700, 546.1, 435.8 nm)",
}

// hedFloor is the least RGB value the stain conversion takes, so that the
// optical density -log(v) stays finite; skimage uses the same.
const hedFloor = 1e-6

func clip01(v float64) float64 { return math.Min(math.Max(v, 0), 1) }

// srgbDecode undoes the sRGB gamma (IEC 61966-2-1) as skimage does. The
// power is taken as exp(2.4·log(b)), which agrees with math.Pow to rounding
// and costs less than half as much.
func srgbDecode(v float64) float64 {
	if v > 0.04045 {
		return math.Exp(2.4 * math.Log((v+0.055)/1.055))
	}
	return v / 12.92
}

// rgbToXYZ undoes the sRGB gamma and applies xyzFromRGB.
func rgbToXYZ(v [3]float64) [3]float64 {
	return xyzFromRGB.mul([3]float64{srgbDecode(v[0]), srgbDecode(v[1]), srgbDecode(v[2])})
}

var rgbFromXYZ = xyzFromRGB.inverse()

// xyzToRGB applies the inverse matrix, the sRGB gamma, and clips to [0, 1].
func xyzToRGB(v [3]float64) [3]float64 {
	v = rgbFromXYZ.mul(v)
	for c := range 3 {
		if v[c] > 0.0031308 {
			v[c] = 1.055*math.Pow(v[c], 1/2.4) - 0.055
		} else {
			v[c] *= 12.92
		}
		v[c] = clip01(v[c])
	}
	return v
}

func xyzToLab(v [3]float64) [3]float64 {
	var f [3]float64
	for c := range 3 {
		t := v[c] / d65[c]
		if t > 0.008856 {
			f[c] = math.Cbrt(t)
		} else {
			f[c] = 7.787*t + 16.0/116
		}
	}
	return [3]float64{116*f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])}
}

func labToXYZ(v [3]float64) [3]float64 {
	fy := (v[0] + 16) / 116
	f := [3]float64{v[1]/500 + fy, fy, fy - v[2]/200}
	if f[2] < 0 {
		f[2] = 0
	}
	var out [3]float64
	for c := range 3 {
		if f[c] > 0.2068966 {
			out[c] = f[c] * f[c] * f[c]
		} else {
			out[c] = (f[c] - 16.0/116) / 7.787
		}
		out[c] *= d65[c]
	}
	return out
}

// luvEps is float64's machine epsilon, which skimage adds to the LUV
// denominators so that black maps to (0, 0, 0).
const luvEps = 2.220446049250313e-16

var (
	luvU0 = 4 * d65[0] / (d65[0] + 15*d65[1] + 3*d65[2])
	luvV0 = 9 * d65[1] / (d65[0] + 15*d65[1] + 3*d65[2])
)

func xyzToLUV(v [3]float64) [3]float64 {
	yr := v[1] / d65[1]
	var l float64
	if yr > 0.008856 {
		l = 116*math.Cbrt(yr) - 16
	} else {
		l = 903.3 * yr
	}
	den := v[0] + 15*v[1] + 3*v[2] + luvEps
	return [3]float64{l, 13 * l * (4*v[0]/den - luvU0), 13 * l * (9*v[1]/den - luvV0)}
}

func luvToXYZ(v [3]float64) [3]float64 {
	l := v[0]
	var y float64
	if l > 7.999625 {
		y = math.Pow((l+16)/116, 3)
	} else {
		y = l / 903.3
	}
	y *= d65[1]
	a := luvU0 + v[1]/(13*l+luvEps)
	b := luvV0 + v[2]/(13*l+luvEps)
	c := 3 * y * (5*b - 3)
	z := ((a-4)*c - 15*a*b*y) / (12 * b)
	x := -(c/b + 3*z)
	return [3]float64{x, y, z}
}

func rgbToHSV(v [3]float64) [3]float64 {
	r, g, b := v[0], v[1], v[2]
	mx := math.Max(r, math.Max(g, b))
	mn := math.Min(r, math.Min(g, b))
	delta := mx - mn
	if delta == 0 {
		return [3]float64{0, 0, mx}
	}
	var h float64
	switch mx {
	case b:
		h = 4 + (r-g)/delta
	case g:
		h = 2 + (b-r)/delta
	default:
		h = (g - b) / delta
	}
	// h is in [-1, 5], so h/6 wraps into [0, 1) by adding at most one turn.
	h /= 6
	if h < 0 {
		h++
	}
	return [3]float64{h, delta / mx, mx}
}

func hsvToRGB(v [3]float64) [3]float64 {
	h, s, val := v[0], v[1], v[2]
	hi := math.Floor(h * 6)
	f := h*6 - hi
	p := val * (1 - s)
	q := val * (1 - f*s)
	t := val * (1 - (1-f)*s)
	switch ((int(hi) % 6) + 6) % 6 {
	case 0:
		return [3]float64{val, t, p}
	case 1:
		return [3]float64{q, val, p}
	case 2:
		return [3]float64{p, val, t}
	case 3:
		return [3]float64{p, q, val}
	case 4:
		return [3]float64{t, p, val}
	default:
		return [3]float64{val, p, q}
	}
}
