package main

import (
	"sort"

	"github.com/spf13/cobra"
)

// sandboxCmds are the emulators `concord sandbox` can start; each lives in a
// file of its own (sandbox_<kind>.go) and adds itself here from init.
var sandboxCmds []func() *cobra.Command

func sandboxCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local emulator of a system's API (for tests, demos and offline QA)",
	}
	var subs []*cobra.Command
	for _, f := range sandboxCmds {
		subs = append(subs, f())
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Name() < subs[j].Name() })
	c.AddCommand(subs...)
	return c
}
