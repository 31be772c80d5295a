package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// writeStmts are the statements of the batch commits, prepared once on the
// writer connection and bound to each transaction with tx.Stmt, which reuses
// the prepared handle. (They cannot be prepared lazily: a transaction holds
// the only writer connection, and preparing needs one.)
type writeStmts struct {
	upsertVersion multiRow
	markSeen      inList
	getCursor     *sql.Stmt
	putCursor     *sql.Stmt
	setBreaker    *sql.Stmt

	upsertGolden multiRow
	link         *sql.Stmt
	deleteKeys   inList
	insertKey    multiRow
	insertEvent  multiRow
	putDead      *sql.Stmt
	clearDead    *sql.Stmt

	writeRecord  multiRow
	unlink       *sql.Stmt
	clean        inList
	putIntent    multiRow
	deleteIntent inList
}

// maxRows is the most rows one multi-row INSERT takes. Binding and
// stepping a statement per row costs about a microsecond of driver overhead
// on top of SQLite's own work; 64 rows of at most 13 columns stay below the
// 999 variables old SQLite builds allow.
const maxRows = 64

// multiRow is an INSERT with one VALUES list per row, prepared for every
// power of two up to maxRows rows; n rows run as the binary decomposition of
// n. Rows are inserted in order, so a later row with the same key wins.
type multiRow struct {
	cols  int
	stmts [7]*sql.Stmt // 1, 2, 4, … 64 rows
}

func (m *multiRow) prepare(ctx context.Context, db *sql.DB, head, row, tail string) error {
	m.cols = strings.Count(row, "?")
	for i := range m.stmts {
		n := 1 << i
		q := head + strings.TrimSuffix(strings.Repeat(row+",", n), ",") + tail
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", head+row+tail, err)
		}
		m.stmts[i] = st
	}
	return nil
}

func (m *multiRow) close() {
	for _, st := range m.stmts {
		if st != nil {
			st.Close()
		}
	}
}

// inList is a statement that applies to a set of keys, "… IN (?, …)",
// prepared for every chunk class (see chunkClass), so that a set costs one
// statement per chunkSize keys instead of one per key. The leading
// arguments, if any, come before the list.
type inList struct {
	stmts map[int]*sql.Stmt // by class
}

func (l *inList) prepare(ctx context.Context, db *sql.DB, query string) error {
	l.stmts = map[int]*sql.Stmt{}
	for class := 1; ; class = min(class*2, chunkSize) {
		st, err := db.PrepareContext(ctx, strings.Replace(query, "(…)", "("+placeholders(class)+")", 1))
		if err != nil {
			return fmt.Errorf("prepare %q: %w", query, err)
		}
		l.stmts[class] = st
		if class == chunkSize {
			return nil
		}
	}
}

func (l *inList) close() {
	for _, st := range l.stmts {
		st.Close()
	}
}

