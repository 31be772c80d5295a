package memstore

import (
	"context"
	"fmt"
	"sort"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/store"
)

// PutIntents stores several intents at once: all of them or, when one is
// invalid, none.
func (s *Store) PutIntents(ctx context.Context, ins []store.Intent) error {
	if len(ins) == 0 {
		return nil
	}
	stored := make([]store.Intent, len(ins))
	for i, in := range ins {
		if in.ID == "" {
			return fmt.Errorf("put intent for golden %s: empty intent id", in.GoldenID)
		}
		if len(in.Fields) == 0 {
			in.Fields = nil
		} else {
			fields, err := normFields(in.Fields)
			if err != nil {
				return fmt.Errorf("put intent %s for golden %s: %w", in.ID, in.GoldenID, err)
			}
			in.Fields = fields
		}
		stored[i] = in
	}
	unlock, err := s.write(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	now := s.now()
	for _, in := range stored {
		if in.CreatedAt.IsZero() {
			in.CreatedAt = now
		}
		in.CreatedAt = normTime(in.CreatedAt)
		s.deleteIntent(in.ID)
		s.intents[in.ID] = in
		if s.intentsOf[in.GoldenID] == nil {
			s.intentsOf[in.GoldenID] = map[string]struct{}{}
		}
		s.intentsOf[in.GoldenID][in.ID] = struct{}{}
	}
	return nil
}

// OpenIntents lists the intents of one system datatype, oldest first.
func (s *Store) OpenIntents(ctx context.Context, system, datatype string) ([]store.Intent, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []store.Intent
	for _, in := range s.intents {
		if in.System == system && in.Datatype == datatype {
			out = append(out, cloneIntent(in))
		}
	}
	sortIntents(out)
	return out, nil
}

// sortIntents orders intents by creation time, then id.
func sortIntents(ins []store.Intent) {
	sort.Slice(ins, func(i, j int) bool {
		if !ins[i].CreatedAt.Equal(ins[j].CreatedAt) {
			return ins[i].CreatedAt.Before(ins[j].CreatedAt)
		}
		return ins[i].ID < ins[j].ID
	})
}

func cloneIntent(in store.Intent) store.Intent {
	if in.Fields != nil {
		in.Fields = connector.CloneFields(in.Fields)
	}
	return in
}
