package main

import (
	"log/slog"

	"github.com/concordsync/concord/internal/sandbox/erp"
	"github.com/spf13/cobra"
)

func init() { sandboxCmds = append(sandboxCmds, sandboxERPCmd) }

// sandboxERPCmd runs the reference ERP with the flags it shares with the
// reference webshop (referenceFlags, in sandbox_webshop.go).
func sandboxERPCmd() *cobra.Command {
	var (
		rf     referenceFlags
		apiKey string
	)
	c := &cobra.Command{
		Use:   "erp",
		Short: "Run the reference ERP: a company's own REST API (API key, opaque change cursor, full-record PUT)",
		Long: `Serves the reference ERP on --listen until interrupted: customers, contacts,
products and orders under /erp, with an X-API-Key header, change listings
after an opaque cursor (a change sequence, not a time) that report deletions
as tombstones, full-record PUT updates and {"error":{code,message,field}}
errors. It shows what a company's own system offers to be connected with
zero code; see docs/custom-system-convention.md. Data is kept in --data
(JSON, saved on change and at exit) or in memory.

--print-credentials writes {"base_url", "api_key"} as one line of JSON to
stdout once the listener is up; base_url is the API's (…/erp), as the
customerp preset's settings.base_url takes it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return rf.run(cmd, func(log *slog.Logger, ready func(credentials any)) error {
				opts := erp.Options{APIKey: apiKey, Logger: log,
					DataFile: rf.dataFile, SeedDemo: rf.seedDemo, RateLimit: rf.rateLimit, Faults: rf.faults, Seed: rf.seed}
				return erp.ListenAndServe(cmd.Context(), rf.listen, opts, func(srv *erp.Server, base string) {
					ready(srv.Credentials(base))
				})
			})
		},
	}
	rf.register(c, referenceHelp{listen: "127.0.0.1:8084", rateLimit: erp.DefaultRateLimit,
		credentials: `{"base_url", "api_key"}`, credential: "API key",
		seedDemo: "fill an empty ERP with a few customers, contacts, products and orders",
		seed:     "seed for the API key, ids and faults, to repeat a run (0: random)"})
	c.Flags().StringVar(&apiKey, "api-key", "", "key clients must send in X-API-Key (default: the one in --data, or made up)")
	return c
}
