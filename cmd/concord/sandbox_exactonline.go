package main

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/concordsync/concord/internal/sandbox/exactonline"
	"github.com/spf13/cobra"
)

func init() { sandboxCmds = append(sandboxCmds, sandboxExactOnlineCmd) }

func sandboxExactOnlineCmd() *cobra.Command {
	var (
		listen           string
		printCredentials bool
		opts             = exactonline.Options{
			MinutelyLimit:   exactonline.DefaultMinutelyLimit,
			DailyLimit:      exactonline.DefaultDailyLimit,
			TokenDailyLimit: exactonline.DefaultTokenDailyLimit,
			ErrorLimit:      exactonline.DefaultErrorLimit,
		}
	)
	c := &cobra.Command{
		Use:   "exactonline",
		Short: "Run a local emulator of the Exact Online REST API (OAuth2, OData, sync, bulk, webhooks, rate limits)",
		Long: `Serves an emulated Exact Online on --listen until interrupted: OAuth2 at
/api/oauth2/auth and /api/oauth2/token, the REST API under /api/v1. Data is kept
in --data (JSON, saved on change and at exit) or in memory.

--print-credentials writes one line of JSON to stdout once the listener is up:
client id and secret, a fresh refresh token, division, webhook secret and URLs,
so that a connector can start without a browser login.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return exactonline.ListenAndServe(cmd.Context(), listen, opts, func(srv *exactonline.Server, _ string) {
				if !printCredentials {
					return
				}
				b, err := json.Marshal(srv.IssueCredentials())
				if err != nil {
					opts.Logger.Error("credentials", "err", err)
					return
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
			})
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8081", "address to serve on (port 0 picks a free one)")
	f.StringVar(&opts.DataFile, "data", "", "JSON file the data persists in (default: memory only)")
	f.BoolVar(&printCredentials, "print-credentials", false, "print ready-made credentials as JSON on stdout once listening")
	f.IntVar(&opts.MinutelyLimit, "minutely-limit", opts.MinutelyLimit, "API calls per app and division per minute (0: unlimited)")
	f.IntVar(&opts.DailyLimit, "daily-limit", opts.DailyLimit, "API calls per app and division per day (0: unlimited)")
	f.IntVar(&opts.TokenDailyLimit, "token-daily-limit", opts.TokenDailyLimit, "token endpoint calls per app per day (0: unlimited)")
	f.IntVar(&opts.ErrorLimit, "error-limit", opts.ErrorLimit, "errors per app, endpoint and hour before the endpoint is blocked for an hour (0: never)")
	f.IntVar(&opts.Division, "division", 0, fmt.Sprintf("division number (default %d, or the one in --data)", exactonline.DefaultDivision))
	f.DurationVar(&opts.Faults.Latency, "latency", 0, "delay every API call by this much")
	f.Float64Var(&opts.Faults.ErrorRate, "error-rate", 0, "fraction of API calls answered with a 5xx")
	f.Float64Var(&opts.Faults.DropRate, "drop-rate", 0, "fraction of API calls whose connection is closed without an answer")
	f.Float64Var(&opts.Faults.EmptyPageRate, "empty-page-rate", 0, "fraction of list calls answered with an empty page that has a __next")
	f.Int64Var(&opts.Seed, "seed", 0, "seed for ids and faults, to repeat a run (0: random)")
	f.StringVar(&opts.WebhookSecret, "webhook-secret", "", "secret webhook HashCodes are keyed with (default: made up, or the one in --data)")
	f.BoolVar(&opts.TimestampAsString, "timestamp-as-string", false, "write sync Timestamps as JSON strings")
	return c
}
