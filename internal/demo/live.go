package demo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.yaml.in/yaml/v3"
	"golang.org/x/term"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/playground"
	"github.com/concordsync/concord/internal/qa"
	"github.com/concordsync/concord/internal/runner"
	"github.com/concordsync/concord/internal/store"
)

//go:embed dataset.yaml
var datasetYAML []byte

// Flow is one dataflow document the demo runs: a source system and a
// target system, synced by a Concord instance of their own.
type Flow struct{ Source, Target string }

// Flows are the two documents of the product (DATAFLOWS.md).
var Flows = []Flow{{playground.Webshop, playground.Exact}, {playground.WebCRM, playground.ERP}}

// Options shape a live demo.
type Options struct {
	Out io.Writer
	// Dir keeps the stores (one per flow) and the configurations written.
	Dir string
	// Addrs gives the sandboxes' listen addresses (default: free ports).
	Addrs map[string]string
	// KeepRunning keeps the sandboxes and Concord running after the
	// scenario, until the context ends (Ctrl-C).
	KeepRunning bool
	// SkipQA leaves out the final checklist run.
	SkipQA bool
	// Pause is passed to the checklist run (see qa.Options).
	Pause time.Duration
}

// Result is what the demo's summary shows, per flow section.
type Result struct {
	Rows []SummaryRow
}

// SummaryRow is one line of the summary: a section of a flow's document.
type SummaryRow struct {
	Flow    string // "customwebshop → exactonline"
	Section string
	Source  int // source records of the section's datatype
	Linked  int // of which linked to a record of the target datatype
	Checks  int
	Failed  int
}

// Green tells whether the section's checklist passed.
func (r SummaryRow) Green() bool { return r.Checks > 0 && r.Failed == 0 }

// hub is one Concord instance: a flow's systems, engine and store.
type hub struct {
	flow Flow
	r    *runner.Runner
}

type live struct {
	opt    Options
	out    io.Writer
	pg     *playground.Playground
	hubs   []*hub
	labels map[store.Key]string // what the demo created, by record
	keys   map[string]store.Key // "system/key" → record
	quiet  bool
	tty    bool              // out is a terminal: progress bars and colours
	short  map[string]string // golden id → G1, G2, … in order of appearance
	// goldenLabels names golden records after the loaded record they were
	// made from or linked to, for the records Concord creates from them.
	goldenLabels map[string]string
}

// RunLive plays the demo against the four reference systems.
func RunLive(ctx context.Context, opt Options) (Result, error) {
	d := &live{opt: opt, out: opt.Out, labels: map[store.Key]string{}, keys: map[string]store.Key{}, short: map[string]string{}, goldenLabels: map[string]string{}}
	if f, ok := opt.Out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		d.tty = true
	}
	var res Result
	d.step("Starting the four reference systems")
	pg, err := playground.Start(playground.Options{Addrs: opt.Addrs})
	if err != nil {
		return res, err
	}
	defer pg.Close()
	d.pg = pg
	for _, s := range playground.Systems {
		d.say("%-14s %s", s, pg.URL(s))
	}

	d.step("Starting Concord: one instance per dataflow, each on its own embedded SQLite store")
	for _, f := range Flows {
		h, err := d.openHub(ctx, f)
		if err != nil {
			return res, err
		}
		defer h.r.Close()
		d.hubs = append(d.hubs, h)
		d.say("%s → %s: %d datatype mappings, store %s", f.Source, f.Target, len(h.r.Engine.Mappings().Mappings), h.r.Config.Store.Path)
	}

	d.step("Loading the demo data set into the systems (through their APIs)")
	if err := d.load(ctx); err != nil {
		return res, err
	}

	d.step("First sync: records are matched by the merge criteria, linked, and created where missing")
	if err := d.syncAll(ctx); err != nil {
		return res, err
	}
	d.step("Not synced, and why")
	if err := d.skipped(ctx); err != nil {
		return res, err
	}

	if err := d.edits(ctx); err != nil {
		return res, err
	}

	if !opt.SkipQA {
		d.step("Checking every flow against its dataflow document (concord qa)")
	}
	res, err = d.summary(ctx)
	if err != nil {
		return res, err
	}
	d.printSummary(res)

	if opt.KeepRunning {
		return res, d.keepRunning(ctx)
	}
	return res, nil
}

