package webcrm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The data file is JSON: the API token, every record with its values in
// the service's field names, the hooks and the field labels. Date-times are
// kept with their offset (RFC 3339), so that changing the sandbox's time
// zone changes how they are shown, not when they happened. A hand-written
// file may give date-times without offset: they are read in the sandbox's
// time zone.

const snapshotVersion = 1

type snapshot struct {
	Version     int                      `json:"version"`
	AuthCode    string                   `json:"authCode"`
	Tables      map[string]tableSnapshot `json:"tables"`
	Hooks       []hookSnapshot           `json:"hooks,omitempty"`
	NextHookID  int64                    `json:"nextHookId,omitempty"`
	FieldLabels map[string]string        `json:"fieldLabels,omitempty"`
}

type tableSnapshot struct {
	NextID   int              `json:"nextId"`
	Records  []map[string]any `json:"records"`
	Inactive []int            `json:"inactive,omitempty"`
}

type hookSnapshot struct {
	ID        int64     `json:"id"`
	Entity    string    `json:"entity"`
	TargetURL string    `json:"targetUrl"`
	Enabled   bool      `json:"enabled"`
	EventType string    `json:"eventType"`
	Filter    []string  `json:"filter"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
	UpdatedAt time.Time `json:"updatedAt"`
	UpdatedBy string    `json:"updatedBy"`
}

// snapshotLocked copies the state to save. The caller holds s.mu.
func (s *Server) snapshotLocked() snapshot {
	snap := snapshot{Version: snapshotVersion, AuthCode: s.authCode, Tables: map[string]tableSnapshot{},
		NextHookID: s.nextHookID, FieldLabels: s.labels}
	for _, e := range entities {
		t := s.tables[e.name]
		ts := tableSnapshot{NextID: t.next, Records: []map[string]any{}}
		for _, r := range t.all() {
			m := map[string]any{e.idField(): r.id}
			for k, v := range r.v {
				switch x := v.(type) {
				case string:
					if x == "" {
						continue // unset; QuotationLineData fields may not even be read back empty
					}
				case time.Time:
					if x.IsZero() {
						continue
					}
					v = x.Format(time.RFC3339)
				}
				m[k] = v
			}
			ts.Records = append(ts.Records, m)
			if r.inactive {
				ts.Inactive = append(ts.Inactive, r.id)
			}
		}
		snap.Tables[e.name] = ts
	}
	for _, id := range s.hookIDs {
		h := s.hooks[id]
		snap.Hooks = append(snap.Hooks, hookSnapshot{ID: h.id, Entity: h.entity, TargetURL: h.targetURL,
			Enabled: h.enabled, EventType: h.eventType, Filter: h.filter, CreatedAt: h.createdAt,
			CreatedBy: h.createdBy, UpdatedAt: h.updatedAt, UpdatedBy: h.updatedBy})
	}
	return snap
}

// restoreLocked replaces the state with a saved one. The caller holds s.mu.
func (s *Server) restoreLocked(snap snapshot, loc *time.Location) error {
	if snap.Version != snapshotVersion {
		return fmt.Errorf("version %d, want %d", snap.Version, snapshotVersion)
	}
	if snap.AuthCode != "" {
		s.authCode = snap.AuthCode
	}
	for name, ts := range snap.Tables {
		e := entityByPath(name)
		if e == nil {
			return fmt.Errorf("unknown entity %q", name)
		}
		t := newTable(e)
		for i, m := range ts.Records {
			r := &row{v: map[string]any{}}
			for k, raw := range m {
				f := e.field(k)
				if f == nil {
					continue // a field this version does not know
				}
				v, err := convert(f, raw, loc)
				if err != nil {
					return fmt.Errorf("%s record %d: %w", name, i+1, err)
				}
				if f.name == e.idField() {
					r.id = int(v.(int64))
					continue
				}
				r.v[f.name] = v
			}
			if r.id <= 0 {
				return fmt.Errorf("%s record %d has no %s", name, i+1, e.idField())
			}
			if t.get(r.id) != nil {
				return fmt.Errorf("%s record %d: id %d appears twice", name, i+1, r.id)
			}
			t.put(r)
		}
		if ts.NextID > t.next {
			t.next = ts.NextID
		}
		for _, id := range ts.Inactive {
			if r := t.get(id); r != nil {
				r.inactive = true
			}
		}
		s.tables[e.name] = t
	}
	s.hooks = map[int64]*hook{}
	s.hookIDs = nil
	for _, h := range snap.Hooks {
		e := entityByPath(h.Entity)
		if e == nil {
			return fmt.Errorf("hook %d: unknown entity %q", h.ID, h.Entity)
		}
		s.hooks[h.ID] = &hook{id: h.ID, entity: e.name, targetURL: h.TargetURL, enabled: h.Enabled,
			eventType: h.EventType, filter: h.Filter, createdAt: h.CreatedAt, createdBy: h.CreatedBy,
			updatedAt: h.UpdatedAt, updatedBy: h.UpdatedBy}
		s.hookIDs = append(s.hookIDs, h.ID)
		s.nextHookID = max(s.nextHookID, h.ID+1)
	}
	s.nextHookID = max(s.nextHookID, snap.NextHookID)
	if len(snap.FieldLabels) > 0 {
		s.labels = snap.FieldLabels
	}
	return nil
}

// load reads the data file; a missing file is an empty sandbox.
func (s *Server) load(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("webcrm sandbox: read data file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var snap snapshot
	if err := dec.Decode(&snap); err != nil {
		return fmt.Errorf("webcrm sandbox: data file %s is not valid JSON: %w", path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.restoreLocked(snap, s.switches().loc); err != nil {
		return fmt.Errorf("webcrm sandbox: data file %s: %w", path, err)
	}
	return nil
}

// Save writes the data file now, when there is one and something changed
// since the last save. The file is replaced atomically: a crash leaves the
// old or the new content, never a mix.
func (s *Server) Save() error {
	if s.dataFile == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	snap := s.snapshotLocked()
	s.dirty = false
	s.mu.Unlock()
	if err := writeAtomic(s.dataFile, snap); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("webcrm sandbox: save %s: %w", s.dataFile, err)
	}
	s.log.Debug("data saved", "file", s.dataFile)
	return nil
}

func writeAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// saveLoop saves the data file every interval while there are changes,
// until stop is closed.
func (s *Server) saveLoop(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if err := s.Save(); err != nil {
				s.log.Error("saving the sandbox data failed", "err", err)
			}
		}
	}
}
