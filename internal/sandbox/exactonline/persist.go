package exactonline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// snapshot is the data file: everything a restarted sandbox needs so that
// a connector's stored tokens and sync positions stay valid. Rate-limit
// windows, call counts and webhook deliveries are not kept.
type snapshot struct {
	Version       int                         `json:"version"`
	Division      int                         `json:"division"`
	RowVersion    int64                       `json:"row_version"`
	User          user                        `json:"user"`
	Apps          []*app                      `json:"apps"`
	Grants        []*grant                    `json:"grants"`
	Voided        []string                    `json:"voided_refresh_tokens"`
	AccessTokens  []*accessToken              `json:"access_tokens"`
	Records       map[string][]map[string]any `json:"records"`
	Deleted       []tombstone                 `json:"deleted"`
	Subscriptions []map[string]any            `json:"webhook_subscriptions"`
}

const snapshotVersion = 1

// Save writes the data file now (atomically: a temporary file renamed over
// the old one). Without Options.DataFile it does nothing.
func (s *Server) Save() error {
	if s.opts.DataFile == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	data, err := s.encode()
	s.dirty = false
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("exactonline sandbox: encode %s: %w", s.opts.DataFile, err)
	}
	if err := writeAtomic(s.opts.DataFile, data); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return err
	}
	return nil
}

// encode renders the data file; s.mu is held.
func (s *Server) encode() ([]byte, error) {
	snap := snapshot{
		Version: snapshotVersion, Division: s.division, RowVersion: s.rowver, User: s.user,
		Records: map[string][]map[string]any{}, Deleted: s.deleted,
	}
	for _, k := range slices.Sorted(maps.Keys(s.apps)) {
		snap.Apps = append(snap.Apps, s.apps[k])
	}
	for _, k := range slices.Sorted(maps.Keys(s.grants)) {
		snap.Grants = append(snap.Grants, s.grants[k])
	}
	snap.Voided = slices.Sorted(maps.Keys(s.voided))
	now := s.now()
	for _, k := range slices.Sorted(maps.Keys(s.access)) {
		if t := s.access[k]; now.Before(t.Expires) {
			snap.AccessTokens = append(snap.AccessTokens, t)
		}
	}
	for _, d := range entities {
		rows := []map[string]any{}
		for _, r := range s.tables[d].sortedByKey() {
			m := maps.Clone(r.f)
			m["Timestamp"] = r.ts
			rows = append(rows, m)
		}
		snap.Records[d.name] = rows
	}
	for _, r := range s.tables[webhookSubscriptions].sortedByKey() {
		snap.Subscriptions = append(snap.Subscriptions, r.f)
	}
	return json.MarshalIndent(snap, "", " ")
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("exactonline sandbox: save %s: %w", path, err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("exactonline sandbox: save %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("exactonline sandbox: save %s: %w", path, err)
	}
	return nil
}

// load reads the data file into an empty server; a missing file is an
// empty sandbox.
func (s *Server) load(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("exactonline sandbox: load %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var snap snapshot
	if err := dec.Decode(&snap); err != nil {
		return fmt.Errorf("exactonline sandbox: load %s: not a sandbox data file: %w", path, err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("exactonline sandbox: load %s: data file version %d, this sandbox reads %d: move the file away to start empty", path, snap.Version, snapshotVersion)
	}
	s.division, s.rowver, s.user, s.deleted = snap.Division, snap.RowVersion, snap.User, snap.Deleted
	for _, a := range snap.Apps {
		s.apps[a.ClientID] = a
	}
	for _, g := range snap.Grants {
		s.grants[g.RefreshToken] = g
	}
	for _, v := range snap.Voided {
		s.voided[v] = true
	}
	for _, t := range snap.AccessTokens {
		s.access[t.Token] = t
	}
	for name, rows := range snap.Records {
		d := entityByName(name)
		if d == nil {
			return fmt.Errorf("exactonline sandbox: load %s: unknown entity %q", path, name)
		}
		for i, raw := range rows {
			r, err := s.decodeRecord(d.byName, raw)
			if err != nil {
				return fmt.Errorf("exactonline sandbox: load %s: %s[%d]: %w", path, name, i, err)
			}
			if r.str(d.key) == "" {
				return fmt.Errorf("exactonline sandbox: load %s: %s[%d] has no %s", path, name, i, d.key)
			}
			s.tables[d].put(r)
		}
	}
	for i, raw := range snap.Subscriptions {
		r, err := s.decodeRecord(subscriptionByName, raw)
		if err != nil {
			return fmt.Errorf("exactonline sandbox: load %s: webhook_subscriptions[%d]: %w", path, i, err)
		}
		s.tables[webhookSubscriptions].put(r)
	}
	return nil
}

func (s *Server) decodeRecord(fields map[string]*fieldDef, raw map[string]any) (*record, error) {
	r := &record{f: map[string]any{}}
	for k, v := range raw {
		if k == "Timestamp" {
			n, err := toInt(v)
			if err != nil {
				return nil, fmt.Errorf("Timestamp: %w", err)
			}
			r.ts = n
			continue
		}
		f := fields[k]
		if f == nil {
			return nil, fmt.Errorf("unknown property %q", k)
		}
		val, err := coerce(f.typ, v, time.UTC)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		r.f[k] = val
	}
	return r, nil
}

// saveLoop writes changed data every SaveInterval until Close.
func (s *Server) saveLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(s.opts.SaveInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.mu.Lock()
			dirty := s.dirty
			s.mu.Unlock()
			if dirty {
				if err := s.Save(); err != nil {
					s.log.Error("saving sandbox data failed", "file", s.opts.DataFile, "err", err)
				}
			}
		}
	}
}
