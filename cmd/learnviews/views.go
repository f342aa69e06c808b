package main

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the JPEG decoder for --in
	"image/png"
	"math"
	"os"

	"github.com/spf13/cobra"

	"github.com/learnviews/learnviews/viewgen"
)

func newViewsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "views",
		Short: "Render an image's views",
		Long: `Render the views that a view spec makes of an image.

A view spec names a colour space, the channels of each view and the
augmentations, e.g. "ydbdr:0|1,2+crop=0.2+flip+jitter=1+gray=0.2"; see the
viewgen package for its grammar.`,
	}
	cmd.AddCommand(newViewsPreviewCmd())
	return cmd
}

type previewOptions struct {
	view      string
	in, out   string
	draws     int
	size      int
	seed      uint64
	allSpaces bool
}

func newViewsPreviewCmd() *cobra.Command {
	var opt previewOptions
	cmd := &cobra.Command{
		Use:   "preview --view SPEC --in FILE --out FILE.png",
		Short: "Draw an image's views under a view spec, or in every colour space",
		Long: `Draw the views of one image as a labelled PNG grid.

With --view, each row is one draw of the spec's augmentations: the
augmented RGB image and the view of v1, then of v2. A one-channel view is
drawn as grey over the channel's range on the RGB cube; a two-channel view is
drawn in colour with the missing channel held at its value for mid grey; a
three-channel view is converted back to RGB.

With --all-spaces, each row is one colour space: its three channels as grey,
channels 1 and 2 in colour, and the image converted back to RGB.

The input (PNG or JPEG) is first resized so that its shorter side is --size
pixels.`,
		Example: `  learnviews views preview --view 'lab:0|1,2+crop=0.2+flip+jitter' --in photo.jpg --out lab.png --draws 4
  learnviews views preview --all-spaces --in photo.jpg --out spaces.png`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPreview(cmd, opt)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.view, "view", "", "view spec to draw, e.g. 'ydbdr:0|1,2+crop=0.2+flip'")
	f.StringVar(&opt.in, "in", "", "input image (PNG or JPEG)")
	f.StringVar(&opt.out, "out", "", "output PNG")
	f.IntVar(&opt.draws, "draws", 4, "number of augmentation draws (rows) to draw")
	f.IntVar(&opt.size, "size", 128, "resize the input so that its shorter side has this many pixels (0 keeps it)")
	f.Uint64Var(&opt.seed, "seed", 1, "seed of the augmentation draws")
	f.BoolVar(&opt.allSpaces, "all-spaces", false, "draw the input in every colour space instead of a view spec")
	_ = cmd.MarkFlagRequired("in")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// runPreview draws the preview that opt asks for. A learned view generator
// is drawn by viewgen.PreviewMapped, given the function that maps an RGB
// image to its three learned channels.
func runPreview(cmd *cobra.Command, opt previewOptions) error {
	if opt.allSpaces == (opt.view != "") {
		return errors.New("give either --view SPEC or --all-spaces")
	}
	if opt.size < 0 {
		return fmt.Errorf("--size %d: want 0 or more", opt.size)
	}
	var spec viewgen.Spec
	if opt.view != "" {
		var err error
		if spec, err = viewgen.ParseSpec(opt.view); err != nil {
			return err
		}
	}
	src, err := readImage(opt.in, opt.size)
	if err != nil {
		return err
	}
	var grid *image.RGBA
	if opt.allSpaces {
		grid, err = viewgen.PreviewSpaces(src)
	} else {
		grid, err = viewgen.PreviewSpec(src, spec, opt.draws, opt.seed)
	}
	if err != nil {
		return err
	}
	if err := writePNG(opt.out, grid); err != nil {
		return err
	}
	b := grid.Bounds()
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d×%d)\n", opt.out, b.Dx(), b.Dy())
	return nil
}

// readImage decodes a PNG or JPEG file and resizes it so that its shorter
// side is size pixels (size 0 keeps it).
func readImage(path string, size int) (viewgen.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return viewgen.Image{}, err
	}
	defer f.Close()
	decoded, _, err := image.Decode(f)
	if err != nil {
		return viewgen.Image{}, fmt.Errorf("decode %s: %w", path, err)
	}
	img := viewgen.FromImage(decoded)
	if size == 0 {
		return img, nil
	}
	short := min(img.H, img.W)
	h := max(1, int(math.Round(float64(img.H)*float64(size)/float64(short))))
	w := max(1, int(math.Round(float64(img.W)*float64(size)/float64(short))))
	return viewgen.Resize(img, h, w)
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}
