package viewgen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Spec describes a pair of fixed views: the colour space, the channels each
// view keeps, optionally two patches at an offset instead of the whole image,
// the size of the views, and the augmentations, which each view draws
// independently unless they are shared.
//
// Its compact form, which ParseSpec reads and String writes, is
//
//	space[:v1|v2]{+token}
//
// where space is a colour space name (see ColorSpace), v1 and v2 are
// comma-separated channel lists (default 0|1,2), and each token is
//
//	size=N            views are N×N pixels (default: the input's size, or the patch size)
//	patch=P,offset=D  the views are two P×P patches whose top-left corners are D pixels apart
//	shared            both views take the same augmentation draw (one crop, as CMC
//	                  splits one augmented image); by default each draws its own
//	name[=value][,p=P][,n=N]
//	                  an augmentation (see Aug): value is its strength, or its
//	                  probability for flip, gray, drop and jigsaw; p is the
//	                  probability of applying it; n the RandAugment operation count
//
// Augmentations apply in the order written. Examples:
//
//	ydbdr:0|1,2                          Y against DbDr, no augmentation
//	lab:0|1,2+crop=0.2+flip+jitter=0.5   L against ab, each view cropped, flipped and jittered
//	rgb:0,1,2|0,1,2+patch=64,offset=32   two RGB patches 32 pixels apart
//	lab:0|1,2+shared+crop=0.08+flip      L and ab of one augmented crop
//	rgb:0,1,2|0,1,2+crop+flip+jitter+blur+randaug=10+gray   the InfoMin augmentations
//
// String leaves out every value equal to its default, so the form it writes
// is the shortest; for a valid s, ParseSpec(s.String()) gives back s.
type Spec struct {
	Space ColorSpace
	Split Split
	// Size is the side of the square views in pixels; 0 keeps the size of
	// the input images (or of the patches).
	Size int
	// Patch is the side of the two patches of patch-pair views; 0 means that
	// both views see the whole image.
	Patch int
	// Offset is the distance in pixels between the two patches' top-left
	// corners (see PatchPair).
	Offset int
	// Shared gives both views the same augmentation draw; by default v1 and
	// v2 come from two independent draws (two-crop sampling).
	Shared  bool
	Augment []Aug
}

// ParseSpec reads a spec in its compact form; errors name the token at fault.
func ParseSpec(s string) (Spec, error) {
	spec, err := parseSpec(s)
	if err != nil {
		return Spec{}, fmt.Errorf("view spec %q: %w", s, err)
	}
	return spec, nil
}

func parseSpec(s string) (Spec, error) {
	tokens := strings.Split(strings.TrimSpace(s), "+")
	head := tokens[0]
	if head == "" {
		return Spec{}, errors.New("empty colour space: a spec starts with one, as in ydbdr:0|1,2")
	}
	var spec Spec
	name, split, hasSplit := strings.Cut(head, ":")
	cs, err := ParseColorSpace(name)
	if err != nil {
		return Spec{}, err
	}
	spec.Space = cs
	spec.Split = DefaultSplit()
	if hasSplit {
		if spec.Split, err = ParseSplit(split); err != nil {
			return Spec{}, err
		}
	}
	seen := map[string]bool{}
	for _, tok := range tokens[1:] {
		if err := spec.parseToken(tok, seen); err != nil {
			return Spec{}, fmt.Errorf("token %q: %w", tok, err)
		}
	}
	if err := spec.Validate(); err != nil {
		return Spec{}, err
	}
	return spec, nil
}

// tokenField is one "key=value" of a token; the first field's key is the
// token's name and its value may be absent.
type tokenField struct {
	key, value string
	hasValue   bool
}

func splitToken(tok string) ([]tokenField, error) {
	if tok == "" {
		return nil, errors.New("empty token (two + in a row, or a + at the end?)")
	}
	var fields []tokenField
	for i, part := range strings.Split(tok, ",") {
		k, v, ok := strings.Cut(part, "=")
		if k == "" {
			return nil, fmt.Errorf("field %q has no name", part)
		}
		if i > 0 && !ok {
			return nil, fmt.Errorf("field %q has no value: want %s=value", part, k)
		}
		fields = append(fields, tokenField{key: strings.ToLower(k), value: v, hasValue: ok})
	}
	return fields, nil
}

