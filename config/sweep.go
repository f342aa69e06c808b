package config

import (
	"fmt"
	"slices"
	"strings"
)

// Sweep turns a profile into a set of runs: a grid over one or more keys
// (Axes), explicit points (Points), or both (every point with every grid
// combination), each run once per seed. A profile without axes and points
// is a single run.
//
//	sweep:
//	  seeds: [1, 2, 3]
//	  axes:
//	    - key: views.spec
//	      values: ["rgb:0|1,2", "lab:0|1,2"]
//	      labels: ["RGB", "Lab"]
//	  points:
//	    - label: supervised
//	      set: ["game.kind=supervised"]
type Sweep struct {
	Axes   []Axis   `yaml:"axes" mapstructure:"axes"`
	Points []Point  `yaml:"points" mapstructure:"points"`
	Seeds  []uint64 `yaml:"seeds" mapstructure:"seeds"` // empty: the run's seed alone
	// Stage is the evaluation that a point's row reports: contrastive,
	// stage2, stage2-raw or supervised; empty picks stage2, then
	// supervised, then contrastive, whichever the run has.
	Stage string `yaml:"stage" mapstructure:"stage"`
	// Table names the paper's table that the results sit beside: cmnist
	// (Table 4) or learned-views (Table 5); empty for a reverse-U sweep.
	Table string `yaml:"table" mapstructure:"table"`
	// Title heads the sweep's figure and report, e.g. "Figure 4: colour spaces".
	Title string `yaml:"title" mapstructure:"title"`
	// Join draws a line through the points in sweep order (an ordered knob
	// such as a crop scale; not a set of colour spaces).
	Join bool `yaml:"join" mapstructure:"join"`
}

// Axis is one key of a grid and the values it takes.
type Axis struct {
	Key    string   `yaml:"key" mapstructure:"key"`
	Values []string `yaml:"values" mapstructure:"values"`
	Labels []string `yaml:"labels" mapstructure:"labels"` // one per value; empty: the values
}

// Point is one explicit setting of a sweep.
type Point struct {
	Label string   `yaml:"label" mapstructure:"label"`
	Set   []string `yaml:"set" mapstructure:"set"` // key=value, as --set takes them
}

// Stages are the evaluations a sweep can report.
var Stages = []string{"", "contrastive", "stage2", "stage2-raw", "supervised"}

// SweepPoint is one expanded point of a sweep: its label and the settings
// it applies over the profile, in order.
type SweepPoint struct {
	Label string
	Set   []string // key=value
}

// IsSweep reports whether the sweep has any axis or point.
func (s Sweep) IsSweep() bool { return len(s.Axes) > 0 || len(s.Points) > 0 }

// Expand lists the sweep's points: the explicit points in order, each
// combined with every combination of the axes' values (the first axis
// varying slowest). It returns nil for a profile that is not a sweep.
func (s Sweep) Expand() []SweepPoint {
	if !s.IsSweep() {
		return nil
	}
	grid := []SweepPoint{{}}
	for _, a := range s.Axes {
		var next []SweepPoint
		for _, g := range grid {
			for i, v := range a.Values {
				next = append(next, SweepPoint{
					Label: joinLabel(g.Label, a.label(i)),
					Set:   append(slices.Clone(g.Set), a.Key+"="+v),
				})
			}
		}
		grid = next
	}
	points := s.Points
	if len(points) == 0 {
		points = []Point{{}}
	}
	var out []SweepPoint
	for _, p := range points {
		for _, g := range grid {
			out = append(out, SweepPoint{Label: joinLabel(p.Label, g.Label), Set: append(slices.Clone(p.Set), g.Set...)})
		}
	}
	return out
}

func (a Axis) label(i int) string {
	if i < len(a.Labels) && a.Labels[i] != "" {
		return a.Labels[i]
	}
	return a.Values[i]
}

func joinLabel(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ", " + b
}

// reservedKeys may not be varied by a sweep: they describe the sweep
// itself, or (seed) are varied by sweep.seeds.
func sweepable(key string) error {
	switch {
	case key == "seed":
		return fmt.Errorf("the seed is varied by sweep.seeds")
	case key == "profile" || key == "description" || key == "note" || key == "scale" || key == "small" || strings.HasPrefix(key, "sweep."):
		return fmt.Errorf("%s describes the sweep itself and cannot vary within it", key)
	}
	return nil
}

