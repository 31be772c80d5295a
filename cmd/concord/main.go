// Command concord is the Concord CLI. It only wires: every command's logic
// lives in internal packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/gctune"
	"github.com/spf13/cobra"
)

func main() {
	gctune.Apply()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := rootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		var cerrs config.Errors
		if errors.As(err, &cerrs) {
			fmt.Fprintln(os.Stderr, cerrs.Error())
			fmt.Fprintf(os.Stderr, "%d error(s)\n", len(cerrs))
		} else {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		os.Exit(1)
	}
}

// extraCmds are commands that live in files of their own (auth.go, …) and
// add themselves from init; each gets the config loader.
var extraCmds []func(load func() (*config.Config, error)) *cobra.Command

func rootCmd() *cobra.Command {
	var cfgPath string
	root := &cobra.Command{
		Use:           "concord",
		Short:         "Two-way data synchronization between business systems",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&cfgPath, "config", "c", "concord.yaml", "configuration file")
	load := func() (*config.Config, error) {
		return config.LoadWith(cfgPath, config.Options{Kinds: connector.Kinds()})
	}
	// validate also checks each system's settings as its connector would
	// (credentials from environment variables included); the other
	// commands leave that to the connectors they open, so that docs and qa
	// work without credentials a sync would need.
	loadChecked := func() (*config.Config, error) {
		return config.LoadWith(cfgPath, config.Options{Kinds: connector.Kinds(), CheckSettings: connector.CheckSettings})
	}
	root.AddCommand(
		validateCmd(loadChecked),
		syncCmd(load),
		runCmd(load),
		statusCmd(load),
		explainCmd(load),
		linksCmd(load),
		schemaCmd(),
		breakerCmd(load),
		demoCmd(),
		sandboxCmd(),
	)
	for _, f := range extraCmds {
		root.AddCommand(f(load))
	}
	return root
}
