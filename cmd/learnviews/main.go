// Command learnviews learns and evaluates views for contrastive learning.
//
// It runs the experiments of "What Makes for Good Views for Contrastive
// Learning?" (Tian et al., NeurIPS 2020) from named configuration profiles and
// writes metrics, checkpoints, figures and an HTML report for each run.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/learnviews/learnviews/experiment"
)

func main() {
	// The garbage collector lets the heap grow to twice what is live before
	// it collects; near the machine's memory it should work harder instead
	// (GOMEMLIMIT, when set, wins).
	if os.Getenv("GOMEMLIMIT") == "" {
		if m := experiment.PhysicalMemory(); m > 0 {
			debug.SetMemoryLimit(m / 10 * 9)
		}
	}
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
