// Package qa makes a dataflow document executable. For every section of
// the document of a system pair (a source datatype that feeds a target
// datatype through a canonical type) it drives the configured systems
// through their connectors and the engine, and checks what the document
// promises:
//
//  1. insert: a record created in the source appears in the target, with
//     every property of the section's table;
//  2. edit target: a change made in the target reaches the source;
//  3. edit both: the same property changed on both sides, the later change
//     wins on both (the merge policy);
//  4. no duplicates: the source and the target hold exactly one record
//     with the test record's merge keys, and the golden record has one
//     record per datatype.
//
// Test values are made per canonical property (an e-mail looks like one,
// a country is an ISO code, a status is one the target's condition takes)
// and mapped out through the same mappings the sync runs, so translations
// (padded codes, country names, dates) are exercised too. Everything the
// run creates is deleted at the end where the systems allow it.
package qa

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/store"
)

// Options shape a QA run.
type Options struct {
	Source, Target string
	// Pause separates edits whose order matters, so systems that keep
	// modification times in whole seconds see them apart (default 1.1 s).
	Pause time.Duration
	// MaxRounds bounds the sync cycles run to let a change settle
	// (default 8).
	MaxRounds int
	// Progress receives a line per step; nil is silent.
	Progress io.Writer
}

// Env is what a QA run drives: the engine, its store and the connectors.
type Env struct {
	Engine     *engine.Engine
	Store      store.Store
	Connectors func(system string) connector.Connector
}

// Check is one line of the checklist.
type Check struct {
	Section string
	Step    string // insert, edit target, edit both, no duplicates, cleanup
	Item    string // the property or thing checked
	OK      bool
	Detail  string
}

// Report is the result of a run.
type Report struct {
	Source, Target string
	Sections       []string
	Checks         []Check
}

// Failed counts the failed checks.
func (r Report) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if !c.OK {
			n++
		}
	}
	return n
}

// Section is one datatype pair of a dataflow document.
type Section struct {
	Title          string
	Source, Target *mapping.Mapping
	Rows           []Pair
}

// Pair is one row of a section's property table: a canonical property the
// source reads and the target writes.
type Pair struct {
	Property       string
	Source, Target *mapping.Row
}

// Sections lists the sections of the document from source to target: the
// mappings' meetings (mapping.Set.Meetings), each with its property rows.
func Sections(set *mapping.Set, source, target string) []Section {
	var out []Section
	for _, mt := range set.Meetings(source, target) {
		out = append(out, Section{Title: mt.Title(), Source: mt.Source, Target: mt.Target, Rows: pairs(mt.Source, mt.Target)})
	}
	return out
}

func pairs(s, t *mapping.Mapping) []Pair {
	var out []Pair
	for i := range s.Rows {
		sr := &s.Rows[i]
		if !sr.Reads() || sr.Property == mapping.ParentProperty {
			continue
		}
		for j := range t.Rows {
			tr := &t.Rows[j]
			if tr.Writes() && tr.Property == sr.Property {
				out = append(out, Pair{Property: sr.Property, Source: sr, Target: tr})
				break
			}
		}
	}
	return out
}

// Run runs the checklist of every section from opt.Source to opt.Target.
func Run(ctx context.Context, env Env, opt Options) (Report, error) {
	if opt.Pause == 0 {
		opt.Pause = 1100 * time.Millisecond
	}
	if opt.MaxRounds == 0 {
		opt.MaxRounds = 8
	}
	set := env.Engine.Mappings()
	secs := Sections(set, opt.Source, opt.Target)
	rep := Report{Source: opt.Source, Target: opt.Target}
	if len(secs) == 0 {
		return rep, fmt.Errorf("no datatype of %q feeds a datatype of %q; check the system names and their mappings", opt.Source, opt.Target)
	}
	for _, c := range []string{opt.Source, opt.Target} {
		if env.Connectors(c) == nil {
			return rep, fmt.Errorf("system %q is not configured", c)
		}
	}
	r := &run{env: env, opt: opt, set: set, rep: &rep, suffix: suffix()}
	// Settle whatever the systems already hold first, so that the checks
	// see their own changes only.
	if err := r.settle(ctx); err != nil {
		return rep, err
	}
	for _, sec := range secs {
		rep.Sections = append(rep.Sections, sec.Title)
		if err := r.section(ctx, sec); err != nil {
			if ctx.Err() != nil {
				r.cleanup(context.WithoutCancel(ctx))
				return rep, err
			}
			r.fail(sec.Title, "run", "", err.Error())
		}
	}
	r.cleanup(ctx)
	return rep, nil
}

