package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/concordsync/concord/internal/sandbox/webcrm"
	"github.com/spf13/cobra"
)

func init() { sandboxCmds = append(sandboxCmds, sandboxWebCRMCmd) }

func sandboxWebCRMCmd() *cobra.Command {
	var (
		listen, dataFile, zone                      string
		printCredentials, emptyPostBody, ignoreMove bool
		verbose                                     bool
		rateLimit                                   int
		seed                                        int64
		faults                                      webcrm.Faults
	)
	c := &cobra.Command{
		Use:   "webcrm",
		Short: "Run the WebCRM sandbox: a local emulator of the WebCRM REST API",
		Long: `Run the WebCRM sandbox: a local emulator of the WebCRM REST API (login,
Organisations, Persons, Users, Opportunities, QuotationLines, Products,
queries, hooks, the rate limit), with faults to switch on. It serves until
interrupted, then saves its data file (--data) and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for name, rate := range map[string]float64{"--error-rate": faults.ErrorRate, "--drop-rate": faults.DropRate, "--create-failure-rate": faults.CreateFailureRate} {
				if rate < 0 || rate > 1 {
					return fmt.Errorf("%s %v: give a fraction between 0 and 1", name, rate)
				}
			}
			if rateLimit < 0 {
				return fmt.Errorf("--rate-limit %d: give the requests a minute, or 0 for no limit", rateLimit)
			}
			loc, err := time.LoadLocation(zone)
			if err != nil {
				return fmt.Errorf("--timezone %q: %w", zone, err)
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			opts := webcrm.Options{
				Location:                       loc,
				RateLimit:                      rateLimit,
				EmptyPostBody:                  emptyPostBody,
				IgnorePersonOrganisationChange: ignoreMove,
				Faults:                         faults,
				Seed:                           seed,
				Logger:                         log,
			}
			var srv *webcrm.Server
			if dataFile != "" {
				if srv, err = webcrm.Open(dataFile, opts); err != nil {
					return err
				}
			} else {
				srv = webcrm.New(opts)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w; choose another address, e.g. --listen 127.0.0.1:0", listen, errors.Join(err, srv.Close()))
			}
			base := "http://" + ln.Addr().String()
			if printCredentials {
				enc := json.NewEncoder(cmd.OutOrStdout())
				if err := enc.Encode(srv.Credentials(base)); err != nil {
					ln.Close()
					return errors.Join(err, srv.Close())
				}
			}
			data := dataFile
			if data == "" {
				data = "(in memory)"
			}
			log.Info("webcrm sandbox listening; stop with Ctrl-C", "url", base, "data", data, "timezone", loc.String(), "rate_limit", rateLimit)
			err = srv.Serve(cmd.Context(), ln)
			log.Info("webcrm sandbox stopped")
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8082", "address to serve on")
	f.StringVar(&dataFile, "data", "", "JSON file that keeps the data across runs (default: in memory)")
	f.BoolVar(&printCredentials, "print-credentials", false, `print {"base_url", "api_token"} as JSON on stdout once listening: the webcrm connector's settings of the same names`)
	f.IntVar(&rateLimit, "rate-limit", webcrm.DefaultRateLimit, "requests a minute per API token on a sliding window; 0 for no limit")
	f.StringVar(&zone, "timezone", webcrm.DefaultZone, "time zone timestamps are stored and shown in (IANA name, UTC or Local)")
	f.DurationVar(&faults.Latency, "latency", 0, "delay added before every answer")
	f.Float64Var(&faults.ErrorRate, "error-rate", 0, "fraction of calls answered 500 or 503")
	f.Float64Var(&faults.DropRate, "drop-rate", 0, "fraction of calls whose connection is closed without an answer")
	f.Float64Var(&faults.CreateFailureRate, "create-failure-rate", 0, "fraction of creates that fail with 500 when they follow the previous create within --create-failure-window")
	f.DurationVar(&faults.CreateFailureWindow, "create-failure-window", webcrm.DefaultCreateFailureWindow, "how close creates must follow each other to fail")
	f.BoolVar(&emptyPostBody, "empty-post-body", false, "POST /Organisations and /Users answer 200 with an empty body (the older behaviour) instead of the new id")
	f.BoolVar(&ignoreMove, "ignore-person-organisation-change", false, "keep PersonOrganisationId silently when a write changes it, instead of answering 400")
	f.Int64Var(&seed, "seed", 0, "seed for the API token and the faults (0: random)")
	f.BoolVar(&verbose, "verbose", false, "log every call")
	return c
}
