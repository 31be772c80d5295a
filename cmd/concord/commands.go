package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/demo"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/runner"
	"github.com/concordsync/concord/internal/store"
	"github.com/spf13/cobra"
)

type loader func() (*config.Config, error)

func validateCmd(load loader) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration and report every error with file:line:column and field path",
		Long: `Checks the configuration and reports every error with file:line:column and
field path: unknown or misspelt keys, wrong types, mappings that do not fit the
canonical model, and each system's settings as its connector reads them
(including credentials given as environment variables, which must be set).
It makes no call to any system.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%d systems, %d mappings)\n", cfg.File, len(cfg.Systems), len(cfg.Mappings))
			return nil
		},
	}
}

// openStore loads the configuration and opens its store, for the commands
// that only read or adjust Concord's state.
func openStore(cmd *cobra.Command, load loader, systemDatatype ...string) (*config.Config, store.Store, error) {
	cfg, err := load()
	if err != nil {
		return nil, nil, err
	}
	if len(systemDatatype) == 2 {
		// A system or datatype the configuration does not name is a typo,
		// not a record Concord does not know: say so before opening.
		if err := checkDatatype(cfg, systemDatatype[0], systemDatatype[1]); err != nil {
			return nil, nil, err
		}
	}
	st, err := runner.OpenStore(cmd.Context(), cfg)
	return cfg, st, err
}

// open opens the configured instance; onEvent, when not nil, receives the
// engine's history events.
func open(cmd *cobra.Command, load loader, onEvent func(store.Event)) (*runner.Runner, error) {
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	return runner.Open(cmd.Context(), cfg, engine.Options{Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)), OnEvent: onEvent})
}

// waits gathers why records and writes were deferred in a cycle, so that
// sync --once can say what its count of deferred ones waits for.
type waits struct {
	mu    sync.Mutex
	count map[string]int // "system:datatype: detail" → events
}

func (w *waits) event(ev store.Event) {
	if ev.Action != "deferred" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.count == nil {
		w.count = map[string]int{}
	}
	w.count[ev.System+":"+ev.Datatype+": "+ev.Detail]++
}

func (w *waits) print(out io.Writer, deferred int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if deferred > 0 && len(w.count) == 0 {
		// The history notes a wait once, in the cycle that met it.
		fmt.Fprintln(out, "deferred: records wait for a record they refer to to be linked; concord explain SYSTEM DATATYPE ID says which")
	}
	for _, k := range slices.Sorted(maps.Keys(w.count)) {
		fmt.Fprintf(out, "deferred %d× %s\n", w.count[k], k)
	}
}

func syncCmd(load loader) *cobra.Command {
	var once bool
	cmd := &cobra.Command{
		Use:   "sync --once",
		Short: "Run one sync cycle over every datatype and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !once {
				return fmt.Errorf("sync needs --once; use `concord run` to keep syncing on schedule")
			}
			var deferred waits
			r, err := open(cmd, load, deferred.event)
			if err != nil {
				return err
			}
			defer r.Close()
			rep, err := r.Engine.Cycle(context.WithoutCancel(cmd.Context()), nil, cmd.Context().Done())
			if err != nil {
				return err
			}
			printReport(cmd.OutOrStdout(), rep)
			deferred.print(cmd.OutOrStdout(), rep.Deferred)
			if len(rep.Errors) > 0 {
				return fmt.Errorf("%d datatype(s) could not be synced", len(rep.Errors))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "run one cycle and exit")
	return cmd
}

func printReport(w io.Writer, rep engine.Report) {
	fmt.Fprintf(w, "collected %d changed records (%d unchanged), merged %d, created %d golden records\n",
		rep.Collected, rep.Unchanged, rep.Merged, rep.Created)
	fmt.Fprintf(w, "inserted %d, updated %d, deleted %d; %d conflicts skipped, %d deferred, %d failed\n",
		rep.Inserted, rep.Updated, rep.Deleted, rep.Conflicts, rep.Deferred, rep.Failed)
	for _, b := range rep.BreakerHit {
		fmt.Fprintf(w, "circuit breaker tripped for %s: see `concord status`\n", b)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "error: %v\n", e)
	}
}

func runCmd(load loader) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Keep syncing on each datatype's schedule until SIGINT or SIGTERM",
		Long: `Keep syncing on each datatype's schedule until SIGINT or SIGTERM.

