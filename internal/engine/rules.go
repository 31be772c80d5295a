package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/store"
)

// Outcomes of a property decision.
const (
	Won   = "won"
	Lost  = "lost"
	Kept  = "kept"
	Equal = "equal"
)

// Source is the system record a set of properties comes from.
type Source struct {
	System, Datatype, ID string
}

// mergeProps applies an incoming record's properties to a golden record by
// the per-property rules: the most recently modified value wins; an empty
// value never overwrites a non-empty one; a tie in time is broken by system
// name and then by value so that every process decides the same way. It
// returns the decisions, whether any golden property changed, and whether
// only a provenance time moved (the same value set again later), which must
// be stored too: an older different value merged later must lose to it.
//
// names gives the order in which properties are decided (and recorded).
func mergeProps(g *store.Golden, names []string, props map[string]any, times map[string]time.Time, src Source) (decisions []store.PropDecision, changed, refreshed bool) {
	if g.Props == nil {
		g.Props = map[string]any{}
	}
	if g.Prov == nil {
		g.Prov = map[string]store.Provenance{}
	}
	for _, p := range names {
		v, ok := props[p]
		if !ok {
			continue
		}
		t := times[p]
		cur, prov := g.Props[p], g.Prov[p]
		d := store.PropDecision{Property: p, Value: v}
		outcome, reason := decideRule(v, t, src.System, cur, prov)
		if outcome == Lost && t.Equal(prov.Time) && prov.System == src.System && prov.Datatype == src.Datatype && prov.ID == src.ID {
			// A later version of the record that set the value, dated the
			// same (systems that date to the second): it is the newer one.
			outcome, reason = Won, "a later version of the record that set it, with the same time"
		}
		d.Outcome, d.Reason = outcome, reason
		switch outcome {
		case Won:
			g.Props[p] = v
			g.Prov[p] = store.Provenance{System: src.System, Datatype: src.Datatype, ID: src.ID, Time: t}
			changed = true
		case Equal:
			// The value was set again later: it is that recent now, and an
			// older different value merged after this must not beat it.
			if prov.System == "" || t.After(prov.Time) {
				g.Prov[p] = store.Provenance{System: src.System, Datatype: src.Datatype, ID: src.ID, Time: t}
				refreshed = true
			}
			continue // equal values are not decisions worth a history line
		}
		decisions = append(decisions, d)
	}
	return decisions, changed, refreshed
}

// decideRule is the rule mergeProps applies; tests swap it for a broken one
// to prove that the simulation's oracle notices.
var decideRule = decide

// decide is the merge rule for one property.
func decide(v any, t time.Time, system string, cur any, prov store.Provenance) (outcome, reason string) {
	switch {
	case mapping.Equal(v, cur):
		return Equal, "same value"
	case mapping.IsEmpty(v):
		return Kept, fmt.Sprintf("empty value does not overwrite %v set by %s", show(cur), provName(prov))
	case mapping.IsEmpty(cur):
		return Won, "fills an empty property"
	case t.After(prov.Time):
		return Won, fmt.Sprintf("newer (%s) than the value set by %s (%s)", stamp(t), provName(prov), stamp(prov.Time))
	case t.Before(prov.Time):
		return Lost, fmt.Sprintf("older (%s) than %v set by %s (%s)", stamp(t), show(cur), provName(prov), stamp(prov.Time))
	}
	// Same time: a deterministic tie-break.
	if system != prov.System {
		if system < prov.System {
			return Won, fmt.Sprintf("same time as %s; tie broken by system name", provName(prov))
		}
		return Lost, fmt.Sprintf("same time as %s; tie broken by system name", provName(prov))
	}
	if fmt.Sprint(v) < fmt.Sprint(cur) {
		return Won, "same time and system; tie broken by value"
	}
	return Lost, "same time and system; tie broken by value"
}

func provName(p store.Provenance) string {
	if p.System == "" {
		return "an earlier merge"
	}
	return p.System + ":" + p.Datatype + " " + p.ID
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func show(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// matchKeys returns the normalised merge-key values of a set of properties
// for each criterion; a criterion with any empty property yields no key, so
// that an empty key never matches.
func matchKeys(props map[string]any, criteria map[string][]string) map[string]string {
	keys := make(map[string]string, len(criteria))
	for name, c := range criteria {
		if k, ok := keyValue(props, c); ok {
			keys[name] = k
		}
	}
	return keys
}

func keyValue(props map[string]any, crit []string) (string, bool) {
	parts := make([]string, len(crit))
	for i, p := range crit {
		v := props[p]
		if mapping.IsEmpty(v) {
			return "", false
		}
		s, ok := v.(string)
		if !ok {
			s = fmt.Sprint(v)
		}
		parts[i] = strings.ToLower(strings.TrimSpace(s))
	}
	return strings.Join(parts, "\x1f"), true
}
