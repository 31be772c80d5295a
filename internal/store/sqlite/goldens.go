package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/concordsync/concord/internal/store"
)

const goldenCols = `id, type, props, prov, deleted, dirty, updated`

func scanGolden(rows *sql.Rows) (store.Golden, error) {
	var (
		g                       store.Golden
		props, prov             string
		deleted, dirty, updated int64
	)
	if err := rows.Scan(&g.ID, &g.Type, &props, &prov, &deleted, &dirty, &updated); err != nil {
		return g, err
	}
	var err error
	if g.Props, err = decodeFields(props); err != nil {
		return g, fmt.Errorf("golden %s: props: %w", g.ID, err)
	}
	if g.Prov, err = decodeProv(prov); err != nil {
		return g, fmt.Errorf("golden %s: provenance: %w", g.ID, err)
	}
	g.Deleted = deleted != 0
	g.Dirty = dirty != 0
	g.Updated = fromNanos(updated)
	return g, nil
}

func scanGoldens(rows *sql.Rows, err error, fn func(store.Golden)) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		g, err := scanGolden(rows)
		if err != nil {
			return err
		}
		fn(g)
	}
	return rows.Err()
}

func (s *Store) GetGoldens(ctx context.Context, ids []string) (map[string]store.Golden, error) {
	out := make(map[string]store.Golden, len(ids))
	err := inChunks(dedupe(ids), func(args []any, marks string) error {
		rows, err := s.query(ctx, `SELECT `+goldenCols+` FROM goldens WHERE id IN (`+marks+`)`, args...)
		return scanGoldens(rows, err, func(g store.Golden) { out[g.ID] = g })
	})
	if err != nil {
		return nil, fmt.Errorf("get goldens: %w", err)
	}
	return out, nil
}

func (s *Store) DirtyGoldens(ctx context.Context, typ, afterID string, limit int) ([]store.Golden, error) {
	var (
		rows *sql.Rows
		err  error
		out  []store.Golden
	)
	if typ == "" {
		// Dirty golden records of every type: few among many, so read them
		// through the partial index and sort, rather than scan every id.
		rows, err = s.query(ctx, `SELECT `+goldenCols+` FROM goldens INDEXED BY goldens_dirty
			WHERE dirty = 1 AND id > ? ORDER BY id LIMIT ?`, afterID, pageLimit(limit))
	} else {
		rows, err = s.query(ctx, `SELECT `+goldenCols+` FROM goldens INDEXED BY goldens_dirty
			WHERE type = ? AND dirty = 1 AND id > ? ORDER BY id LIMIT ?`, typ, afterID, pageLimit(limit))
	}
	if err := scanGoldens(rows, err, func(g store.Golden) { out = append(out, g) }); err != nil {
		return nil, fmt.Errorf("dirty goldens %s: %w", typ, err)
	}
	return out, nil
}

func (s *Store) FindByKeys(ctx context.Context, typ, name string, values []string) (map[string][]string, error) {
	out := map[string][]string{}
	err := inChunks(dedupe(values), func(args []any, marks string) error {
		rows, err := s.query(ctx, `SELECT value, golden_id FROM match_keys
			WHERE type = ? AND name = ? AND value IN (`+marks+`)
			ORDER BY value, golden_id`, append([]any{typ, name}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v, id string
			if err := rows.Scan(&v, &id); err != nil {
				return err
			}
			out[v] = append(out[v], id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find %s by %s: %w", typ, name, err)
	}
	return out, nil
}

func (s *Store) CommitMerge(ctx context.Context, mb store.MergeBatch) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return newBatch(ctx, tx).merge(s, mb, nil)
	})
	if err != nil {
		return fmt.Errorf("commit merge: %w", err)
	}
	return nil
}

// merge applies a merge batch, except the links at the indexes in done
// (already applied with their versions, see CommitCollect).
func (b *batch) merge(s *Store, mb store.MergeBatch, done map[int]bool) error {
	args := make([]any, 0, len(mb.Goldens)*s.stmts.upsertGolden.cols)
	for _, g := range mb.Goldens {
		if g.ID == "" {
			return fmt.Errorf("golden record of type %s without an id", g.Type)
		}
		var err error
		b.buf, err = appendFields(b.buf[:0], g.Props)
		if err != nil {
			return fmt.Errorf("golden %s: %w", g.ID, err)
		}
		n := len(b.buf)
		b.buf = appendProv(b.buf, g.Prov)
		args = append(args, g.ID, g.Type, string(b.buf[:n]), string(b.buf[n:]),
			boolInt(g.Deleted), boolInt(g.Dirty), nanos(g.Updated))
	}
	if err := b.insertRows(&s.stmts.upsertGolden, args); err != nil {
		return err
	}
	for i, r := range mb.Links {
		if done[i] {
			continue
		}
		if err := b.exec(s.stmts.link, r.System, r.Datatype, r.ID, r.GoldenID,
			boolInt(r.Excluded), r.Hash); err != nil {
			return err
		}
	}
	if err := b.forEach(&s.stmts.deleteKeys, mb.KeysFor); err != nil {
		return err
	}
	args = args[:0]
	for _, k := range mb.Keys {
		if k.Value != "" {
			args = append(args, k.Type, k.Name, k.Value, k.GoldenID)
		}
	}
	if err := b.insertRows(&s.stmts.insertKey, args); err != nil {
		return err
	}
	if err := b.events(s, mb.Events); err != nil {
		return err
	}
	return b.deadLetters(s, mb.DeadLetters, mb.Cleared)
}
