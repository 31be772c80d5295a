package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/concordsync/concord/internal/store"
)

func (s *Store) PutIntent(ctx context.Context, in store.Intent) error {
	args, err := intentArgs(nil, nil, in, time.Now())
	if err != nil {
		return fmt.Errorf("put intents: %w", err)
	}
	// One statement commits atomically on its own: no BEGIN and COMMIT.
	if _, err := s.stmts.putIntent.stmts[0].ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("put intent %s for golden %s: %w", in.ID, in.GoldenID, err)
	}
	return nil
}

// PutIntents stores several intents in one transaction.
func (s *Store) PutIntents(ctx context.Context, ins []store.Intent) error {
	if len(ins) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		b := newBatch(ctx, tx)
		args := make([]any, 0, len(ins)*s.stmts.putIntent.cols)
		for _, in := range ins {
			var err error
			if args, err = intentArgs(args, b, in, b.now); err != nil {
				return err
			}
		}
		return b.insertRows(&s.stmts.putIntent, args)
	})
	if err != nil {
		return fmt.Errorf("put intents: %w", err)
	}
	return nil
}

// intentArgs appends the column values of in (sqlIntentCols) to args,
// encoding its fields with b's scratch buffer when b is not nil.
func intentArgs(args []any, b *batch, in store.Intent, now time.Time) ([]any, error) {
	if in.ID == "" {
		return args, fmt.Errorf("put intent for golden %s: empty intent id", in.GoldenID)
	}
	created := in.CreatedAt
	if created.IsZero() {
		created = now
	}
	fields := ""
	if len(in.Fields) > 0 {
		var buf []byte
		if b != nil {
			buf = b.buf[:0]
		}
		buf, err := appendFields(buf, in.Fields)
		if err != nil {
			return args, fmt.Errorf("put intent %s for golden %s: %w", in.ID, in.GoldenID, err)
		}
		fields = string(buf)
		if b != nil {
			b.buf = buf
		}
	}
	return append(args, in.ID, in.GoldenID, in.System, in.Datatype, in.Gen, nanos(created),
		in.Fingerprint, in.RecordID, fields), nil
}

func (s *Store) Intents(ctx context.Context, goldenIDs []string) (map[string][]store.Intent, error) {
	out := map[string][]store.Intent{}
	err := inChunks(dedupe(goldenIDs), func(args []any, marks string) error {
		rows, err := s.query(ctx, `SELECT `+sqlIntentCols+` FROM intents
			WHERE golden_id IN (`+marks+`) ORDER BY golden_id, created_at, id`, args...)
		return scanIntents(rows, err, func(in store.Intent) { out[in.GoldenID] = append(out[in.GoldenID], in) })
	})
	if err != nil {
		return nil, fmt.Errorf("intents: %w", err)
	}
	return out, nil
}

// OpenIntents lists the intents of one system datatype, oldest first. The
// intents table holds only the writes in flight, so it is scanned.
func (s *Store) OpenIntents(ctx context.Context, system, datatype string) ([]store.Intent, error) {
	var out []store.Intent
	rows, err := s.query(ctx, `SELECT `+sqlIntentCols+` FROM intents
		WHERE system = ? AND datatype = ? ORDER BY created_at, id`, system, datatype)
	if err := scanIntents(rows, err, func(in store.Intent) { out = append(out, in) }); err != nil {
		return nil, fmt.Errorf("open intents of %s %s: %w", system, datatype, err)
	}
	return out, nil
}

func scanIntents(rows *sql.Rows, err error, fn func(store.Intent)) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			in      store.Intent
			created int64
			fields  string
		)
		if err := rows.Scan(&in.ID, &in.GoldenID, &in.System, &in.Datatype, &in.Gen, &created,
			&in.Fingerprint, &in.RecordID, &fields); err != nil {
			return err
		}
		if fields != "" {
			if in.Fields, err = decodeFields(fields); err != nil {
				return fmt.Errorf("intent %s: fields: %w", in.ID, err)
			}
		}
		in.CreatedAt = fromNanos(created)
		fn(in)
	}
	return rows.Err()
}
