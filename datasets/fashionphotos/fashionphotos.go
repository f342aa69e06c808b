// Package fashionphotos generates the colour stand-in for STL-10: each
// Fashion-MNIST garment recoloured with a random colour and texture, so that
// its class lives in its shape alone, and pasted at a random scale and
// position on a random crop of a natural photograph. Images are rendered on
// the fly from the seed and the index, in 10 classes, with Fashion-MNIST's
// train/test split and a 5,000-image labelled part.
//
//	train, err := fashionphotos.Open(fashionphotos.DefaultConfig(), datasets.Train)
//	labelled, unlabelled, err := train.SplitLabelled(seed)
package fashionphotos

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/datasets"
)

// Labelled is the number of labelled training images, as in STL-10.
const Labelled = 5000

// Texture is the pattern a garment is painted with, between two colours.
type Texture int

// The textures.
const (
	Plain   Texture = iota // the first colour alone
	Stripes                // straight stripes at a random angle
	Checks                 // a checkerboard at a random angle
	Dots                   // dots on a lattice
	numTextures
)

var textureNames = [...]string{"plain", "stripes", "checks", "dots"}

// String names the texture.
func (t Texture) String() string {
	if t < 0 || t >= numTextures {
		return fmt.Sprintf("Texture(%d)", int(t))
	}
	return textureNames[t]
}

// Config sets the generator. Start from DefaultConfig.
type Config struct {
	Size        int      // side of the square RGB image, pixels
	MinScale    float64  // smallest garment side, as a fraction of Size
	MaxScale    float64  // largest garment side, as a fraction of Size
	Zoom        float64  // photographs are scaled to a shorter side of Zoom×Size before cropping
	Seed        uint64   // seeds every random choice, with the index
	Backgrounds []string // photograph names; nil means every photograph given
}

// DefaultConfig is 32×32 images, garments 60–100% of the side, photographs
// cropped at twice the image size.
func DefaultConfig() Config {
	return Config{Size: 32, MinScale: 0.6, MaxScale: 1, Zoom: 2, Seed: 1}
}

func (c Config) validate() error {
	switch {
	case c.Size < 8:
		return fmt.Errorf("fashionphotos: size %d, want ≥ 8", c.Size)
	case !(c.MinScale > 0 && c.MinScale <= c.MaxScale && c.MaxScale <= 1):
		return fmt.Errorf("fashionphotos: scales %v..%v, want 0 < min ≤ max ≤ 1", c.MinScale, c.MaxScale)
	case !(c.Zoom >= 1):
		return fmt.Errorf("fashionphotos: zoom %v, want ≥ 1", c.Zoom)
	}
	return nil
}

// Set is the generated data set over one split of Fashion-MNIST. It is safe
// for concurrent use.
type Set struct {
	cfg     Config
	items   *datasets.InMemory
	photos  []*datasets.Photo
	resize  map[int]*chw.Resizer // by garment side; nil entry: 28, no resize
	minSide int
	maxSide int
	scratch sync.Pool // *[]float32 buffers for Render
}

// New makes the set from 28×28 single-channel Fashion-MNIST items and the
// photographs (those named by cfg.Backgrounds, or all), scaled down to
// Zoom×Size when larger.
func New(cfg Config, items *datasets.InMemory, photos []*datasets.Photo) (*Set, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	is := items.Shape()
	if is.C != 1 || len(items.Classes()) != 10 || items.Len() == 0 {
		return nil, fmt.Errorf("fashionphotos: items %s are %d of %v in %d classes, want 1 channel and 10 classes", items.Name(), items.Len(), is, len(items.Classes()))
	}
	if cfg.Backgrounds != nil {
		var err error
		if photos, err = datasets.SelectPhotos(photos, cfg.Backgrounds); err != nil {
			return nil, err
		}
	}
	if len(photos) == 0 {
		return nil, fmt.Errorf("fashionphotos: no photographs")
	}
	s := &Set{cfg: cfg, items: items, resize: map[int]*chw.Resizer{}}
	side := int(math.Ceil(cfg.Zoom * float64(cfg.Size)))
	for _, p := range photos {
		if min(p.Shape.H, p.Shape.W) < cfg.Size {
			return nil, fmt.Errorf("fashionphotos: photograph %s is %v, smaller than the %d image", p.Path, p.Shape, cfg.Size)
		}
		if min(p.Shape.H, p.Shape.W) > side {
			var err error
			if p, err = p.Resized(side); err != nil {
				return nil, err
			}
		}
		s.photos = append(s.photos, p)
	}
	s.minSide = max(1, int(math.Ceil(cfg.MinScale*float64(cfg.Size)-1e-9)))
	s.maxSide = int(math.Floor(cfg.MaxScale*float64(cfg.Size) + 1e-9))
	if s.minSide > s.maxSide {
		return nil, fmt.Errorf("fashionphotos: no whole garment side between %v and %v of %d pixels", cfg.MinScale, cfg.MaxScale, cfg.Size)
	}
	scratch := s.maxSide*s.maxSide + is.Size()
	s.scratch.New = func() any { b := make([]float32, scratch); return &b }
	for d := s.minSide; d <= s.maxSide; d++ {
		if d == is.H && d == is.W {
			s.resize[d] = nil
			continue
		}
		r, err := chw.NewResizer(is, datasets.Shape{C: 1, H: d, W: d})
		if err != nil {
			return nil, err
		}
		s.resize[d] = r
	}
	return s, nil
}

