package config

import (
	"bytes"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/concordsync/concord/internal/preset"
)

// expandPresets lays every system that names a built-in preset over that
// preset, in the resolved document, before it is validated:
//
//   - the system's keys (kind, title, schedule) come from the preset where
//     the user gave none; settings are merged key by key, the user's winning
//     (nested blocks merged the same way);
//   - every mapping of the preset is added for the system, after the user's
//     own mappings; a user mapping of the same system and datatype is laid
//     over the preset's instead: its keys replace the preset's, and its
//     property rows (also those of lines) replace the preset rows of the
//     same field, rows of new fields being added after them.
//
// So a user overrides one row, condition or criterion without copying the
// rest. Nodes that come from a preset keep the preset's line numbers and are
// reported under its name ("preset/exactonline.yaml"), so a problem is
// always shown where it was written.
func (p *parser) expandPresets() {
	_, systems := child(p.root, "systems")
	if systems == nil || systems.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(systems.Content); i += 2 {
		name, sys := systems.Content[i].Value, systems.Content[i+1]
		if sys.Kind != yaml.MappingNode {
			continue
		}
		_, pn := child(sys, "preset")
		if pn == nil || pn.Kind != yaml.ScalarNode || pn.Value == "" {
			continue
		}
		data, file, ok := presetSource(pn.Value)
		if !ok {
			p.fail(pn, path{"systems", name, "preset"}, "unknown preset %q; expected one of: %s%s",
				pn.Value, strings.Join(presetNames(), ", "), didYouMean(pn.Value, presetNames()))
			// The preset would have brought the kind: say nothing more here.
			p.invalid = append(p.invalid, path{"systems", name})
			continue
		}
		p.applyPreset(name, sys, pn.Value, file, data)
	}
	p.checkOverlays()
}

// checkOverlays reports a user's mapping of a preset's system that names a
// datatype the preset does not map and brings no canonical type of its own:
// almost always a misspelt datatype meant to lay over the preset's, which
// would otherwise be reported as a mapping missing its required keys.
func (p *parser) checkOverlays() {
	_, umaps := child(p.root, "mappings")
	_, systems := child(p.root, "systems")
	if umaps == nil || umaps.Kind != yaml.SequenceNode || systems == nil {
		return
	}
	for i, m := range umaps.Content {
		if m.Kind != yaml.MappingNode {
			continue
		}
		if _, fromPreset := p.origin[m]; fromPreset {
			continue
		}
		_, s := child(m, "system")
		_, dt := child(m, "datatype")
		if s == nil || dt == nil || s.Kind != yaml.ScalarNode || dt.Kind != yaml.ScalarNode {
			continue
		}
		if _, c := child(m, "canonical"); c != nil {
			continue
		}
		if _, sys := child(systems, s.Value); sys == nil && len(p.presetDatatypes) > 0 {
			// A misspelt system, which check reports: its missing keys
			// would be noise beside that.
			p.explained = append(p.explained, path{"mappings", i})
			continue
		}
		known, ok := p.presetDatatypes[s.Value]
		if !ok || slices.Contains(known, dt.Value) {
			continue
		}
		at := path{"mappings", i}
		p.fail(dt, at.key("datatype"), "the preset of system %q maps no datatype %q; its datatypes are: %s%s (a mapping of another datatype needs canonical and properties of its own)",
			s.Value, dt.Value, strings.Join(known, ", "), didYouMean(dt.Value, known))
		p.explained = append(p.explained, at)
	}
}

// The built-in presets; tests replace them.
var (
	presetSource = preset.Source
	presetNames  = preset.Names
)

func (p *parser) applyPreset(name string, sys *yaml.Node, presetName, file string, data []byte) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		p.errs = append(p.errs, Error{File: file, Message: "built-in preset does not parse: " + err.Error()})
		return
	}
	r := newResolver(file)
	root := r.resolve(&doc, nil)
	if len(r.errs) > 0 {
		p.errs = append(p.errs, r.errs...)
		return
	}
	if p.origin == nil {
		p.origin = map[*yaml.Node]string{}
	}
	markOrigin(root, file, p.origin)

	_, psystems := child(root, "systems")
	_, psys := child(psystems, presetName)
	if psys != nil && psys.Kind == yaml.MappingNode {
		mergeMapping(sys, psys)
	}
	_, pmaps := child(root, "mappings")
	if pmaps == nil || pmaps.Kind != yaml.SequenceNode {
		return
	}
	umaps := p.mappingsNode()
	for _, pm := range pmaps.Content {
		if pm.Kind != yaml.MappingNode {
			continue
		}
		setScalar(pm, "system", name)
		_, dt := child(pm, "datatype")
		if dt != nil {
			if p.presetDatatypes == nil {
				p.presetDatatypes = map[string][]string{}
			}
			p.presetDatatypes[name] = append(p.presetDatatypes[name], dt.Value)
		}
		if um := findMapping(umaps, name, dt); um != nil {
			overlayMapping(um, pm)
			continue
		}
		umaps.Content = append(umaps.Content, pm)
	}
}

