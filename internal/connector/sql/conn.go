package sqlconn

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/concordsync/concord/internal/connector"
)

// Kind is the connector kind this package registers.
const Kind = "sql"

func init() {
	connector.Register(Kind, func(ctx context.Context, system string, settings map[string]any) (connector.Connector, error) {
		return Open(ctx, system, settings)
	})
	connector.RegisterSettingsCheck(Kind, func(system string, settings map[string]any) error {
		if _, err := ParseSettings(settings); err != nil {
			return fmt.Errorf("system %q (kind sql): %w", system, err)
		}
		return nil
	})
}

var _ connector.Connector = (*Conn)(nil)

// Conn is an open SQL system. It is safe for concurrent use: every call
// takes its own connection from the pool.
type Conn struct {
	system string
	cfg    Config
	db     *sql.DB
	d      dialect
	dts    map[string]*datatype
	names  []string // datatype names, sorted
	log    *slog.Logger
}

// datatype is one configured datatype, resolved against the catalog.
type datatype struct {
	name     string
	cfg      *DatatypeConfig
	table    string // quoted, qualified: writes
	readFrom string // quoted, qualified: reads
	id       *column
	updated  *column // nil without updated_column
	deleted  *column // nil without deleted_column
	fields   []*column
	writable map[string]*column // fields the table has (a view may add read-only ones)
	changes  *changeTable       // nil without change_table
	// selectList is what every read selects: id, updated (and its raw text
	// on SQLite, for exact keyset comparisons), deleted, then the fields.
	selectList string
}

// Open parses a system's settings, connects, and checks every table and
// column the settings name against the database's catalog.
func Open(ctx context.Context, system string, settings map[string]any) (*Conn, error) {
	cfg, err := ParseSettings(settings)
	if err != nil {
		return nil, fmt.Errorf("system %q (kind sql): %w", system, err)
	}
	return New(ctx, system, cfg)
}

// New opens a system from parsed settings.
func New(ctx context.Context, system string, cfg Config) (*Conn, error) {
	db, d, err := openDB(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("system %q (kind sql): %w", system, err)
	}
	c := &Conn{system: system, cfg: cfg, db: db, d: d, dts: map[string]*datatype{}, log: slog.Default().With("system", system)}
	cat := &catalog{db: db, d: d, schema: cfg.Schema}
	var problems []error
	for _, name := range mapKeys(cfg.Datatypes) {
		dt, err := c.resolve(ctx, cat, cfg.Datatypes[name])
		if err != nil {
			if connector.IsTemporary(err) || ctx.Err() != nil {
				db.Close()
				return nil, fmt.Errorf("system %q (kind sql): %w", system, err)
			}
			problems = append(problems, fmt.Errorf("datatype %q: %w", name, err))
			continue
		}
		c.dts[name] = dt
		c.names = append(c.names, name)
	}
	if len(problems) > 0 {
		db.Close()
		return nil, fmt.Errorf("system %q (kind sql): %w", system, errors.Join(problems...))
	}
	for _, name := range c.names {
		if dt := c.dts[name]; dt.changes != nil && dt.cfg.ChangeTable.Create {
			if err := c.ensureChangeTable(ctx, cat, dt); err != nil {
				db.Close()
				return nil, fmt.Errorf("system %q (kind sql): datatype %q: %w", system, name, err)
			}
		}
	}
	return c, nil
}