// Open loads a split of Fashion-MNIST (FindFashionMNIST) and the
// photographs (FindBackgrounds) and makes the set.
func Open(cfg Config, split datasets.Split) (*Set, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	dir, err := datasets.FindFashionMNIST()
	if err != nil {
		return nil, err
	}
	items, err := datasets.LoadFashionMNIST(dir, split)
	if err != nil {
		return nil, err
	}
	photos, err := datasets.LoadBackgrounds(cfg.Backgrounds, int(math.Ceil(cfg.Zoom*float64(cfg.Size))))
	if err != nil {
		return nil, err
	}
	return New(cfg, items, photos)
}

// Config is the set's configuration.
func (s *Set) Config() Config { return s.cfg }

// Len is the number of Fashion-MNIST items in the split.
func (s *Set) Len() int { return s.items.Len() }

// Shape is 3×Size×Size.
func (s *Set) Shape() datasets.Shape { return datasets.Shape{C: 3, H: s.cfg.Size, W: s.cfg.Size} }

// Classes are Fashion-MNIST's classes.
func (s *Set) Classes() []string { return s.items.Classes() }

// Label is item i's Fashion-MNIST class.
func (s *Set) Label(i int) int { return s.items.Label(i) }

// BackgroundNames names the photographs, in background-factor order.
func (s *Set) BackgroundNames() []string {
	names := make([]string, len(s.photos))
	for i, p := range s.photos {
		names[i] = p.Name
	}
	return names
}

// MemoryBytes is the memory the set holds: the items and the photographs.
// Images are rendered on demand and not kept.
func (s *Set) MemoryBytes() int64 {
	m := s.items.MemoryBytes()
	for _, p := range s.photos {
		m += 4 * int64(len(p.Pix))
	}
	return m
}

// SplitLabelled draws the Labelled (5,000) items, 500 a class, by seed;
// the rest form the unlabelled part, labels withheld.
func (s *Set) SplitLabelled(seed uint64) (labelled, unlabelled *datasets.Subset, err error) {
	return datasets.SplitLabelled(s, Labelled, seed)
}

// Look is every random choice behind one image.
type Look struct {
	Background   int           // index into BackgroundNames
	CropX, CropY int           // top-left corner of the crop in the scaled photograph
	Side         int           // garment side in pixels
	X, Y         int           // garment's top-left corner on the image
	Texture      Texture       // pattern
	Colours      [2][3]float32 // RGB of the pattern's two colours
	Hue          float64       // hue of the first colour, in [0,1)
	Angle        float64       // pattern angle, radians
	Period       float64       // pattern period, as a fraction of the garment side
	Phase        float64       // pattern offset, in periods
}

// Look draws item i's look from (Seed, i).
func (s *Set) Look(i int) Look {
	r := rand.New(rand.NewPCG(s.cfg.Seed, uint64(i)))
	var l Look
	l.Background = r.IntN(len(s.photos))
	sh := s.photos[l.Background].Shape
	l.CropX, l.CropY = r.IntN(sh.W-s.cfg.Size+1), r.IntN(sh.H-s.cfg.Size+1)
	l.Side = s.minSide + r.IntN(s.maxSide-s.minSide+1)
	l.X, l.Y = r.IntN(s.cfg.Size-l.Side+1), r.IntN(s.cfg.Size-l.Side+1)
	l.Texture = Texture(r.IntN(int(numTextures)))
	l.Hue = r.Float64()
	hue2 := math.Mod(l.Hue+0.25+0.5*r.Float64(), 1)
	l.Colours[0] = hsv(l.Hue, 0.5+0.5*r.Float64(), 0.6+0.4*r.Float64())
	l.Colours[1] = hsv(hue2, 0.5+0.5*r.Float64(), 0.6+0.4*r.Float64())
	l.Angle = math.Pi * r.Float64()
	l.Period = 0.12 + 0.2*r.Float64()
	l.Phase = r.Float64()
	return l
}

