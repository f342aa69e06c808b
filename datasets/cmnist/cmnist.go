// Package cmnist generates Colorful-Moving-MNIST, the toy set of the InfoMin
// paper: an MNIST digit moving over a crop of one of ten natural photographs,
// with the digit class, background class and digit position as ground truth.
// It owns the first view (k consecutive frames), the second view (an image
// sharing a chosen set of factors with the next frame) and the supervised
// evaluation frames, all rendered on the fly from the seed and the index.
//
//	s, err := cmnist.Open(cmnist.DefaultConfig(), datasets.Train)
//	pairs := s.Pairs()     // Image: k frames as 3k channels; SecondView: v2
//	frames := s.Frames()   // Image: the next frame x_t; factors for the heads
package cmnist

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/datasets"
)

// Factors is a set of the generative factors of a frame.
type Factors uint8

// The factors of a frame, combinable with |.
const (
	Digit      Factors = 1 << iota // the digit (class and drawing)
	Background                     // the background photograph and its crop
	Position                       // the digit's position on the canvas

	None Factors = 0
	All          = Digit | Background | Position
)

var factorNames = []struct {
	f    Factors
	name string
}{{Digit, "digit"}, {Background, "background"}, {Position, "position"}}

// String names the factors joined by '+', or "none".
func (f Factors) String() string {
	var parts []string
	for _, n := range factorNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// ParseFactors reads a set written as String writes it ("digit+position",
// "none"); commas also separate.
func ParseFactors(s string) (Factors, error) {
	var f Factors
	if s == "none" {
		return None, nil
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '+' || r == ',' }) {
		found := false
		for _, n := range factorNames {
			if strings.TrimSpace(part) == n.name {
				f, found = f|n.f, true
			}
		}
		if !found {
			return 0, fmt.Errorf("cmnist: unknown factor %q in %q: want digit, background, position or none", part, s)
		}
	}
	if f == None {
		return 0, fmt.Errorf("cmnist: no factor in %q", s)
	}
	return f, nil
}

// Motion is how the digit moves between frames.
type Motion int

const (
	// Bounce moves the digit in a straight line and reflects it off the
	// canvas edges.
	Bounce Motion = iota
	// Straight moves the digit in a straight line, from a start drawn so
	// that it stays on the canvas without bouncing.
	Straight
)

