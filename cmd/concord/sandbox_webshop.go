package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/concordsync/concord/internal/sandbox/webshop"
	"github.com/spf13/cobra"
)

func init() { sandboxCmds = append(sandboxCmds, sandboxWebshopCmd) }

func sandboxWebshopCmd() *cobra.Command {
	var (
		listen, zone     string
		printCredentials bool
		opts             = webshop.Options{RateLimit: webshop.DefaultRateLimit}
	)
	c := &cobra.Command{
		Use:   "webshop",
		Short: "Run the reference webshop: a company's own REST API (bearer token, page paging, updated_since)",
		Long: `Serves the reference webshop on --listen until interrupted: customers,
products and orders under /api/v1, with a bearer token, page-numbered listings
with links.next, updated_since change listings that keep deleted records as
tombstones, PATCH updates and 422 validation errors. It shows what a
company's own system offers to be connected with zero code; see
docs/custom-system-convention.md. Data is kept in --data (JSON, saved on
change and at exit) or in memory.

--print-credentials writes {"base_url", "token"} as one line of JSON to
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
			loc, err := time.LoadLocation(zone)
			if err != nil {
				return fmt.Errorf("--timezone %q: %w", zone, err)
			}
			opts.Location = loc
			opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return webshop.ListenAndServe(cmd.Context(), listen, opts, func(srv *webshop.Server, base string) {
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
	f.StringVar(&listen, "listen", "127.0.0.1:8083", "address to serve on (port 0 picks a free one)")
	f.StringVar(&opts.DataFile, "data", "", "JSON file the data persists in (default: memory only)")
	f.BoolVar(&printCredentials, "print-credentials", false, `print {"base_url", "token"} as JSON on stdout once listening`)
	f.BoolVar(&opts.SeedDemo, "seed-demo", false, "fill an empty shop with a few customers, products and orders")
	f.StringVar(&opts.Token, "token", "", "bearer token clients must send (default: the one in --data, or made up)")
	f.StringVar(&zone, "timezone", webshop.DefaultZone, "time zone whose offset times are written with (IANA name, UTC or Local)")
	f.IntVar(&opts.RateLimit, "rate-limit", opts.RateLimit, "calls a minute per token on a sliding window, over it 429 with Retry-After (0: no limit)")
	f.DurationVar(&opts.Faults.Latency, "latency", 0, "delay every API call by this much")
	f.Float64Var(&opts.Faults.ErrorRate, "error-rate", 0, "fraction of API calls answered 500 or 503")
	f.Float64Var(&opts.Faults.DropRate, "drop-rate", 0, "fraction of API calls whose connection is closed without an answer (writes after the change is made)")
	f.Int64Var(&opts.Seed, "seed", 0, "seed for the token and the faults, to repeat a run (0: random)")
	return c
}