// mappingsNode returns the user's mappings list, creating it when absent.
func (p *parser) mappingsNode() *yaml.Node {
	if _, m := child(p.root, "mappings"); m != nil && m.Kind == yaml.SequenceNode {
		return m
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: p.root.Line, Column: p.root.Column}
	if k, m := child(p.root, "mappings"); m != nil {
		// A null or mistyped value: replace a null; leave a wrong one for
		// the schema to report, and keep the preset's mappings out of it.
		if m.Tag != "!!null" {
			return &yaml.Node{Kind: yaml.SequenceNode}
		}
		seq.Line, seq.Column = k.Line, k.Column
		replace(p.root, path{"mappings"}, seq)
		return seq
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "mappings", Line: p.root.Line, Column: p.root.Column}
	p.root.Content = append(p.root.Content, key, seq)
	return seq
}

func findMapping(seq *yaml.Node, system string, datatype *yaml.Node) *yaml.Node {
	if datatype == nil {
		return nil
	}
	for _, m := range seq.Content {
		if m.Kind != yaml.MappingNode {
			continue
		}
		_, s := child(m, "system")
		_, d := child(m, "datatype")
		if s != nil && d != nil && s.Value == system && d.Value == datatype.Value {
			return m
		}
	}
	return nil
}

// overlayMapping lays the user's mapping u over the preset's pm, in u.
func overlayMapping(u, pm *yaml.Node) {
	for i := 0; i+1 < len(pm.Content); i += 2 {
		k, pv := pm.Content[i], pm.Content[i+1]
		_, uv := child(u, k.Value)
		switch {
		case uv == nil:
			u.Content = append(u.Content, k, pv)
		case k.Value == "properties":
			mergeRows(uv, pv)
		case k.Value == "lines" && uv.Kind == yaml.MappingNode && pv.Kind == yaml.MappingNode:
			overlayMapping(uv, pv)
		}
	}
}

// mergeRows makes u the preset's rows pv with the user's rows replacing
// those of the same field, then the user's other rows.
func mergeRows(u, pv *yaml.Node) {
	if u.Kind != yaml.SequenceNode || pv.Kind != yaml.SequenceNode {
		return
	}
	own := map[string]*yaml.Node{}
	for _, r := range u.Content {
		if f := fieldOf(r); f != "" {
			own[f] = r
		}
	}
	var out []*yaml.Node
	used := map[*yaml.Node]bool{}
	for _, r := range pv.Content {
		if ur, ok := own[fieldOf(r)]; ok && fieldOf(r) != "" {
			out = append(out, ur)
			used[ur] = true
			continue
		}
		out = append(out, r)
	}
	for _, r := range u.Content {
		if !used[r] {
			out = append(out, r)
		}
	}
	u.Content = out
}

func fieldOf(row *yaml.Node) string {
	if row.Kind != yaml.MappingNode {
		return ""
	}
	_, f := child(row, "field")
	if f == nil || f.Kind != yaml.ScalarNode {
		return ""
	}
	return f.Value
}

// mergeMapping adds to u the keys of pv it lacks, merging nested mappings
// key by key (the user's values win).
func mergeMapping(u, pv *yaml.Node) {
	for i := 0; i+1 < len(pv.Content); i += 2 {
		k, v := pv.Content[i], pv.Content[i+1]
		_, uv := child(u, k.Value)
		switch {
		case uv == nil:
			u.Content = append(u.Content, k, v)
		case uv.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode:
			mergeMapping(uv, v)
		}
	}
}

func setScalar(m *yaml.Node, key, value string) {
	if _, v := child(m, key); v != nil {
		v.Kind, v.Tag, v.Value = yaml.ScalarNode, "!!str", value
		return
	}
	m.Content = append(m.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: m.Line, Column: m.Column},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Line: m.Line, Column: m.Column})
}

func markOrigin(n *yaml.Node, file string, origin map[*yaml.Node]string) {
	origin[n] = file
	for _, c := range n.Content {
		markOrigin(c, file, origin)
	}
}
