package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/concordsync/concord/internal/sandbox/custom"
	"github.com/concordsync/concord/internal/sandbox/webshop"
	"github.com/spf13/cobra"
)

func init() { sandboxCmds = append(sandboxCmds, sandboxWebshopCmd) }

func sandboxWebshopCmd() *cobra.Command {
	var (
		rf          referenceFlags
		token, zone string
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
stdout once the listener is up; base_url is the API's (…/api/v1), as the
customwebshop preset's settings.base_url takes it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return rf.run(cmd, func(log *slog.Logger, ready func(credentials any)) error {
				loc, err := time.LoadLocation(zone)
				if err != nil {
					return fmt.Errorf("--timezone %q: %w", zone, err)
				}
				opts := webshop.Options{Token: token, Location: loc, Logger: log,
					DataFile: rf.dataFile, SeedDemo: rf.seedDemo, RateLimit: rf.rateLimit, Faults: rf.faults, Seed: rf.seed}
				return webshop.ListenAndServe(cmd.Context(), rf.listen, opts, func(srv *webshop.Server, base string) {
					ready(srv.Credentials(base))
				})
			})
		},
	}
	rf.register(c, referenceHelp{listen: "127.0.0.1:8083", rateLimit: webshop.DefaultRateLimit,
		credentials: `{"base_url", "token"}`, credential: "token",
		seedDemo: "fill an empty shop with a few customers, products and orders",
		seed:     "seed for the token and the faults, to repeat a run (0: random)"})
	f := c.Flags()
	f.StringVar(&token, "token", "", "bearer token clients must send (default: the one in --data, or made up)")
	f.StringVar(&zone, "timezone", webshop.DefaultZone, "time zone whose offset times are written with (IANA name, UTC or Local)")
	return c
}

// referenceFlags are the flags `concord sandbox webshop` and `concord
// sandbox erp` share: the two reference systems of the custom-system
// convention differ in their API, not in how they are run.
type referenceFlags struct {
	listen           string
	printCredentials bool
	dataFile         string
	seedDemo         bool
	rateLimit        int
	faults           custom.Faults
	seed             int64
}

// referenceHelp is how the shared flags speak of one system.
type referenceHelp struct {
	listen      string // the default --listen
	rateLimit   int    // the default --rate-limit
	credentials string // what --print-credentials prints
	credential  string // what a client sends: "API key", "token"
	seedDemo    string // what --seed-demo does
	seed        string // what --seed makes repeatable
}

// register adds the shared flags to c.
func (rf *referenceFlags) register(c *cobra.Command, h referenceHelp) {
	f := c.Flags()
	f.StringVar(&rf.listen, "listen", h.listen, "address to serve on (port 0 picks a free one)")
	f.StringVar(&rf.dataFile, "data", "", "JSON file the data persists in (default: memory only)")
	f.BoolVar(&rf.printCredentials, "print-credentials", false, "print "+h.credentials+" as JSON on stdout once listening")
	f.BoolVar(&rf.seedDemo, "seed-demo", false, h.seedDemo)
	f.IntVar(&rf.rateLimit, "rate-limit", h.rateLimit, "calls a minute per "+h.credential+" on a sliding window, over it 429 with Retry-After (0: no limit)")
	f.DurationVar(&rf.faults.Latency, "latency", 0, "delay every API call by this much")
	f.Float64Var(&rf.faults.ErrorRate, "error-rate", 0, "fraction of API calls answered 500 or 503")
	f.Float64Var(&rf.faults.DropRate, "drop-rate", 0, "fraction of API calls whose connection is closed without an answer (writes after the change is made)")
	f.Int64Var(&rf.seed, "seed", 0, h.seed)
}

// run checks the shared flags, then calls serve with a logger to stderr
// and a ready function that prints the credentials it is given on stdout
// when --print-credentials asks for them.
func (rf *referenceFlags) run(cmd *cobra.Command, serve func(log *slog.Logger, ready func(credentials any)) error) error {
	for name, rate := range map[string]float64{"--error-rate": rf.faults.ErrorRate, "--drop-rate": rf.faults.DropRate} {
		if rate < 0 || rate > 1 {
			return fmt.Errorf("%s %v: give a fraction between 0 and 1", name, rate)
		}
	}
	if rf.rateLimit < 0 {
		return fmt.Errorf("--rate-limit %d: give the calls a minute, or 0 for no limit", rf.rateLimit)
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	return serve(log, func(credentials any) {
		if !rf.printCredentials {
			return
		}
		b, err := json.Marshal(credentials)
		if err != nil {
			log.Error("credentials", "err", err)
			return
		}
		fmt.Fprintln(cmd.OutOrStdout(), string(b))
	})
}
