package flow

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/viewgen"
)

// MetaInput is the metadata key of the flow's input (Input as JSON): the
// colour space it reads and the per-channel standardisation of that space
// applied before it. A file without it holds a flow of raw values, whose
// space the user names.
const MetaInput = "viewgen.flow.input"

// MetaFormat is the metadata key of the file format's version; a file
// without it is version 1 (no input, the Rotate coupling).
const MetaFormat = "viewgen.flow.format"

// Format is the version of the files Save writes: 2 records the coupling,
// the activation and the input.
const Format = "2"

// Input is what a flow reads: images converted from RGB to Space, then
// standardised channel by channel, (v − Mean)/Std. The view-learning game
// computes the statistics on its training images, so that a saved
// generator is self-contained.
type Input struct {
	Space string     `json:"space"`
	Mean  [3]float64 `json:"mean"`
	Std   [3]float64 `json:"std"`
}

// InputOf returns the Input of a colour space's statistics.
func InputOf(s viewgen.Stats) Input {
	return Input{Space: s.Space.String(), Mean: s.Mean, Std: s.Std}
}

// Stats returns the input as the statistics that viewgen normalises with.
func (in Input) Stats() (viewgen.Stats, error) {
	cs, err := viewgen.ParseColorSpace(in.Space)
	if err != nil {
		return viewgen.Stats{}, err
	}
	return viewgen.Stats{Space: cs, Mean: in.Mean, Std: in.Std}, nil
}

// check reports the first field of in that no input could have.
func (in Input) check() error {
	if _, err := viewgen.ParseColorSpace(in.Space); err != nil {
		return err
	}
	for c := range 3 {
		if math.IsNaN(in.Mean[c]) || math.IsInf(in.Mean[c], 0) {
			return fmt.Errorf("mean of channel %d is %v", c, in.Mean[c])
		}
		if !(in.Std[c] > 0) || math.IsInf(in.Std[c], 0) {
			return fmt.Errorf("std of channel %d is %v, want a positive number", c, in.Std[c])
		}
	}
	return nil
}

// SetInput records what the flow reads; Save writes it and ApplyRGB uses
// it.
func (f *Flow) SetInput(in Input) error {
	if err := in.check(); err != nil {
		return fmt.Errorf("flow %s: input: %w", f.name, err)
	}
	f.input = &in
	return nil
}

// Input returns what the flow reads, and false when it was never set (a
// flow of raw values in a space that the caller knows).
func (f *Flow) Input() (Input, bool) {
	if f.input == nil {
		return Input{}, false
	}
	return *f.input, true
}

// ApplyRGB maps an RGB image (values in [0, 1]) through the flow's input
// conversion and standardisation, then g: the learned colour space of the
// image. A flow without an Input reads RGB as it is.
func (f *Flow) ApplyRGB(img chw.Image) (chw.Image, error) {
	if err := img.CheckRGB(); err != nil {
		return chw.Image{}, err
	}
	in := img
	if f.input != nil {
		st, err := f.input.Stats()
		if err != nil {
			return chw.Image{}, err
		}
		if in, err = st.Space.Convert(img); err != nil {
			return chw.Image{}, err
		}
		if err := st.Normalize(in); err != nil {
			return chw.Image{}, err
		}
	}
	out, err := f.Apply(in.Pix, 1, img.H, img.W)
	if err != nil {
		return chw.Image{}, err
	}
	return chw.Image{C: 3, H: img.H, W: img.W, Pix: out}, nil
}

// parseInput reads the MetaInput metadata, if any.
func parseInput(meta map[string]string) (*Input, error) {
	s, ok := meta[MetaInput]
	if !ok {
		return nil, nil
	}
	var in Input
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("metadata %q: %w", MetaInput, err)
	}
	if err := in.check(); err != nil {
		return nil, fmt.Errorf("metadata %q: %w", MetaInput, err)
	}
	return &in, nil
}