func (d *live) step(title string) { fmt.Fprintf(d.out, "\n== %s\n", title) }

func (d *live) say(format string, args ...any) { fmt.Fprintf(d.out, "   "+format+"\n", args...) }

func (d *live) openHub(ctx context.Context, f Flow) (*hub, error) {
	name := f.Source + "-" + f.Target
	file := filepath.Join(d.opt.Dir, name+".yaml")
	db := filepath.Join(d.opt.Dir, name+".db")
	// The sandboxes start empty every time, with new ids and credentials:
	// a store of an earlier run (--dir given twice) would hold links to
	// records that are gone and Exact tokens the new sandbox refuses.
	if _, err := os.Stat(db); err == nil {
		d.say("%s → %s: replacing the store of an earlier run", f.Source, f.Target)
		for _, old := range []string{db, db + "-wal", db + "-shm"} {
			if err := os.Remove(old); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("remove the store of an earlier run: %w", err)
			}
		}
	}
	text := d.pg.Config(db, f.Source, f.Target)
	cfg, err := config.Parse(file, text)
	if err != nil {
		return nil, fmt.Errorf("configuration of %s: %w", name, err)
	}
	// Written out so that the other commands can be pointed at the demo's
	// stores and systems (concord status -c FILE); it holds the sandboxes'
	// credentials, so only its owner reads it.
	if err := os.WriteFile(file, text, 0o600); err != nil {
		return nil, fmt.Errorf("configuration of %s: %w", name, err)
	}
	r, err := runner.Open(ctx, cfg, engine.Options{
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnEvent: d.event,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return &hub{flow: f, r: r}, nil
}

// dataset is dataset.yaml: per system, datatypes in load order.
type dataset map[string][]struct {
	Datatype string           `yaml:"datatype"`
	Records  []map[string]any `yaml:"records"`
}

// load writes the data set into the systems through their connectors,
// mapping canonical values out through the same mappings the sync runs.
func (d *live) load(ctx context.Context) error {
	var ds dataset
	if err := yaml.Unmarshal(datasetYAML, &ds); err != nil {
		return fmt.Errorf("dataset.yaml: %w", err)
	}
	for _, sys := range playground.Systems {
		h := d.hubOf(sys)
		total := 0
		for _, dt := range ds[sys] {
			total += len(dt.Records)
		}
		// A bar where a person watches; one line per system in a log.
		barOut := io.Discard
		if d.tty {
			barOut = d.out
		}
		bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(barOut), progressbar.OptionSetDescription(fmt.Sprintf("   %-14s", sys)),
			progressbar.OptionSetWidth(30), progressbar.OptionShowCount(), progressbar.OptionOnCompletion(func() { fmt.Fprintln(barOut) }))
		for _, dt := range ds[sys] {
			m, ok := h.r.Engine.Mappings().Lookup(sys, dt.Datatype)
			if !ok {
				return fmt.Errorf("dataset.yaml: %s has no mapping of %s", sys, dt.Datatype)
			}
			for _, rec := range dt.Records {
				if err := d.insert(ctx, h, m, rec); err != nil {
					return fmt.Errorf("load %s %s %v: %w", sys, dt.Datatype, rec["key"], err)
				}
				bar.Add(1)
			}
		}
		bar.Finish()
		if !d.tty {
			d.say("%-14s %d records loaded", sys, total)
		}
	}
	return nil
}

func (d *live) hubOf(system string) *hub {
	for _, h := range d.hubs {
		if h.flow.Source == system || h.flow.Target == system {
			return h
		}
	}
	return nil
}

// resolve translates "@key" into the id of that record of the system.
func (d *live) resolver(system string) mapping.Resolver {
	return func(datatype, ref string) (string, bool) {
		k, ok := d.keys[system+"/"+strings.TrimPrefix(ref, "@")]
		return k.ID, ok && k.Datatype == datatype
	}
}