// checkSettings checks a list of key=value settings: each names a known
// key with a value that parses; with sweep set, also one a sweep may vary.
func checkSettings(where string, list []string, sweep bool) error {
	known := toKnown()
	for i, kv := range list {
		at := fmt.Sprintf("%s[%d]", where, i)
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok {
			return &ValueError{at, fmt.Sprintf("%q", kv), "want key=value, as --set takes"}
		}
		if _, ok := known[k]; !ok {
			return &ValueError{at, fmt.Sprintf("%q", kv), unknownKeyHint(k, known)}
		}
		if k == "scale" || k == "small" {
			return &ValueError{at, fmt.Sprintf("%q", kv), k + " cannot be set from a list of settings"}
		}
		if sweep {
			if err := sweepable(k); err != nil {
				return &ValueError{at, fmt.Sprintf("%q", kv), err.Error()}
			}
		}
		if _, err := parseValue(v); err != nil {
			return &ValueError{at, fmt.Sprintf("%q", kv), "the value does not parse: " + err.Error()}
		}
	}
	return nil
}

func toKnown() map[string]any { return flatten(toMap(Default()), "") }

func (s Sweep) validate() error {
	known := toKnown()
	seenKey := map[string]bool{}
	for i, a := range s.Axes {
		at := fmt.Sprintf("sweep.axes[%d]", i)
		if _, ok := known[a.Key]; !ok {
			return &ValueError{at + ".key", fmt.Sprintf("%q", a.Key), unknownKeyHint(a.Key, known)}
		}
		if err := sweepable(a.Key); err != nil {
			return &ValueError{at + ".key", fmt.Sprintf("%q", a.Key), err.Error()}
		}
		if seenKey[a.Key] {
			return &ValueError{at + ".key", fmt.Sprintf("%q", a.Key), "another axis varies this key already"}
		}
		seenKey[a.Key] = true
		if len(a.Values) == 0 {
			return &ValueError{at + ".values", "[]", "an axis needs at least one value"}
		}
		if len(a.Labels) != 0 && len(a.Labels) != len(a.Values) {
			return &ValueError{at + ".labels", a.Labels, fmt.Sprintf("want one label per value (%d), or none", len(a.Values))}
		}
		for j, v := range a.Values {
			if _, err := parseValue(v); err != nil {
				return &ValueError{fmt.Sprintf("%s.values[%d]", at, j), fmt.Sprintf("%q", v), "the value does not parse: " + err.Error()}
			}
		}
	}
	for i, p := range s.Points {
		at := fmt.Sprintf("sweep.points[%d]", i)
		if strings.TrimSpace(p.Label) == "" {
			return &ValueError{at + ".label", `""`, "every point needs a label"}
		}
		if err := checkSettings(at+".set", p.Set, true); err != nil {
			return err
		}
		for _, kv := range p.Set {
			if k, _, _ := strings.Cut(kv, "="); seenKey[strings.TrimSpace(k)] {
				return &ValueError{at + ".set", fmt.Sprintf("%q", kv), "an axis varies this key already"}
			}
		}
	}
	seenSeed := map[uint64]bool{}
	for i, sd := range s.Seeds {
		if seenSeed[sd] {
			return &ValueError{fmt.Sprintf("sweep.seeds[%d]", i), sd, "each seed once"}
		}
		seenSeed[sd] = true
	}
	if !slices.Contains(Stages, s.Stage) {
		return &ValueError{"sweep.stage", fmt.Sprintf("%q", s.Stage), "want one of contrastive, stage2, stage2-raw, supervised, or empty"}
	}
	if !slices.Contains(Tables, s.Table) {
		return &ValueError{"sweep.table", fmt.Sprintf("%q", s.Table), "want cmnist, learned-views, or empty"}
	}
	seenLabel := map[string]int{}
	for i, p := range s.Expand() {
		if j, ok := seenLabel[p.Label]; ok {
			return &ValueError{"sweep", fmt.Sprintf("points %d and %d", j, i), fmt.Sprintf("two points have the label %q: give them distinct labels", p.Label)}
		}
		seenLabel[p.Label] = i
	}
	return nil
}
