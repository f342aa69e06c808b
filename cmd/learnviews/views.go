package main

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the JPEG decoder for --in
	"math/rand/v2"

	"github.com/learnviews/learnviews/chw"

	"github.com/spf13/cobra"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/flow"
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
	cmd.AddCommand(newViewsPreviewCmd(), newViewsInitGeneratorCmd())
	return cmd
}

// newViewsInitGeneratorCmd saves a freshly initialised flow generator, for
// previews and as a starting point.
func newViewsInitGeneratorCmd() *cobra.Command {
	var out, kind, coupling, activation string
	var identity bool
	var blocks, hidden int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "init-generator --out FILE.safetensors",
		Short: "Save a newly initialised flow generator g (identity or random)",
		Example: `  learnviews views init-generator --identity --out g-identity.safetensors
  learnviews views init-generator --kind nvp --seed 3 --out g-random.safetensors
  learnviews views preview --generator g-random.safetensors --in photo.jpg --out g.png`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := flow.New("g", tensor.Float32, flow.Config{Kind: kind, Blocks: blocks, Coupling: coupling, Hidden: hidden,
				Activation: activation, Identity: identity},
				rand.New(rand.NewPCG(seed, 0)))
			if err != nil {
				return err
			}
			if err := g.Save(out); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "wrote", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "output file")
	f.StringVar(&kind, "kind", flow.VP, "vp (additive couplings) or nvp (affine couplings and 1×1 convolutions)")
	f.BoolVar(&identity, "identity", false, "start as the identity map")
	f.IntVar(&blocks, "blocks", flow.DefaultBlocks, "coupling blocks")
	f.StringVar(&coupling, "coupling", flow.RevNet, "revnet (the authors' RevBlockV2) or rotate")
	f.IntVar(&hidden, "hidden", 0, "width of the coupling networks (0: their input's for revnet, 16 for rotate)")
	f.StringVar(&activation, "activation", "", "relu or leaky (default: relu for revnet, leaky for rotate)")
	f.Uint64Var(&seed, "seed", 1, "seed of the random initialisation")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

type previewOptions struct {
	view      string
	in, out   string
	draws     int
	size      int
	seed      uint64
	allSpaces bool
	generator string
	space     string
	split     string
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
	f.StringVar(&opt.generator, "generator", "", "draw a saved learned generator g (e.g. a run's generator.safetensors) instead of a view spec")
	f.StringVar(&opt.space, "input-space", "rgb", "with --generator: the colour space g reads, for a file that does not record it (runs record it)")
	f.StringVar(&opt.split, "split", "0|1,2", "with --generator: the channels of g(X) that each view keeps")
	_ = cmd.MarkFlagRequired("in")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// runPreview draws the preview that opt asks for. A learned view generator
// is drawn by viewgen.PreviewMapped, given the function that maps an RGB
// image to its three learned channels.
func runPreview(cmd *cobra.Command, opt previewOptions) error {
	modes := 0
	for _, on := range []bool{opt.allSpaces, opt.view != "", opt.generator != ""} {
		if on {
			modes++
		}
	}
	if modes != 1 {
		return errors.New("give one of --view SPEC, --all-spaces or --generator FILE")
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
	switch {
	case opt.generator != "":
		grid, err = previewGenerator(src, opt)
	case opt.allSpaces:
		grid, err = viewgen.PreviewSpaces(src)
	default:
		grid, err = viewgen.PreviewSpec(src, spec, opt.draws, opt.seed)
	}
	if err != nil {
		return err
	}
	if err := chw.SavePNG(opt.out, grid); err != nil {
		return err
	}
	b := grid.Bounds()
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d×%d)\n", opt.out, b.Dx(), b.Dy())
	return nil
}

// previewGenerator draws what a saved generator makes of src. A generator
// saved by a run knows its input (colour space and standardisation); an
// older file reads the space --input-space names.
func previewGenerator(src chw.Image, opt previewOptions) (*image.RGBA, error) {
	g, err := flow.Load(opt.generator)
	if err != nil {
		return nil, err
	}
	split, err := viewgen.ParseSplit(opt.split)
	if err != nil {
		return nil, fmt.Errorf("--split: %w", err)
	}
	in, known := g.Input()
	if !known {
		space, err := viewgen.ParseColorSpace(opt.space)
		if err != nil {
			return nil, fmt.Errorf("--input-space: %w", err)
		}
		in = flow.Input{Space: space.String(), Std: [3]float64{1, 1, 1}}
		if err := g.SetInput(in); err != nil {
			return nil, err
		}
	}
	cfg := g.Config()
	name := fmt.Sprintf("g (%s %s, %d blocks, %s input", cfg.Kind, cfg.Coupling, cfg.Blocks, in.Space)
	if known && (in.Mean != [3]float64{} || in.Std != [3]float64{1, 1, 1}) {
		name += ", standardised"
	}
	return viewgen.PreviewMapped(src, name+")", g.ApplyRGB, split)
}

// readImage decodes a PNG or JPEG file and resizes it so that its shorter
// side is size pixels (size 0 keeps it).
func readImage(path string, size int) (chw.Image, error) {
	img, err := chw.ReadFile(path)
	if err != nil || size == 0 {
		return img, err
	}
	return chw.ResizeShort(img, size)
}
