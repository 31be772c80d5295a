package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/dataflow"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/preset"
	"github.com/spf13/cobra"
)

func init() { extraCmds = append(extraCmds, docsCmd) }

func docsCmd(load func() (*config.Config, error)) *cobra.Command {
	var format, out, generated string
	cmd := &cobra.Command{
		Use:   "docs SOURCE TARGET",
		Short: "Write the dataflow document of two systems: what flows from SOURCE to TARGET, as a QA checklist",
		Long: `Writes the dataflow document of records flowing from the system SOURCE to the
system TARGET (their keys under systems:, or their titles): one section per
SOURCE datatype that reaches a TARGET datatype, saying whether records are
inserted or only linked, which merge criteria match existing records, whether
linked records stay in sync both ways, and a table of the synchronized
properties. It is made from the same compiled mappings the sync runs on.

Formats: rst (reStructuredText, the default), markdown, html (one standalone
page). With -o the format follows the file's extension unless --format says
otherwise.

The "Generated:" line shows the current time, or --generated, or, when
SOURCE_DATE_EPOCH is set (reproducible builds), that time in UTC.`,
		Example: `  concord docs customwebshop exactonline
  concord docs webcrm customerp --format html -o webcrm-customerp.html
  concord docs webcrm customerp -o dataflow.md --generated "2026-11-22 06:00:00"
  concord docs -c concord.yaml shop exact`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := docsFormat(format, out, cmd.Flags().Changed("format"))
			if err != nil {
				return err
			}
			now, err := generatedTime(generated)
			if err != nil {
				return err
			}
			cfg, err := docsConfig(cmd, load, args)
			if err != nil {
				return err
			}
			set, err := mapping.Compile(cfg)
			if err != nil {
				return fmt.Errorf("%s: %w", cfg.File, err)
			}
			source, err := systemKey(cfg, args[0])
			if err != nil {
				return err
			}
			target, err := systemKey(cfg, args[1])
			if err != nil {
				return err
			}
			text, err := dataflow.Generate(set, source, target, f, now)
			if err != nil {
				return fmt.Errorf("%s: %w", cfg.File, err)
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(text)
				return err
			}
			if err := os.WriteFile(out, text, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "rst", "rst, markdown or html")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	cmd.Flags().StringVar(&generated, "generated", "", `the time the document says it was generated, "YYYY-MM-DD HH:MM:SS" (default: now)`)
	return cmd
}

// docsFormat is --format, or the output file's extension when --format was
// not given.
func docsFormat(flag, out string, given bool) (dataflow.Format, error) {
	if !given && out != "" {
		switch strings.ToLower(filepath.Ext(out)) {
		case ".md", ".markdown":
			return dataflow.Markdown, nil
		case ".html", ".htm":
			return dataflow.HTML, nil
		}
	}
	return dataflow.ParseFormat(flag)
}

func generatedTime(flag string) (time.Time, error) {
	if flag != "" {
		for _, layout := range []string{dataflow.GeneratedLayout, time.RFC3339, "2006-01-02T15:04:05", time.DateOnly} {
			if t, err := time.ParseInLocation(layout, flag, time.Local); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("--generated %q: want a time such as \"2026-11-22 06:00:00\"", flag)
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970", s)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Now(), nil
}

// systemKey finds a system by its key, or else by its title (any case).
func systemKey(cfg *config.Config, name string) (string, error) {
	if _, ok := cfg.Systems[name]; ok {
		return name, nil
	}
	var keys []string
	for k, s := range cfg.Systems {
		if s.Title != "" && strings.EqualFold(s.Title, name) {
			return k, nil
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return "", fmt.Errorf("%s has no system %q (systems: %s)", cfg.File, name, strings.Join(keys, ", "))
}

// docsConfig is the configuration whose mappings a document describes:
// the one given, or, when none is given and there is no concord.yaml, the
// built-in presets of the two systems named.
func docsConfig(cmd *cobra.Command, load func() (*config.Config, error), args []string) (*config.Config, error) {
	if f := cmd.Flag("config"); f != nil && !f.Changed {
		if _, err := os.Stat(f.Value.String()); errors.Is(err, fs.ErrNotExist) {
			data, err := preset.Config(args...)
			if err != nil {
				return nil, fmt.Errorf("no %s here, and %w; give a configuration with -c", f.Value.String(), err)
			}
			return config.Parse("built-in presets", data)
		}
	}
	return load()
}
