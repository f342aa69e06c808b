package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/learnviews/learnviews/experiment"
	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/sweep"
)

func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report DIR",
		Short: "Write DIR/report.html of a run, or of a sweep or table: figures and tables beside the paper's numbers",
		Long: `Redraw a run's figures from its metrics.jsonl and write one self-contained
HTML page (figures embedded) with the configuration, the curves of both
players, the learned colour space, the final accuracies beside the raw-view
baseline, and the environment. Works on a finished or a partial run.

On a sweep or table directory (learnviews sweep, table-cmnist,
table-learned-views) it gathers the finished runs into the table files, the
reverse-U figure and a report.html with the paper's numbers beside them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if experiment.IsSweepDir(dir) {
				_, err := sweep.WriteOutputs(dir, cmd.OutOrStdout())
				return err
			}
			unlock, err := rundir.LockRun(dir)
			if err != nil {
				return fmt.Errorf("run directory %s: %w", dir, err)
			}
			defer unlock()
			path, err := experiment.WriteReport(dir)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
}