// run is the state of one Run.
type run struct {
	env    Env
	opt    Options
	set    *mapping.Set
	rep    *Report
	suffix string
	seq    int
	// created lists what the run made, for the cleanup, in order.
	created []store.Key
	// placeholders are stand-in golden ids of records the run created on
	// a source: placeholder → key of the source record.
	placeholders map[string]store.Key
}

func suffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

func (r *run) logf(format string, args ...any) {
	if r.opt.Progress != nil {
		fmt.Fprintf(r.opt.Progress, format+"\n", args...)
	}
}

func (r *run) check(sec, step, item string, ok bool, detail string) {
	r.rep.Checks = append(r.rep.Checks, Check{Section: sec, Step: step, Item: item, OK: ok, Detail: detail})
}

func (r *run) fail(sec, step, item, detail string) { r.check(sec, step, item, false, detail) }

// settle runs sync cycles until one collects and writes nothing (at least
// two: a write's echo is read by the next cycle).
func (r *run) settle(ctx context.Context) error {
	rep, err := r.env.Engine.Settle(ctx, r.opt.MaxRounds)
	for _, e := range rep.Errors {
		r.logf("  sync: %v", e)
	}
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}

func (r *run) conn(system string) connector.Connector { return r.env.Connectors(system) }

// section runs the four steps of one section.
func (r *run) section(ctx context.Context, sec Section) error {
	r.logf("%s", sec.Title)
	if len(sec.Rows) == 0 {
		r.fail(sec.Title, "insert", "", "the section has no property rows")
		return nil
	}
	s, t := sec.Source, sec.Target
	want, srcKey, err := r.create(ctx, s, t)
	if err != nil {
		return fmt.Errorf("create the test record in %s: %w", s.Name(), err)
	}
	r.logf("  created %s %s; syncing", s.Name(), srcKey.ID)
	if err := r.settle(ctx); err != nil {
		return err
	}
	step := "insert"
	if !t.Insert && t.Parent == nil {
		step = "link" // the record was made in the target too (twins)
	}

	// 1. insert (or link)
	tgtKey, gid, err := r.linked(ctx, srcKey, t)
	if err != nil {
		r.fail(sec.Title, step, "record", err.Error())
		return nil
	}
	r.created = append(r.created, tgtKey)
	got, err := r.read(ctx, t, tgtKey.ID)
	if err != nil {
		r.fail(sec.Title, "insert", "record", err.Error())
		return nil
	}
	for _, p := range sec.Rows {
		r.compare(ctx, sec.Title, step, p, t, p.Target, want, got)
	}
	if want[linesKey] != nil {
		r.checkLines(ctx, sec, tgtKey, want)
	}

	// 2. edit in the target, see it in the source
	edit := editable(r.set, sec)
	if edit != nil {
		time.Sleep(r.opt.Pause)
		v := r.editValue(sec, edit, 1, "Edited")
		if err := r.write(ctx, t, tgtKey.ID, edit.Property, v); err != nil {
			r.fail(sec.Title, "edit target", edit.Property, err.Error())
		} else if err := r.settle(ctx); err != nil {
			return err
		} else if back, err := r.read(ctx, s, srcKey.ID); err != nil {
			r.fail(sec.Title, "edit target", edit.Property, err.Error())
		} else {
			r.check(sec.Title, "edit target", edit.Property, mapping.Equal(back.Props[edit.Property], v),
				fmt.Sprintf("%s in %s: want %s, got %s", edit.Source.Field, s.Name(), show(v), show(back.Props[edit.Property])))
			want[edit.Property] = v
		}

		// 3. edit both sides, the later wins
		time.Sleep(r.opt.Pause)
		vs := r.editValue(sec, edit, 2, "Source")
		vt := r.editValue(sec, edit, 3, "Target")
		if err := r.write(ctx, s, srcKey.ID, edit.Property, vs); err != nil {
			r.fail(sec.Title, "edit both", edit.Property, err.Error())
		} else {
			time.Sleep(r.opt.Pause)
			if err := r.write(ctx, t, tgtKey.ID, edit.Property, vt); err != nil {
				r.fail(sec.Title, "edit both", edit.Property, err.Error())
			} else if err := r.settle(ctx); err != nil {
				return err
			} else {
				a, errA := r.read(ctx, s, srcKey.ID)
				b, errB := r.read(ctx, t, tgtKey.ID)
				if err := errors.Join(errA, errB); err != nil {
					r.fail(sec.Title, "edit both", edit.Property, err.Error())
				} else {
					ok := mapping.Equal(a.Props[edit.Property], vt) && mapping.Equal(b.Props[edit.Property], vt)
					r.check(sec.Title, "edit both", edit.Property, ok,
						fmt.Sprintf("latest wins: want %s on both, got source %s, target %s", show(vt), show(a.Props[edit.Property]), show(b.Props[edit.Property])))
					want[edit.Property] = vt
				}
			}
		}
	} else {
		r.check(sec.Title, "edit target", "", true, "skipped: no text or number property both sides edit")
	}

	// 4. no duplicates
	r.noDuplicates(ctx, sec, gid, want)
	return nil
}