// resolve checks one datatype's settings against the catalog.
func (c *Conn) resolve(ctx context.Context, cat *catalog, cfg *DatatypeConfig) (*datatype, error) {
	path := "datatypes." + cfg.Name
	dt := &datatype{name: cfg.Name, cfg: cfg, writable: map[string]*column{}}
	tbl, err := cat.table(ctx, cfg.Table)
	if err != nil {
		return nil, c.classify(err)
	}
	if tbl == nil {
		return nil, fmt.Errorf("setting %s.table: there is no table %q in %s %q (it has: %s)", path, cfg.Table,
			c.schemaWord(), cat.schemaName(ctx), strings.Join(cat.tableNames(ctx), ", "))
	}
	read := tbl
	if cfg.ReadFrom != "" && cfg.ReadFrom != cfg.Table {
		if read, err = cat.table(ctx, cfg.ReadFrom); err != nil {
			return nil, c.classify(err)
		}
		if read == nil {
			return nil, fmt.Errorf("setting %s.read_from: there is no view or table %q in %s %q (it has: %s)", path, cfg.ReadFrom,
				c.schemaWord(), cat.schemaName(ctx), strings.Join(cat.tableNames(ctx), ", "))
		}
		// Foreign keys are declared on the table; the view shows its columns.
		for _, col := range read.cols {
			if tc := tbl.by[col.name]; tc != nil && tc.foreign {
				col.foreign = true
			}
		}
	}
	dt.table = c.d.qualified(c.cfg.Schema, tbl.name)
	dt.readFrom = c.d.qualified(c.cfg.Schema, read.name)

	// need finds a column in the table (and the view it is read from).
	need := func(key, name string) (*column, error) {
		col := tbl.by[name]
		if col == nil {
			return nil, fmt.Errorf("setting %s.%s: table %q has no column %q (it has: %s)", path, key, tbl.name, name, tbl.names())
		}
		if read != tbl {
			if col = read.by[name]; col == nil {
				return nil, fmt.Errorf("setting %s.%s: view %q (read_from) has no column %q (it has: %s)", path, key, read.name, name, read.names())
			}
		}
		return col, nil
	}
	if dt.id, err = need("id_column", cfg.IDColumn); err != nil {
		return nil, err
	}
	switch {
	case cfg.GenerateID == "uuid" && dt.id.kind != kText && dt.id.kind != kUUID:
		return nil, fmt.Errorf("setting %s.generate_id: uuid needs a text or uuid key column; %q is %s", path, cfg.IDColumn, dt.id.dbType)
	case cfg.GenerateID == "" && !tbl.by[cfg.IDColumn].generated:
		return nil, fmt.Errorf("setting %s.id_column: column %q of table %q gets no value from the database on insert (no identity, serial, auto-increment or default); give it one, or set generate_id: uuid for a text key", path, cfg.IDColumn, tbl.name)
	case cfg.GenerateID == "" && !c.d.returning && !tbl.by[cfg.IDColumn].autoInc:
		return nil, fmt.Errorf("setting %s.id_column: column %q of table %q is not AUTO_INCREMENT, and this server cannot return other defaults (INSERT … RETURNING needs MariaDB 10.5); make it AUTO_INCREMENT or set generate_id: uuid", path, cfg.IDColumn, tbl.name)
	}
	if dt.id.kind == kBinary || dt.id.kind == kFloat || dt.id.kind == kDecimal {
		return nil, fmt.Errorf("setting %s.id_column: column %q is %s; a key column must be a whole number, text or uuid", path, cfg.IDColumn, dt.id.dbType)
	}
	if cfg.UpdatedColumn != "" {
		if dt.updated, err = need("updated_column", cfg.UpdatedColumn); err != nil {
			return nil, err
		}
		if dt.updated.kind != kTimestamp {
			return nil, fmt.Errorf("setting %s.updated_column: column %q is %s; it must be a timestamp (timestamp/timestamptz, DATETIME/TIMESTAMP, or in SQLite a DATETIME or TIMESTAMP column)", path, cfg.UpdatedColumn, dt.updated.dbType)
		}
		dt.updated.precision = tbl.by[cfg.UpdatedColumn].precision
	}
	if cfg.DeletedColumn != "" {
		if dt.deleted, err = need("deleted_column", cfg.DeletedColumn); err != nil {
			return nil, err
		}
		switch dt.deleted.kind {
		case kTimestamp, kBool, kInteger:
		default:
			return nil, fmt.Errorf("setting %s.deleted_column: column %q is %s; it must be a timestamp (set when deleted) or a boolean", path, cfg.DeletedColumn, dt.deleted.dbType)
		}
	}

	// The fields: the named columns, or all but the connector's own.
	own := map[string]bool{cfg.IDColumn: true, cfg.UpdatedColumn: true, cfg.DeletedColumn: true}
	names := cfg.Columns
	explicit := names != nil
	if !explicit {
		for _, col := range read.cols {
			if !own[col.name] && col.kind != kBinary {
				names = append(names, col.name)
			}
		}
	} else if cfg.ParentColumn != "" && !slices.Contains(names, cfg.ParentColumn) {
		names = append(names, cfg.ParentColumn)
	}
	for i, name := range names {
		col := read.by[name]
		if col == nil {
			where := fmt.Sprintf("table %q", read.name)
			if read != tbl {
				where = fmt.Sprintf("view %q (read_from)", read.name)
			}
			key := fmt.Sprintf("columns[%d]", i)
			if !explicit || i >= len(cfg.Columns) {
				key = "parent_column"
			}
			return nil, fmt.Errorf("setting %s.%s: %s has no column %q (it has: %s)", path, key, where, name, read.names())
		}
		if col.kind == kBinary {
			return nil, fmt.Errorf("setting %s.columns[%d]: column %q is %s; binary columns cannot be fields", path, i, name, col.dbType)
		}
		dt.fields = append(dt.fields, col)
		if tc := tbl.by[name]; tc != nil {
			dt.writable[name] = tc
		}
	}
	if cfg.ParentColumn != "" && tbl.by[cfg.ParentColumn] == nil {
		return nil, fmt.Errorf("setting %s.parent_column: table %q has no column %q (it has: %s)", path, tbl.name, cfg.ParentColumn, tbl.names())
	}
	refs := map[string]bool{cfg.ParentColumn: cfg.ParentColumn != ""}
	for i, name := range cfg.ReferenceColumns {
		if read.by[name] == nil {
			return nil, fmt.Errorf("setting %s.reference_columns[%d]: table %q has no column %q (it has: %s)", path, i, read.name, name, read.names())
		}
		if !slices.ContainsFunc(dt.fields, func(f *column) bool { return f.name == name }) {
			return nil, fmt.Errorf("setting %s.reference_columns[%d]: column %q is not one of the datatype's columns", path, i, name)
		}
		refs[name] = true
	}
	for _, f := range dt.fields {
		if refs[f.name] || f.foreign {
			f.ref = true
			if w := dt.writable[f.name]; w != nil {
				w.ref = true
			}
		}
	}
	if cfg.ChangeTable != nil {
		if dt.changes, err = c.changeTable(ctx, cat, dt); err != nil {
			return nil, err
		}
	}

	sel := []string{c.d.quote(dt.id.name)}
	if dt.updated != nil {
		sel = append(sel, c.d.quote(dt.updated.name))
		if c.d.driver == DriverSQLite {
			sel = append(sel, "CAST("+c.d.quote(dt.updated.name)+" AS TEXT)")
		}
	}
	if dt.deleted != nil {
		sel = append(sel, c.d.quote(dt.deleted.name))
	}
	for _, f := range dt.fields {
		sel = append(sel, c.d.quote(f.name))
	}
	dt.selectList = strings.Join(sel, ", ")
	return dt, nil
}