func (d *live) insert(ctx context.Context, h *hub, m *mapping.Mapping, rec map[string]any) error {
	key, _ := rec["key"].(string)
	lines, _ := rec["lines"].([]any)
	props := map[string]any{}
	for k, v := range rec {
		if k != "key" && k != "lines" {
			props[k] = v
		}
	}
	fields, unresolved, err := m.Compose(props, d.resolver(m.System))
	if err != nil {
		return err
	}
	if len(unresolved) > 0 {
		return fmt.Errorf("unknown references: %s", strings.Join(unresolved, ", "))
	}
	var lm *mapping.Mapping
	if m.Lines != nil {
		lm, _ = h.r.Engine.Mappings().Lookup(m.System, m.Lines.Datatype)
	}
	separate := lm != nil && m.Lines.InsertField == ""
	if lm != nil && !separate {
		var arr []any
		for _, l := range lines {
			lf, err := d.lineFields(lm, l)
			if err != nil {
				return err
			}
			arr = append(arr, lf)
		}
		fields[m.Lines.InsertField] = arr
	}
	m.WithDefaults(fields)
	conn := h.r.Connector(m.System)
	created, err := conn.Insert(ctx, m.Datatype, fields)
	if err != nil {
		return err
	}
	k := store.Key{System: m.System, Datatype: m.Datatype, ID: created.ID}
	d.keys[m.System+"/"+key] = k
	d.labels[k] = label(props)
	if separate {
		for i, l := range lines {
			lf, err := d.lineFields(lm, l)
			if err != nil {
				return err
			}
			lf[m.Lines.ParentField] = created.ID
			lr, err := conn.Insert(ctx, lm.Datatype, lf)
			if err != nil {
				return fmt.Errorf("line %d: %w", i+1, err)
			}
			d.labels[store.Key{System: m.System, Datatype: lm.Datatype, ID: lr.ID}] = fmt.Sprintf("line %d of %s", i+1, label(props))
		}
	}
	return nil
}

func (d *live) lineFields(lm *mapping.Mapping, l any) (map[string]any, error) {
	lp, _ := l.(map[string]any)
	lf, unresolved, err := lm.ComposeLine(lp, d.resolver(lm.System))
	if err != nil {
		return nil, err
	}
	if len(unresolved) > 0 {
		return nil, fmt.Errorf("line: unknown references %s", strings.Join(unresolved, ", "))
	}
	return lf, nil
}

// label names a record for the narrative.
func label(props map[string]any) string {
	for _, p := range []string{"name", "number", "code"} {
		if v, ok := props[p]; ok {
			return fmt.Sprint(v)
		}
	}
	if f, ok := props["first_name"]; ok {
		return fmt.Sprintf("%v %v", f, props["last_name"])
	}
	return "record"
}

// golden names a golden record shortly: G1, G2, … in order of appearance.
func (d *live) golden(id string) string {
	if id == "" {
		return "-"
	}
	n, ok := d.short[id]
	if !ok {
		n = fmt.Sprintf("G%d", len(d.short)+1)
		d.short[id] = n
	}
	return n
}

// event narrates the engine's history as it is committed: what was
// created, linked, merged, written, skipped, and why.
func (d *live) event(ev store.Event) {
	if d.quiet {
		return
	}
	what := ev.System + " " + ev.Datatype
	l, ok := d.labels[ev.Key]
	if ok && ev.GoldenID != "" {
		d.goldenLabels[ev.GoldenID] = l
	} else if !ok {
		// A record Concord made: named after its golden record's source.
		l, ok = d.goldenLabels[ev.GoldenID]
	}
	switch {
	case ok:
		what += " " + fmt.Sprintf("%q", l)
	case ev.ID != "":
		what += " " + ev.ID
	}
	g := d.golden(ev.GoldenID)
	switch ev.Action {
	case "created":
		d.say("new       %s: no match, golden record %s", what, g)
	case "matched":
		detail := strings.TrimPrefix(ev.Detail, "linked to an existing golden record ")
		detail = strings.TrimSuffix(detail, "; 0 of 0 properties won") // a line that only links
		d.say("linked    %s to %s: %s", what, g, detail)
	case "merged":
		var won []string
		for _, p := range ev.Props {
			if p.Outcome == engine.Won {
				won = append(won, fmt.Sprintf("%s=%v", p.Property, p.Value))
			}
		}
		if len(won) > 0 {
			d.say("merged    %s into %s: %s", what, g, strings.Join(won, ", "))
		}
	case "inserted":
		d.say("created   %s (%s)", what, g)
	case "updated":
		d.say("updated   %s (%s): %s", what, g, ev.Detail)
	case "deferred":
		// Waiting for the echo of our own insert is how inserts stay
		// duplicate-free, not news.
		if !strings.Contains(ev.Detail, "not confirmed yet") {
			d.say("waiting   %s: %s", what, ev.Detail)
		}
	case "skipped", "conflict", "failed", "parked":
		d.say("%-9s %s: %s", ev.Action, what, ev.Detail)
	}
}

