package viewgen

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"

	"github.com/learnviews/learnviews/chw"
)

// Stats holds the per-channel mean and standard deviation of a set of images
// in one colour space, for normalising views to zero mean and unit variance.
type Stats struct {
	Space ColorSpace
	Mean  [3]float64
	Std   [3]float64
}

// ComputeStats converts each RGB image to space and returns the mean and the
// (population) standard deviation of each channel over every pixel of every
// image. A channel that never varies gets a standard deviation of 1, so that
// normalising it only centres it.
func ComputeStats(space ColorSpace, images []chw.Image) (Stats, error) {
	return ComputeStatsSeq(space, slices.Values(images))
}

// ComputeStatsSeq is ComputeStats over the images an iterator yields, so that
// a data set need not be held in memory; it reads the sequence once.
func ComputeStatsSeq(space ColorSpace, images iter.Seq[chw.Image]) (Stats, error) {
	if !space.valid() {
		return Stats{}, fmt.Errorf("invalid colour space %d", int(space))
	}
	var (
		shift   [3]float64
		sum, sq [3]float64
		count   int
		index   int
		err     error
	)
	for img := range images {
		conv, cerr := space.Convert(img)
		if cerr != nil {
			err = fmt.Errorf("stats: image %d: %w", index, cerr)
			break
		}
		n := conv.H * conv.W
		if count == 0 {
			// Accumulating around the first pixel keeps the sums of squares
			// well conditioned for spaces with a large offset such as YCbCr.
			for c := range 3 {
				shift[c] = float64(conv.Pix[c*n])
			}
		}
		for c := range 3 {
			for _, v := range conv.Plane(c) {
				d := float64(v) - shift[c]
				sum[c] += d
				sq[c] += d * d
			}
		}
		count += n
		index++
	}
	if err != nil {
		return Stats{}, err
	}
	if count == 0 {
		return Stats{}, errors.New("stats: no images")
	}
	st := Stats{Space: space}
	for c := range 3 {
		m := sum[c] / float64(count)
		st.Mean[c] = shift[c] + m
		st.Std[c] = math.Sqrt(math.Max(sq[c]/float64(count)-m*m, 0))
		if st.Std[c] == 0 {
			st.Std[c] = 1
		}
	}
	return st, nil
}

// Normalize rescales the 3-channel image img, given in s.Space, in place:
// channel c becomes (v - Mean[c]) / Std[c].
func (s Stats) Normalize(img chw.Image) error {
	if err := s.check(img); err != nil {
		return err
	}
	n := img.H * img.W
	for c := range 3 {
		m, inv := float32(s.Mean[c]), float32(1/s.Std[c])
		for i, v := range img.Pix[c*n : (c+1)*n] {
			img.Pix[c*n+i] = (v - m) * inv
		}
	}
	return nil
}

// Denormalize undoes Normalize in place: channel c becomes v*Std[c] + Mean[c].
func (s Stats) Denormalize(img chw.Image) error {
	if err := s.check(img); err != nil {
		return err
	}
	n := img.H * img.W
	for c := range 3 {
		m, sd := float32(s.Mean[c]), float32(s.Std[c])
		for i, v := range img.Pix[c*n : (c+1)*n] {
			img.Pix[c*n+i] = v*sd + m
		}
	}
	return nil
}

func (s Stats) check(img chw.Image) error {
	if err := img.CheckRGB(); err != nil {
		return err
	}
	for c, sd := range s.Std {
		if !(sd > 0) || math.IsInf(sd, 0) {
			return fmt.Errorf("stats for %s: channel %d has standard deviation %g, want a positive finite value", s.Space, c, sd)
		}
	}
	return nil
}
