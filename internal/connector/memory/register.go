package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// Kind is the connector kind this package registers.
const Kind = "memory"

func init() { connector.Register(Kind, open) }

// Shared instances, by name: a system configured with kind "memory" opens
// the instance named by its "instance" setting, so the CLI, the engine and a
// test all reach the same System.
var (
	instancesMu sync.Mutex
	instances   = map[string]*System{}
)

// Instance returns the shared System of that name, making an empty one with
// default Options if there is none yet.
func Instance(name string) *System {
	instancesMu.Lock()
	defer instancesMu.Unlock()
	return instanceLocked(name, Options{})
}

// NewInstance makes a System with the given Options and shares it under
// name, replacing any instance of that name. Tests and the simulation use it
// before opening systems through the connector registry.
func NewInstance(name string, opts Options) *System {
	s := New(name, opts)
	instancesMu.Lock()
	defer instancesMu.Unlock()
	instances[name] = s
	return s
}

// ForgetInstance drops the shared instance of that name, so that the next
// open or Instance makes a new one (tests that share instances by name call
// it when they end).
func ForgetInstance(name string) {
	instancesMu.Lock()
	defer instancesMu.Unlock()
	delete(instances, name)
}

func instanceLocked(name string, opts Options) *System {
	s, ok := instances[name]
	if !ok {
		s = New(name, opts)
		instances[name] = s
	}
	return s
}

// Settings a system of kind "memory" accepts:
//
//	instance:         name of the shared instance (default: the system's name)
//	page_size:        records per page (default 100)
//	id_prefix:        put before every new sequential id
//	time_granularity: truncation of modified times, e.g. "1s"
//	seed_file:        JSON file of records loaded at open (see LoadSeedFile)
//
// page_size, id_prefix and time_granularity shape an instance when this
// open makes it; an instance that already exists keeps its Options.
var settingKeys = []string{"id_prefix", "instance", "page_size", "seed_file", "time_granularity"}

func open(ctx context.Context, system string, settings map[string]any) (connector.Connector, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("system %q (kind memory): "+format, append([]any{system}, args...)...)
	}
	for key := range settings {
		if !slices.Contains(settingKeys, key) {
			return nil, fail("unknown setting %q (known settings: %v)", key, settingKeys)
		}
	}
	name, err := stringSetting(settings, "instance")
	if err != nil {
		return nil, fail("%w", err)
	}
	if name == "" {
		name = system
	}
	var opts Options
	if opts.IDPrefix, err = stringSetting(settings, "id_prefix"); err != nil {
		return nil, fail("%w", err)
	}
	if v, ok := settings["page_size"]; ok {
		n, ok := wholeNumber(v)
		if !ok || n <= 0 {
			return nil, fail("setting page_size: want a positive whole number, got %v", v)
		}
		opts.PageSize = n
	}
	g, err := stringSetting(settings, "time_granularity")
	if err != nil {
		return nil, fail("%w", err)
	}
	if g != "" {
		if opts.TimeGranularity, err = time.ParseDuration(g); err != nil || opts.TimeGranularity < 0 {
			return nil, fail("setting time_granularity: want a duration such as \"1s\", got %q", g)
		}
	}
	seedFile, err := stringSetting(settings, "seed_file")
	if err != nil {
		return nil, fail("%w", err)
	}

	instancesMu.Lock()
	s := instanceLocked(name, opts)
	instancesMu.Unlock()
	if seedFile != "" {
		if err := s.LoadSeedFile(connector.ResolvePath(ctx, seedFile)); err != nil {
			return nil, fail("%w", err)
		}
	}
	return s, nil
}

func stringSetting(settings map[string]any, key string) (string, error) {
	v, ok := settings[key]
	if !ok || v == nil {
		return "", nil
	}
	str, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("setting %s: want a string, got %v", key, v)
	}
	return str, nil
}

func wholeNumber(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case uint64:
		return int(n), n <= math.MaxInt32
	case float64:
		return int(n), n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32
	}
	return 0, false
}

// seedRecord is one record of a seed file.
type seedRecord struct {
	ID     string           `json:"id"`
	Fields connector.Fields `json:"fields"`
}

// LoadSeedFile adds the records of a JSON file shaped as
//
//	{"Customers": [{"id": "C1", "fields": {"name": "Acme"}}, …], …}
//
// A record without an id gets the next sequential one; a record whose id is
// already used is left as it is. A file is loaded once per System (by its
// absolute path), so opening a system twice with the same seed file neither
// duplicates records nor undoes what happened in between.
func (s *System) LoadSeedFile(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("seed file %s: %w", path, err)
	}
	s.mu.Lock()
	loaded := s.seeded[abs]
	s.mu.Unlock()
	if loaded {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("seed file: %w", err)
	}
	defer f.Close()
	var seed map[string][]seedRecord
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&seed); err != nil {
		return fmt.Errorf("seed file %s: %w (want {\"Datatype\": [{\"id\": \"…\", \"fields\": {…}}]})", path, err)
	}
	datatypes := make([]string, 0, len(seed))
	for dt := range seed {
		datatypes = append(datatypes, dt)
	}
	sort.Strings(datatypes)
	for _, dt := range datatypes {
		for _, rec := range seed[dt] {
			if rec.ID == "" {
				s.Create(dt, rec.Fields)
				continue
			}
			s.Put(dt, rec.ID, rec.Fields)
		}
	}
	s.mu.Lock()
	s.seeded[abs] = true
	s.mu.Unlock()
	return nil
}
