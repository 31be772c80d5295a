package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/concordsync/concord/internal/store"
)

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