func (c *Conn) schemaWord() string {
	switch c.d.driver {
	case DriverMySQL:
		return "database"
	case DriverSQLite:
		return "database file"
	}
	return "schema"
}

func (c *Conn) datatype(name string) (*datatype, error) {
	dt := c.dts[name]
	if dt == nil {
		return nil, fmt.Errorf("system %q has no datatype %q (it has: %s): %w", c.system, name, strings.Join(c.names, ", "), connector.ErrNotSupported)
	}
	return dt, nil
}

// Describe lists the configured datatypes and their fields.
func (c *Conn) Describe(ctx context.Context) ([]connector.DatatypeInfo, error) {
	out := make([]connector.DatatypeInfo, 0, len(c.names))
	for _, name := range c.names {
		dt := c.dts[name]
		info := connector.DatatypeInfo{Name: name, CanDelete: true}
		for _, f := range dt.fields {
			info.Properties = append(info.Properties, connector.Property{Name: f.name, Type: propertyType(f)})
		}
		out = append(out, info)
	}
	return out, nil
}

func propertyType(c *column) string {
	if c.ref {
		return "string"
	}
	switch c.kind {
	case kInteger:
		return "integer"
	case kDecimal, kFloat:
		return "number"
	case kBool:
		return "boolean"
	case kTimestamp:
		return "datetime"
	case kDate:
		return "date"
	}
	return "string"
}

// row is one scanned row.
type row struct {
	rec     connector.Record
	updated any       // the updated value to continue a keyset from
	at      time.Time // the updated value as a time, as stored
	coarse  bool      // the stored time has whole seconds only (SQLite text)
}

