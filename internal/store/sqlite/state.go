package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/concordsync/concord/internal/store"
)

// getCursor reads one cursor with st (sqlGetCursor); a zero Cursor naming
// the system datatype when there is none.
func getCursor(st *sql.Stmt, ctx context.Context, system, datatype string) (store.Cursor, error) {
	c := store.Cursor{System: system, Datatype: datatype}
	var lastSuccess, lastScan int64
	err := st.QueryRowContext(ctx, system, datatype).Scan(&c.System, &c.Datatype, &c.Value, &c.PageToken,
		&c.Gen, &c.ScanGen, &lastSuccess, &lastScan, &c.Breaker)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	c.LastSuccess = fromNanos(lastSuccess)
	c.LastScan = fromNanos(lastScan)
	return c, nil
}

func (s *Store) GetCursor(ctx context.Context, system, datatype string) (store.Cursor, error) {
	st, err := s.readStmt(ctx, sqlGetCursor)
	if err == nil {
		var c store.Cursor
		if c, err = getCursor(st, ctx, system, datatype); err == nil {
			return c, nil
		}
	}
	return store.Cursor{}, fmt.Errorf("get cursor %s %s: %w", system, datatype, err)
}

func (s *Store) SetBreaker(ctx context.Context, system, datatype, reason string) error {
	if _, err := s.stmts.setBreaker.ExecContext(ctx, system, datatype, reason); err != nil {
		return fmt.Errorf("set breaker %s %s: %w", system, datatype, err)
	}
	return nil
}

func scanDeadLetters(rows *sql.Rows, err error, fn func(store.DeadLetter)) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			d                   store.DeadLetter
			parked, first, last int64
		)
		if err := rows.Scan(&d.System, &d.Datatype, &d.Stage, &d.Ref, &d.Reason, &d.Attempts,
			&parked, &first, &last); err != nil {
			return err
		}
		d.Parked = parked != 0
		d.First = fromNanos(first)
		d.Last = fromNanos(last)
		fn(d)
	}
	return rows.Err()
}

func (s *Store) DeadLetters(ctx context.Context, system, datatype string) ([]store.DeadLetter, error) {
	var (
		out  []store.DeadLetter
		rows *sql.Rows
		err  error
	)
	if system == "" && datatype == "" {
		rows, err = s.query(ctx, `SELECT `+sqlDeadCols+` FROM dead_letters
			ORDER BY system, datatype, stage, ref`)
	} else {
		rows, err = s.query(ctx, `SELECT `+sqlDeadCols+` FROM dead_letters
			WHERE system = ? AND datatype = ? ORDER BY stage, ref`, system, datatype)
	}
	if err := scanDeadLetters(rows, err, func(d store.DeadLetter) { out = append(out, d) }); err != nil {
		return nil, fmt.Errorf("dead letters %s %s: %w", system, datatype, err)
	}
	return out, nil
}

func (s *Store) GetDeadLetters(ctx context.Context, system, datatype, stage string, refs []string) (map[string]store.DeadLetter, error) {
	out := map[string]store.DeadLetter{}
	refs = dedupe(refs)
	if len(refs) > 1 {
		// Dead letters are few: one seek usually shows there are none at
		// this stage, which spares a seek per ref (the engine asks for
		// every record and golden record of every batch).
		st, err := s.readStmt(ctx, `SELECT EXISTS (SELECT 1 FROM dead_letters
			WHERE system = ? AND datatype = ? AND stage = ?)`)
		var some bool
		if err == nil {
			err = st.QueryRowContext(ctx, system, datatype, stage).Scan(&some)
		}
		if err != nil {
			return nil, fmt.Errorf("get dead letters %s %s %s: %w", system, datatype, stage, err)
		}
		if !some {
			return out, nil
		}
	}
	err := inChunks(refs, func(args []any, marks string) error {
		rows, err := s.query(ctx, `SELECT `+sqlDeadCols+` FROM dead_letters
			WHERE system = ? AND datatype = ? AND stage = ? AND ref IN (`+marks+`)`,
			append([]any{system, datatype, stage}, args...)...)
		return scanDeadLetters(rows, err, func(d store.DeadLetter) { out[d.Ref] = d })
	})
	if err != nil {
		return nil, fmt.Errorf("get dead letters %s %s %s: %w", system, datatype, stage, err)
	}
	return out, nil
}