With --listen, Concord also serves webhooks at http://ADDR/webhooks/<system>
for the systems that send them (a verified notification makes the datatype
due for a read at once) and a liveness check at /healthz.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := open(cmd, load, nil)
			if err != nil {
				return err
			}
			defer r.Close()
			// The same format as the engine's log lines, on the same stream.
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if listen != "" {
				ln, err := net.Listen("tcp", listen)
				if err != nil {
					return fmt.Errorf("--listen: %w", err)
				}
				srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
				go srv.Serve(ln) //nolint:errcheck // Serve ends with ErrServerClosed on Shutdown
				defer func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					srv.Shutdown(ctx) //nolint:errcheck
				}()
				log.Info("serving webhooks", "address", "http://"+ln.Addr().String()+"/webhooks/<system>")
			}
			log.Info("concord running; stop with Ctrl-C", "config", r.Config.File)
			ran, said := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(said)
				select {
				case <-cmd.Context().Done():
				case <-ran:
					if cmd.Context().Err() == nil {
						return
					}
				}
				log.Info("stopping: the call in flight finishes first")
			}()
			err = r.Run(cmd.Context())
			close(ran)
			<-said
			log.Info("concord stopped")
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "serve webhooks and /healthz on this address (host:port)")
	return cmd
}