func parseNumber(f tokenField) (float64, error) {
	v, err := strconv.ParseFloat(f.value, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s value %q is not a finite number", f.key, f.value)
	}
	return v, nil
}

func parseCount(f tokenField) (int, error) {
	v, err := strconv.Atoi(f.value)
	if err != nil {
		return 0, fmt.Errorf("%s value %q is not an integer", f.key, f.value)
	}
	return v, nil
}

func (spec *Spec) parseToken(tok string, seen map[string]bool) error {
	fields, err := splitToken(tok)
	if err != nil {
		return err
	}
	name := fields[0]
	switch name.key {
	case "shared":
		if seen[name.key] {
			return errors.New("shared is given twice")
		}
		seen[name.key] = true
		if name.hasValue || len(fields) > 1 {
			return errors.New("shared takes no value")
		}
		spec.Shared = true
		return nil
	case "size", "patch":
		if seen[name.key] {
			return fmt.Errorf("%s is given twice", name.key)
		}
		seen[name.key] = true
		if !name.hasValue {
			return fmt.Errorf("%s needs a value, as in %s=32", name.key, name.key)
		}
		v, err := parseCount(name)
		if err != nil {
			return err
		}
		if name.key == "size" {
			if len(fields) > 1 {
				return fmt.Errorf("size takes no field %q", fields[1].key)
			}
			spec.Size = v
			return nil
		}
		spec.Patch = v
		for _, f := range fields[1:] {
			if f.key != "offset" {
				return fmt.Errorf("patch has no field %q: known is offset", f.key)
			}
			if spec.Offset, err = parseCount(f); err != nil {
				return err
			}
		}
		return nil
	}
	def, err := lookupAug(name.key)
	if err != nil {
		return fmt.Errorf("%w; or the options size, patch and shared", err)
	}
	a := Aug{Name: def.name, Strength: def.strength, P: def.p, N: def.n}
	if name.hasValue {
		v, err := parseNumber(name)
		if err != nil {
			return err
		}
		if def.knob == knobP {
			a.P = v
		} else {
			a.Strength = v
		}
	}
	for _, f := range fields[1:] {
		switch {
		case f.key == "p":
			if a.P, err = parseNumber(f); err != nil {
				return err
			}
		case f.key == "n" && def.n != 0:
			if a.N, err = parseCount(f); err != nil {
				return err
			}
		default:
			known := "p"
			if def.n != 0 {
				known = "p, n"
			}
			return fmt.Errorf("%s has no field %q: known are %s", def.name, f.key, known)
		}
	}
	if err := a.Validate(); err != nil {
		return err
	}
	spec.Augment = append(spec.Augment, a)
	return nil
}

// String writes the spec in its compact form.
func (s Spec) String() string {
	var b strings.Builder
	b.WriteString(s.Space.String())
	b.WriteString(":")
	b.WriteString(s.Split.String())
	if s.Size != 0 {
		fmt.Fprintf(&b, "+size=%d", s.Size)
	}
	if s.Patch != 0 || s.Offset != 0 {
		fmt.Fprintf(&b, "+patch=%d", s.Patch)
		if s.Offset != 0 {
			fmt.Fprintf(&b, ",offset=%d", s.Offset)
		}
	}
	if s.Shared {
		b.WriteString("+shared")
	}
	for _, a := range s.Augment {
		b.WriteString("+")
		b.WriteString(a.String())
	}
	return b.String()
}

// Validate reports whether every part of the spec is in range.
func (s Spec) Validate() error {
	if !s.Space.valid() {
		return fmt.Errorf("invalid colour space %d", int(s.Space))
	}
	if err := s.Split.Validate(); err != nil {
		return err
	}
	if s.Size < 0 {
		return fmt.Errorf("size %d is negative", s.Size)
	}
	if s.Patch < 0 || s.Offset < 0 {
		return fmt.Errorf("patch %d at offset %d: neither may be negative", s.Patch, s.Offset)
	}
	if s.Offset > 0 && s.Patch == 0 {
		return fmt.Errorf("offset %d without a patch size: write patch=P,offset=%d", s.Offset, s.Offset)
	}
	for _, a := range s.Augment {
		if err := a.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// MarshalText writes the compact form, so that a Spec can be stored as one
// string in a configuration profile.
func (s Spec) MarshalText() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads the compact form.
func (s *Spec) UnmarshalText(text []byte) error {
	v, err := ParseSpec(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