// hsv converts a colour from hue, saturation and value to RGB.
func hsv(h, s, v float64) [3]float32 {
	h = math.Mod(h, 1) * 6
	c := v * s
	x := c * (1 - math.Abs(math.Mod(h, 2)-1))
	var r, g, b float64
	switch int(h) {
	case 0:
		r, g, b = c, x, 0
	case 1:
		r, g, b = x, c, 0
	case 2:
		r, g, b = 0, c, x
	case 3:
		r, g, b = 0, x, c
	case 4:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	m := v - c
	return [3]float32{float32(r + m), float32(g + m), float32(b + m)}
}

// sine01 holds 0.5+0.5·sin(2πk/len) for the stripes.
var sine01 = func() (t [1024]float32) {
	for k := range t {
		t[k] = float32(0.5 + 0.5*math.Sin(2*math.Pi*float64(k)/float64(len(t))))
	}
	return t
}()

// pattern is the texture's weight of the second colour at pattern
// coordinates (a, b), in periods along and across the pattern's angle.
func (l *Look) pattern(a, b float64) float32 {
	switch l.Texture {
	case Stripes:
		f := a + l.Phase
		return sine01[int((f-math.Floor(f))*float64(len(sine01)))&(len(sine01)-1)]
	case Checks:
		if (int(math.Floor(a+l.Phase))+int(math.Floor(b+l.Phase)))&1 == 0 {
			return 0
		}
		return 1
	case Dots:
		f := a + l.Phase
		da, db := f-math.Floor(f)-0.5, b-math.Floor(b)-0.5
		if da*da+db*db < 0.09 {
			return 1
		}
		return 0
	}
	return 0
}

// Image renders item i into dst (3×Size×Size).
func (s *Set) Image(i int, dst []float32) {
	l := s.Look(i)
	s.Render(i, l, dst)
}

// Render draws item i's garment with look l into dst (3×Size×Size).
func (s *Set) Render(i int, l Look, dst []float32) {
	n := s.cfg.Size
	s.photos[l.Background].Crop(dst, l.CropX, l.CropY, n, n)
	d := l.Side
	scratch := s.scratch.Get().(*[]float32)
	defer s.scratch.Put(scratch)
	shade := (*scratch)[:d*d]
	if r := s.resize[d]; r == nil {
		s.items.Image(i, shade)
	} else {
		src := (*scratch)[d*d : d*d+s.items.Shape().Size()]
		s.items.Image(i, src)
		r.Resize(shade, src)
	}
	// Pattern coordinates are linear in the pixel's: one step in x or y
	// moves them by a fixed amount.
	sin, cos := math.Sincos(l.Angle)
	step := 1 / (l.Period * float64(d))
	ax, ay, bx, by := cos*step, sin*step, -sin*step, cos*step
	plane := n * n
	for y := range d {
		a := 0.5*ax + (float64(y)+0.5)*ay
		b := 0.5*bx + (float64(y)+0.5)*by
		base := (l.Y+y)*n + l.X
		for x, v := range shade[y*d : (y+1)*d] {
			v = min(max(v, 0), 1)
			// Opaque from a low intensity on, so that dark garments keep
			// their outline; the intensity then only shades the colour.
			if al := min(v/0.12, 1); al > 0 {
				t := l.pattern(a, b)
				light := 0.35 + 0.65*v
				for c := range 3 {
					col := (l.Colours[0][c]*(1-t) + l.Colours[1][c]*t) * light
					p := &dst[c*plane+base+x]
					*p = min(max(*p*(1-al)+col*al, 0), 1)
				}
			}
			a += ax
			b += bx
		}
	}
}

var factorNames = []string{"class", "background", "scale", "x", "y", "hue", "texture"}

// FactorNames are class, background (photograph index), scale (garment side
// over image side), x and y (garment centre in pixels), hue (of the first
// colour, in [0,1)) and texture (0 plain, 1 stripes, 2 checks, 3 dots).
func (s *Set) FactorNames() []string { return factorNames }

// Factors writes item i's factors, in FactorNames order.
func (s *Set) Factors(i int, dst []float64) {
	l := s.Look(i)
	h := float64(l.Side) / 2
	dst[0] = float64(s.Label(i))
	dst[1] = float64(l.Background)
	dst[2] = float64(l.Side) / float64(s.cfg.Size)
	dst[3], dst[4] = float64(l.X)+h, float64(l.Y)+h
	dst[5] = l.Hue
	dst[6] = float64(l.Texture)
}