func statusCmd(load loader) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Per system datatype: records, linked, deleted, pending, pending inserts, dead letters, last successful collect, breaker",
		Long: `Per system datatype: records, linked, deleted, pending, pending inserts, dead letters,
last successful collect and breaker, then the parked dead letters with their
reasons and what each connector last reported (an API budget nearly spent).

RECORDS are the records the system holds as Concord last read them, LINKED
those of them linked to a golden record, and DELETED the records Concord saw
deleted in the system (it keeps them, marked, in concord links SYSTEM
DATATYPE).
PENDING records wait to be merged (a reference not linked yet); PENDING
INSERTS are creations not yet confirmed by a listing of the target.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, st, err := openStore(cmd, load)
			if err != nil {
				return err
			}
			defer st.Close()
			rows, err := st.Status(cmd.Context())
			if err != nil {
				return err
			}
			rows = withConfigured(cfg, rows)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SYSTEM\tDATATYPE\tRECORDS\tLINKED\tDELETED\tPENDING\tPENDING INSERTS\tDEAD LETTERS\tLAST COLLECT\tBREAKER")
			for _, s := range rows {
				last := "never"
				if !s.LastSuccess.IsZero() {
					last = s.LastSuccess.Local().Format(time.DateTime)
				}
				br := "closed"
				if s.Breaker != "" {
					br = s.Breaker
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", s.System, s.Datatype, s.Records-s.Deleted, s.Linked, s.Deleted, s.Pending, s.PendingInserts, s.DeadLetters, last, br)
			}
			tw.Flush()
			for _, s := range rows {
				if s.DeadLetters == 0 {
					continue
				}
				dls, err := st.DeadLetters(cmd.Context(), s.System, s.Datatype)
				if err != nil {
					return err
				}
				for _, d := range dls {
					if d.Parked {
						fmt.Fprintf(cmd.OutOrStdout(), "dead letter %s:%s %s (%s): %s\n", d.System, d.Datatype, d.Ref, d.Stage, d.Reason)
					}
				}
			}
			// What connectors want the user to know (an API budget nearly
			// spent, writes held back), as they last left it.
			for _, name := range slices.Sorted(maps.Keys(cfg.Systems)) {
				note, _, err := st.GetState(cmd.Context(), name, connector.StatusKey)
				if err != nil {
					return err
				}
				if note != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", name, note)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// withConfigured adds a row for every mapped datatype the store has not seen yet.
func withConfigured(cfg *config.Config, rows []store.DatatypeStatus) []store.DatatypeStatus {
	have := map[string]bool{}
	for _, r := range rows {
		have[r.System+":"+r.Datatype] = true
	}
	for _, m := range cfg.Mappings {
		dts := []string{m.Datatype}
		if m.Lines != nil && m.Lines.Datatype != "" {
			dts = append(dts, m.Lines.Datatype)
		}
		for _, dt := range dts {
			if !have[m.System+":"+dt] {
				have[m.System+":"+dt] = true
				rows = append(rows, store.DatatypeStatus{System: m.System, Datatype: dt})
			}
		}
	}
	return rows
}

func explainCmd(load loader) *cobra.Command {
	return &cobra.Command{
		Use:   "explain SYSTEM DATATYPE ID",
		Short: "The history of one record: each property, which system's change set it, when, and why it won or lost",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, st, err := openStore(cmd, load, args[0], args[1])
			if err != nil {
				return err
			}
			defer st.Close()
			set, err := mapping.Compile(cfg)
			if err != nil {
				return fmt.Errorf("%s: %w", cfg.File, err)
			}
			return explain(cmd.Context(), cmd.OutOrStdout(), st, set, store.Key{System: args[0], Datatype: args[1], ID: args[2]})
		},
	}
}

func explain(ctx context.Context, w io.Writer, st store.Store, set *mapping.Set, k store.Key) error {
	recs, err := st.GetRecords(ctx, k.System, k.Datatype, []string{k.ID})
	if err != nil {
		return err
	}
	rec, ok := recs[k.ID]
	if !ok {
		return fmt.Errorf("%s:%s %s is not known to Concord: not collected yet (run `concord sync --once`), filtered out, or no such id (`concord links %s %s` lists the ids)", k.System, k.Datatype, k.ID, k.System, k.Datatype)
	}
	fmt.Fprintf(w, "%s:%s %s  hash %s  modified %s", k.System, k.Datatype, k.ID, rec.Hash, rec.Modified.Format(time.RFC3339))
	if rec.Deleted {
		fmt.Fprint(w, "  (deleted)")
	}
	fmt.Fprintln(w)
	if rec.GoldenID == "" {
		fmt.Fprintln(w, "not linked to a golden record")
	} else {
		gs, err := st.GetGoldens(ctx, []string{rec.GoldenID})
		if err != nil {
			return err
		}
		g := gs[rec.GoldenID]
		fmt.Fprintf(w, "linked to golden %s %s", g.Type, g.ID)
		if g.Deleted {
			fmt.Fprint(w, " (deleted)")
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  PROPERTY\tVALUE\tSET BY\tAT")
		for _, p := range slices.Sorted(maps.Keys(g.Props)) {
			pv := g.Prov[p]
			fmt.Fprintf(tw, "  %s\t%v\t%s:%s %s\t%s\n", p, show(g.Props[p]), pv.System, pv.Datatype, pv.ID, pv.Time.Format(time.RFC3339Nano))
		}
		tw.Flush()
		linked, err := st.RecordsForGoldens(ctx, []string{g.ID})
		if err != nil {
			return err
		}
		fmt.Fprintln(w, "linked records:")
		for _, r := range linked[g.ID] {
			fmt.Fprintf(w, "  %s:%s %s (based on %s)\n", r.System, r.Datatype, r.ID, r.BasedOn)
		}
		if notIn := notLinked(set, k, g, linked[g.ID]); len(notIn) > 0 {
			fmt.Fprintln(w, "not in:")
			for _, line := range notIn {
				fmt.Fprintln(w, "  "+line)
			}
		}
	}
	var evs []store.Event
	if rec.GoldenID != "" {
		evs, err = st.EventsForGolden(ctx, rec.GoldenID)
	} else {
		evs, err = st.EventsForRecord(ctx, k)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "history:")
	for _, ev := range evs {
		fmt.Fprintf(w, "  %s  %-9s %s:%s %s  %s\n", ev.At.Format(time.RFC3339), ev.Action, ev.System, ev.Datatype, ev.ID, ev.Detail)
		for _, d := range ev.Props {
			fmt.Fprintf(w, "      %-14s %-5s %v: %s\n", d.Property, d.Outcome, show(d.Value), d.Reason)
		}
	}
	return nil
}

// notLinked says, for each datatype of another system that takes records
// of the golden record's type but holds none linked to it, why: its
// condition does not hold, Concord only links records there, or the record
// waits (see the history and concord status).
func notLinked(set *mapping.Set, k store.Key, g store.Golden, linked []store.Record) []string {
	m, ok := set.Lookup(k.System, k.Datatype)
	if !ok {
		return nil
	}
	has := func(system, datatype string) bool {
		for _, r := range linked {
			if r.System == system && r.Datatype == datatype {
				return true
			}
		}
		return false
	}
	// Linked to another datatype of the type in that system (a person, not
	// a user): a datatype there that only links is no news.
	elsewhere := map[string]bool{}
	for _, r := range linked {
		if t, ok := set.Lookup(r.System, r.Datatype); ok && t.Canonical == m.Canonical {
			elsewhere[r.System] = true
		}
	}
	var out []string
	for _, t := range set.Mappings {
		if t.System == k.System || t.Canonical != m.Canonical || !t.Writes() || t.Parent != nil || has(t.System, t.Datatype) {
			continue
		}
		why := "waiting: see the history above and concord status"
		if ok, _ := t.Takes(g.Props); !ok {
			why = "its condition does not hold: " + t.WhenSource()
		} else if ok, _ := t.InsertTakes(g.Props); !ok {
			why = "Concord creates records there only when " + t.InsertWhenSource()
		} else if !t.Insert {
			if elsewhere[t.System] {
				continue
			}
			why = "Concord only links records there (insert: false), and none matches the merge criteria"
		}
		out = append(out, fmt.Sprintf("%s:%s: %s", t.System, t.Datatype, why))
	}
	return out
}

func show(v any) string {
	if v == nil {
		return "(empty)"
	}
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

func linksCmd(load loader) *cobra.Command {
	var golden string
	var limit int
	cmd := &cobra.Command{
		Use:   "links [SYSTEM DATATYPE]",
		Short: "List links between system records and golden records, or inspect one golden record's links",
		Args:  cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if golden != "" && len(args) > 0 {
				return fmt.Errorf("give SYSTEM DATATYPE or --golden, not both")
			}
			if len(args) == 1 {
				return fmt.Errorf("give both SYSTEM and DATATYPE, or neither")
			}
			_, st, err := openStore(cmd, load, args...)
			if err != nil {
				return err
			}
			defer st.Close()
			w := cmd.OutOrStdout()
			if golden != "" {
				recs, err := st.RecordsForGoldens(cmd.Context(), []string{golden})
				if err != nil {
					return err
				}
				if len(recs[golden]) == 0 {
					return fmt.Errorf("golden record %s has no links, or does not exist (`concord links` lists golden ids)", golden)
				}
				for _, r := range recs[golden] {
					fmt.Fprintf(w, "%s\t%s:%s %s\tbased_on %s%s\n", golden, r.System, r.Datatype, r.ID, r.BasedOn, flags(r))
				}
				return nil
			}
			sys, dt := "", ""
			if len(args) == 2 {
				sys, dt = args[0], args[1]
			}
			recs, err := st.ListLinks(cmd.Context(), sys, dt, "", limit)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GOLDEN\tSYSTEM\tDATATYPE\tID\tBASED ON\tSTATE")
			for _, r := range recs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.GoldenID, r.System, r.Datatype, r.ID, r.BasedOn, strings.TrimSpace(flags(r)))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&golden, "golden", "", "show the links of one golden record")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many links")
	return cmd
}

func flags(r store.Record) string {
	var f []string
	if r.Deleted {
		f = append(f, "deleted")
	}
	if r.Excluded {
		f = append(f, "unlinked")
	}
	if r.Pending {
		f = append(f, "pending")
	}
	if len(f) == 0 {
		return " linked"
	}
	return " " + strings.Join(f, ",")
}

func schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(config.Schema())
			return err
		},
	}
}

func breakerCmd(load loader) *cobra.Command {
	b := &cobra.Command{Use: "breaker", Short: "Inspect or reset circuit breakers"}
	b.AddCommand(&cobra.Command{
		Use:   "reset SYSTEM DATATYPE",
		Short: "Accept the deletions a tripped breaker held back; the next collect applies them",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := openStore(cmd, load, args[0], args[1])
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.SetBreaker(cmd.Context(), args[0], args[1], engine.BreakerAccepted); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "breaker of %s:%s reset; the next collect applies its deletions\n", args[0], args[1])
			return nil
		},
	})
	return b
}

func demoCmd() *cobra.Command {
	var (
		scripted, keep, skipQA bool
		dir                    string
	)
	c := &cobra.Command{
		Use:   "demo",
		Short: "Start the four reference systems and Concord, load a data set, run both dataflows and print what happens",
		Long: `Starts the Custom Webshop, the Custom ERP and the emulators of Exact Online and