// editable picks the property the edit steps change: one the target
// writes and reads and the source reads and writes, a plain text where
// there is one, else a number.
func editable(set *mapping.Set, sec Section) *Pair {
	special := []string{"email", "country", "currency", "status", "code", "number", "vat_number", "vat_code", "website", "phone", "mobile", "postcode", "unit"}
	var number *Pair
	for i := range sec.Rows {
		p := &sec.Rows[i]
		if p.Source.Ref != "" || p.Target.Ref != "" || slices.Contains(special, p.Property) {
			continue
		}
		if !p.Source.Reads() || !p.Source.Writes() || !p.Target.Reads() || !p.Target.Writes() {
			continue
		}
		switch propType(set, sec.Source, p.Property) {
		case "string":
			return p
		case "number", "integer":
			if number == nil {
				number = p
			}
		}
	}
	return number
}

// editValue is the value an edit step writes: a text naming the step, or
// for a number a count that differs per step.
func (r *run) editValue(sec Section, p *Pair, step int, label string) any {
	switch propType(r.set, sec.Source, p.Property) {
	case "number", "integer":
		return float64(4 + step)
	}
	// One word: a value a mapping splits (a full name into given and
	// family names) must survive the round trip.
	return fmt.Sprintf("QA%s%s%d", label, r.suffix, step)
}

// show renders a value for a message.
func show(v any) string {
	if mapping.IsEmpty(v) {
		return "(empty)"
	}
	return fmt.Sprintf("%q", fmt.Sprint(v))
}

// Print writes the checklist: per section a line per check, then a
// summary.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "QA checklist: %s to %s\n", r.Source, r.Target)
	cur := ""
	for _, c := range r.Checks {
		if c.Section != cur {
			cur = c.Section
			fmt.Fprintf(w, "\n%s\n", cur)
		}
		mark := "PASS"
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %-13s %-34s %s\n", mark, c.Step, c.Item, c.Detail)
	}
	fmt.Fprintf(w, "\n%d sections, %d checks, %d failed\n", len(r.Sections), len(r.Checks), r.Failed())
}
