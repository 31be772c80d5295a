package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/concordsync/concord/internal/store"
)

const recordCols = `system, datatype, id, hash, fields, field_times, modified, deleted, golden_id, based_on, pending, seen_gen, excluded`

// scanRecord reads one row of recordCols.
func scanRecord(rows *sql.Rows) (store.Record, error) {
	var (
		r                        store.Record
		fields, times            string
		modified                 int64
		deleted, pending, exclud int64
	)
	if err := rows.Scan(&r.System, &r.Datatype, &r.ID, &r.Hash, &fields, &times, &modified,
		&deleted, &r.GoldenID, &r.BasedOn, &pending, &r.SeenGen, &exclud); err != nil {
		return r, err
	}
	var err error
	if r.Fields, err = decodeFields(fields); err != nil {
		return r, fmt.Errorf("record %s %s %s: fields: %w", r.System, r.Datatype, r.ID, err)
	}
	if r.FieldTimes, err = decodeTimes(times); err != nil {
		return r, fmt.Errorf("record %s %s %s: field times: %w", r.System, r.Datatype, r.ID, err)
	}
	r.Modified = fromNanos(modified)
	r.Deleted = deleted != 0
	r.Pending = pending != 0
	r.Excluded = exclud != 0
	return r, nil
}

// scanRecords reads all rows and calls fn for each record.
func scanRecords(rows *sql.Rows, err error, fn func(store.Record)) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return err
		}
		fn(r)
	}
	return rows.Err()
}

// listRecords runs a paging query and collects its records.
func (s *Store) listRecords(ctx context.Context, query string, args ...any) ([]store.Record, error) {
	var out []store.Record
	rows, err := s.query(ctx, query, args...)
	err = scanRecords(rows, err, func(r store.Record) { out = append(out, r) })
	return out, err
}

// pageLimit maps the interface's limit (<= 0: no limit) to SQLite's.
func pageLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

func (s *Store) GetRecords(ctx context.Context, system, datatype string, ids []string) (map[string]store.Record, error) {
	out := make(map[string]store.Record, len(ids))
	err := inChunks(dedupe(ids), func(args []any, marks string) error {
		rows, err := s.query(ctx, `SELECT `+recordCols+` FROM records
			WHERE system = ? AND datatype = ? AND id IN (`+marks+`)`,
			append([]any{system, datatype}, args...)...)
		return scanRecords(rows, err, func(r store.Record) { out[r.ID] = r })
	})
	if err != nil {
		return nil, fmt.Errorf("get records %s %s: %w", system, datatype, err)
	}
	return out, nil
}

func (s *Store) PendingRecords(ctx context.Context, system, datatype, afterID string, limit int) ([]store.Record, error) {
	out, err := s.listRecords(ctx, `SELECT `+recordCols+` FROM records INDEXED BY records_pending
		WHERE system = ? AND datatype = ? AND pending = 1 AND id > ?
		ORDER BY id LIMIT ?`, system, datatype, afterID, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("pending records %s %s: %w", system, datatype, err)
	}
	return out, nil
}

func (s *Store) RecordsForGoldens(ctx context.Context, goldenIDs []string) (map[string][]store.Record, error) {
	out := make(map[string][]store.Record, len(goldenIDs))
	err := inChunks(dedupe(goldenIDs), func(args []any, marks string) error {
		rows, err := s.query(ctx, `SELECT `+recordCols+` FROM records
			WHERE golden_id IN (`+marks+`) AND golden_id <> ''
			ORDER BY golden_id, system, datatype, id`, args...)
		return scanRecords(rows, err, func(r store.Record) { out[r.GoldenID] = append(out[r.GoldenID], r) })
	})
	if err != nil {
		return nil, fmt.Errorf("records for goldens: %w", err)
	}
	return out, nil
}

// sqlLinkedIDs reads linked ids through the golden-id index. Without
// statistics SQLite takes system = ? AND datatype = ? on the primary key for
// more selective than a long IN list, and would scan the whole datatype for
// every batch.
func sqlLinkedIDs(marks string) string {
	return `SELECT golden_id, id FROM records INDEXED BY records_golden
			WHERE golden_id IN (` + marks + `) AND golden_id <> '' AND system = ? AND datatype = ? AND excluded = 0
			ORDER BY golden_id, id`
}

