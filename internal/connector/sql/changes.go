package sqlconn

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// changeTable is a datatype's change log: one row per insert, update or
// delete of a row of the table, numbered by a sequence, written by
// triggers on the table (so every writer's changes are in it, and deletes
// too). Its columns:
//
//	seq         the sequence (identity / AUTO_INCREMENT / AUTOINCREMENT)
//	row_id      the changed row's key, as text
//	changed_at  the database's time of the change (UTC)
type changeTable struct {
	name   string // quoted, qualified
	plain  string // as configured
	atText bool   // changed_at is text (SQLite)
}

// maxTriggerName is the longest name the connector gives a trigger or
// function (PostgreSQL cuts names at 63 bytes).
const maxTriggerName = 60

// changeTable checks a datatype's change table. One that is missing is
// made (with create: true) by ensureChangeTable, once every datatype of the
// system checked out: an open that fails changes nothing.
func (c *Conn) changeTable(ctx context.Context, cat *catalog, dt *datatype) (*changeTable, error) {
	cfg := dt.cfg.ChangeTable
	path := "datatypes." + dt.name + ".change_table"
	ct := &changeTable{name: c.d.qualified(c.cfg.Schema, cfg.Name), plain: cfg.Name, atText: c.d.driver == DriverSQLite}
	if len(cfg.Name)+4 > maxTriggerName {
		return nil, fmt.Errorf("setting %s.name: %q is too long for the names of its triggers; use at most %d characters", path, cfg.Name, maxTriggerName-4)
	}
	existing, err := cat.table(ctx, cfg.Name)
	if err != nil {
		return nil, c.classify(err)
	}
	if existing == nil && !cfg.Create {
		return nil, fmt.Errorf("setting %s: there is no change table %q; set change_table: {create: true} to let the connector create it and its triggers, or create it as docs/adr/0011-sql-connector.md shows", path, cfg.Name)
	}
	if existing != nil {
		if err := checkChangeColumns(path, existing); err != nil {
			return nil, err
		}
	}
	return ct, nil
}

func checkChangeColumns(path string, t *table) error {
	for _, col := range []string{"seq", "row_id", "changed_at"} {
		if t.by[col] == nil {
			return fmt.Errorf("setting %s: change table %q has no column %q (it has: %s); it needs seq, row_id and changed_at", path, t.name, col, t.names())
		}
	}
	return nil
}

// ensureChangeTable makes a change table and its triggers where they are
// missing (change_table: {create: true}).
func (c *Conn) ensureChangeTable(ctx context.Context, cat *catalog, dt *datatype) error {
	path := "datatypes." + dt.name + ".change_table"
	if err := c.createChangeTable(ctx, dt.changes, dt.cfg.Table, dt.id); err != nil {
		return fmt.Errorf("setting %s: create change table %q and its triggers: %w", path, dt.changes.plain, c.classify(err))
	}
	t, err := cat.table(ctx, dt.changes.plain)
	if err != nil {
		return c.classify(err)
	}
	if t == nil {
		return fmt.Errorf("setting %s: change table %q was created but cannot be read", path, dt.changes.plain)
	}
	return checkChangeColumns(path, t)
}

