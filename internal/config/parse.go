package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Defaults applied after validation. The schema tags carry the same values
// for the documentation; a test keeps the two in agreement.
const (
	DefaultDriver           = "sqlite"
	DefaultStorePath        = "concord-data/concord.db"
	DefaultBatchSize        = 1000
	DefaultRetryLimit       = 5
	DefaultBreakerThreshold = 0.5
	DefaultBreakerMinimum   = 10
	DefaultDirection        = "both"
	DefaultDelete           = "ignore"
	DefaultPropertyType     = "string"
)

// Options adjust what a parse checks beyond the file itself.
type Options struct {
	// Kinds lists the connector kinds this binary has; a system of another
	// kind is an error. Empty accepts any kind.
	Kinds []string
	// CheckSettings, when set, checks each system's settings block (after
	// its preset's are laid under it) for the system's kind; its error is
	// reported at systems.<name>.settings. `concord validate` passes the
	// connectors' own checks, so a wrong setting or an unset credential
	// variable is found before a sync.
	CheckSettings func(kind, system string, settings map[string]any) error
}

// Load reads and parses the configuration file at path.
func Load(path string) (*Config, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with options.
func LoadWith(path string, o Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read configuration: %w; give the configuration file with -c FILE", err)
	}
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return ParseWith(path, data, o)
}

// Parse parses, validates and completes a configuration. file names the
// source in error messages and anchors the relative store path. On failure
// the error is an Errors listing every problem found, each with its line,
// column and field path.
func Parse(file string, data []byte) (*Config, error) { return ParseWith(file, data, Options{}) }

// ParseWith is Parse with options.
func ParseWith(file string, data []byte, o Options) (*Config, error) {
	p := &parser{file: file, opts: o}
	cfg := p.parse(data)
	if len(p.errs) > 0 {
		sortErrors(p.errs)
		return nil, p.errs
	}
	return cfg, nil
}

// parser holds the state of one Parse.
type parser struct {
	file string
	opts Options
	root *yaml.Node // the resolved document (see resolver)
	errs Errors
	// invalid lists places that failed the schema. Semantic checks stay
	// quiet there and below, so one mistake gives one message.
	invalid []path
	// origin names the file of nodes that come from a built-in preset;
	// other nodes are from file.
	origin map[*yaml.Node]string
	// presetDatatypes lists, per system with a preset, the datatypes the
	// preset maps.
	presetDatatypes map[string][]string
	// explained lists places already reported with a better message than
	// the schema's missing keys there would give.
	explained []path
}

func (p *parser) parse(data []byte) *Config {
	doc, ok := p.read(data)
	if !ok {
		return nil
	}
	r := newResolver(p.file)
	p.root = r.resolve(doc, nil)
	p.errs = append(p.errs, r.errs...)
	p.invalid = append(p.invalid, r.voided...)
	if r.tooBig {
		return nil
	}
	if p.root.Kind != yaml.MappingNode {
		if p.root.Tag == "!!null" {
			p.errs = append(p.errs, Error{File: p.file, Message: "the file holds no settings; expected a mapping with systems and mappings"})
		} else {
			p.fail(p.root, nil, "expected a mapping with systems and mappings at the top of the file, got %s", describeValue(p.root))
		}
		return nil
	}

	p.expandPresets()
	p.validate()
	p.checkDurations(p.root, nil)

	var cfg Config
	if err := p.root.Decode(&cfg); err != nil {
		p.decodeError(err)
	}
	p.check(&cfg)
	if len(p.errs) > 0 {
		return nil
	}
	p.applyDefaults(&cfg)
	return &cfg
}

// read parses the YAML text into a node tree, accepting exactly one
// document.
func (p *parser) read(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errs = append(p.errs, Error{File: p.file, Message: "the file is empty; expected a mapping with systems and mappings"})
		} else {
			p.syntaxError(data, err)
		}
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.syntaxError(data, err)
		return nil, false
	default:
		p.errs = append(p.errs, Error{File: p.file, Line: next.Line, Column: next.Column,
			Message: "a second YAML document (after ---); a configuration is one document"})
		return nil, false
	}
	return &doc, true
}

// yamlLine finds the line number go-yaml puts into its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

func (p *parser) syntaxError(data []byte, err error) {
	msg := err.Error()
	e := Error{File: p.file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	if line := firstBadLine(data); line > 0 {
		e.Line = line
	}
	e.Message = "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")
	if e.Line > 0 && indentedWithTab(data, e.Line) {
		e.Message += " (YAML indents with spaces, not tabs)"
	}
	p.errs = append(p.errs, e)
}