func (s *Store) LinkedIDs(ctx context.Context, system, datatype string, goldenIDs []string) (map[string][]string, error) {
	out := make(map[string][]string, len(goldenIDs))
	err := inChunks(dedupe(goldenIDs), func(args []any, marks string) error {
		rows, err := s.query(ctx, sqlLinkedIDs(marks), append(args, system, datatype)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var gid, id string
			if err := rows.Scan(&gid, &id); err != nil {
				return err
			}
			out[gid] = append(out[gid], id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("linked ids %s %s: %w", system, datatype, err)
	}
	return out, nil
}

func (s *Store) UnseenRecords(ctx context.Context, system, datatype string, scanGen int64, afterID string, limit int) ([]store.Record, error) {
	out, err := s.listRecords(ctx, `SELECT `+recordCols+` FROM records
		WHERE system = ? AND datatype = ? AND id > ? AND deleted = 0 AND seen_gen < ?
		ORDER BY id LIMIT ?`, system, datatype, afterID, scanGen, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("unseen records %s %s: %w", system, datatype, err)
	}
	return out, nil
}

func (s *Store) ListLinks(ctx context.Context, system, datatype, afterID string, limit int) ([]store.Record, error) {
	var (
		out []store.Record
		err error
	)
	if system == "" && datatype == "" {
		if afterID != "" {
			return nil, errors.New("list links: afterID pages one system datatype; give system and datatype, or no afterID")
		}
		out, err = s.listRecords(ctx, `SELECT `+recordCols+` FROM records
			WHERE golden_id <> '' ORDER BY system, datatype, id LIMIT ?`, pageLimit(limit))
	} else {
		out, err = s.listRecords(ctx, `SELECT `+recordCols+` FROM records
			WHERE system = ? AND datatype = ? AND id > ? AND golden_id <> ''
			ORDER BY id LIMIT ?`, system, datatype, afterID, pageLimit(limit))
	}
	if err != nil {
		return nil, fmt.Errorf("list links %s %s: %w", system, datatype, err)
	}
	return out, nil
}

// checkKey rejects a record whose key names another system datatype than
// the batch it came in; an empty System or Datatype takes the batch's.
func checkKey(k store.Key, system, datatype string) error {
	if (k.System != "" && k.System != system) || (k.Datatype != "" && k.Datatype != datatype) {
		return fmt.Errorf("record %s %s %s in a batch for %s %s", k.System, k.Datatype, k.ID, system, datatype)
	}
	if k.ID == "" {
		return fmt.Errorf("record of %s %s without an id", system, datatype)
	}
	return nil
}

func (s *Store) CommitCollect(ctx context.Context, cb store.CollectBatch) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		b := newBatch(ctx, tx)
		var linkOf map[string]int
		if cb.Merge != nil {
			linkOf = fusedLinks(cb)
		}
		args := make([]any, 0, len(cb.Versions)*s.stmts.upsertVersion.cols)
		var linked []any
		for _, v := range cb.Versions {
			if err := checkKey(v.Key, cb.System, cb.Datatype); err != nil {
				return err
			}
			fields, times, err := b.content(v)
			if err != nil {
				return err
			}
			if i, ok := linkOf[v.ID]; ok {
				l := cb.Merge.Links[i]
				linked = append(linked, cb.System, cb.Datatype, v.ID, v.Hash, fields, times,
					nanos(v.Modified), boolInt(v.Deleted), l.GoldenID, v.Hash, cb.ScanGen, boolInt(l.Excluded))
				continue
			}
			args = append(args, cb.System, cb.Datatype, v.ID, v.Hash, fields, times,
				nanos(v.Modified), boolInt(v.Deleted), cb.ScanGen)
		}
		if err := b.insertRows(&s.stmts.upsertVersion, args); err != nil {
			return err
		}
		// A version that its merge links is stored settled, as a record
		// written is.
		if err := b.insertRows(&s.stmts.writeRecord, linked); err != nil {
			return err
		}
		if err := b.forEach(&s.stmts.markSeen, cb.Seen, cb.ScanGen, cb.System, cb.Datatype); err != nil {
			return err
		}

		if cb.Merge != nil {
			done := make(map[int]bool, len(linkOf))
			for _, i := range linkOf {
				done[i] = true
			}
			if err := b.merge(s, *cb.Merge, done); err != nil {
				return err
			}
		}

		c, err := getCursor(b.stmt(s.stmts.getCursor), ctx, cb.System, cb.Datatype)
		if err != nil {
			return err
		}
		if cb.Cursor != nil {
			c.Value = *cb.Cursor
		}
		c.PageToken = cb.PageToken
		if cb.Done {
			at := b.now
			if !cb.At.IsZero() {
				at = cb.At
			}
			c.Gen++
			c.LastSuccess = at
			if cb.FullScan {
				c.ScanGen = cb.ScanGen
				c.LastScan = at
			}
		}
		return b.exec(s.stmts.putCursor, c.System, c.Datatype, c.Value, c.PageToken, c.Gen,
			c.ScanGen, nanos(c.LastSuccess), nanos(c.LastScan), c.Breaker)
	})
	if err != nil {
		return fmt.Errorf("commit collect %s %s: %w", cb.System, cb.Datatype, err)
	}
	return nil
}

// content encodes a record's fields and field times.
func (b *batch) content(r store.Record) (fields, times string, err error) {
	b.buf, err = appendFields(b.buf[:0], r.Fields)
	if err != nil {
		return "", "", fmt.Errorf("record %s: %w", r.ID, err)
	}
	n := len(b.buf)
	b.buf = appendTimes(b.buf, r.FieldTimes)
	return string(b.buf[:n]), string(b.buf[n:]), nil
}

// fusedLinks finds the links of a collect batch's merge that can be stored
// with their version, as one row: the only link of a record that has
// exactly one version in the batch, settling that version (same hash).
// Storing the version and then applying the link gives the same row. It
// returns, per record id, the index of the link.
func fusedLinks(cb store.CollectBatch) map[string]int {
	type seen struct {
		versions, links int
		hash            string
		link            int
	}
	byID := make(map[string]*seen, len(cb.Versions))
	for _, v := range cb.Versions {
		if e := byID[v.ID]; e != nil {
			e.versions++
		} else {
			byID[v.ID] = &seen{versions: 1, hash: v.Hash}
		}
	}
	for i, l := range cb.Merge.Links {
		if e := byID[l.ID]; e != nil && l.System == cb.System && l.Datatype == cb.Datatype {
			e.links++
			e.link = i
		}
	}
	out := make(map[string]int, len(cb.Merge.Links))
	for id, e := range byID {
		if e.versions == 1 && e.links == 1 && cb.Merge.Links[e.link].Hash == e.hash {
			out[id] = e.link
		}
	}
	return out
}
