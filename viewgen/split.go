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

// Split says which channels of a 3-channel image each view keeps: v1 takes
// channels V1 and v2 takes channels V2, in the order given. The two lists may
// share channels (for patch pairs both views usually keep all three).
type Split struct {
	V1, V2 []int
}

// DefaultSplit returns the split of the colour-space experiments: v1 is
// channel 0 (the luma or lightness) and v2 channels 1 and 2.
func DefaultSplit() Split { return Split{V1: []int{0}, V2: []int{1, 2}} }

// ParseSplit reads a split written as "0|1,2": the channels of v1, a bar,
// the channels of v2.
func ParseSplit(s string) (Split, error) {
	a, b, ok := strings.Cut(s, "|")
	if !ok {
		return Split{}, fmt.Errorf("split %q: want the channels of v1 and v2 separated by a bar, as in 0|1,2", s)
	}
	v1, err := parseChannels(a)
	if err != nil {
		return Split{}, fmt.Errorf("split %q: v1: %w", s, err)
	}
	v2, err := parseChannels(b)
	if err != nil {
		return Split{}, fmt.Errorf("split %q: v2: %w", s, err)
	}
	sp := Split{V1: v1, V2: v2}
	if err := sp.Validate(); err != nil {
		return Split{}, err
	}
	return sp, nil
}

func parseChannels(s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("no channels")
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		c, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("channel %q is not an integer", f)
		}
		out = append(out, c)
	}
	return out, nil
}

// String writes the split as ParseSplit reads it.
func (s Split) String() string {
	return joinInts(s.V1) + "|" + joinInts(s.V2)
}

func joinInts(v []int) string {
	parts := make([]string, len(v))
	for i, c := range v {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, ",")
}

// Validate reports whether each view keeps at least one channel, every
// channel is 0, 1 or 2, and no view keeps a channel twice.
func (s Split) Validate() error {
	for k, v := range [][]int{s.V1, s.V2} {
		name := fmt.Sprintf("v%d", k+1)
		if len(v) == 0 {
			return fmt.Errorf("split %s: %s keeps no channel", s, name)
		}
		for i, c := range v {
			if c < 0 || c > 2 {
				return fmt.Errorf("split %s: %s channel %d is out of range: channels are 0, 1 and 2", s, name, c)
			}
			if slices.Contains(v[:i], c) {
				return fmt.Errorf("split %s: %s keeps channel %d twice", s, name, c)
			}
		}
	}
	return nil
}

// Apply returns the two views of the 3-channel image img: v1 holds the
// channels s.V1 and v2 the channels s.V2.
func (s Split) Apply(img chw.Image) (v1, v2 chw.Image, err error) {
	if err := s.Validate(); err != nil {
		return chw.Image{}, chw.Image{}, err
	}
	if err := img.CheckRGB(); err != nil {
		return chw.Image{}, chw.Image{}, err
	}
	return pickChannels(img, s.V1), pickChannels(img, s.V2), nil
}

func pickChannels(img chw.Image, chans []int) chw.Image {
	out := chw.New(len(chans), img.H, img.W)
	for i, c := range chans {
		copy(out.Plane(i), img.Plane(c))
	}
	return out
}

// Patch returns the size×size patch of img whose top-left corner is at row y,
// column x.
func Patch(img chw.Image, y, x, size int) (chw.Image, error) {
	if err := img.Check(); err != nil {
		return chw.Image{}, err
	}
	if size <= 0 || y < 0 || x < 0 || y+size > img.H || x+size > img.W {
		return chw.Image{}, fmt.Errorf("patch of %d px at row %d, column %d does not fit a %d×%d image", size, y, x, img.H, img.W)
	}
	return cropBox(img, y, x, size, size), nil
}

func cropBox(img chw.Image, y, x, h, w int) chw.Image {
	out := chw.New(img.C, h, w)
	for c := 0; c < img.C; c++ {
		src, dst := img.Plane(c), out.Plane(c)
		for r := 0; r < h; r++ {
			copy(dst[r*w:(r+1)*w], src[(y+r)*img.W+x:])
		}
	}
	return out
}

// PatchOffset draws the displacement (dy, dx) between the top-left corners of
// two patches at the given distance: a direction uniform on the circle, with
// both components rounded to whole pixels.
func PatchOffset(distance int, rng *rand.Rand) (dy, dx int) {
	theta := 2 * math.Pi * rng.Float64()
	return int(math.Round(float64(distance) * math.Sin(theta))), int(math.Round(float64(distance) * math.Cos(theta)))
}

// PatchPair cuts two size×size patches from img whose top-left corners are
// distance pixels apart (the Figure 3 sweep): the direction is drawn by
// PatchOffset and the pair's position uniformly among those where both
// patches lie inside the image. It needs size+distance ≤ min(H, W), so that
// every direction fits.
func PatchPair(img chw.Image, size, distance int, rng *rand.Rand) (a, b chw.Image, err error) {
	if err := img.Check(); err != nil {
		return chw.Image{}, chw.Image{}, err
	}
	if size <= 0 || distance < 0 {
		return chw.Image{}, chw.Image{}, fmt.Errorf("patch pair of %d px at distance %d: the size must be positive and the distance non-negative", size, distance)
	}
	if size+distance > min(img.H, img.W) {
		return chw.Image{}, chw.Image{}, fmt.Errorf("patch pair of %d px at distance %d does not fit a %d×%d image: size+distance must be at most %d",
			size, distance, img.H, img.W, min(img.H, img.W))
	}
	dy, dx := PatchOffset(distance, rng)
	y := max(0, -dy) + rng.IntN(img.H-size-abs(dy)+1)
	x := max(0, -dx) + rng.IntN(img.W-size-abs(dx)+1)
	return cropBox(img, y, x, size, size), cropBox(img, y+dy, x+dx, size, size), nil
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
