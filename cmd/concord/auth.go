package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/config"
	exactconn "github.com/concordsync/concord/internal/connector/exactonline"
	"github.com/concordsync/concord/internal/runner"
	"github.com/spf13/cobra"
)

func init() { extraCmds = append(extraCmds, authCmd) }

func authCmd(load func() (*config.Config, error)) *cobra.Command {
	c := &cobra.Command{
		Use:   "auth",
		Short: "Authorize Concord to use a system's API (OAuth2) and keep the tokens in its store",
	}
	c.AddCommand(authExactOnlineCmd(load))
	return c
}

func authExactOnlineCmd(load func() (*config.Config, error)) *cobra.Command {
	var system string
	var paste bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "exactonline [--system NAME]",
		Short: "Log in to Exact Online in a browser; the tokens go to Concord's store",
		Long: `Walks you through Exact Online's authorization: Concord prints a page to open,
you log in and allow access, Exact sends the browser back to the system's
redirect_uri, where Concord listens for it, and the tokens are stored in
Concord's store (where every worker finds them). Run it again when Concord
reports that the refresh token was refused.

With --paste, Concord does not listen: paste the address the browser was sent
to (or just its code) instead, for a machine whose browser cannot reach it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			name, err := exactOnlineSystem(cfg, system)
			if err != nil {
				return err
			}
			a, err := exactconn.NewAuthorization(name, cfg.Systems[name].Settings, nil)
			if err != nil {
				return err
			}
			st, err := runner.OpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			opts := exactconn.AuthorizeOptions{Out: cmd.OutOrStdout()}
			if paste {
				opts.In = cmd.InOrStdin()
			}
			return a.Run(ctx, st, opts)
		},
	}
	cmd.Flags().StringVar(&system, "system", "", "the system to authorize (default: the only system of kind exactonline)")
	cmd.Flags().BoolVar(&paste, "paste", false, "paste the redirected address instead of listening on redirect_uri")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the browser")
	return cmd
}

// exactOnlineSystem picks the system to authorize: the named one, which
// must be of kind exactonline, or the only one of that kind.
func exactOnlineSystem(cfg *config.Config, name string) (string, error) {
	var names []string
	for n, s := range cfg.Systems {
		if s.Kind == exactconn.Kind {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	switch {
	case name != "" && slices.Contains(names, name):
		return name, nil
	case name != "":
		if s, ok := cfg.Systems[name]; ok {
			return "", fmt.Errorf("system %q in %s is of kind %s, not %s", name, cfg.File, s.Kind, exactconn.Kind)
		}
		return "", fmt.Errorf("%s has no system %q (systems of kind %s: %s)", cfg.File, name, exactconn.Kind, strings.Join(names, ", "))
	case len(names) == 1:
		return names[0], nil
	case len(names) == 0:
		return "", fmt.Errorf("%s has no system of kind %s", cfg.File, exactconn.Kind)
	}
	return "", fmt.Errorf("%s has several systems of kind %s (%s): choose one with --system", cfg.File, exactconn.Kind, strings.Join(names, ", "))
}
