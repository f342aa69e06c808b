// Package sweep holds the plain data of a learnviews sweep: its plan (the
// points, the seeds and the task of each point at each seed), the result of
// each finished task, their aggregation into mean ± standard deviation
// over seeds, the tables written from them (CSV, JSON lines, text with the
// paper's numbers beside), and the job scripts that run the tasks on a
// cluster (a Slurm job array, a Kubernetes Indexed Job).
//
// It knows nothing of configuration loading or training: the learnviews
// command fills a Plan from a profile and runs its tasks.
package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// PlanFile is the name of a sweep's plan inside the sweep directory.
const PlanFile = "sweep.json"

// Plan is what a sweep runs: each task is one point at one seed, run in
// its own run directory. Paths are relative to the sweep directory, so that
// the directory can be moved or mounted elsewhere (a cluster's shared disk).
type Plan struct {
	Profile string   `json:"profile"`
	Set     []string `json:"set,omitempty"` // the user's --set overrides
	Scale   string   `json:"scale"`
	Title   string   `json:"title,omitempty"`
	Table   string   `json:"table,omitempty"` // cmnist, learned-views or ""
	Stage   string   `json:"stage,omitempty"` // the evaluation reported; "" picks one
	Join    bool     `json:"join,omitempty"`
	Keys    []string `json:"keys"` // the keys the points vary, in order
	Seeds   []uint64 `json:"seeds"`
	Points  []Point  `json:"points"`
	Tasks   []Task   `json:"tasks"`
	Created string   `json:"created,omitempty"`
}

// Point is one setting of a sweep.
type Point struct {
	Index  int               `json:"index"`
	Label  string            `json:"label"`
	Set    []string          `json:"set"`    // key=value settings over the profile
	Values map[string]string `json:"values"` // the varied keys' values
}

// Task is one point at one seed.
type Task struct {
	Index  int    `json:"index"`
	Point  int    `json:"point"`
	Seed   uint64 `json:"seed"`
	Dir    string `json:"dir"`    // run directory
	Config string `json:"config"` // the run's fully resolved configuration (YAML)
}

// NewPlan lays out the tasks of points × seeds: point i at seed s runs in
// points/<iii>-<slug>/seed-<s> and reads its settings from
// tasks/<task>.yaml. Tasks are ordered point by point.
func NewPlan(profile string, points []Point, seeds []uint64) (*Plan, error) {
	if len(points) == 0 {
		return nil, errors.New("sweep: no points")
	}
	if len(seeds) == 0 {
		return nil, errors.New("sweep: no seeds")
	}
	p := &Plan{Profile: profile, Seeds: seeds}
	seenKey := map[string]bool{}
	for i, pt := range points {
		pt.Index = i
		if pt.Values == nil {
			pt.Values = map[string]string{}
		}
		for _, kv := range pt.Set {
			k, v, _ := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			pt.Values[k] = v
			if !seenKey[k] {
				seenKey[k] = true
				p.Keys = append(p.Keys, k)
			}
		}
		p.Points = append(p.Points, pt)
		dir := fmt.Sprintf("points/%03d-%s", i, Slug(pt.Label))
		for _, s := range seeds {
			t := len(p.Tasks)
			p.Tasks = append(p.Tasks, Task{Index: t, Point: i, Seed: s,
				Dir: fmt.Sprintf("%s/seed-%d", dir, s), Config: fmt.Sprintf("tasks/%04d.yaml", t)})
		}
	}
	return p, nil
}

// Slug turns a label into a short file-name part: lower-case letters,
// digits, dots and hyphens.
func Slug(label string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(label) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.'):
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if len(s) > 40 {
		s = strings.TrimSuffix(s[:40], "-")
	}
	if s == "" {
		s = "point"
	}
	return s
}

// ReadPlan reads the plan of the sweep in dir.
func ReadPlan(dir string) (*Plan, error) {
	b, err := os.ReadFile(filepath.Join(dir, PlanFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is not a sweep directory: it has no %s", dir, PlanFile)
	}
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, PlanFile), err)
	}
	if len(p.Tasks) == 0 {
		return nil, fmt.Errorf("%s: the plan has no tasks", filepath.Join(dir, PlanFile))
	}
	for i, t := range p.Tasks {
		if t.Index != i || t.Point < 0 || t.Point >= len(p.Points) {
			return nil, fmt.Errorf("%s: task %d is malformed", filepath.Join(dir, PlanFile), i)
		}
	}
	return &p, nil
}

// Encode writes the plan as indented JSON.
func (p *Plan) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// Task returns task i, or an error that says how many there are.
func (p *Plan) Task(i int) (Task, error) {
	if i < 0 || i >= len(p.Tasks) {
		return Task{}, fmt.Errorf("sweep: no task %d: the sweep has tasks 0 to %d", i, len(p.Tasks)-1)
	}
	return p.Tasks[i], nil
}

// SameTasks reports the first difference between the tasks of two plans
// (their points, seeds and settings), or "" if they run the same tasks.
func (p *Plan) SameTasks(q *Plan) string {
	if p.Profile != q.Profile {
		return fmt.Sprintf("profile %s, not %s", p.Profile, q.Profile)
	}
	if len(p.Tasks) != len(q.Tasks) {
		return fmt.Sprintf("%d tasks, not %d", len(p.Tasks), len(q.Tasks))
	}
	for i := range p.Tasks {
		a, b := p.Tasks[i], q.Tasks[i]
		if a.Seed != b.Seed || a.Dir != b.Dir || a.Point != b.Point {
			return fmt.Sprintf("task %d is %s, not %s", i, a.Dir, b.Dir)
		}
		if sa, sb := strings.Join(p.Points[a.Point].Set, " "), strings.Join(q.Points[b.Point].Set, " "); sa != sb {
			return fmt.Sprintf("point %d sets %q, not %q", a.Point, sa, sb)
		}
	}
	return ""
}
