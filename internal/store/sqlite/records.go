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
		args := make([]any, 0, len(cb.Versions)*s.stmts.upsertVersion.cols)
		for _, v := range cb.Versions {
			if err := checkKey(v.Key, cb.System, cb.Datatype); err != nil {
				return err
			}
			fields, times, err := b.content(v)
			if err != nil {
				return err
			}
			args = append(args, cb.System, cb.Datatype, v.ID, v.Hash, fields, times,
				nanos(v.Modified), boolInt(v.Deleted), cb.ScanGen)
		}
		if err := b.insertRows(&s.stmts.upsertVersion, args); err != nil {
			return err
		}
		if err := b.forEach(&s.stmts.markSeen, cb.Seen, cb.ScanGen, cb.System, cb.Datatype); err != nil {
			return err
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
