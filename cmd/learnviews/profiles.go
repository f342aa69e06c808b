package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/experiment"
	"github.com/learnviews/learnviews/registry"
)

func newProfilesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "profiles",
		Short: "List the embedded profiles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := config.Profiles()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			for _, p := range ps {
				def := ""
				if p.Name == config.DefaultProfile {
					def = " (default)"
				}
				kind := ""
				if c, err := config.Load(config.Sources{Profile: p.Name}); err == nil && c.Sweep.IsSweep() {
					seeds := max(1, len(c.Sweep.Seeds))
					kind = fmt.Sprintf(" [sweep: %d points × %d seeds]", len(c.Sweep.Expand()), seeds)
				}
				fmt.Fprintf(w, "%s%s\t%s%s\n", p.Name, def, p.Description, kind)
			}
			return w.Flush()
		},
	}
}

func newConfigCmd() *cobra.Command {
	var cf configFlags
	var keys bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the resolved configuration of a profile (with --config, env and --set applied)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if keys {
				return printKeys(cmd.OutOrStdout())
			}
			c, err := cf.load()
			if err != nil {
				return err
			}
			b, err := c.YAML()
			if err != nil {
				return err
			}
			if m, err := experiment.EstimateMemory(c); err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "# memory a run needs at its peak: %s\n", m)
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&keys, "keys", false, "list every key with its environment variable and, where a registry names them, its values")
	return cmd
}

// printKeys lists every key with its environment variable and, for the
// keys a registry names, the registered names.
func printKeys(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, k := range config.Keys() {
		names, _ := registry.Names(k)
		fmt.Fprintf(w, "%s\t%s\t%s\n", k, config.EnvName(k), strings.Join(names, ", "))
	}
	return w.Flush()
}
