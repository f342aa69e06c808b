package viewgen

import (
	"math"
	"strings"
	"testing"

	"github.com/learnviews/learnviews/chw"
)

var (
	black  = [3]float64{0, 0, 0}
	white  = [3]float64{1, 1, 1}
	red    = [3]float64{1, 0, 0}
	green  = [3]float64{0, 1, 0}
	blue   = [3]float64{0, 0, 1}
	orange = [3]float64{1, 0.5, 0.25}
	dark   = [3]float64{0.05, 0.02, 0.01}
)

// TestFromRGBReference checks each space against published values: the
// standards' coordinates of white, black and the sRGB primaries (for the
// linear spaces, the columns of their defining matrices) and, for colours off
// the axes, the values skimage.color 0.19.3 prints.
func TestFromRGBReference(t *testing.T) {
	tests := []struct {
		space ColorSpace
		rgb   [3]float64
		want  [3]float64
		tol   float64
	}{
		{RGB, orange, orange, 0},
		// BT.601 studio swing: Y 16-235, chroma centred on 128.
		{YCbCr, black, [3]float64{16, 128, 128}, 1e-9},
		{YCbCr, white, [3]float64{235, 128, 128}, 1e-9},
		{YCbCr, red, [3]float64{81.481, 90.203, 240}, 1e-9},
		{YCbCr, blue, [3]float64{40.966, 240, 109.786}, 1e-9},
		{YCbCr, orange, [3]float64{151.999, 81.1015, 188.5535}, 1e-9},
		{YDbDr, white, [3]float64{1, 0, 0}, 1e-12},
		{YDbDr, red, [3]float64{0.299, -0.45, -1.333}, 1e-12},
		{YDbDr, green, [3]float64{0.587, -0.883, 1.116}, 1e-12},
		{YDbDr, blue, [3]float64{0.114, 1.333, 0.217}, 1e-12},
		{YPbPr, red, [3]float64{0.299, -0.168736, 0.5}, 1e-12},
		{YPbPr, white, [3]float64{1, 0, 0}, 1e-12},
		{YIQ, red, [3]float64{0.299, 0.59590059, 0.21153661}, 1e-12},
		{YIQ, white, [3]float64{1, 0, 0}, 1e-7},
		{YUV, red, [3]float64{0.299, -0.14714119, 0.61497538}, 1e-12},
		{YUV, blue, [3]float64{0.114, 0.43601035, -0.10001026}, 1e-12},
		// sRGB white is D65: x = 0.3127, y = 0.3290 at Y = 1.
		{XYZ, white, [3]float64{0.950456, 1, 1.088754}, 1e-9},
		{XYZ, white, [3]float64{0.95047, 1, 1.08883}, 1e-4},
		{XYZ, red, [3]float64{0.412453, 0.212671, 0.019334}, 1e-9},
		{XYZ, [3]float64{0.5, 0.5, 0.5}, [3]float64{0.2034366862, 0.2140411405, 0.2330381479}, 1e-9},
		{Lab, black, [3]float64{0, 0, 0}, 1e-12},
		{Lab, white, [3]float64{100, 0, 0}, 5e-3},
		{Lab, red, [3]float64{53.2406, 80.0923, 67.2028}, 1e-3},
		{Lab, green, [3]float64{87.7351, -86.1830, 83.1797}, 1e-3},
		{Lab, blue, [3]float64{32.2957, 79.1856, -107.8573}, 1e-3},
		{Lab, orange, [3]float64{67.2332186, 44.3701441, 55.3668847}, 1e-6},
		{LUV, black, [3]float64{0, 0, 0}, 1e-12},
		{LUV, white, [3]float64{100, 0, 0}, 1e-2},
		{LUV, red, [3]float64{53.2406, 175.0145, 37.7562}, 1e-3},
		{LUV, blue, [3]float64{32.2957, -9.4049, -130.3370}, 1e-3},
		{LUV, orange, [3]float64{67.2332186, 102.7054923, 50.5328779}, 1e-6},
		{HSV, white, [3]float64{0, 0, 1}, 0},
		{HSV, red, [3]float64{0, 1, 1}, 0},
		{HSV, green, [3]float64{1.0 / 3, 1, 1}, 1e-15},
		{HSV, blue, [3]float64{2.0 / 3, 1, 1}, 1e-15},
		{HSV, orange, [3]float64{1.0 / 18, 0.75, 1}, 1e-15},
		// White has zero optical density; black has density 1 in every
		// channel, so its stains are the column sums of hed_from_rgb.
		{HED, white, [3]float64{0, 0, 0}, 1e-15},
		{HED, black, [3]float64{1.2101673112, -0.3533625023, 0.8819504551}, 1e-9},
		// A dark colour takes the linear branches of the gamma, Lab and LUV
		// (values from skimage.color 0.19.3).
		{XYZ, dark, [3]float64{0.002316565753, 0.001999977373, 0.000996076557}, 1e-9},
		{Lab, dark, [3]float64{1.806563561, 1.702655111, 1.690033968}, 1e-6},
		{LUV, dark, [3]float64{1.806579561, 1.517809296, 0.974851253}, 1e-6},
		{HSV, dark, [3]float64{0.041666666667, 0.8, 0.05}, 1e-12},
		{HSV, [3]float64{0.2, 0.4, 0.9}, [3]float64{0.619047619048, 0.777777777778, 0.9}, 1e-12},
		{Lab, [3]float64{0.2, 0.4, 0.9}, [3]float64{46.828428569, 28.176608627, -69.451144124}, 1e-6},
		{CIERGB, white, [3]float64{0.1488856036, 0.1828809805, 0.1927757430}, 1e-9},
		{CIERGB, blue, [3]float64{-0.0146615357, 0.0166944581, 0.1696916440}, 1e-9},
	}
	for _, tt := range tests {
		got := tt.space.FromRGB(tt.rgb)
		for c := range 3 {
			if math.Abs(got[c]-tt.want[c]) > tt.tol {
				t.Errorf("%s.FromRGB(%v) = %v, want %v (±%g)", tt.space, tt.rgb, got, tt.want, tt.tol)
				break
			}
		}
	}
}

