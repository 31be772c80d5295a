package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/playground"
	"github.com/concordsync/concord/internal/qa"
	"github.com/concordsync/concord/internal/runner"
	"github.com/spf13/cobra"
)

func init() { extraCmds = append(extraCmds, qaCmd) }

func qaCmd(load func() (*config.Config, error)) *cobra.Command {
	var quiet bool
	c := &cobra.Command{
		Use:   "qa SOURCE TARGET",
		Short: "Run the dataflow document of two systems as a checklist against the systems",
		Long: `Makes the dataflow document of SOURCE to TARGET (see concord docs) executable.
For every section (a SOURCE datatype that feeds a TARGET datatype) it creates a
record in SOURCE, syncs, and checks that the record is in TARGET with every
property of the section's table; edits it in TARGET and checks SOURCE; edits
one property on both sides and checks that the later edit won on both; and
checks that no duplicate exists. It prints the checklist and exits non-zero
when a check failed. What it created is deleted at the end where the systems
allow it.

Without --config it starts the built-in reference systems (the sandboxes:
customwebshop, customerp, exactonline, webcrm) and a store of its own, so
  concord qa customwebshop exactonline
  concord qa webcrm customerp
need nothing else. With --config it runs against the configured systems and
store: point it at a test environment of your systems, not at production.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			source, target := args[0], args[1]
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			var cfg *config.Config
			var err error
			if cmd.Flags().Changed("config") {
				if cfg, err = load(); err != nil {
					return err
				}
				// By key or title, as concord docs takes them.
				if source, err = systemKey(cfg, source); err != nil {
					return err
				}
				if target, err = systemKey(cfg, target); err != nil {
					return err
				}
			} else {
				for _, s := range args {
					if !slices.Contains(playground.Systems, s) {
						return fmt.Errorf("%q is not a built-in system; without --config, SOURCE and TARGET are among %v", s, playground.Systems)
					}
				}
				pg, err := playground.Start(playground.Options{Only: []string{source, target}})
				if err != nil {
					return err
				}
				defer pg.Close()
				dir, err := os.MkdirTemp("", "concord-qa-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				file := filepath.Join(dir, "concord.yaml")
				if cfg, err = config.Parse(file, pg.Config(filepath.Join(dir, "concord.db"), source, target)); err != nil {
					return fmt.Errorf("the sandboxes' configuration: %w", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "running against the sandboxes: %s\n", pg.URLs())
			}
			r, err := runner.Open(cmd.Context(), cfg, engine.Options{Logger: log})
			if err != nil {
				return err
			}
			defer r.Close()
			opt := qa.Options{Source: source, Target: target}
			if !quiet {
				opt.Progress = cmd.ErrOrStderr()
			}
			rep, err := qa.Run(cmd.Context(), qa.Env{Engine: r.Engine, Store: r.Store,
				Connectors: func(s string) connector.Connector { return r.Connector(s) }}, opt)
			rep.Print(cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if n := rep.Failed(); n > 0 {
				return fmt.Errorf("%d of %d checks failed", n, len(rep.Checks))
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the checklist, not the progress")
	return c
}
