package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/concordsync/concord/internal/store"
)

// PutIntents stores several intents in one transaction.
func (s *Store) PutIntents(ctx context.Context, ins []store.Intent) error {
	if len(ins) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		st := tx.StmtContext(ctx, s.stmts.putIntent)
		for _, in := range ins {
			if in.ID == "" {
				return fmt.Errorf("put intent for golden %s: empty intent id", in.GoldenID)
			}
			created := in.CreatedAt
			if created.IsZero() {
				created = time.Now()
			}
			if _, err := st.ExecContext(ctx, in.ID, in.GoldenID, in.System, in.Datatype, in.Gen, nanos(created), in.Fingerprint, in.RecordID, intentFields(in.Fields)); err != nil {
				return fmt.Errorf("put intent %s for golden %s: %w", in.ID, in.GoldenID, err)
			}
		}
		return nil
	})
}

// OpenIntents lists the intents of one system datatype, oldest first.
func (s *Store) OpenIntents(ctx context.Context, system, datatype string) ([]store.Intent, error) {
	rows, err := s.query(ctx, `SELECT `+sqlIntentCols+` FROM intents
		WHERE system = ? AND datatype = ? ORDER BY created_at, id`, system, datatype)
	if err != nil {
		return nil, fmt.Errorf("open intents of %s:%s: %w", system, datatype, err)
	}
	defer rows.Close()
	var out []store.Intent
	for rows.Next() {
		var in store.Intent
		var created int64
		var fields string
		if err := rows.Scan(&in.ID, &in.GoldenID, &in.System, &in.Datatype, &in.Gen, &created, &in.Fingerprint, &in.RecordID, &fields); err != nil {
			return nil, err
		}
		if in.Fields, err = decodeIntentFields(fields); err != nil {
			return nil, err
		}
		in.CreatedAt = fromNanos(created)
		out = append(out, in)
	}
	return out, rows.Err()
}

func intentFields(f map[string]any) string {
	if len(f) == 0 {
		return ""
	}
	b, err := json.Marshal(f)
	if err != nil {
		return ""
	}
	return string(b)
}

func decodeIntentFields(s string) (map[string]any, error) {
	if s == "" {
		return nil, nil
	}
	return decodeFields(s)
}