// TestHEDClippedMatchesSkimage checks that clipping our stain amounts at zero
// gives what skimage.color.rgb2hed (0.19.3) returns.
func TestHEDClippedMatchesSkimage(t *testing.T) {
	tests := []struct {
		rgb, want [3]float64
	}{
		{black, [3]float64{1.2101673111892832, 0, 0.8819504551361967}},
		{red, [3]float64{0, 0.6543161840026046, 1.4380662733358214}},
		{green, [3]float64{1.2760753734128465, 0, 1.017472253764568}},
		{blue, [3]float64{1.8120746746285723, 0.12705168621409824, 0}},
		{[3]float64{0.5, 0.5, 0.5}, [3]float64{0.060716110073333614, 0, 0.04424892361424926}},
		{orange, [3]float64{0, 0.008724952825498728, 0.1510997157511789}},
		{dark, [3]float64{0.18792022072390693, 0, 0.3655675520973645}},
	}
	for _, tt := range tests {
		got := HED.FromRGB(tt.rgb)
		for c := range 3 {
			if math.Abs(math.Max(got[c], 0)-tt.want[c]) > 1e-9 {
				t.Errorf("max(HED.FromRGB(%v), 0) = %v, want %v", tt.rgb, got, tt.want)
				break
			}
		}
	}
}

// rgbCube returns an image whose pixels are the n³ points of a regular grid
// over the RGB cube.
func rgbCube(n int) chw.Image {
	img := chw.New(3, n*n, n)
	m := n * n * n
	for i := range n {
		for j := range n {
			for k := range n {
				p := (i*n+j)*n + k
				img.Pix[p] = float32(i) / float32(n-1)
				img.Pix[m+p] = float32(j) / float32(n-1)
				img.Pix[2*m+p] = float32(k) / float32(n-1)
			}
		}
	}
	return img
}

// TestRoundTrip converts the 33³ grid of the RGB cube to each space and back
// through float32 images; the tolerance is the largest error allowed in any
// RGB component.
func TestRoundTrip(t *testing.T) {
	tol := map[ColorSpace]float64{
		RGB: 0, YCbCr: 1e-6, YDbDr: 1e-6, YPbPr: 1e-6, YIQ: 1e-6, YUV: 1e-6,
		HSV: 1e-6, CIERGB: 1e-6,
		XYZ: 5e-6, Lab: 5e-6, LUV: 5e-6,
		// Black comes back as the 1e-6 floor of the optical density.
		HED: 5e-6,
	}
	cube := rgbCube(33)
	for _, cs := range Spaces() {
		t.Run(cs.String(), func(t *testing.T) {
			conv, err := cs.Convert(cube)
			if err != nil {
				t.Fatal(err)
			}
			back, err := cs.Invert(conv)
			if err != nil {
				t.Fatal(err)
			}
			worst, at := 0.0, 0
			for i := range back.Pix {
				if d := math.Abs(float64(back.Pix[i] - cube.Pix[i])); d > worst {
					worst, at = d, i
				}
			}
			if worst > tol[cs] {
				t.Errorf("round trip error %.3g at value %d exceeds %.3g", worst, at, tol[cs])
			}
		})
	}
}

