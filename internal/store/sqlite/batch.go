package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"time"

	"github.com/concordsync/concord/internal/store"
)

// batch runs the rows of one commit inside its transaction.
//
// Rows execute under a context that cannot be cancelled: the driver starts
// a watcher goroutine for every statement whose context can be, which costs
// more than a small insert itself. Cancellation is still honoured: the
// transaction was begun with the caller's context (database/sql rolls it
// back when that ends) and exec checks it every few hundred rows.
type batch struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts map[*sql.Stmt]*sql.Stmt
	rows  int
	buf   []byte // JSON scratch, reused across rows
	now   time.Time
}

func newBatch(ctx context.Context, tx *sql.Tx) *batch {
	return &batch{ctx: ctx, tx: tx, stmts: map[*sql.Stmt]*sql.Stmt{}, buf: make([]byte, 0, 1024), now: time.Now()}
}

func (b *batch) stmt(st *sql.Stmt) *sql.Stmt {
	if t, ok := b.stmts[st]; ok {
		return t
	}
	t := b.tx.Stmt(st)
	b.stmts[st] = t
	return t
}

func (b *batch) exec(st *sql.Stmt, args ...any) error {
	b.rows++
	if b.rows%256 == 0 {
		if err := b.ctx.Err(); err != nil {
			return err
		}
	}
	_, err := b.stmt(st).ExecContext(context.Background(), args...)
	return err
}

// insertRows runs m for the rows in args (m.cols values per row), up to
// maxRows rows per statement, in order.
func (b *batch) insertRows(m *multiRow, args []any) error {
	if len(args)%m.cols != 0 {
		return fmt.Errorf("internal error: %d values for rows of %d columns", len(args), m.cols)
	}
	for len(args) > 0 {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		rows := min(len(args)/m.cols, maxRows)
		i := bits.Len(uint(rows)) - 1 // the largest power of two <= rows
		n := (1 << i) * m.cols
		if _, err := b.stmt(m.stmts[i]).ExecContext(context.Background(), args[:n]...); err != nil {
			return err
		}
		args = args[n:]
	}
	return nil
}

// forEach runs l for the set ids (repeats and "" dropped), after the
// leading arguments lead.
func (b *batch) forEach(l *inList, ids []string, lead ...any) error {
	return inChunks(dedupe(ids), func(args []any, _ string) error {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		_, err := b.stmt(l.stmts[len(args)]).ExecContext(context.Background(), append(lead, args...)...)
		return err
	})
}

// events inserts history entries; the store assigns Seq.
func (b *batch) events(s *Store, evs []store.Event) error {
	if len(evs) == 0 {
		return nil
	}
	args := make([]any, 0, len(evs)*s.stmts.insertEvent.cols)
	for _, e := range evs {
		var err error
		b.buf, err = appendDecisions(b.buf[:0], e.Props)
		if err != nil {
			return fmt.Errorf("event %s of %s: %w", e.Action, e.GoldenID, err)
		}
		at := e.At
		if at.IsZero() {
			at = b.now
		}
		args = append(args, nanos(at), e.GoldenID, e.System, e.Datatype, e.ID, e.Action, e.Detail, string(b.buf))
	}
	return b.insertRows(&s.stmts.insertEvent, args)
}

// deadLetters upserts dls and removes cleared.
func (b *batch) deadLetters(s *Store, dls, cleared []store.DeadLetter) error {
	for _, d := range dls {
		if err := b.exec(s.stmts.putDead, d.System, d.Datatype, d.Stage, d.Ref, d.Reason,
			d.Attempts, boolInt(d.Parked), nanos(d.First), nanos(d.Last)); err != nil {
			return err
		}
	}
	for _, d := range cleared {
		if err := b.exec(s.stmts.clearDead, d.System, d.Datatype, d.Stage, d.Ref); err != nil {
			return err
		}
	}
	return nil
}