// count says n things, in the plural unless n is 1.
func count[N ~int | ~int64](n N, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// syncAll runs each hub until a cycle has nothing left to do.
func (d *live) syncAll(ctx context.Context) error {
	for _, h := range d.hubs {
		d.say("-- %s → %s", h.flow.Source, h.flow.Target)
		total, err := h.r.Engine.Settle(ctx, 8)
		for _, e := range total.Errors {
			d.say("error     %v", e)
		}
		if err != nil {
			return err
		}
		d.say("   %s read, %s, %s created, %d updated",
			count(total.Collected, "record version"), count(total.Created, "golden record"), count(total.Inserted, "record"), total.Updated)
	}
	return nil
}

// skipped says, for every record the demo loaded, which datatypes of the
// other system of its flow do not hold it, and why: the datatype takes no
// inserts, its condition does not hold, or the record waits.
func (d *live) skipped(ctx context.Context) error {
	var keys []string
	for k := range d.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, name := range keys {
		k := d.keys[name]
		h := d.hubOf(k.System)
		other := h.flow.Target
		if k.System == other {
			other = h.flow.Source
		}
		recs, err := h.r.Store.GetRecords(ctx, k.System, k.Datatype, []string{k.ID})
		if err != nil {
			return err
		}
		gid := recs[k.ID].GoldenID
		if gid == "" {
			d.say("%s %s %q: not merged (see concord explain)", k.System, k.Datatype, d.labels[k])
			continue
		}
		goldens, err := h.r.Store.GetGoldens(ctx, []string{gid})
		if err != nil {
			return err
		}
		linked, err := h.r.Store.RecordsForGoldens(ctx, []string{gid})
		if err != nil {
			return err
		}
		set := h.r.Engine.Mappings()
		m, _ := set.Lookup(k.System, k.Datatype)
		// Linked to another datatype of the type there (a person, not a
		// user): a datatype that only links is no news.
		elsewhere := false
		for _, r := range linked[gid] {
			if t, ok := set.Lookup(r.Key.System, r.Key.Datatype); ok && r.Key.System == other && t.Canonical == m.Canonical {
				elsewhere = true
			}
		}
		for _, t := range set.Mappings {
			if t.System != other || t.Canonical != m.Canonical || !t.Writes() || t.Parent != nil {
				continue
			}
			has := false
			for _, r := range linked[gid] {
				has = has || (r.Key.System == t.System && r.Key.Datatype == t.Datatype)
			}
			if has {
				continue
			}
			why := "waiting (see concord status)"
			if ok, _ := t.Takes(goldens[gid].Props); !ok {
				why = "its condition does not hold: " + t.WhenSource()
			} else if ok, _ := t.InsertTakes(goldens[gid].Props); !ok {
				why = "Concord creates records there only when " + t.InsertWhenSource()
			} else if !t.Insert {
				if elsewhere {
					continue
				}
				why = "Concord only links records there (insert: false), and none matches"
			}
			d.say("%s %s %q → not in %s %s: %s", k.System, k.Datatype, d.labels[k], t.System, t.Datatype, why)
		}
	}
	return nil
}

// edit changes properties of a record the demo loaded, in its system.
func (d *live) edit(ctx context.Context, system, key string, props map[string]any) error {
	k, ok := d.keys[system+"/"+key]
	if !ok {
		return fmt.Errorf("no record %s/%s", system, key)
	}
	h := d.hubOf(system)
	m, _ := h.r.Engine.Mappings().Lookup(system, k.Datatype)
	var names []string
	for p := range props {
		names = append(names, p)
	}
	sort.Strings(names)
	fields, err := m.FieldsFor(props, names...)
	if err != nil {
		return err
	}
	var shown []string
	for _, p := range names {
		shown = append(shown, fmt.Sprintf("%s=%v", p, props[p]))
	}
	d.say("edit in %s: %s %q: %s", system, k.Datatype, d.labels[k], strings.Join(shown, ", "))
	_, err = h.r.Connector(system).Update(ctx, k.Datatype, k.ID, fields, "")
	return err
}

// edits makes changes on each side of both flows and syncs them.
func (d *live) edits(ctx context.Context) error {
	type change struct {
		title, system, key string
		props              map[string]any
	}
	changes := []change{
		{"The bakery's phone number changes in Exact Online", playground.Exact, "molen", map[string]any{"phone": "+31 75 612 9999"}},
		{"A quote in the webshop is paid: the order is confirmed and becomes an Exact sales order", playground.Webshop, "order1", map[string]any{"status": "confirmed"}},
		{"The webshop renames its sourdough loaf", playground.Webshop, "loaf", map[string]any{"name": "Sourdough loaf, large"}},
		{"The Hoeve Zuivel opportunity is won in WebCRM: it becomes an ERP order with its lines", playground.WebCRM, "pilot", map[string]any{"status": "confirmed"}},
		{"Anna's job title is updated in the ERP", playground.ERP, "anna", map[string]any{"job_title": "Head of Operations"}},
	}
	for _, c := range changes {
		d.step(c.title)
		// Systems keep modification times in seconds: let the clock move
		// on from the last write, so the edit is seen as the latest.
		time.Sleep(1100 * time.Millisecond)
		if err := d.edit(ctx, c.system, c.key, c.props); err != nil {
			return err
		}
		if err := d.syncAll(ctx); err != nil {
			return err
		}
	}
	return nil
}

// summary runs the checklists and counts, per section of both documents,
// the source records and how many are linked in the target.
func (d *live) summary(ctx context.Context) (Result, error) {
	var res Result
	d.quiet = true
	defer func() { d.quiet = false }()
	for _, h := range d.hubs {
		set := h.r.Engine.Mappings()
		checks := map[string][2]int{}
		// The flows' own records, counted before the checklists add theirs.
		var rows []SummaryRow
		for _, sec := range qa.Sections(set, h.flow.Source, h.flow.Target) {
			row := SummaryRow{Flow: h.flow.Source + " → " + h.flow.Target, Section: sec.Title}
			if err := d.count(ctx, h, sec, &row); err != nil {
				return res, err
			}
			rows = append(rows, row)
		}
		if !d.opt.SkipQA {
			rep, err := qa.Run(ctx, qa.Env{Engine: h.r.Engine, Store: h.r.Store,
				Connectors: func(s string) connector.Connector { return h.r.Connector(s) }},
				qa.Options{Source: h.flow.Source, Target: h.flow.Target, Pause: d.opt.Pause})
			if err != nil {
				return res, err
			}
			for _, c := range rep.Checks {
				n := checks[c.Section]
				n[0]++
				if !c.OK {
					n[1]++
					d.say("FAIL %s: %s %s: %s", c.Section, c.Step, c.Item, c.Detail)
				}
				checks[c.Section] = n
			}
			d.say("%s → %s: %d checks, %d failed", h.flow.Source, h.flow.Target, len(rep.Checks), rep.Failed())
		}
		for _, row := range rows {
			row.Checks, row.Failed = checks[row.Section][0], checks[row.Section][1]
			if d.opt.SkipQA {
				row.Checks = 1 // counted as green when every source record is linked
				if row.Linked == 0 {
					row.Failed = 1
				}
			}
			res.Rows = append(res.Rows, row)
		}
	}
	return res, nil
}

// count counts the section's source records in the store and those linked
// to a record of the target datatype.
func (d *live) count(ctx context.Context, h *hub, sec qa.Section, row *SummaryRow) error {
	after := ""
	for {
		recs, err := h.r.Store.ListLinks(ctx, sec.Source.System, sec.Source.Datatype, after, 500)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		var goldens []string
		for _, r := range recs {
			goldens = append(goldens, r.GoldenID)
			after = r.Key.ID
		}
		byGolden, err := h.r.Store.RecordsForGoldens(ctx, goldens)
		if err != nil {
			return err
		}
		for _, r := range recs {
			row.Source++
			for _, o := range byGolden[r.GoldenID] {
				if o.Key.System == sec.Target.System && o.Key.Datatype == sec.Target.Datatype {
					row.Linked++
					break
				}
			}
		}
	}
}

func (d *live) printSummary(res Result) {
	d.step("Summary")
	tw := tabwriter.NewWriter(d.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "   \tFLOW\tSECTION\tSOURCE RECORDS\tLINKED IN TARGET\tCHECKS\tSTATUS")
	for i, r := range res.Rows {
		status := "green"
		if !r.Green() {
			status = fmt.Sprintf("red (%d failed)", r.Failed)
		}
		if d.tty {
			colour := "32"
			if !r.Green() {
				colour = "31"
			}
			status = "\x1b[" + colour + "m" + status + "\x1b[0m"
		}
		checks := fmt.Sprint(r.Checks)
		if d.opt.SkipQA {
			checks = "skipped" // green means every source record is linked
		}
		fmt.Fprintf(tw, "   %d\t%s\t%s\t%d\t%d\t%s\t%s\n", i+1, r.Flow, r.Section, r.Source, r.Linked, checks, status)
	}
	tw.Flush()
	if d.opt.KeepRunning {
		d.step("The sandboxes (Concord's configurations: " + d.opt.Dir + "/*.yaml)")
	} else {
		d.step("The sandboxes, which stop when the demo ends (concord demo --keep-running keeps them and Concord running)")
	}
	for _, s := range playground.Systems {
		d.say("%-14s %s", s, d.pg.URL(s))
		d.say("%-14s %s", "", d.pg.Hint(s))
	}
}

// schedule is the longest collect interval of the demo's datatypes: the
// time within which an edit made in a sandbox is read.
func (d *live) schedule() time.Duration {
	var longest time.Duration
	for _, h := range d.hubs {
		for _, m := range h.r.Engine.Mappings().Mappings {
			every := m.Schedule
			if every <= 0 {
				every = runner.DefaultSchedule
			}
			longest = max(longest, every)
		}
	}
	return longest
}

// keepRunning runs both Concord instances on their schedules until the
// context ends or the user interrupts.
func (d *live) keepRunning(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d.step("Concord keeps syncing; edit records in the sandboxes and watch them move. Ctrl-C stops.")
	every := d.schedule().String()
	if strings.HasSuffix(every, "m0s") {
		every = strings.TrimSuffix(every, "0s") // 1m, not 1m0s
	}
	d.say("Each datatype is read again every %s. For example, change the phone number of a webshop customer:", every)
	if k, ok := d.keys[playground.Webshop+"/vandijk"]; ok {
		token := d.pg.Settings(playground.Webshop)["auth"].(map[string]any)["token"]
		d.say("  curl -X PATCH -H 'Authorization: Bearer %v' -H 'Content-Type: application/json' \\", token)
		d.say("       -d '{\"phone\": \"+31 30 000 1111\"}' %s/%s/%s", d.pg.URL(playground.Webshop), k.Datatype, k.ID)
	}
	d.say("and look at the Exact Online account it is linked to, or at what Concord knows:")
	for _, h := range d.hubs {
		d.say("  concord status -c %s", h.r.Config.File)
	}
	if k, ok := d.keys[playground.Webshop+"/vandijk"]; ok {
		d.say("  concord explain -c %s %s %s %s", d.hubOf(playground.Webshop).r.Config.File, k.System, k.Datatype, k.ID)
	}
	errs := make(chan error, len(d.hubs))
	for _, h := range d.hubs {
		go func() { errs <- h.r.Run(ctx) }()
	}
	var all []error
	for range d.hubs {
		if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}