WebCRM in this process, and Concord on its embedded store (one instance per
dataflow: Custom Webshop → Exact Online, WebCRM → Custom ERP). It loads a small
data set in which some companies, people and products exist in two systems
under slightly different spellings, syncs, makes edits on each side, and
prints as it goes what was created, linked, merged, skipped and why. It ends
by running every flow's QA checklist (concord qa) and a summary table, and
prints the sandboxes' addresses. --keep-running keeps everything running so
you can change records in the sandboxes and watch them sync.

--scripted runs the older in-process scenario instead: three memory systems,
no HTTP, every merge decision explained.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				tmp, err := os.MkdirTemp("", "concord-demo-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			} else if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if scripted {
				return demo.Run(cmd.Context(), cmd.OutOrStdout(), dir)
			}
			res, err := demo.RunLive(cmd.Context(), demo.Options{Out: cmd.OutOrStdout(), Dir: dir, KeepRunning: keep, SkipQA: skipQA})
			if err != nil {
				return err
			}
			for _, r := range res.Rows {
				if !r.Green() {
					return fmt.Errorf("a flow is not green: %s", r.Section)
				}
			}
			return nil
		},
	}
	f := c.Flags()
	f.BoolVar(&scripted, "scripted", false, "run the in-process scenario on memory systems instead")
	f.BoolVar(&keep, "keep-running", false, "keep the sandboxes and Concord running after the scenario (Ctrl-C stops)")
	f.BoolVar(&skipQA, "skip-qa", false, "leave out the final QA checklists")
	f.StringVar(&dir, "dir", "", "folder for the stores and configurations (default: a temporary one, removed at the end)")
	return c
}