// queryer is a *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scan reads the rows of a query of dt.selectList.
func (c *Conn) scan(ctx context.Context, q queryer, dt *datatype, query string, params []any) ([]row, error) {
	rows, err := q.QueryContext(ctx, query, params...)
	if err != nil {
		return nil, c.classify(err)
	}
	defer rows.Close()
	var out []row
	n := 1 + len(dt.fields)
	if dt.updated != nil {
		n++
		if c.d.driver == DriverSQLite {
			n++
		}
	}
	if dt.deleted != nil {
		n++
	}
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		clear(vals)
		if err := rows.Scan(ptrs...); err != nil {
			return nil, c.classify(err)
		}
		r := row{rec: connector.Record{ID: idText(bytesToString(vals[0])), Fields: make(connector.Fields, len(dt.fields))}}
		i := 1
		if dt.updated != nil {
			r.updated = vals[i]
			if t, ok := timeOf(vals[i]); ok {
				r.at = t.UTC()
				r.rec.Modified = r.at
			}
			i++
			if c.d.driver == DriverSQLite {
				r.updated = bytesToString(vals[i])
				s, _ := r.updated.(string)
				r.coarse = !strings.Contains(s, ".")
				i++
			}
		}
		if dt.deleted != nil {
			r.rec.Deleted = isDeleted(vals[i])
			i++
		}
		for _, f := range dt.fields {
			v, err := present(f, vals[i])
			if err != nil {
				return nil, fmt.Errorf("%s %s: column %q: %w", dt.name, r.rec.ID, f.name, err)
			}
			r.rec.Fields[f.name] = v
			i++
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, c.classify(err)
	}
	return out, nil
}

// dated sets each row's Modified from its updated value as the latest
// instant the value can stand for (a column that keeps whole seconds
// rounds or truncates the time of the write by up to a second), but never
// after start, the database's time when the listing began: a row read
// then was written before it. Dated so, a change in the database is not
// taken for older than a change made elsewhere in the same second.
func (c *Conn) dated(dt *datatype, rows []row, start time.Time) {
	if dt.updated == nil {
		return
	}
	for i := range rows {
		r := &rows[i]
		if r.at.IsZero() {
			continue
		}
		m := r.at
		if dt.updated.precision < 3 || r.coarse {
			m = m.Add(precisionUnit(dt.updated.precision, r.coarse))
		}
		if m.After(start) {
			m = start
		}
		r.rec.Modified = m
	}
}

// precisionUnit is the step of a timestamp with that many fractional digits.
func precisionUnit(digits int, coarse bool) time.Duration {
	if coarse {
		return time.Second
	}
	unit := time.Second
	for range max(0, min(9, digits)) {
		unit /= 10
	}
	return unit
}

