// Command learnviews learns and evaluates views for contrastive learning.
//
// It runs the experiments of "What Makes for Good Views for Contrastive
// Learning?" (Tian et al., NeurIPS 2020) from named configuration profiles and
// writes metrics, checkpoints, figures and an HTML report for each run.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "learnviews:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "learnviews",
		Short:         "Learn and evaluate views for contrastive learning (InfoMin)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newReportCmd(), newProfilesCmd(), newConfigCmd(), newDataCmd(), newViewsCmd(),
		newSweepCmd(), newTableCmnistCmd(), newTableLearnedViewsCmd(), newExportCmd())
	return root
}
