package fashionphotos_test

import (
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/fashionphotos"
	"github.com/learnviews/learnviews/datasets/internal/datatest"
)

// toyItems are n 28×28 garments: item i of class i%10 is a full-intensity
// square covering rows and columns 4..23.
func toyItems(t testing.TB, n int) *datasets.InMemory {
	t.Helper()
	pix := make([]uint8, n*784)
	labels := make([]int, n)
	for i := range n {
		labels[i] = i % 10
		for y := 4; y < 24; y++ {
			for x := 4; x < 24; x++ {
				pix[i*784+y*28+x] = 255
			}
		}
	}
	ds, err := datasets.NewInMemory("toy-items", datasets.Shape{C: 1, H: 28, W: 28}, datasets.FashionMNISTClasses, pix, labels)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// toyPhotos are n grey photographs of 3×h×2h; photograph b has value
// 0.02·(b+1) everywhere.
func toyPhotos(n, h int) []*datasets.Photo {
	photos := make([]*datasets.Photo, n)
	for b := range n {
		p := &datasets.Photo{Name: string(rune('a' + b)), Shape: datasets.Shape{C: 3, H: h, W: 2 * h}, Pix: make([]float32, 3*h*2*h)}
		for i := range p.Pix {
			p.Pix[i] = 0.02 * float32(b+1)
		}
		photos[b] = p
	}
	return photos
}

func toySet(t testing.TB, n int, edit func(*fashionphotos.Config)) *fashionphotos.Set {
	t.Helper()
	cfg := fashionphotos.DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	s, err := fashionphotos.New(cfg, toyItems(t, n), toyPhotos(5, 2*cfg.Size))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestImagesAreDeterministicPerSeedAndIndex(t *testing.T) {
	for _, size := range []int{32, 64} {
		a := toySet(t, 100, func(c *fashionphotos.Config) { c.Size = size })
		b := toySet(t, 100, func(c *fashionphotos.Config) { c.Size = size })
		other := toySet(t, 100, func(c *fashionphotos.Config) { c.Size, c.Seed = size, 9 })
		img := func(s *fashionphotos.Set, i int) []float32 {
			out := make([]float32, s.Shape().Size())
			s.Image(i, out)
			return out
		}
		if a.Shape() != (datasets.Shape{C: 3, H: size, W: size}) {
			t.Fatalf("shape %v at size %d", a.Shape(), size)
		}
		want := img(a, 42)
		img(b, 7)
		if !slices.Equal(img(b, 42), want) {
			t.Fatalf("size %d: same seed and index rendered differently", size)
		}
		if slices.Equal(img(other, 42), want) || slices.Equal(img(a, 43), want) {
			t.Fatalf("size %d: another seed or index rendered the same image", size)
		}
	}
}

func TestRenderPaintsTheGarmentOverThePhotograph(t *testing.T) {
	s := toySet(t, 200, nil)
	n := s.Config().Size
	img := make([]float32, s.Shape().Size())
	fac := make([]float64, len(s.FactorNames()))
	for i := range 200 {
		l := s.Look(i)
		s.Image(i, img)
		s.Factors(i, fac)
		if l.X < 0 || l.Y < 0 || l.X+l.Side > n || l.Y+l.Side > n {
			t.Fatalf("item %d: garment at (%d,%d) side %d leaves the %d image", i, l.X, l.Y, l.Side, n)
		}
		if sc := fac[2]; sc < 0.6-1e-9 || sc > 1 {
			t.Fatalf("item %d: scale %v outside 0.6..1", i, sc)
		}
		if fac[0] != float64(i%10) || fac[1] != float64(l.Background) || int(fac[6]) != int(l.Texture) {
			t.Fatalf("item %d: factors %v disagree with look %+v", i, fac, l)
		}
		// The toy garment covers its middle 20/28: its centre is painted.
		cx, cy := l.X+l.Side/2, l.Y+l.Side/2
		if l.Texture == fashionphotos.Plain {
			for c := range 3 {
				if got, want := img[(c*n+cy)*n+cx], l.Colours[0][c]; math.Abs(float64(got-want)) > 1e-5 {
					t.Fatalf("item %d: plain garment channel %d = %v, want its colour %v", i, c, got, want)
				}
			}
		}
		// Outside the garment's box the photograph shows, untouched.
		bg := 0.02 * float32(l.Background+1)
		for _, p := range [][2]int{{0, 0}, {n - 1, n - 1}, {0, n - 1}, {n - 1, 0}} {
			x, y := p[0], p[1]
			if x >= l.X && x < l.X+l.Side && y >= l.Y && y < l.Y+l.Side {
				continue
			}
			if got := img[y*n+x]; got != bg {
				t.Fatalf("item %d: corner (%d,%d) = %v, want the photograph's %v", i, x, y, got, bg)
			}
		}
	}
}

// TestColourCarriesNoClass checks that each class sees the same spread of
// colours and textures: the class must live in the shape alone.
func TestColourCarriesNoClass(t *testing.T) {
	s := toySet(t, 6000, nil)
	var hue [10][2]float64 // per class: sum of cos and sin of the hue angle
	var textures [10][4]int
	for i := range s.Len() {
		l := s.Look(i)
		c := s.Label(i)
		hue[c][0] += math.Cos(2 * math.Pi * l.Hue)
		hue[c][1] += math.Sin(2 * math.Pi * l.Hue)
		textures[c][l.Texture]++
	}
	for c := range 10 {
		// 600 uniform hues: the mean unit vector has length ≈ 1/√600 ≈ 0.04.
		if r := math.Hypot(hue[c][0], hue[c][1]) / 600; r > 0.15 {
			t.Fatalf("class %d: hues lean one way (mean resultant %.2f)", c, r)
		}
		for tex, k := range textures[c] {
			if k < 100 || k > 200 {
				t.Fatalf("class %d: texture %d drawn %d times in 600", c, tex, k)
			}
		}
	}
}

func TestSplitLabelled(t *testing.T) {
	s := toySet(t, 6000, nil)
	lab, unl, err := s.SplitLabelled(3)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 10)
	for i := range lab.Len() {
		counts[lab.Label(i)]++
	}
	for c, k := range counts {
		if k != 500 {
			t.Fatalf("class %d has %d labelled items, want 500", c, k)
		}
	}
	if lab.Len() != fashionphotos.Labelled || unl.Len() != 1000 || unl.Label(0) != datasets.NoLabel {
		t.Fatalf("%d labelled, %d unlabelled (label %d)", lab.Len(), unl.Len(), unl.Label(0))
	}
	if _, _, err := toySet(t, 100, nil).SplitLabelled(3); err == nil {
		t.Fatal("5,000 labelled items drawn from 100")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		edit func(*fashionphotos.Config)
	}{
		{"tiny", func(c *fashionphotos.Config) { c.Size = 4 }},
		{"zero scale", func(c *fashionphotos.Config) { c.MinScale = 0 }},
		{"min above max", func(c *fashionphotos.Config) { c.MinScale, c.MaxScale = 0.9, 0.5 }},
		{"bigger than the image", func(c *fashionphotos.Config) { c.MaxScale = 1.2 }},
		{"zoom below 1", func(c *fashionphotos.Config) { c.Zoom = 0.9 }},
		{"unknown photograph", func(c *fashionphotos.Config) { c.Backgrounds = []string{"a", "zebra"} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := fashionphotos.DefaultConfig()
			c.edit(&cfg)
			if _, err := fashionphotos.New(cfg, toyItems(t, 10), toyPhotos(3, 64)); err == nil {
				t.Fatalf("config %+v accepted", cfg)
			}
		})
	}
	if _, err := fashionphotos.New(fashionphotos.DefaultConfig(), toyItems(t, 10), toyPhotos(2, 16)); err == nil {
		t.Fatal("photographs smaller than the image accepted")
	}
}

var (
	installedOnce sync.Once
	installed     [2]*fashionphotos.Set
	installedErr  error
)

// TestInstalledData renders from the real Fashion-MNIST and photographs.
func TestInstalledData(t *testing.T) {
	installedOnce.Do(func() {
		for k, split := range []datasets.Split{datasets.Train, datasets.Test} {
			if installed[k], installedErr = fashionphotos.Open(fashionphotos.DefaultConfig(), split); installedErr != nil {
				return
			}
		}
	})
	datatest.Require(t, installedErr)
	train, test := installed[0], installed[1]
	if train.Len() != 60000 || test.Len() != 10000 || len(train.BackgroundNames()) != 12 {
		t.Fatalf("%d train, %d test, %d photographs", train.Len(), test.Len(), len(train.BackgroundNames()))
	}
	img := make([]float32, train.Shape().Size())
	for i := range 100 {
		train.Image(i, img)
		var lo, hi float32 = 1, 0
		for _, v := range img {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo < 0 || hi > 1 || hi-lo < 0.2 {
			t.Fatalf("image %d spans %v..%v", i, lo, hi)
		}
	}
	if lab, _, err := train.SplitLabelled(1); err != nil || lab.Len() != 5000 {
		t.Fatalf("labelled split: %v", err)
	}
}