func TestParseColorSpace(t *testing.T) {
	tests := []struct {
		in   string
		want ColorSpace
	}{
		{"rgb", RGB}, {"YDbDr", YDbDr}, {"ycbcr", YCbCr}, {"Lab", Lab}, {"luv", LUV},
		{"CIE-RGB", CIERGB}, {"rgb cie", CIERGB}, {"rgbcie", CIERGB}, {"h_e_d", HED},
	}
	for _, tt := range tests {
		got, err := ParseColorSpace(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseColorSpace(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, cs := range Spaces() {
		got, err := ParseColorSpace(cs.String())
		if err != nil || got != cs {
			t.Errorf("ParseColorSpace(%q) = %v, %v", cs.String(), got, err)
		}
	}
	_, err := ParseColorSpace("ydbd")
	if err == nil || !strings.Contains(err.Error(), `"ydbd"`) || !strings.Contains(err.Error(), "ydbdr") {
		t.Errorf(`ParseColorSpace("ydbd") error = %v, want it to name "ydbd" and list ydbdr`, err)
	}
}

func TestColorSpaceText(t *testing.T) {
	var cs ColorSpace
	if err := cs.UnmarshalText([]byte("ypbpr")); err != nil || cs != YPbPr {
		t.Fatalf("UnmarshalText(ypbpr) = %v, %v", cs, err)
	}
	b, err := Lab.MarshalText()
	if err != nil || string(b) != "lab" {
		t.Errorf("Lab.MarshalText() = %q, %v", b, err)
	}
	if err := cs.UnmarshalText([]byte("cmyk")); err == nil {
		t.Error("UnmarshalText(cmyk) succeeded")
	}
}

func TestChannelRanges(t *testing.T) {
	tests := []struct {
		space ColorSpace
		c     int
		lo    float64
		hi    float64
	}{
		{YCbCr, 0, 16, 235},
		{YCbCr, 1, 16, 240},
		{Lab, 0, 0, 100},
		{YDbDr, 1, -1.333, 1.333},
		{XYZ, 2, 0, 1.088754},
		{HSV, 1, 0, 1},
	}
	for _, tt := range tests {
		r := tt.space.ChannelRanges()[tt.c]
		if math.Abs(r[0]-tt.lo) > 1e-9 || math.Abs(r[1]-tt.hi) > 1e-9 {
			t.Errorf("%s channel %d range = %v, want [%g %g]", tt.space, tt.c, r, tt.lo, tt.hi)
		}
	}
}

func TestConvertRejectsBadImages(t *testing.T) {
	bad := []chw.Image{
		chw.New(1, 4, 4),
		{C: 3, H: 2, W: 2, Pix: make([]float32, 11)},
		{C: 3, H: 0, W: 2},
	}
	for _, img := range bad {
		if _, err := Lab.Convert(img); err == nil {
			t.Errorf("Lab.Convert(%d×%d×%d with %d values) succeeded", img.C, img.H, img.W, len(img.Pix))
		}
	}
}

// A registered colour space is found by name, converts both ways, and
// every view spec can use it.
func TestRegisterColorSpace(t *testing.T) {
	swap := func(v [3]float64) [3]float64 { return [3]float64{v[2], v[1], v[0]} }
	bgr := RegisterColorSpace(ColorSpaceDef{Name: "test-bgr", Channels: [3]string{"B", "G", "R"}, FromRGB: swap, ToRGB: swap}, "RGB reversed")
	got, err := ParseColorSpace("test-bgr")
	if err != nil || got != bgr {
		t.Fatalf("ParseColorSpace(test-bgr) = %v, %v; want %v", got, err, bgr)
	}
	if names, _ := ColorSpaces.Lookup("test-bgr"); names != bgr {
		t.Errorf("the registry holds %v", names)
	}
	img := chw.New(3, 1, 2)
	copy(img.Pix, []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6})
	out, err := bgr.Convert(img)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "converted", out.Pix, []float32{0.5, 0.6, 0.3, 0.4, 0.1, 0.2}, 0)
	if r := bgr.ChannelRanges(); r[0] != [2]float64{0, 1} {
		t.Errorf("channel ranges %v", r)
	}
	spec, err := ParseSpec("test-bgr:0|1,2+flip")
	if err != nil || spec.Space != bgr {
		t.Errorf("ParseSpec: %v, %v", spec, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	RegisterColorSpace(ColorSpaceDef{Name: "test-bgr", FromRGB: swap, ToRGB: swap}, "")
}
