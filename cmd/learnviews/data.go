package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/learnviews/learnviews/datasets"
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
	entries, err := preview.Catalogue()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tIMAGES\tSHAPE\tDISK\tMEMORY\tWHERE")
	for _, e := range entries {
		if e.State == "missing" {
			fmt.Fprintf(tw, "%s\tmissing\t-\t-\t-\t-\t%s\n", e.Name, e.Where)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%s\t%s\t%s\n", e.Name, e.State, e.Images, e.Shape, bytesString(e.Disk), bytesString(e.Memory), e.Where)
	}
	return tw.Flush()
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

func newDataPreviewCmd() *cobra.Command {
	var (
		out, split, dir string
		seed            uint64
		n, size         int
	)
	names := slices.Sorted(maps.Keys(preview.Names))
	var long strings.Builder
	long.WriteString("Write a PNG sheet of labelled samples of a data set. NAME is one of:\n\n")
	for _, name := range names {
		fmt.Fprintf(&long, "  %-15s %s\n", name, preview.Names[name])
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
			sheet, err := preview.Build(args[0], preview.Options{Split: datasets.Split(split), Dir: dir, Seed: seed, N: n, Size: size})
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