const eventCols = `seq, at, golden_id, system, datatype, record_id, action, detail, props`

func (s *Store) events(ctx context.Context, query string, args ...any) ([]store.Event, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var (
			e     store.Event
			at    int64
			props string
		)
		if err := rows.Scan(&e.Seq, &at, &e.GoldenID, &e.System, &e.Datatype, &e.ID, &e.Action,
			&e.Detail, &props); err != nil {
			return nil, err
		}
		e.At = fromNanos(at)
		if e.Props, err = decodeDecisions(props); err != nil {
			return nil, fmt.Errorf("event %d: %w", e.Seq, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) EventsForGolden(ctx context.Context, goldenID string) ([]store.Event, error) {
	out, err := s.events(ctx, `SELECT `+eventCols+` FROM events WHERE golden_id = ? ORDER BY seq`, goldenID)
	if err != nil {
		return nil, fmt.Errorf("events for golden %s: %w", goldenID, err)
	}
	return out, nil
}

func (s *Store) EventsForRecord(ctx context.Context, k store.Key) ([]store.Event, error) {
	out, err := s.events(ctx, `SELECT `+eventCols+` FROM events
		WHERE system = ? AND datatype = ? AND record_id = ? ORDER BY seq`, k.System, k.Datatype, k.ID)
	if err != nil {
		return nil, fmt.Errorf("events for record %s %s %s: %w", k.System, k.Datatype, k.ID, err)
	}
	return out, nil
}

// sqlStatus counts per system datatype. Every source of a system datatype
// counts: one that only has intents or dead letters so far is shown too.
const sqlStatus = `
WITH
  r AS (SELECT system, datatype, count(*) AS n, sum(deleted) AS deleted,
               sum(golden_id <> '' AND deleted = 0) AS linked
        FROM records GROUP BY system, datatype),
  p AS (SELECT system, datatype, count(*) AS n
        FROM records INDEXED BY records_pending WHERE pending = 1 GROUP BY system, datatype),
  i AS (SELECT system, datatype, count(*) AS n FROM intents WHERE record_id = '' GROUP BY system, datatype),
  d AS (SELECT system, datatype, sum(parked) AS n FROM dead_letters GROUP BY system, datatype),
  k AS (SELECT system, datatype FROM r
        UNION SELECT system, datatype FROM cursors
        UNION SELECT system, datatype FROM i
        UNION SELECT system, datatype FROM d)
SELECT k.system, k.datatype, coalesce(r.n, 0), coalesce(r.deleted, 0), coalesce(r.linked, 0), coalesce(p.n, 0),
       coalesce(i.n, 0), coalesce(d.n, 0), coalesce(c.last_success, 0), coalesce(c.breaker, '')
FROM k
LEFT JOIN r ON r.system = k.system AND r.datatype = k.datatype
LEFT JOIN p ON p.system = k.system AND p.datatype = k.datatype
LEFT JOIN i ON i.system = k.system AND i.datatype = k.datatype
LEFT JOIN d ON d.system = k.system AND d.datatype = k.datatype
LEFT JOIN cursors c ON c.system = k.system AND c.datatype = k.datatype
ORDER BY k.system, k.datatype`

func (s *Store) Status(ctx context.Context) ([]store.DatatypeStatus, error) {
	rows, err := s.query(ctx, sqlStatus)
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	defer rows.Close()
	var out []store.DatatypeStatus
	for rows.Next() {
		var (
			st          store.DatatypeStatus
			lastSuccess int64
		)
		if err := rows.Scan(&st.System, &st.Datatype, &st.Records, &st.Deleted, &st.Linked, &st.Pending,
			&st.PendingInserts, &st.DeadLetters, &lastSuccess, &st.Breaker); err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		st.LastSuccess = fromNanos(lastSuccess)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	return out, nil
}