const (
	// A new version replaces the content columns and leaves the link
	// columns (golden_id, based_on, excluded) as they are. A seen_gen of 0
	// (not a full scan) keeps the stored one.
	sqlUpsertVersionHead = `INSERT INTO records
		(system, datatype, id, hash, fields, field_times, modified, deleted, pending, seen_gen) VALUES `
	sqlUpsertVersionRow  = `(?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`
	sqlUpsertVersionTail = ` ON CONFLICT (system, datatype, id) DO UPDATE SET
			hash = excluded.hash,
			fields = excluded.fields,
			field_times = excluded.field_times,
			modified = excluded.modified,
			deleted = excluded.deleted,
			pending = 1,
			seen_gen = CASE WHEN excluded.seen_gen > 0 THEN excluded.seen_gen ELSE records.seen_gen END`

	sqlMarkSeen = `UPDATE records SET seen_gen = ? WHERE system = ? AND datatype = ? AND id IN (…)`

	sqlCursorCols = `system, datatype, value, page_token, gen, scan_gen, last_success, last_scan, breaker`
	sqlGetCursor  = `SELECT ` + sqlCursorCols + ` FROM cursors WHERE system = ? AND datatype = ?`
	sqlPutCursor  = `INSERT OR REPLACE INTO cursors (` + sqlCursorCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlSetBreaker = `INSERT INTO cursors (system, datatype, breaker) VALUES (?1, ?2, ?3)
		ON CONFLICT (system, datatype) DO UPDATE SET breaker = ?3`

	sqlUpsertGoldenHead = `INSERT INTO goldens (id, type, props, prov, deleted, dirty, updated) VALUES `
	sqlUpsertGoldenRow  = `(?, ?, ?, ?, ?, ?, ?)`
	sqlUpsertGoldenTail = ` ON CONFLICT (id) DO UPDATE SET
			type = excluded.type,
			props = excluded.props,
			prov = excluded.prov,
			deleted = excluded.deleted,
			dirty = excluded.dirty,
			updated = excluded.updated`

	// A link always sets the golden id; it settles the version (based_on,
	// pending) only if the stored version is still the one that was merged.
	sqlLink = `UPDATE records SET
			golden_id = ?4,
			excluded = ?5,
			based_on = CASE WHEN hash = ?6 THEN ?6 ELSE based_on END,
			pending = CASE WHEN hash = ?6 THEN 0 ELSE pending END
		WHERE system = ?1 AND datatype = ?2 AND id = ?3`

	sqlDeleteKeys    = `DELETE FROM match_keys WHERE golden_id IN (…)`
	sqlInsertKeyHead = `INSERT OR IGNORE INTO match_keys (type, name, value, golden_id) VALUES `
	sqlInsertKeyRow  = `(?, ?, ?, ?)`

	sqlInsertEventHead = `INSERT INTO events (at, golden_id, system, datatype, record_id, action, detail, props) VALUES `
	sqlInsertEventRow  = `(?, ?, ?, ?, ?, ?, ?, ?)`

	sqlDeadCols  = `system, datatype, stage, ref, reason, attempts, parked, first, last`
	sqlPutDead   = `INSERT OR REPLACE INTO dead_letters (` + sqlDeadCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlClearDead = `DELETE FROM dead_letters WHERE system = ? AND datatype = ? AND stage = ? AND ref = ?`

	// A record stored whole, settled and linked: a record written, or a
	// version stored with the link of its merge (the row a version upsert
	// followed by that link leaves). seen_gen never goes down: a write
	// during a full scan must not make a record the scan already listed
	// look missing, and a version's scan generation is the newest one.
	sqlWriteRecordHead = `INSERT INTO records
		(system, datatype, id, hash, fields, field_times, modified, deleted, golden_id, based_on, pending, seen_gen, excluded) VALUES `
	sqlWriteRecordRow  = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`
	sqlWriteRecordTail = ` ON CONFLICT (system, datatype, id) DO UPDATE SET
			hash = excluded.hash,
			fields = excluded.fields,
			field_times = excluded.field_times,
			modified = excluded.modified,
			deleted = excluded.deleted,
			golden_id = excluded.golden_id,
			based_on = excluded.based_on,
			pending = 0,
			seen_gen = max(records.seen_gen, excluded.seen_gen),
			excluded = excluded.excluded`

	sqlUnlink        = `UPDATE records SET golden_id = '' WHERE system = ? AND datatype = ? AND id = ?`
	sqlClean         = `UPDATE goldens SET dirty = 0 WHERE id IN (…)`
	sqlIntentCols    = `id, golden_id, system, datatype, gen, created_at, fingerprint, record_id, fields`
	sqlPutIntentHead = `INSERT OR REPLACE INTO intents (` + sqlIntentCols + `) VALUES `
	sqlPutIntentRow  = `(?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlDeleteIntent  = `DELETE FROM intents WHERE id IN (…)`
)

func (s *Store) prepare(ctx context.Context) error {
	for _, m := range []struct {
		dst             *multiRow
		head, row, tail string
	}{
		{&s.stmts.upsertVersion, sqlUpsertVersionHead, sqlUpsertVersionRow, sqlUpsertVersionTail},
		{&s.stmts.upsertGolden, sqlUpsertGoldenHead, sqlUpsertGoldenRow, sqlUpsertGoldenTail},
		{&s.stmts.insertKey, sqlInsertKeyHead, sqlInsertKeyRow, ""},
		{&s.stmts.insertEvent, sqlInsertEventHead, sqlInsertEventRow, ""},
		{&s.stmts.writeRecord, sqlWriteRecordHead, sqlWriteRecordRow, sqlWriteRecordTail},
		{&s.stmts.putIntent, sqlPutIntentHead, sqlPutIntentRow, ""},
	} {
		if err := m.dst.prepare(ctx, s.w, m.head, m.row, m.tail); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		dst *inList
		sql string
	}{
		{&s.stmts.markSeen, sqlMarkSeen},
		{&s.stmts.deleteKeys, sqlDeleteKeys},
		{&s.stmts.clean, sqlClean},
		{&s.stmts.deleteIntent, sqlDeleteIntent},
	} {
		if err := l.dst.prepare(ctx, s.w, l.sql); err != nil {
			return err
		}
	}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.stmts.getCursor, sqlGetCursor},
		{&s.stmts.putCursor, sqlPutCursor},
		{&s.stmts.setBreaker, sqlSetBreaker},
		{&s.stmts.link, sqlLink},
		{&s.stmts.putDead, sqlPutDead},
		{&s.stmts.clearDead, sqlClearDead},
		{&s.stmts.unlink, sqlUnlink},
	} {
		st, err := s.w.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.dst = st
	}
	return nil
}

func (w *writeStmts) close() {
	for _, m := range []*multiRow{&w.upsertVersion, &w.upsertGolden, &w.insertKey, &w.insertEvent, &w.writeRecord, &w.putIntent} {
		m.close()
	}
	for _, l := range []*inList{&w.markSeen, &w.deleteKeys, &w.clean, &w.deleteIntent} {
		l.close()
	}
	for _, st := range []*sql.Stmt{
		w.getCursor, w.putCursor, w.setBreaker, w.link,
		w.putDead, w.clearDead, w.unlink,
	} {
		if st != nil {
			st.Close()
		}
	}
}
