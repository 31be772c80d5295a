package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/concordsync/concord/internal/store"
)

func (s *Store) PutIntent(ctx context.Context, in store.Intent) error {
	if in.ID == "" {
		return fmt.Errorf("put intent for golden %s: empty intent id", in.GoldenID)
	}
	created := in.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	// One statement commits atomically on its own; no BEGIN/COMMIT needed.
	if _, err := s.stmts.putIntent.ExecContext(ctx, in.ID, in.GoldenID, in.System, in.Datatype, in.Gen, nanos(created), in.Fingerprint, in.RecordID, intentFields(in.Fields)); err != nil {
		return fmt.Errorf("put intent %s for golden %s: %w", in.ID, in.GoldenID, err)
	}
	return nil
}

func (s *Store) Intents(ctx context.Context, goldenIDs []string) (map[string][]store.Intent, error) {
	out := map[string][]store.Intent{}
	err := inChunks(dedupe(goldenIDs), func(args []any, marks string) error {
		rows, err := s.query(ctx, `SELECT `+sqlIntentCols+` FROM intents
			WHERE golden_id IN (`+marks+`) ORDER BY golden_id, created_at, id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var in store.Intent
			var created int64
			var fields string
			if err := rows.Scan(&in.ID, &in.GoldenID, &in.System, &in.Datatype, &in.Gen, &created, &in.Fingerprint, &in.RecordID, &fields); err != nil {
				return err
			}
			if in.Fields, err = decodeIntentFields(fields); err != nil {
				return err
			}
			in.CreatedAt = fromNanos(created)
			out[in.GoldenID] = append(out[in.GoldenID], in)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("intents: %w", err)
	}
	return out, nil
}

func (s *Store) CommitShare(ctx context.Context, sb store.ShareBatch) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		b := newBatch(ctx, tx)
		args := make([]any, 0, len(sb.Written)*s.stmts.writeRecord.cols)
		for _, r := range sb.Written {
			if r.System == "" || r.Datatype == "" || r.ID == "" {
				return fmt.Errorf("written record %q %q %q: system, datatype and id are required", r.System, r.Datatype, r.ID)
			}
			fields, times, err := b.content(r)
			if err != nil {
				return fmt.Errorf("record %s %s: %w", r.System, r.Datatype, err)
			}
			args = append(args, r.System, r.Datatype, r.ID, r.Hash, fields, times, nanos(r.Modified),
				boolInt(r.Deleted), r.GoldenID, r.Hash, r.SeenGen, boolInt(r.Excluded))
		}
		if err := b.insertRows(&s.stmts.writeRecord, args); err != nil {
			return err
		}
		for _, k := range sb.Unlinked {
			if err := b.exec(s.stmts.unlink, k.System, k.Datatype, k.ID); err != nil {
				return err
			}
		}
		if err := b.forEach(&s.stmts.clean, sb.Clean); err != nil {
			return err
		}
		if err := b.forEach(&s.stmts.deleteIntent, sb.IntentsDone); err != nil {
			return err
		}
		if err := b.events(s, sb.Events); err != nil {
			return err
		}
		return b.deadLetters(s, sb.DeadLetters, sb.Cleared)
	})
	if err != nil {
		return fmt.Errorf("commit share: %w", err)
	}
	return nil
}
