package preview

import (
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/cmnist"
)

// Entry is one line of the catalogue of data sets.
type Entry struct {
	Name   string
	State  string // installed, generated or missing
	Images int
	Shape  chw.Shape
	Disk   int64  // bytes on disk
	Memory int64  // bytes held in memory once loaded
	Where  string // folder, or what is missing and how to install it
}

// Catalogue lists the installed data sets and the generated ones
// (Colorful-Moving-MNIST, fashion-photos), with their sizes on disk and in
// memory.
func Catalogue() ([]Entry, error) {
	var out []Entry
	sources := datasets.Sources()
	byName := map[string]datasets.Source{}
	for _, s := range sources {
		byName[s.Name] = s
	}
	for _, s := range sources {
		if !s.Installed() {
			out = append(out, Entry{Name: s.Name, State: "missing", Where: missingHint(s)})
			continue
		}
		out = append(out, Entry{Name: s.Name, State: "installed", Images: s.Images, Shape: s.Shape, Disk: s.DiskBytes, Memory: s.MemoryBytes, Where: s.Dir})
	}
	bg := byName["backgrounds"]
	generated := []struct {
		name, base string
		names      []string
		side       int
		shape      chw.Shape
	}{
		{"cmnist", "mnist", cmnist.DefaultBackgrounds, 2 * 64, chw.Shape{C: 3, H: 64, W: 64}},
		{"fashion-photos", "fashion-mnist", nil, 2 * 32, chw.Shape{C: 3, H: 32, W: 32}},
	}
	for _, g := range generated {
		base := byName[g.base]
		if !base.Installed() || !bg.Installed() {
			missing := base
			if base.Installed() {
				missing = bg
			}
			out = append(out, Entry{Name: g.name, State: "missing", Where: fmt.Sprintf("needs %s: %s", missing.Name, missingHint(missing))})
			continue
		}
		photos, err := photoMemory(bg.Dir, g.names, g.side)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Name: g.name, State: "generated", Images: base.Images, Shape: g.shape, Memory: base.MemoryBytes + photos,
			Where: fmt.Sprintf("from %s + backgrounds, rendered on the fly", g.base)})
	}
	return out, nil
}

// missingHint is the install command of a missing source and what went wrong.
func missingHint(s datasets.Source) string {
	if strings.Contains(s.Err.Error(), s.Install) {
		return s.Err.Error()
	}
	return fmt.Sprintf("%v; install with: %s", s.Err, s.Install)
}

// photoMemory is the memory the named photographs of dir (all when names is
// nil) hold once scaled to a shorter side of side pixels, from their headers.
func photoMemory(dir string, names []string, side int) (int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var total int64
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".jpg" && ext != ".jpeg" && ext != ".png") || names != nil && !want[strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))] {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return 0, err
		}
		cfg, _, err := image.DecodeConfig(f)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("%s: %w: %v", filepath.Join(dir, e.Name()), datasets.ErrBadImage, err)
		}
		scale := min(1, float64(side)/float64(min(cfg.Width, cfg.Height)))
		total += 4 * 3 * int64(math.Round(float64(cfg.Width)*scale)) * int64(math.Round(float64(cfg.Height)*scale))
	}
	return total, nil
}
