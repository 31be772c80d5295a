package memstore

import (
	"context"
	"sort"

	"github.com/concordsync/concord/internal/store"
)

// PutIntents stores several intents at once.
func (s *Store) PutIntents(ctx context.Context, ins []store.Intent) error {
	for _, in := range ins {
		if err := s.PutIntent(ctx, in); err != nil {
			return err
		}
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
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
