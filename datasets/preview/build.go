package preview

import (
	"fmt"
	"sort"
	"strings"

	"github.com/learnviews/learnviews/chw"
	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/cmnist"
	"github.com/learnviews/learnviews/datasets/fashionphotos"
)

// Names lists the data sets Build draws, with what each sheet shows.
var Names = map[string]string{
	"mnist":          "MNIST digits by class",
	"fashion-mnist":  "Fashion-MNIST items by class",
	"backgrounds":    "the background photographs",
	"stl10":          "STL-10 images by class",
	"cifar10":        "CIFAR-10 images by class",
	"folder":         "an image folder (--dir) by class",
	"cmnist":         "Colorful-Moving-MNIST: v1 frames, x_t and a v2 for each shared-factor set",
	"fashion-photos": "the recoloured Fashion-MNIST on photographs, by class",
}

// Options choose what Build draws.
type Options struct {
	Split datasets.Split
	Dir   string // the image folder, for "folder"
	Seed  uint64 // of the samples shown and of the generated sets
	N     int    // samples per class, or sequences for cmnist (0: a default)
	Size  int    // image side for cmnist, fashion-photos and folder (0: the default)
}

// Build draws the sheet of the data set name (one of Names).
func Build(name string, o Options) (*chw.Grid, error) {
	split, dir, seed, n, size := o.Split, o.Dir, o.Seed, o.N, o.Size
	perClass := n
	if perClass <= 0 {
		perClass = 8
	}
	title := fmt.Sprintf("%s (%s)", name, split)
	switch name {
	case "mnist", "fashion-mnist", "stl10", "cifar10":
		src := map[string]struct {
			find func() (string, error)
			load func(string, datasets.Split) (*datasets.InMemory, error)
		}{
			"mnist":         {datasets.FindMNIST, datasets.LoadMNIST},
			"fashion-mnist": {datasets.FindFashionMNIST, datasets.LoadFashionMNIST},
			"stl10":         {datasets.FindSTL10, datasets.LoadSTL10},
			"cifar10":       {datasets.FindCIFAR10, datasets.LoadCIFAR10},
		}[name]
		d, err := src.find()
		if err != nil {
			return nil, err
		}
		ds, err := src.load(d, split)
		if err != nil {
			return nil, err
		}
		return ByClass(ds, title, perClass, seed, nil)
	case "folder":
		if dir == "" {
			return nil, fmt.Errorf("preview folder: --dir is required")
		}
		if size <= 0 {
			size = 64
		}
		ds, err := datasets.LoadImageFolder(dir, size)
		if err != nil {
			return nil, err
		}
		return ByClass(ds, fmt.Sprintf("folder %s", dir), perClass, seed, nil)
	case "backgrounds":
		photos, err := datasets.LoadBackgrounds(nil, datasets.PhotoSide)
		if err != nil {
			return nil, err
		}
		return Photos("backgrounds (cmnist classes: "+strings.Join(cmnist.DefaultBackgrounds, ", ")+")", photos, 128, 4)
	case "cmnist":
		cfg := cmnist.DefaultConfig()
		cfg.Seed = seed
		if size > 0 {
			cfg.Size = size
		}
		s, err := cmnist.Open(cfg, split)
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			n = 4
		}
		return CMNIST(s, n)
	case "fashion-photos":
		cfg := fashionphotos.DefaultConfig()
		cfg.Seed = seed
		if size > 0 {
			cfg.Size = size
		}
		s, err := fashionphotos.Open(cfg, split)
		if err != nil {
			return nil, err
		}
		bg := s.BackgroundNames()
		sheet, err := ByClass(s, fmt.Sprintf("fashion-photos (%s, %dx%d)", split, cfg.Size, cfg.Size), perClass, seed,
			func(i int) string { return abbreviate(bg[s.Look(i).Background], 9) })
		if err != nil {
			return nil, err
		}
		sheet.Notes = "Fashion-MNIST items recoloured at random (colour and texture carry no class) on crops of natural photographs; captions: photograph."
		return sheet, nil
	}
	return nil, fmt.Errorf("preview: unknown data set %q; want one of %s", name, strings.Join(sortedKeys(Names), ", "))
}

func abbreviate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "."
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
