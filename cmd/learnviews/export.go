package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/learnviews/learnviews/experiment"
)

func newExportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export RUN_DIR --out DIR",
		Short: "Copy a run's learned generator and encoders into DIR, for PyTorch",
		Long: `Copy what a run learned into DIR: generator.safetensors (the view generator
g, with the colour space and standardisation it reads) and encoders.safetensors
(f1 and f2 of stage 2, or of the contrastive stage), whichever the run has,
each checked to load, with a README.txt that says what they hold. The package
python/learnviews_torch loads them in PyTorch; docs/FORMATS.md describes them.`,
		Example: `  learnviews export runs/semi --out learned`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := experiment.Export(args[0], out)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, f := range files {
				fmt.Fprintln(w, "wrote", f)
			}
			fmt.Fprint(w, "\n", experiment.ExportUsage(out))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "output folder")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
