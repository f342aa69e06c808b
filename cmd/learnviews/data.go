package main

import (
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/learnviews/learnviews/datasets"
	"github.com/learnviews/learnviews/datasets/cmnist"
	"github.com/learnviews/learnviews/datasets/fashionphotos"
	"github.com/learnviews/learnviews/datasets/preview"
)

// newDataCmd is `learnviews data`: list and preview the data sets.
func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "List and preview the installed data sets",
	}
	cmd.AddCommand(newDataListCmd(), newDataPreviewCmd())
	return cmd
}

func newDataListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Show which data sets are installed, where, and their size on disk and in memory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listData(cmd.OutOrStdout())
		},
	}
}

// listData writes a table of the installed and generated data sets.
func listData(w io.Writer) error {
	sources := datasets.Sources()
	byName := map[string]datasets.Source{}
	for _, s := range sources {
		byName[s.Name] = s
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tIMAGES\tSHAPE\tDISK\tMEMORY\tWHERE")
	for _, s := range sources {
		if !s.Installed() {
			fmt.Fprintf(tw, "%s\tmissing\t-\t-\t-\t-\t%s\n", s.Name, missingHint(s))
			continue
		}
		fmt.Fprintf(tw, "%s\tinstalled\t%d\t%v\t%s\t%s\t%s\n", s.Name, s.Images, s.Shape, bytesString(s.DiskBytes), bytesString(s.MemoryBytes), s.Dir)
	}
	bg := byName["backgrounds"]
	generated := []struct {
		name, base string
		names      []string
		side       int
		shape      datasets.Shape
	}{
		{"cmnist", "mnist", cmnist.DefaultBackgrounds, 2 * 64, datasets.Shape{C: 3, H: 64, W: 64}},
		{"fashion-photos", "fashion-mnist", nil, 2 * 32, datasets.Shape{C: 3, H: 32, W: 32}},
	}
	for _, g := range generated {
		base := byName[g.base]
		if !base.Installed() || !bg.Installed() {
			missing := base
			if base.Installed() {
				missing = bg
			}
			fmt.Fprintf(tw, "%s\tmissing\t-\t-\t-\t-\tneeds %s: %s\n", g.name, missing.Name, missingHint(missing))
			continue
		}
		photos, err := photoMemory(bg.Dir, g.names, g.side)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\tgenerated\t%d\t%v\t0 B\t%s\tfrom %s + backgrounds, rendered on the fly\n",
			g.name, base.Images, g.shape, bytesString(base.MemoryBytes+photos), g.base)
	}
	return tw.Flush()
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

// bytesString formats a byte count with a binary unit.
func bytesString(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}

// previewNames lists the sets `data preview` knows, with what it shows.
var previewNames = map[string]string{
	"mnist":          "MNIST digits by class",
	"fashion-mnist":  "Fashion-MNIST items by class",
	"backgrounds":    "the background photographs",
	"stl10":          "STL-10 images by class",
	"cifar10":        "CIFAR-10 images by class",
	"folder":         "an image folder (--dir) by class",
	"cmnist":         "Colorful-Moving-MNIST: v1 frames, x_t and a v2 for each shared-factor set",
	"fashion-photos": "the recoloured Fashion-MNIST on photographs, by class",
}

func newDataPreviewCmd() *cobra.Command {
	var (
		out, split, dir string
		seed            uint64
		n, size         int
	)
	names := sortedKeys(previewNames)
	var long strings.Builder
	long.WriteString("Write a PNG sheet of labelled samples of a data set. NAME is one of:\n\n")
	for _, name := range names {
		fmt.Fprintf(&long, "  %-15s %s\n", name, previewNames[name])
	}
	cmd := &cobra.Command{
		Use:       "preview NAME --out FILE.png",
		Short:     "Write a labelled grid of samples of a data set as PNG",
		Long:      long.String(),
		Args:      cobra.ExactArgs(1),
		ValidArgs: names,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("preview: --out FILE.png is required")
			}
			sheet, err := previewSheet(args[0], datasets.Split(split), dir, seed, n, size)
			if err != nil {
				return err
			}
			if err := sheet.WritePNG(out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "PNG file to write")
	f.StringVar(&split, "split", string(datasets.Train), "split to sample: train, test or unlabeled (STL-10)")
	f.StringVar(&dir, "dir", "", "image folder, for NAME folder")
	f.Uint64Var(&seed, "seed", 1, "seed of the samples shown and of the generated sets")
	f.IntVar(&n, "n", 0, "samples per class, or sequences for cmnist (0: a default)")
	f.IntVar(&size, "size", 0, "image side for cmnist, fashion-photos and folder (0: the default)")
	return cmd
}

// previewSheet builds the sheet for a data set.
func previewSheet(name string, split datasets.Split, dir string, seed uint64, n, size int) (*preview.Sheet, error) {
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
		return preview.ByClass(ds, title, perClass, seed, nil)
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
		return preview.ByClass(ds, fmt.Sprintf("folder %s", dir), perClass, seed, nil)
	case "backgrounds":
		photos, err := datasets.LoadBackgrounds(nil, datasets.PhotoSide)
		if err != nil {
			return nil, err
		}
		return preview.Photos("backgrounds (cmnist classes: "+strings.Join(cmnist.DefaultBackgrounds, ", ")+")", photos, 128, 4)
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
		return preview.CMNIST(s, n)
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
		sheet, err := preview.ByClass(s, fmt.Sprintf("fashion-photos (%s, %dx%d)", split, cfg.Size, cfg.Size), perClass, seed,
			func(i int) string { return abbreviate(bg[s.Look(i).Background], 9) })
		if err != nil {
			return nil, err
		}
		sheet.Notes = "Fashion-MNIST items recoloured at random (colour and texture carry no class) on crops of natural photographs; captions: photograph."
		return sheet, nil
	}
	return nil, fmt.Errorf("preview: unknown data set %q; want one of %s", name, strings.Join(sortedKeys(previewNames), ", "))
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