func bytesToString(v any) any {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

// isDeleted reads a soft-delete column: set (a time), true or non-zero.
func isDeleted(v any) bool {
	switch x := bytesToString(v).(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case string:
		return x != "" && x != "0" && !strings.EqualFold(x, "false") && !strings.EqualFold(x, "f")
	}
	return true
}

// getRow reads one row by id from the read view, soft-deleted ones too;
// nil when there is none.
func (c *Conn) getRow(ctx context.Context, q queryer, dt *datatype, id string) (*row, error) {
	key, ok := c.d.idParam(dt.id, id)
	if !ok {
		return nil, nil
	}
	a := &args{d: c.d}
	query := "SELECT " + dt.selectList + " FROM " + dt.readFrom + " WHERE " + c.d.quote(dt.id.name) + " = " + a.add(key)
	rows, err := c.scan(ctx, q, dt, query, a.vals)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return &rows[0], nil
}

// Get reads one live record.
func (c *Conn) Get(ctx context.Context, datatype, id string) (connector.Record, error) {
	dt, err := c.datatype(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	r, err := c.getRow(ctx, c.db, dt, id)
	if err != nil {
		return connector.Record{}, fmt.Errorf("get %s %s: %w", datatype, id, err)
	}
	if r == nil || r.rec.Deleted {
		return connector.Record{}, fmt.Errorf("%s %s: %w", datatype, id, connector.ErrNotFound)
	}
	if r.rec.Modified.IsZero() && dt.changes != nil {
		r.rec.Modified = c.changedAt(ctx, dt, r.rec.ID)
	}
	return r.rec, nil
}

// setList builds "col = ?, …" of fields for an UPDATE, in column order.
func (c *Conn) assignments(dt *datatype, fields connector.Fields, a *args) (cols, vals []string, err error) {
	for _, name := range mapKeys(fields) {
		col := dt.writable[name]
		if col == nil {
			if slices.ContainsFunc(dt.fields, func(f *column) bool { return f.name == name }) {
				return nil, nil, fmt.Errorf("field %q is read-only (it is in view %s, not in the table): %w", name, dt.cfg.ReadFrom, connector.ErrRejected)
			}
			return nil, nil, fmt.Errorf("%s has no field %q (its fields: %s): %w", dt.name, name, fieldNames(dt), connector.ErrRejected)
		}
		p, err := c.d.param(col, fields[name])
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", err, connector.ErrRejected)
		}
		cols = append(cols, c.d.quote(col.name))
		vals = append(vals, a.add(p))
	}
	return cols, vals, nil
}

func fieldNames(dt *datatype) string {
	var s []string
	for _, f := range dt.fields {
		s = append(s, f.name)
	}
	return strings.Join(s, ", ")
}

// Insert creates a row and returns it as stored, with its new id.
func (c *Conn) Insert(ctx context.Context, datatype string, fields connector.Fields) (connector.Record, error) {
	dt, err := c.datatype(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	if _, given := fields[dt.id.name]; given {
		return connector.Record{}, fmt.Errorf("insert %s: field %q is the key column, which the %s gives: %w", datatype, dt.id.name, c.idGiver(dt), connector.ErrRejected)
	}
	a := &args{d: c.d}
	cols, vals, err := c.assignments(dt, fields, a)
	if err != nil {
		return connector.Record{}, fmt.Errorf("insert %s: %w", datatype, err)
	}
	var newID string
	if dt.cfg.GenerateID == "uuid" {
		u, err := uuid.NewV7()
		if err != nil {
			return connector.Record{}, err
		}
		newID = u.String()
		cols = append(cols, c.d.quote(dt.id.name))
		vals = append(vals, a.add(newID))
	}
	if dt.updated != nil {
		cols = append(cols, c.d.quote(dt.updated.name))
		vals = append(vals, c.d.nowExpr(dt.updated))
	}
	var query string
	switch {
	case len(cols) > 0:
		query = "INSERT INTO " + dt.table + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ")"
	case c.d.driver == DriverMySQL:
		query = "INSERT INTO " + dt.table + " () VALUES ()"
	default:
		query = "INSERT INTO " + dt.table + " DEFAULT VALUES"
	}
	var rec connector.Record
	err = c.inTx(ctx, func(tx *sql.Tx) error {
		switch {
		case newID != "":
			if _, err := tx.ExecContext(ctx, query, a.vals...); err != nil {
				return c.classify(err)
			}
		case c.d.returning:
			var id any
			if err := tx.QueryRowContext(ctx, query+" RETURNING "+c.d.quote(dt.id.name), a.vals...).Scan(&id); err != nil {
				return c.classify(err)
			}
			newID = idText(bytesToString(id))
		default:
			res, err := tx.ExecContext(ctx, query, a.vals...)
			if err != nil {
				return c.classify(err)
			}
			n, err := res.LastInsertId()
			if err != nil || n == 0 {
				return fmt.Errorf("the database did not say the new row's key (LAST_INSERT_ID): %v", err)
			}
			newID = idText(n)
		}
		r, err := c.getRow(ctx, tx, dt, newID)
		if err != nil {
			return err
		}
		rec = connector.Record{ID: newID}
		if r != nil {
			rec = r.rec
		}
		return nil
	})
	if err != nil {
		return connector.Record{}, fmt.Errorf("insert %s: %w", datatype, err)
	}
	return rec, nil
}

func (c *Conn) idGiver(dt *datatype) string {
	if dt.cfg.GenerateID == "uuid" {
		return "connector"
	}
	return "database"
}

// Update writes the given fields of one row. With ifMatch, it reads the row
// under a lock in the same transaction and refuses when the row as
// presented no longer hashes to ifMatch.
func (c *Conn) Update(ctx context.Context, datatype, id string, fields connector.Fields, ifMatch string) (connector.Record, error) {
	dt, err := c.datatype(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	key, ok := c.d.idParam(dt.id, id)
	if !ok {
		return connector.Record{}, fmt.Errorf("update %s %s: %w", datatype, id, connector.ErrNotFound)
	}
	if _, given := fields[dt.id.name]; given {
		return connector.Record{}, fmt.Errorf("update %s %s: field %q is the key column, which does not change: %w", datatype, id, dt.id.name, connector.ErrRejected)
	}
	a := &args{d: c.d}
	cols, vals, err := c.assignments(dt, fields, a)
	if err != nil {
		return connector.Record{}, fmt.Errorf("update %s %s: %w", datatype, id, err)
	}
	set := make([]string, len(cols))
	for i := range cols {
		set[i] = cols[i] + " = " + vals[i]
	}
	if dt.updated != nil && len(set) > 0 {
		set = append(set, c.d.quote(dt.updated.name)+" = "+c.d.nowExpr(dt.updated))
	}
	var rec connector.Record
	err = c.inTx(ctx, func(tx *sql.Tx) error {
		if ifMatch != "" {
			cur, err := c.lockRow(ctx, tx, dt, id, key)
			if err != nil {
				return err
			}
			if cur == nil || cur.rec.Deleted {
				return connector.ErrNotFound
			}
			if connector.Hash(cur.rec.Fields) != ifMatch {
				return connector.ErrConflict
			}
		}
		if len(set) > 0 {
			query := "UPDATE " + dt.table + " SET " + strings.Join(set, ", ") + " WHERE " + c.d.quote(dt.id.name) + " = " + a.add(key)
			if dt.deleted != nil {
				query += " AND " + c.d.liveCond(dt.deleted)
			}
			res, err := tx.ExecContext(ctx, query, a.vals...)
			if err != nil {
				return c.classify(err)
			}
			if n, err := res.RowsAffected(); err == nil && n == 0 {
				return connector.ErrNotFound
			}
		}
		r, err := c.getRow(ctx, tx, dt, id)
		if err != nil {
			return err
		}
		if r == nil || r.rec.Deleted {
			if len(set) == 0 {
				return connector.ErrNotFound
			}
			return nil // the view does not show it: "not returned"
		}
		rec = r.rec
		return nil
	})
	if err != nil {
		return connector.Record{}, fmt.Errorf("update %s %s: %w", datatype, id, err)
	}
	return rec, nil
}

// lockRow reads a row for update: locked until the transaction ends
// (FOR UPDATE; SQLite's write transactions hold the database's write lock
// from BEGIN).
func (c *Conn) lockRow(ctx context.Context, tx *sql.Tx, dt *datatype, id string, key any) (*row, error) {
	if c.d.driver != DriverSQLite {
		a := &args{d: c.d}
		lock := "SELECT " + c.d.quote(dt.id.name) + " FROM " + dt.table + " WHERE " + c.d.quote(dt.id.name) + " = " + a.add(key) + " FOR UPDATE"
		rows, err := tx.QueryContext(ctx, lock, a.vals...)
		if err != nil {
			return nil, c.classify(err)
		}
		found := rows.Next()
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, c.classify(err)
		}
		if !found {
			return nil, nil
		}
	}
	return c.getRow(ctx, tx, dt, id)
}

// Delete removes a row, or marks it deleted where a deleted_column is set.
func (c *Conn) Delete(ctx context.Context, datatype, id string) error {
	dt, err := c.datatype(datatype)
	if err != nil {
		return err
	}
	key, ok := c.d.idParam(dt.id, id)
	if !ok {
		return fmt.Errorf("delete %s %s: %w", datatype, id, connector.ErrNotFound)
	}
	a := &args{d: c.d}
	where := c.d.quote(dt.id.name) + " = " + a.add(key)
	var query string
	if dt.deleted != nil {
		set := c.d.quote(dt.deleted.name) + " = " + c.d.deletedValue(dt.deleted)
		if dt.updated != nil {
			set += ", " + c.d.quote(dt.updated.name) + " = " + c.d.nowExpr(dt.updated)
		}
		query = "UPDATE " + dt.table + " SET " + set + " WHERE " + where + " AND " + c.d.liveCond(dt.deleted)
	} else {
		query = "DELETE FROM " + dt.table + " WHERE " + where
	}
	res, err := c.db.ExecContext(ctx, query, a.vals...)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", datatype, id, c.classify(err))
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("delete %s %s: %w", datatype, id, connector.ErrNotFound)
	}
	return nil
}

// inTx runs f in a transaction, committed when f returns nil.
func (c *Conn) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return c.classify(err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return c.classify(err)
	}
	return nil
}

// Close closes the database connections.
func (c *Conn) Close() error { return c.db.Close() }

// now is the database's clock, in UTC.
func (c *Conn) now(ctx context.Context) (time.Time, error) {
	t, err := c.d.now(ctx, c.db)
	if err != nil {
		return t, c.classify(err)
	}
	return t, nil
}
