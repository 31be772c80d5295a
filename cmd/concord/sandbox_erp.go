package main

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/concordsync/concord/internal/sandbox/erp"
	"github.com/spf13/cobra"
)

func init() { sandboxCmds = append(sandboxCmds, sandboxERPCmd) }

func sandboxERPCmd() *cobra.Command {
	var (
		listen           string
		printCredentials bool
		opts             = erp.Options{RateLimit: erp.DefaultRateLimit}
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
stdout once the listener is up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for name, rate := range map[string]float64{"--error-rate": opts.Faults.ErrorRate, "--drop-rate": opts.Faults.DropRate} {
				if rate < 0 || rate > 1 {
					return fmt.Errorf("%s %v: give a fraction between 0 and 1", name, rate)
				}
			}
			if opts.RateLimit < 0 {
				return fmt.Errorf("--rate-limit %d: give the calls a minute, or 0 for no limit", opts.RateLimit)
			}
			opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return erp.ListenAndServe(cmd.Context(), listen, opts, func(srv *erp.Server, base string) {
				if !printCredentials {
					return
				}
				b, err := json.Marshal(srv.Credentials(base))
				if err != nil {
					opts.Logger.Error("credentials", "err", err)
					return
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
			})
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8084", "address to serve on (port 0 picks a free one)")
	f.StringVar(&opts.DataFile, "data", "", "JSON file the data persists in (default: memory only)")
	f.BoolVar(&printCredentials, "print-credentials", false, `print {"base_url", "api_key"} as JSON on stdout once listening`)
	f.BoolVar(&opts.SeedDemo, "seed-demo", false, "fill an empty ERP with a few customers, contacts, products and orders")
	f.StringVar(&opts.APIKey, "api-key", "", "key clients must send in X-API-Key (default: the one in --data, or made up)")
	f.IntVar(&opts.RateLimit, "rate-limit", opts.RateLimit, "calls a minute per API key on a sliding window, over it 429 with Retry-After (0: no limit)")
	f.DurationVar(&opts.Faults.Latency, "latency", 0, "delay every API call by this much")
	f.Float64Var(&opts.Faults.ErrorRate, "error-rate", 0, "fraction of API calls answered 500 or 503")
	f.Float64Var(&opts.Faults.DropRate, "drop-rate", 0, "fraction of API calls whose connection is closed without an answer (writes after the change is made)")
	f.Int64Var(&opts.Seed, "seed", 0, "seed for the API key, ids and faults, to repeat a run (0: random)")
	return c
}
