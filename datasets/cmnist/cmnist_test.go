package cmnist_test

import (
	"io"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/cmnist"
	"github.com/learnviews/learnviews/datasets/internal/datatest"
)

// toyDigits are n 28×28 "digits": digit i of class i%10 is a white 8×8
// square at the centre, with a grey corner pixel encoding i.
func toyDigits(t testing.TB, n int) *datasets.InMemory {
	t.Helper()
	pix := make([]uint8, n*784)
	labels := make([]int, n)
	for i := range n {
		labels[i] = i % 10
		for y := 10; y < 18; y++ {
			for x := 10; x < 18; x++ {
				pix[i*784+y*28+x] = 255
			}
		}
	}
	ds, err := datasets.NewInMemory("toy-digits", datasets.Shape{C: 1, H: 28, W: 28}, datasets.MNISTClasses, pix, labels)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// toyPhotos are n 3×h×(3h/2) photographs: red encodes the photograph's
// number, green the column, blue the row, all well below white.
func toyPhotos(n, h int) []*datasets.Photo {
	w := 3 * h / 2
	photos := make([]*datasets.Photo, n)
	for b := range n {
		p := &datasets.Photo{Name: string(rune('A' + b)), Shape: datasets.Shape{C: 3, H: h, W: w}, Pix: make([]float32, 3*h*w)}
		for y := range h {
			for x := range w {
				p.Pix[y*w+x] = 0.05 * float32(b)
				p.Pix[(h+y)*w+x] = 0.5 * float32(x) / float32(w)
				p.Pix[(2*h+y)*w+x] = 0.5 * float32(y) / float32(h)
			}
		}
		photos[b] = p
	}
	return photos
}

// toyNames are the names of n toy photographs.
func toyNames(n int) []string {
	names := make([]string, n)
	for b := range names {
		names[b] = string(rune('A' + b))
	}
	return names
}

func toySet(t testing.TB, edit func(*cmnist.Config)) *cmnist.Set {
	t.Helper()
	cfg := cmnist.DefaultConfig()
	cfg.Len = 500
	cfg.Backgrounds = toyNames(10)
	if edit != nil {
		edit(&cfg)
	}
	s, err := cmnist.New(cfg, toyDigits(t, 50), toyPhotos(len(cfg.Backgrounds), 2*cfg.Size))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSecondViewSharesExactlyTheConfiguredFactors(t *testing.T) {
	s := toySet(t, nil)
	k := s.Config().Frames
	gap := (s.Config().DigitSize + 1) / 2
	for shared := cmnist.None; shared <= cmnist.All; shared++ {
		t.Run(shared.String(), func(t *testing.T) {
			for i := range 200 {
				next, v2 := s.Scene(i, k), s.SecondScene(i, shared)
				sameDigit := v2.Digit == next.Digit && v2.Class == next.Class
				if shared&cmnist.Digit != 0 && !sameDigit || shared&cmnist.Digit == 0 && v2.Class == next.Class {
					t.Fatalf("sequence %d: x_t digit %d (class %d), v2 digit %d (class %d)", i, next.Digit, next.Class, v2.Digit, v2.Class)
				}
				sameBackground := v2.Background == next.Background && v2.CropX == next.CropX && v2.CropY == next.CropY
				if shared&cmnist.Background != 0 && !sameBackground || shared&cmnist.Background == 0 && v2.Background == next.Background {
					t.Fatalf("sequence %d: x_t background %+v, v2 %+v", i, next, v2)
				}
				dist := max(abs(v2.X-next.X), abs(v2.Y-next.Y))
				if shared&cmnist.Position != 0 && dist != 0 || shared&cmnist.Position == 0 && dist < gap {
					t.Fatalf("sequence %d: x_t at (%d,%d), v2 at (%d,%d)", i, next.X, next.Y, v2.X, v2.Y)
				}
			}
		})
	}
}

func abs(v int) int { return max(v, -v) }

func TestScenesAreDeterministicPerSeedAndIndex(t *testing.T) {
	a, b := toySet(t, nil), toySet(t, nil)
	other := toySet(t, func(c *cmnist.Config) { c.Seed = 2 })
	render := func(s *cmnist.Set, i int) []float32 {
		img := make([]float32, s.Pairs().Shape().Size()+s.Pairs().SecondShape().Size())
		s.Pairs().Image(i, img[:s.Pairs().Shape().Size()])
		s.Pairs().SecondView(i, img[s.Pairs().Shape().Size():])
		return img
	}
	want := render(a, 17)
	_ = render(b, 3) // rendering other items first changes nothing
	if !slices.Equal(render(b, 17), want) {
		t.Fatal("same seed and index rendered differently")
	}
	if slices.Equal(render(other, 17), want) {
		t.Fatal("seeds 1 and 2 rendered the same sequence")
	}
	if slices.Equal(render(a, 18), want) {
		t.Fatal("indices 17 and 18 rendered the same sequence")
	}
}

func TestDigitMotion(t *testing.T) {
	cases := []struct {
		name   string
		motion cmnist.Motion
		speed  float64
		frames int
	}{
		{"bounce, default speed", cmnist.Bounce, 3, 3},
		{"bounce, fast and long", cmnist.Bounce, 17, 8},
		{"straight", cmnist.Straight, 4, 5},
		{"still", cmnist.Bounce, 0, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := toySet(t, func(cfg *cmnist.Config) { cfg.Motion, cfg.Speed, cfg.Frames = c.motion, c.speed, c.frames })
			free := s.Config().Size - s.Config().DigitSize
			for i := range 100 {
				var prev cmnist.Scene
				for f := 0; f <= c.frames; f++ {
					sc := s.Scene(i, f)
					if sc.X < 0 || sc.Y < 0 || sc.X > free || sc.Y > free {
						t.Fatalf("sequence %d frame %d: digit at (%d,%d) leaves the canvas", i, f, sc.X, sc.Y)
					}
					if f > 0 {
						d := math.Hypot(float64(sc.X-prev.X), float64(sc.Y-prev.Y))
						if d > c.speed+1.5 {
							t.Fatalf("sequence %d frame %d: digit jumped %.1f pixels at speed %v", i, f, d, c.speed)
						}
						if sc.Digit != prev.Digit || sc.Background != prev.Background || sc.CropX != prev.CropX {
							t.Fatalf("sequence %d frame %d: digit or background changed within the sequence", i, f)
						}
					}
					if f == 2 && c.motion == cmnist.Straight {
						first := s.Scene(i, 0)
						// x_1 - x_0 and x_2 - x_1 agree up to rounding: no reflection.
						if abs((sc.X-prev.X)-(prev.X-first.X)) > 1 || abs((sc.Y-prev.Y)-(prev.Y-first.Y)) > 1 {
							t.Fatalf("sequence %d: straight motion turned", i)
						}
					}
					prev = sc
				}
			}
		})
	}
}

func TestRenderedFrameMatchesItsGroundTruth(t *testing.T) {
	s := toySet(t, nil)
	f := s.Frames()
	n := s.Config().Size
	img := make([]float32, f.Shape().Size())
	fac := make([]float64, 4)
	for i := range 50 {
		f.Image(i, img)
		f.Factors(i, fac)
		if f.Label(i) != int(fac[0]) {
			t.Fatalf("frame %d: label %d, digit factor %v", i, f.Label(i), fac[0])
		}
		// The toy digit is a white square around its centre.
		cx, cy := int(fac[2]), int(fac[3])
		for c := range 3 {
			if v := img[(c*n+cy)*n+cx]; v < 0.999 {
				t.Fatalf("frame %d: channel %d at the digit centre (%d,%d) is %v, want white", i, c, cx, cy, v)
			}
		}
		// Far from the digit, red shows the background photograph's number.
		x, y := (cx+n/2)%n, (cy+n/2)%n
		if got := img[y*n+x]; math.Abs(float64(got)-0.05*fac[1]) > 1e-6 {
			t.Fatalf("frame %d: background red %v, want photograph %v", i, got, fac[1])
		}
		for _, v := range img {
			if v < 0 || v > 1 {
				t.Fatalf("frame %d: value %v outside [0,1]", i, v)
			}
		}
	}
}

func TestPairsThroughTheIterator(t *testing.T) {
	s := toySet(t, func(c *cmnist.Config) { c.Shared = cmnist.Background | cmnist.Position; c.Frames = 4; c.Size = 32 })
	p := s.Pairs()
	it, err := datasets.NewIterator(p, datasets.IteratorConfig{BatchSize: 16, Seed: 3, Epochs: 1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	items := 0
	for {
		b, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Shape.C != 12 || b.SecondShape.C != 3 || len(b.FactorNames) != 8 {
			t.Fatalf("batch shapes %v / %v, factors %v", b.Shape, b.SecondShape, b.FactorNames)
		}
		for j := range b.Len() {
			f := b.Factors[8*j : 8*j+8]
			if f[0] == f[4] || f[1] != f[5] || f[2] != f[6] || f[3] != f[7] {
				t.Fatalf("sequence %d: x_t factors %v, v2 factors %v; want background and position shared, digit not", b.Indices[j], f[:4], f[4:])
			}
		}
		// Frame 3 of the first view and x_t differ only by the digit's move;
		// the last channel block of Images is frame 3.
		items += b.Len()
		b.Release()
	}
	if items != p.Len() {
		t.Fatalf("one epoch delivered %d items, want %d", items, p.Len())
	}
	// The stacked first view holds frames 0..k-1 in order.
	img := make([]float32, p.Shape().Size())
	p.Image(7, img)
	frame := make([]float32, 3*32*32)
	for f := range 4 {
		s.Frame(7, f, frame)
		if !slices.Equal(img[f*len(frame):(f+1)*len(frame)], frame) {
			t.Fatalf("channels %d..%d of the first view are not frame %d", 3*f, 3*f+2, f)
		}
	}
}

func TestNegativeSharesNothing(t *testing.T) {
	s := toySet(t, func(c *cmnist.Config) { c.Shared = cmnist.All })
	k := s.Config().Frames
	for i := range 100 {
		next, neg := s.Scene(i, k), s.SecondScene(i, cmnist.None)
		if neg.Class == next.Class || neg.Background == next.Background || (neg.X == next.X && neg.Y == next.Y) {
			t.Fatalf("sequence %d: negative %+v shares a factor with x_t %+v", i, neg, next)
		}
	}
	n := s.Config().Size
	a, b := make([]float32, 3*n*n), make([]float32, 3*n*n)
	s.Pairs().Negative(4, a)
	s.Render(s.SecondScene(4, cmnist.None), b)
	if !slices.Equal(a, b) {
		t.Fatal("Negative is not the scene that shares nothing")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		edit func(*cmnist.Config)
	}{
		{"no shared factor", func(c *cmnist.Config) { c.Shared = cmnist.None }},
		{"unknown factor bit", func(c *cmnist.Config) { c.Shared = 8 }},
		{"tiny canvas", func(c *cmnist.Config) { c.Size = 4 }},
		{"digit as big as the canvas", func(c *cmnist.Config) { c.DigitSize = 64 }},
		{"no frames", func(c *cmnist.Config) { c.Frames = 0 }},
		{"negative speed", func(c *cmnist.Config) { c.Speed = -1 }},
		{"straight path too long", func(c *cmnist.Config) { c.Motion, c.Speed, c.Frames = cmnist.Straight, 10, 5 }},
		{"one background", func(c *cmnist.Config) { c.Backgrounds = []string{"A"} }},
		{"unknown photograph", func(c *cmnist.Config) { c.Backgrounds = []string{"A", "Zebra"} }},
		{"zoom below 1", func(c *cmnist.Config) { c.Zoom = 0.5 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cmnist.DefaultConfig()
			cfg.Backgrounds = toyNames(10)
			c.edit(&cfg)
			if _, err := cmnist.New(cfg, toyDigits(t, 20), toyPhotos(10, 128)); err == nil {
				t.Fatalf("config %+v accepted", cfg)
			}
		})
	}
	cfg := cmnist.DefaultConfig()
	cfg.Backgrounds = toyNames(10)
	if _, err := cmnist.New(cfg, toyDigits(t, 9), toyPhotos(10, 128)); err == nil {
		t.Fatal("digits missing class 9 accepted")
	}
	if _, err := cmnist.New(cfg, toyDigits(t, 20), toyPhotos(9, 128)); err == nil {
		t.Fatal("9 photographs for 10 backgrounds accepted")
	}
}

func TestParseFactors(t *testing.T) {
	cases := []struct {
		in      string
		want    cmnist.Factors
		wantErr bool
	}{
		{"digit", cmnist.Digit, false},
		{"digit+background", cmnist.Digit | cmnist.Background, false},
		{"position, digit", cmnist.Digit | cmnist.Position, false},
		{"digit+background+position", cmnist.All, false},
		{"none", cmnist.None, false},
		{"colour", 0, true},
		{"", 0, true},
	}
	for _, c := range cases {
		got, err := cmnist.ParseFactors(c.in)
		if (err != nil) != c.wantErr || got != c.want {
			t.Fatalf("ParseFactors(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.wantErr)
		}
		if err == nil {
			if back, _ := cmnist.ParseFactors(got.String()); back != got {
				t.Fatalf("%v does not survive String and ParseFactors", got)
			}
		}
	}
}

var (
	installedOnce sync.Once
	installed     *cmnist.Set
	installedErr  error
)

func openInstalled(t testing.TB) *cmnist.Set {
	installedOnce.Do(func() { installed, installedErr = cmnist.Open(cmnist.DefaultConfig(), datasets.Test) })
	datatest.Require(t, installedErr)
	return installed
}

// TestInstalledData renders from the real MNIST digits and photographs.
func TestInstalledData(t *testing.T) {
	s := openInstalled(t)
	if s.Len() != 10000 || len(s.BackgroundNames()) != 10 {
		t.Fatalf("%d sequences over %d backgrounds", s.Len(), len(s.BackgroundNames()))
	}
	f := s.Frames()
	img := make([]float32, f.Shape().Size())
	fac := make([]float64, 4)
	backgrounds := map[int]bool{}
	for i := range 200 {
		f.Image(i, img)
		f.Factors(i, fac)
		backgrounds[int(fac[1])] = true
		var lo, hi float32 = 1, 0
		for _, v := range img {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo < 0 || hi > 1 || hi-lo < 0.3 {
			t.Fatalf("frame %d spans %v..%v", i, lo, hi)
		}
	}
	if len(backgrounds) != 10 {
		t.Fatalf("200 frames used %d of the 10 backgrounds", len(backgrounds))
	}
}