// indentedWithTab reports whether the given 1-based line starts with
// whitespace that contains a tab, the most common cause of a YAML error.
func indentedWithTab(data []byte, line int) bool {
	lines := bytes.Split(data, []byte("\n"))
	if line > len(lines) {
		return false
	}
	l := lines[line-1]
	indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
	return bytes.IndexByte(indent, '\t') >= 0
}

// maxScanLines bounds the work firstBadLine does on a broken file.
const maxScanLines = 1000

// firstBadLine returns the first line at which the text stops being YAML,
// or 0 if it cannot tell. go-yaml's own line number is often where the
// enclosing block starts, counted from zero, so for "did not find expected
// key" it can point several lines above the culprit; parsing ever longer
// prefixes finds the line that breaks it.
func firstBadLine(data []byte) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxScanLines {
		return 0
	}
	end := 0
	for i, l := range lines {
		end += len(l)
		if !parses(data[:end]) {
			return i + 1
		}
	}
	return 0
}

func parses(data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// decodeError reports what decoding found that validation did not. Values
// that failed validation were emptied beforehand, so this is a safety net:
// it only speaks when nothing else was said about that line.
func (p *parser) decodeError(err error) {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		p.errs = append(p.errs, Error{File: p.file, Message: "cannot decode: " + err.Error()})
		return
	}
	for _, msg := range te.Errors {
		e := Error{File: p.file, Message: msg}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Message = msg[len(m[0]):]
		}
		if !p.hasErrorOnLine(e.Line) {
			p.errs = append(p.errs, e)
		}
	}
}

func (p *parser) hasErrorOnLine(line int) bool {
	for _, e := range p.errs {
		if e.Line == line {
			return true
		}
	}
	return false
}

// fail records a schema-level problem at the node n found at at.
func (p *parser) fail(n *yaml.Node, at path, format string, args ...any) {
	if n == nil {
		n = nearest(p.root, at)
	}
	file := p.file
	if f, ok := p.origin[n]; ok {
		file = f
	}
	p.errs = append(p.errs, Error{File: file, Line: n.Line, Column: n.Column, Path: at.String(), Message: fmt.Sprintf(format, args...)})
}

// problem records a semantic problem at the node found at at, unless the
// schema already complained there, about something containing it, or about
// something inside it: a value that failed the schema was emptied, and a
// check of the whole object would otherwise complain about it a second time.
func (p *parser) problem(at path, format string, args ...any) {
	for _, q := range p.invalid {
		if at.within(q) || q.within(at) {
			return
		}
	}
	p.fail(nil, at, format, args...)
}

func (p *parser) present(at path) bool {
	n := lookup(p.root, at)
	return n != nil && n.Tag != "!!null"
}

func (p *parser) applyDefaults(cfg *Config) {
	cfg.File = p.file
	if cfg.Store.Driver == "" {
		cfg.Store.Driver = DefaultDriver
	}
	if cfg.Store.Path == "" {
		cfg.Store.Path = DefaultStorePath
	}
	if !filepath.IsAbs(cfg.Store.Path) {
		cfg.Store.Path = filepath.Join(filepath.Dir(p.file), cfg.Store.Path)
	}
	// Zero is a meaningful breaker setting, so engine defaults go by
	// whether the key was written, not by the zero value.
	engine := path{"engine"}
	if !p.present(engine.key("batch_size")) {
		cfg.Engine.BatchSize = DefaultBatchSize
	}
	if !p.present(engine.key("retry_limit")) {
		cfg.Engine.RetryLimit = DefaultRetryLimit
	}
	if !p.present(engine.key("breaker_threshold")) {
		cfg.Engine.BreakerThreshold = DefaultBreakerThreshold
	}
	if !p.present(engine.key("breaker_minimum")) {
		cfg.Engine.BreakerMinimum = DefaultBreakerMinimum
	}
	for i := range cfg.Mappings {
		m := &cfg.Mappings[i]
		if m.Direction == "" {
			m.Direction = DefaultDirection
		}
		if m.Delete == "" {
			m.Delete = DefaultDelete
		}
		if m.Insert == nil {
			insert := true
			m.Insert = &insert
		}
		defaultRows(m.Properties)
		if m.Lines != nil {
			defaultRows(m.Lines.Properties)
		}
	}
}

func defaultRows(rows []PropertyMap) {
	for i := range rows {
		if rows[i].Type == "" {
			rows[i].Type = DefaultPropertyType
		}
		if rows[i].Direction == "" {
			rows[i].Direction = DefaultDirection
		}
	}
}