// DefaultBackgrounds are the ten mate-backgrounds photographs used as
// background classes, in class order (GreenMeadow and TwoWings are left out as
// too close to Blinds and Garden).
var DefaultBackgrounds = []string{"Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "LadyBird", "RainDrops", "Storm", "Wood", "YellowFlower"}

// Config sets the generator. Start from DefaultConfig.
type Config struct {
	Size        int      // canvas side in pixels
	Frames      int      // k: frames in the first view
	Speed       float64  // digit speed, pixels per frame
	Motion      Motion   // Bounce or Straight
	DigitSize   int      // digit side in pixels; 0 means 28×Size/64
	Zoom        float64  // photographs are scaled to a shorter side of Zoom×Size before cropping
	Shared      Factors  // factors the second view shares with the next frame; not None
	Len         int      // sequences; 0 means one per digit image
	Seed        uint64   // seeds every random choice, with the index
	Backgrounds []string // photograph names, one per background class
}

// DefaultConfig is a 64×64 canvas, k = 3 frames, speed 3 with bounce, and a
// second view that shares the digit.
func DefaultConfig() Config {
	return Config{Size: 64, Frames: 3, Speed: 3, Motion: Bounce, Zoom: 2, Shared: Digit, Seed: 1, Backgrounds: DefaultBackgrounds}
}

func (c Config) validate() (Config, error) {
	if c.DigitSize == 0 {
		c.DigitSize = int(math.Round(28 * float64(c.Size) / 64))
	}
	switch {
	case c.Size < 8:
		return c, fmt.Errorf("cmnist: canvas size %d, want ≥ 8", c.Size)
	case c.DigitSize < 4 || c.DigitSize >= c.Size:
		return c, fmt.Errorf("cmnist: digit size %d on a %d canvas, want 4..%d", c.DigitSize, c.Size, c.Size-1)
	case c.Frames < 1:
		return c, fmt.Errorf("cmnist: %d frames, want ≥ 1", c.Frames)
	case c.Speed < 0 || math.IsNaN(c.Speed):
		return c, fmt.Errorf("cmnist: speed %v, want ≥ 0", c.Speed)
	case c.Motion != Bounce && c.Motion != Straight:
		return c, fmt.Errorf("cmnist: unknown motion %d", c.Motion)
	case c.Motion == Straight && float64(c.Frames)*c.Speed > float64(c.Size-c.DigitSize):
		return c, fmt.Errorf("cmnist: %d frames at speed %v cross more than the %d free pixels; use Bounce", c.Frames, c.Speed, c.Size-c.DigitSize)
	case c.Zoom < 1 || math.IsNaN(c.Zoom):
		return c, fmt.Errorf("cmnist: zoom %v, want ≥ 1", c.Zoom)
	case c.Shared == None || c.Shared&^All != 0:
		return c, fmt.Errorf("cmnist: shared factors %v: the second view must share at least one of digit, background, position", c.Shared)
	case len(c.Backgrounds) < 2:
		return c, fmt.Errorf("cmnist: %d backgrounds, want ≥ 2", len(c.Backgrounds))
	case c.Len < 0:
		return c, fmt.Errorf("cmnist: length %d", c.Len)
	}
	return c, nil
}

// Set is a Colorful-Moving-MNIST generator over one split of MNIST. It is
// safe for concurrent use.
type Set struct {
	cfg     Config
	digits  *datasets.InMemory
	byClass [][]int
	photos  []*datasets.Photo
	resize  *chw.Resizer // digit 28×28 → DigitSize; nil when equal
	n       int
	free    int       // Size − DigitSize: the range of the digit's top-left corner
	scratch sync.Pool // *[]float32 buffers for Render
}

// New makes a generator from single-channel digits labelled 0..9 (MNIST's
// 28×28, scaled to DigitSize) and the photographs named by cfg.Backgrounds,
// in that order, as background classes. Photographs larger than Zoom×Size
// are scaled down.
func New(cfg Config, digits *datasets.InMemory, photos []*datasets.Photo) (*Set, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	ds := digits.Shape()
	if ds.C != 1 || len(digits.Classes()) != 10 {
		return nil, fmt.Errorf("cmnist: digits %s are %v in %d classes, want 1 channel and 10 classes", digits.Name(), ds, len(digits.Classes()))
	}
	photos, err = datasets.SelectPhotos(photos, cfg.Backgrounds)
	if err != nil {
		return nil, fmt.Errorf("cmnist: %w", err)
	}
	if cfg.Len == 0 {
		cfg.Len = digits.Len()
	}
	s := &Set{cfg: cfg, digits: digits, byClass: make([][]int, 10), n: cfg.Len, free: cfg.Size - cfg.DigitSize}
	for i := range digits.Len() {
		y := digits.Label(i)
		if y < 0 {
			return nil, fmt.Errorf("cmnist: digit %d of %s has no label", i, digits.Name())
		}
		s.byClass[y] = append(s.byClass[y], i)
	}
	for c, items := range s.byClass {
		if len(items) == 0 {
			return nil, fmt.Errorf("cmnist: digits %s have no image of class %d", digits.Name(), c)
		}
	}
	side := int(math.Ceil(cfg.Zoom * float64(cfg.Size)))
	for _, p := range photos {
		if min(p.Shape.H, p.Shape.W) < cfg.Size {
			return nil, fmt.Errorf("cmnist: photograph %s is %v, smaller than the %d canvas", p.Path, p.Shape, cfg.Size)
		}
		if min(p.Shape.H, p.Shape.W) > side {
			if p, err = p.Resized(side); err != nil {
				return nil, err
			}
		}
		s.photos = append(s.photos, p)
	}
	p := cfg.DigitSize + 2
	scratch := 3*p*p + cfg.DigitSize*cfg.DigitSize + ds.Size()
	s.scratch.New = func() any { b := make([]float32, scratch); return &b }
	if ds.H != cfg.DigitSize || ds.W != cfg.DigitSize {
		s.resize, err = chw.NewResizer(ds, datasets.Shape{C: 1, H: cfg.DigitSize, W: cfg.DigitSize})
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Open loads a split of MNIST (FindMNIST) and the configured photographs
// (FindBackgrounds) and makes a generator.
func Open(cfg Config, split datasets.Split) (*Set, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	dir, err := datasets.FindMNIST()
	if err != nil {
		return nil, err
	}
	digits, err := datasets.LoadMNIST(dir, split)
	if err != nil {
		return nil, err
	}
	side := int(math.Ceil(cfg.Zoom * float64(cfg.Size)))
	photos, err := datasets.LoadBackgrounds(cfg.Backgrounds, side)
	if err != nil {
		return nil, err
	}
	return New(cfg, digits, photos)
}

// Config is the generator's configuration, defaults filled in.
func (s *Set) Config() Config { return s.cfg }

// Len is the number of sequences.
func (s *Set) Len() int { return s.n }

// BackgroundNames names the background classes.
func (s *Set) BackgroundNames() []string { return s.cfg.Backgrounds }

// MemoryBytes is the memory the generator holds: digits and photographs.
func (s *Set) MemoryBytes() int64 {
	m := s.digits.MemoryBytes()
	for _, p := range s.photos {
		m += 4 * int64(len(p.Pix))
	}
	return m
}

// Scene is everything drawn in one frame.
type Scene struct {
	Digit        int // index of the digit image in the MNIST split
	Class        int // its class, 0..9
	Background   int // background class: index into BackgroundNames
	CropX, CropY int // top-left corner of the crop in the scaled photograph
	X, Y         int // top-left corner of the digit on the canvas
}

// Centre is the digit's centre on the canvas in pixels: the position factor.
func (s *Set) Centre(sc Scene) (x, y float64) {
	h := float64(s.cfg.DigitSize) / 2
	return float64(sc.X) + h, float64(sc.Y) + h
}

// plan is all the random choices of one sequence, drawn in a fixed order.
type plan struct {
	frames []Scene // k+1: the first view's frames, then x_t
	alt    Scene   // a scene whose every factor differs from x_t's
}

func (s *Set) plan(i int) plan {
	r := rand.New(rand.NewPCG(s.cfg.Seed, uint64(i)))
	base := Scene{Digit: r.IntN(s.digits.Len())}
	base.Class = s.digits.Label(base.Digit)
	base.Background = r.IntN(len(s.photos))
	base.CropX, base.CropY = s.crop(r, base.Background)

	// The digit's path.
	k := s.cfg.Frames
	angle := 2 * math.Pi * r.Float64()
	vx, vy := s.cfg.Speed*math.Cos(angle), s.cfg.Speed*math.Sin(angle)
	R := float64(s.free)
	lo := func(v float64) float64 { return max(0, -float64(k)*v) }
	hi := func(v float64) float64 { return min(R, R-float64(k)*v) }
	x, y := R*r.Float64(), R*r.Float64()
	if s.cfg.Motion == Straight {
		x = lo(vx) + (hi(vx)-lo(vx))*x/R
		y = lo(vy) + (hi(vy)-lo(vy))*y/R
	}
	p := plan{frames: make([]Scene, k+1)}
	for t := range p.frames {
		sc := base
		sc.X, sc.Y = int(math.Round(x)), int(math.Round(y))
		p.frames[t] = sc
		x, vx = step(x, vx, R)
		y, vy = step(y, vy, R)
	}

	// A scene that shares nothing with x_t.
	next := p.frames[k]
	alt := Scene{}
	altClass := (next.Class + 1 + r.IntN(9)) % 10
	alt.Digit = s.byClass[altClass][r.IntN(len(s.byClass[altClass]))]
	alt.Class = altClass
	alt.Background = (next.Background + 1 + r.IntN(len(s.photos)-1)) % len(s.photos)
	alt.CropX, alt.CropY = s.crop(r, alt.Background)
	alt.X, alt.Y = s.farPosition(r, next.X, next.Y)
	p.alt = alt
	return p
}

// step moves one coordinate by v, reflecting off 0 and R.
func step(x, v, R float64) (float64, float64) {
	x += v
	for x < 0 || x > R {
		if x < 0 {
			x, v = -x, -v
		} else {
			x, v = 2*R-x, -v
		}
	}
	return x, v
}

// crop draws the top-left corner of a canvas-sized window of a photograph.
func (s *Set) crop(r *rand.Rand, bg int) (int, int) {
	sh := s.photos[bg].Shape
	return r.IntN(sh.W - s.cfg.Size + 1), r.IntN(sh.H - s.cfg.Size + 1)
}

// farPosition draws a digit position at least half a digit away, on either
// axis, from (x, y).
func (s *Set) farPosition(r *rand.Rand, x, y int) (int, int) {
	gap := (s.cfg.DigitSize + 1) / 2
	far := func(a, b int) bool { return max(abs(a-x), abs(b-y)) >= gap }
	for range 32 {
		if a, b := r.IntN(s.free+1), r.IntN(s.free+1); far(a, b) {
			return a, b
		}
	}
	// The farthest corner is at least free/2 ≥ gap away on each axis.
	a, b := 0, 0
	if x < s.free-x {
		a = s.free
	}
	if y < s.free-y {
		b = s.free
	}
	return a, b
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// Scene is frame t of sequence i: t < Frames are the first view's frames,
// t == Frames is the next frame x_t.
func (s *Set) Scene(i, t int) Scene { return s.plan(i).frames[t] }

// SecondScene is the second view of sequence i when it shares the factors
// shared with the next frame x_t: the others are drawn afresh, each
// different from x_t's (another digit class, another photograph, a position
// at least half a digit away). shared None gives a negative.
func (s *Set) SecondScene(i int, shared Factors) Scene {
	p := s.plan(i)
	next, v := p.frames[s.cfg.Frames], p.alt
	if shared&Digit != 0 {
		v.Digit, v.Class = next.Digit, next.Class
	}
	if shared&Background != 0 {
		v.Background, v.CropX, v.CropY = next.Background, next.CropX, next.CropY
	}
	if shared&Position != 0 {
		v.X, v.Y = next.X, next.Y
	}
	return v
}

// Render draws a scene into dst (3×Size×Size): the photograph crop, a soft
// shadow around the digit so that it shows on bright photographs, and the
// digit in white.
func (s *Set) Render(sc Scene, dst []float32) {
	n, d := s.cfg.Size, s.cfg.DigitSize
	s.photos[sc.Background].Crop(dst, sc.CropX, sc.CropY, n, n)
	scratch := s.scratch.Get().(*[]float32)
	defer s.scratch.Put(scratch)
	// alpha is the digit, padded by one pixel each side; shadow its 3×3
	// dilation (a separable maximum, via row).
	p := d + 2
	buf := *scratch
	alpha, row, shadow := buf[:p*p], buf[p*p:2*p*p], buf[2*p*p:3*p*p]
	clear(alpha)
	digit := buf[3*p*p:]
	if s.resize == nil {
		s.digits.Image(sc.Digit, digit[:d*d])
	} else {
		src := digit[d*d:]
		s.digits.Image(sc.Digit, src[:s.digits.Shape().Size()])
		s.resize.Resize(digit[:d*d], src)
	}
	for y := range d {
		for x, v := range digit[y*d : (y+1)*d] {
			alpha[(y+1)*p+x+1] = min(max(v, 0), 1)
		}
	}
	for y := range p {
		r, out := alpha[y*p:(y+1)*p], row[y*p:(y+1)*p]
		for x := range p {
			m := r[x]
			if x > 0 {
				m = max(m, r[x-1])
			}
			if x < p-1 {
				m = max(m, r[x+1])
			}
			out[x] = m
		}
	}
	for y := range p {
		out := shadow[y*p : (y+1)*p]
		copy(out, row[y*p:(y+1)*p])
		if y > 0 {
			for x, v := range row[(y-1)*p : y*p] {
				out[x] = max(out[x], v)
			}
		}
		if y < p-1 {
			for x, v := range row[(y+1)*p : (y+2)*p] {
				out[x] = max(out[x], v)
			}
		}
	}
	plane := n * n
	for y := range p {
		cy := sc.Y + y - 1
		if cy < 0 || cy >= n {
			continue
		}
		for x := range p {
			cx := sc.X + x - 1
			m, a := shadow[y*p+x], alpha[y*p+x]
			if m == 0 || cx < 0 || cx >= n {
				continue
			}
			i := cy*n + cx
			r, g, b := &dst[i], &dst[plane+i], &dst[2*plane+i]
			k := (1 - 0.6*m) * (1 - a)
			*r = min(*r*k+a, 1)
			*g = min(*g*k+a, 1)
			*b = min(*b*k+a, 1)
		}
	}
}

// Frame renders frame t of sequence i (see Scene) into dst (3×Size×Size).
func (s *Set) Frame(i, t int, dst []float32) { s.Render(s.Scene(i, t), dst) }

// factorNames are the ground-truth factors of a frame.
var frameFactors = []string{"digit", "background", "x", "y"}

// factors writes a scene's factors: digit class, background class and the
// digit's centre in pixels.
func (s *Set) factors(sc Scene, dst []float64) {
	x, y := s.Centre(sc)
	dst[0], dst[1], dst[2], dst[3] = float64(sc.Class), float64(sc.Background), x, y
}

// Frames is the supervised-evaluation set: item i is the next frame x_t of
// sequence i, labelled with its digit class, with the factors digit,
// background, x and y (the digit's centre in pixels) for the linear heads.
func (s *Set) Frames() *Frames { return &Frames{s} }

// Pairs is the contrastive set: item i's Image is the first view (frames
// 0..k-1 of sequence i stacked as 3k channels), its SecondView the second
// view sharing Config.Shared with x_t. Its label is x_t's digit class; its
// factors are x_t's (digit, background, x, y) then the second view's (v2_digit,
// v2_background, v2_x, v2_y).
func (s *Set) Pairs() *Pairs { return &Pairs{s} }

// Frames is the data set of next frames; see Set.Frames.
type Frames struct{ s *Set }

// Len is the number of sequences.
func (f *Frames) Len() int { return f.s.n }

// Shape is 3×Size×Size.
func (f *Frames) Shape() datasets.Shape {
	return datasets.Shape{C: 3, H: f.s.cfg.Size, W: f.s.cfg.Size}
}

// Classes are the digit classes "0".."9".
func (f *Frames) Classes() []string { return datasets.MNISTClasses }

// Label is the digit class of x_t.
func (f *Frames) Label(i int) int { return f.s.Scene(i, f.s.cfg.Frames).Class }

// Image renders x_t.
func (f *Frames) Image(i int, dst []float32) { f.s.Frame(i, f.s.cfg.Frames, dst) }

// FactorNames are digit, background, x and y.
func (f *Frames) FactorNames() []string { return frameFactors }

// Factors writes x_t's digit class, background class and digit centre.
func (f *Frames) Factors(i int, dst []float64) { f.s.factors(f.s.Scene(i, f.s.cfg.Frames), dst) }

// Pairs is the data set of (v1, v2) pairs; see Set.Pairs.
type Pairs struct{ s *Set }

var pairFactors = []string{"digit", "background", "x", "y", "v2_digit", "v2_background", "v2_x", "v2_y"}

// Len is the number of sequences.
func (p *Pairs) Len() int { return p.s.n }

// Shape is 3k×Size×Size: the k frames of the first view, RGB each.
func (p *Pairs) Shape() datasets.Shape {
	return datasets.Shape{C: 3 * p.s.cfg.Frames, H: p.s.cfg.Size, W: p.s.cfg.Size}
}

// Classes are the digit classes "0".."9".
func (p *Pairs) Classes() []string { return datasets.MNISTClasses }

// Label is the digit class of x_t.
func (p *Pairs) Label(i int) int { return p.s.Scene(i, p.s.cfg.Frames).Class }

// Image renders the first view: frames 0..k-1, one after another.
func (p *Pairs) Image(i int, dst []float32) {
	plan := p.s.plan(i)
	m := 3 * p.s.cfg.Size * p.s.cfg.Size
	for t := range p.s.cfg.Frames {
		p.s.Render(plan.frames[t], dst[t*m:(t+1)*m])
	}
}

// SecondShape is 3×Size×Size.
func (p *Pairs) SecondShape() datasets.Shape {
	return datasets.Shape{C: 3, H: p.s.cfg.Size, W: p.s.cfg.Size}
}

// SecondView renders the second view, sharing Config.Shared with x_t.
func (p *Pairs) SecondView(i int, dst []float32) {
	p.s.Render(p.s.SecondScene(i, p.s.cfg.Shared), dst)
}

// Negative renders an image that shares no factor with x_t: another digit
// class, another photograph, a distant position.
func (p *Pairs) Negative(i int, dst []float32) { p.s.Render(p.s.SecondScene(i, None), dst) }

// FactorNames are x_t's factors then the second view's.
func (p *Pairs) FactorNames() []string { return pairFactors }

// Factors writes x_t's factors, then the second view's.
func (p *Pairs) Factors(i int, dst []float64) {
	p.s.factors(p.s.Scene(i, p.s.cfg.Frames), dst[:4])
	p.s.factors(p.s.SecondScene(i, p.s.cfg.Shared), dst[4:8])
}