// createChangeTable makes the change table and the triggers that fill it,
// where they are missing.
func (c *Conn) createChangeTable(ctx context.Context, ct *changeTable, table string, id *column) error {
	q := c.d.quote
	name := ct.plain
	trg := func(suffix string) string { return c.d.qualified(c.cfg.Schema, name+suffix) }
	target := c.d.qualified(c.cfg.Schema, table)
	var stmts []string
	switch c.d.driver {
	case DriverPostgres:
		stmts = []string{
			`CREATE TABLE IF NOT EXISTS ` + ct.name + ` (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
				row_id text NOT NULL, changed_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
			`CREATE INDEX IF NOT EXISTS ` + q(name+"_at") + ` ON ` + ct.name + ` (changed_at)`,
			`CREATE INDEX IF NOT EXISTS ` + q(name+"_row") + ` ON ` + ct.name + ` (row_id)`,
			`CREATE OR REPLACE FUNCTION ` + trg("_fn") + `() RETURNS trigger LANGUAGE plpgsql AS $concord$
BEGIN
	IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.` + q(id.name) + ` IS DISTINCT FROM NEW.` + q(id.name) + `) THEN
		INSERT INTO ` + ct.name + ` (row_id) VALUES (OLD.` + q(id.name) + `::text);
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO ` + ct.name + ` (row_id) VALUES (NEW.` + q(id.name) + `::text);
	END IF;
	RETURN NULL;
END $concord$`,
		}
		var exists bool
		if err := c.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
			JOIN pg_namespace n ON n.oid = r.relnamespace
			WHERE t.tgname = $1 AND r.relname = $2 AND n.nspname = COALESCE(NULLIF($3, ''), current_schema()))`,
			name+"_trg", table, c.cfg.Schema).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			stmts = append(stmts, `CREATE TRIGGER `+q(name+"_trg")+` AFTER INSERT OR UPDATE OR DELETE ON `+target+
				` FOR EACH ROW EXECUTE FUNCTION `+trg("_fn")+`()`)
		}
	case DriverMySQL:
		stmts = []string{
			`CREATE TABLE IF NOT EXISTS ` + ct.name + ` (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
				row_id VARCHAR(255) NOT NULL, changed_at DATETIME(6) NOT NULL,
				INDEX ` + q(name+"_at") + ` (changed_at), INDEX ` + q(name+"_row") + ` (row_id))`,
		}
		rows, err := c.db.QueryContext(ctx, `SELECT TRIGGER_NAME FROM information_schema.TRIGGERS
			WHERE TRIGGER_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND EVENT_OBJECT_TABLE = ?`, c.cfg.Schema, table)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			have[n] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		log := func(ref string) string {
			return `INSERT INTO ` + ct.name + ` (row_id, changed_at) VALUES (` + ref + `.` + q(id.name) + `, UTC_TIMESTAMP(6))`
		}
		for _, t := range []struct{ suffix, event, body string }{
			{"_ins", "INSERT", log("NEW")},
			{"_upd", "UPDATE", `BEGIN IF NOT (OLD.` + q(id.name) + ` <=> NEW.` + q(id.name) + `) THEN ` + log("OLD") + `; END IF; ` + log("NEW") + `; END`},
			{"_del", "DELETE", log("OLD")},
		} {
			if !have[name+t.suffix] {
				stmts = append(stmts, `CREATE TRIGGER `+trg(t.suffix)+` AFTER `+t.event+` ON `+target+` FOR EACH ROW `+t.body)
			}
		}
	default:
		log := func(ref string) string {
			return `INSERT INTO ` + ct.name + ` (row_id) VALUES (` + ref + `.` + q(id.name) + `);`
		}
		stmts = []string{
			`CREATE TABLE IF NOT EXISTS ` + ct.name + ` (seq INTEGER PRIMARY KEY AUTOINCREMENT,
				row_id TEXT NOT NULL, changed_at TEXT NOT NULL DEFAULT (` + sqliteNow + `))`,
			`CREATE INDEX IF NOT EXISTS ` + q(name+"_at") + ` ON ` + ct.name + ` (changed_at)`,
			`CREATE INDEX IF NOT EXISTS ` + q(name+"_row") + ` ON ` + ct.name + ` (row_id)`,
			`CREATE TRIGGER IF NOT EXISTS ` + q(name+"_ins") + ` AFTER INSERT ON ` + target + ` BEGIN ` + log("NEW") + ` END`,
			`CREATE TRIGGER IF NOT EXISTS ` + q(name+"_upd") + ` AFTER UPDATE ON ` + target + ` BEGIN ` +
				`INSERT INTO ` + ct.name + ` (row_id) SELECT OLD.` + q(id.name) + ` WHERE OLD.` + q(id.name) + ` IS NOT NEW.` + q(id.name) + `; ` +
				log("NEW") + ` END`,
			`CREATE TRIGGER IF NOT EXISTS ` + q(name+"_del") + ` AFTER DELETE ON ` + target + ` BEGIN ` + log("OLD") + ` END`,
		}
	}
	for _, s := range stmts {
		if _, err := c.db.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func changesCursor(seq int64, at time.Time) string {
	return changesPrefix + strconv.FormatInt(seq, 10) + ":" + at.UTC().Format(time.RFC3339Nano)
}

// changesFrom reads a change_table cursor; ok is false for "from the
// beginning".
func (c *Conn) changesFrom(cursor string) (seq int64, at time.Time, ok bool) {
	rest, isChanges := strings.CutPrefix(cursor, changesPrefix)
	if !isChanges {
		if cursor != "" {
			c.log.Warn("listing from the beginning: the cursor is not a change_table position", "cursor", cursor)
		}
		return 0, time.Time{}, false
	}
	s, t, _ := strings.Cut(rest, ":")
	n, err1 := strconv.ParseInt(s, 10, 64)
	at, err2 := time.Parse(time.RFC3339Nano, t)
	if err1 != nil || err2 != nil {
		c.log.Warn("listing from the beginning: the cursor does not parse", "cursor", cursor)
		return 0, time.Time{}, false
	}
	return n, at, true
}

func (c *Conn) maxSeq(ctx context.Context, dt *datatype) (int64, error) {
	var n sql.NullInt64
	if err := c.db.QueryRowContext(ctx, "SELECT MAX(seq) FROM "+dt.changes.name).Scan(&n); err != nil {
		return 0, c.classify(err)
	}
	return n.Int64, nil
}

// listChanges lists the rows changed after the cursor's sequence number,
// and those logged within the overlap before its time (a change numbered
// before the cursor may commit after it was read), in sequence order, up
// to the last change logged when the listing began. Rows gone from the
// table, or soft-deleted, are tombstones.
func (c *Conn) listChanges(ctx context.Context, dt *datatype, cursor string, tok pageToken, first bool) (connector.Page, error) {
	if first {
		var err error
		if tok.Start, err = c.now(ctx); err != nil {
			return connector.Page{}, err
		}
		if tok.Cap, err = c.maxSeq(ctx, dt); err != nil {
			return connector.Page{}, err
		}
		tok.Low = 0
		if seq, at, ok := c.changesFrom(cursor); ok && seq <= tok.Cap {
			tok.Low = seq
			a := &args{d: c.d}
			var since sql.NullInt64
			err := c.db.QueryRowContext(ctx, "SELECT MIN(seq) FROM "+dt.changes.name+" WHERE changed_at >= "+
				a.add(c.d.timeParam(at.Add(-c.cfg.Overlap))), a.vals...).Scan(&since)
			if err != nil {
				return connector.Page{}, c.classify(err)
			}
			if since.Valid && since.Int64-1 < tok.Low {
				tok.Low = since.Int64 - 1
			}
		}
	}
	a := &args{d: c.d}
	query := "SELECT seq, row_id, changed_at FROM " + dt.changes.name + " WHERE seq > " + a.add(tok.Low) +
		" AND seq <= " + a.add(tok.Cap) + " ORDER BY seq LIMIT " + strconv.Itoa(c.cfg.PageSize)
	rows, err := c.db.QueryContext(ctx, query, a.vals...)
	if err != nil {
		return connector.Page{}, c.classify(err)
	}
	type change struct {
		seq int64
		id  string
		at  time.Time
	}
	var changes []change
	for rows.Next() {
		var ch change
		var id, at any
		if err := rows.Scan(&ch.seq, &id, &at); err != nil {
			rows.Close()
			return connector.Page{}, c.classify(err)
		}
		ch.id = idText(bytesToString(id))
		if t, ok := timeOf(at); ok {
			ch.at = t.UTC()
		}
		changes = append(changes, ch)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return connector.Page{}, c.classify(err)
	}

	// The page's rows, each once, in the order of its last change.
	last := map[string]int{}
	for i, ch := range changes {
		last[ch.id] = i
	}
	var ids []string
	for i, ch := range changes {
		if last[ch.id] == i {
			ids = append(ids, ch.id)
		}
	}
	found, err := c.rowsByID(ctx, dt, ids, tok.Start)
	if err != nil {
		return connector.Page{}, err
	}
	p := connector.Page{Cursor: changesCursor(tok.Cap, tok.Start)}
	for _, id := range ids {
		ch := changes[last[id]]
		r, ok := found[id]
		if !ok {
			p.Records = append(p.Records, connector.Record{ID: id, Deleted: true, Modified: ch.at})
			continue
		}
		if r.rec.Modified.IsZero() {
			r.rec.Modified = ch.at
		}
		p.Records = append(p.Records, r.rec)
	}
	if len(changes) == c.cfg.PageSize {
		tok.Low = changes[len(changes)-1].seq
		p.Cursor = changesCursor(tok.Low, tok.Start)
		p.NextPageToken = tok.encode()
	}
	return p, nil
}

// rowsByID reads rows of the read view by id.
func (c *Conn) rowsByID(ctx context.Context, dt *datatype, ids []string, start time.Time) (map[string]row, error) {
	out := make(map[string]row, len(ids))
	a := &args{d: c.d}
	var marks []string
	for _, id := range ids {
		if key, ok := c.d.idParam(dt.id, id); ok {
			marks = append(marks, a.add(key))
		}
	}
	if len(marks) == 0 {
		return out, nil
	}
	query := "SELECT " + dt.selectList + " FROM " + dt.readFrom + " WHERE " + c.d.quote(dt.id.name) + " IN (" + strings.Join(marks, ", ") + ")"
	rows, err := c.scan(ctx, c.db, dt, query, a.vals)
	if err != nil {
		return nil, err
	}
	c.dated(dt, rows, start)
	for _, r := range rows {
		out[r.rec.ID] = r
	}
	return out, nil
}

// fillChangedAt dates rows by their last logged change, for a datatype
// without an updated column.
func (c *Conn) fillChangedAt(ctx context.Context, dt *datatype, rows []row) error {
	if len(rows) == 0 {
		return nil
	}
	a := &args{d: c.d}
	marks := make([]string, len(rows))
	for i, r := range rows {
		marks[i] = a.add(r.rec.ID)
	}
	res, err := c.db.QueryContext(ctx, "SELECT row_id, MAX(changed_at) FROM "+dt.changes.name+
		" WHERE row_id IN ("+strings.Join(marks, ", ")+") GROUP BY row_id", a.vals...)
	if err != nil {
		return c.classify(err)
	}
	defer res.Close()
	at := map[string]time.Time{}
	for res.Next() {
		var id, t any
		if err := res.Scan(&id, &t); err != nil {
			return c.classify(err)
		}
		if tt, ok := timeOf(bytesToString(t)); ok {
			at[idText(bytesToString(id))] = tt.UTC()
		}
	}
	if err := res.Err(); err != nil {
		return c.classify(err)
	}
	for i := range rows {
		rows[i].rec.Modified = at[rows[i].rec.ID]
	}
	return nil
}

// changedAt is the time of a row's last logged change (zero if none).
func (c *Conn) changedAt(ctx context.Context, dt *datatype, id string) time.Time {
	a := &args{d: c.d}
	var at any
	err := c.db.QueryRowContext(ctx, "SELECT MAX(changed_at) FROM "+dt.changes.name+" WHERE row_id = "+a.add(id), a.vals...).Scan(&at)
	if err != nil {
		return time.Time{}
	}
	t, _ := timeOf(bytesToString(at))
	return t.UTC()
}
