package sqlconn

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// kind is how the connector presents and writes a column's values; the
// same kind reads the same on every backend (docs/adr/0011).
type kind int

const (
	kText      kind = iota // string
	kInteger               // int64
	kDecimal               // float64 where exact, else json.Number with the database's digits
	kFloat                 // float64
	kBool                  // bool
	kTimestamp             // RFC 3339 text in UTC
	kDate                  // YYYY-MM-DD text
	kUUID                  // string (a PostgreSQL uuid column)
	kJSON                  // the JSON document as text
	kAny                   // SQLite column without a known type: as stored
	kBinary                // not presented
)

var kindNames = map[kind]string{kText: "text", kInteger: "integer", kDecimal: "decimal", kFloat: "float",
	kBool: "boolean", kTimestamp: "timestamp", kDate: "date", kUUID: "uuid", kJSON: "json", kAny: "any", kBinary: "binary"}

func (k kind) String() string { return kindNames[k] }

// column is one column as the catalog describes it.
type column struct {
	name      string
	dbType    string // the database's name of the type, for messages
	kind      kind
	precision int  // fractional digits of a timestamp
	generated bool // the database gives it a value on insert (identity, serial, auto-increment, default)
	autoInc   bool // MySQL AUTO_INCREMENT: LAST_INSERT_ID() reports it
	foreign   bool // part of a one-column foreign key
	ref       bool // holds row ids: presented as text
}

// table is a table or view's columns, in catalog order.
type table struct {
	name string
	cols []*column
	by   map[string]*column
}

func (t *table) names() string {
	var s []string
	for _, c := range t.cols {
		s = append(s, c.name)
	}
	return strings.Join(s, ", ")
}

// catalog reads tables' descriptions from the database.
type catalog struct {
	db     *sql.DB
	d      dialect
	schema string // "" for the connection's current one
}

// table reads a table's columns; nil when there is no such table or view.
func (c *catalog) table(ctx context.Context, name string) (*table, error) {
	var (
		rows *sql.Rows
		err  error
	)
	switch c.d.driver {
	case DriverPostgres:
		rows, err = c.db.QueryContext(ctx, `SELECT column_name, data_type, udt_name, COALESCE(datetime_precision, 6),
			COALESCE(column_default, ''), is_identity = 'YES'
			FROM information_schema.columns
			WHERE table_schema = COALESCE(NULLIF($1, ''), current_schema()) AND table_name = $2
			ORDER BY ordinal_position`, c.schema, name)
	case DriverMySQL:
		rows, err = c.db.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COALESCE(DATETIME_PRECISION, 0),
			COALESCE(COLUMN_DEFAULT, ''), EXTRA
			FROM information_schema.COLUMNS
			WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND TABLE_NAME = ?
			ORDER BY ORDINAL_POSITION`, c.schema, name)
	default:
		rows, err = c.db.QueryContext(ctx, `SELECT name, type, COALESCE(dflt_value, ''), pk,
			(SELECT COUNT(*) FROM pragma_table_info(?1) WHERE pk > 0)
			FROM pragma_table_info(?1) ORDER BY cid`, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read the catalog's columns of %s: %w", name, err)
	}
	defer rows.Close()
	t := &table{name: name, by: map[string]*column{}}
	for rows.Next() {
		col := &column{}
		switch c.d.driver {
		case DriverPostgres:
			var dataType, udt, def string
			var identity bool
			if err := rows.Scan(&col.name, &dataType, &udt, &col.precision, &def, &identity); err != nil {
				return nil, err
			}
			col.dbType = dataType
			col.kind = postgresKind(dataType, udt)
			col.generated = identity || def != ""
		case DriverMySQL:
			var dataType, colType, def, extra string
			if err := rows.Scan(&col.name, &dataType, &colType, &col.precision, &def, &extra); err != nil {
				return nil, err
			}
			col.dbType = colType
			col.kind = mysqlKind(strings.ToLower(dataType), strings.ToLower(colType))
			col.autoInc = strings.Contains(strings.ToLower(extra), "auto_increment")
			// MariaDB spells "no default" as NULL. A default such as uuid()
			// gives a key that only RETURNING can tell (checked at open).
			col.generated = col.autoInc || (def != "" && !strings.EqualFold(def, "NULL"))
		default:
			var declared, def string
			var pk, pks int
			if err := rows.Scan(&col.name, &declared, &def, &pk, &pks); err != nil {
				return nil, err
			}
			col.dbType = declared
			col.kind = sqliteKind(declared)
			col.precision = 3
			// INTEGER PRIMARY KEY is the rowid: SQLite numbers new rows.
			col.generated = def != "" || (pk == 1 && pks == 1 && strings.EqualFold(strings.TrimSpace(declared), "INTEGER"))
		}
		t.cols = append(t.cols, col)
		t.by[col.name] = col
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(t.cols) == 0 {
		return nil, nil
	}
	if err := c.foreignKeys(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// foreignKeys marks the columns of one-column foreign keys.
func (c *catalog) foreignKeys(ctx context.Context, t *table) error {
	var q string
	switch c.d.driver {
	case DriverPostgres:
		q = `SELECT a.attname FROM pg_constraint k
			JOIN pg_class r ON r.oid = k.conrelid
			JOIN pg_namespace n ON n.oid = r.relnamespace
			JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
			WHERE k.contype = 'f' AND array_length(k.conkey, 1) = 1
			AND n.nspname = COALESCE(NULLIF($1, ''), current_schema()) AND r.relname = $2`
	case DriverMySQL:
		q = `SELECT k.COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE k
			WHERE k.TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND k.TABLE_NAME = ?
			AND k.REFERENCED_TABLE_NAME IS NOT NULL
			AND (SELECT COUNT(*) FROM information_schema.KEY_COLUMN_USAGE o
			     WHERE o.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND o.TABLE_NAME = k.TABLE_NAME
			     AND o.CONSTRAINT_NAME = k.CONSTRAINT_NAME) = 1`
	default:
		q = `SELECT "from" FROM pragma_foreign_key_list(?2) f
			WHERE ?1 = ?1 AND (SELECT COUNT(*) FROM pragma_foreign_key_list(?2) g WHERE g.id = f.id) = 1`
	}
	rows, err := c.db.QueryContext(ctx, q, c.schema, t.name)
	if err != nil {
		return fmt.Errorf("read the catalog's foreign keys of %s: %w", t.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		if col := t.by[name]; col != nil {
			col.foreign = true
		}
	}
	return rows.Err()
}

// tableNames lists the tables and views the connector can see, for the
// message about a table it cannot find.
func (c *catalog) tableNames(ctx context.Context) []string {
	var q string
	switch c.d.driver {
	case DriverPostgres:
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = COALESCE(NULLIF($1, ''), current_schema()) ORDER BY 1 LIMIT 51`
	case DriverMySQL:
		q = `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) ORDER BY 1 LIMIT 51`
	default:
		q = `SELECT name FROM sqlite_schema WHERE ?1 = ?1 AND type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY 1 LIMIT 51`
	}
	rows, err := c.db.QueryContext(ctx, q, c.schema)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			out = append(out, n)
		}
	}
	if len(out) > 50 {
		out = append(out[:50], "…")
	}
	return out
}

// schemaName is the schema the catalog reads, for messages.
func (c *catalog) schemaName(ctx context.Context) string {
	if c.schema != "" {
		return c.schema
	}
	var q string
	switch c.d.driver {
	case DriverPostgres:
		q = "SELECT current_schema()"
	case DriverMySQL:
		q = "SELECT DATABASE()"
	default:
		return "main"
	}
	var s sql.NullString
	_ = c.db.QueryRowContext(ctx, q).Scan(&s)
	return s.String
}

func postgresKind(dataType, udt string) kind {
	switch dataType {
	case "smallint", "integer", "bigint":
		return kInteger
	case "numeric":
		return kDecimal
	case "real", "double precision":
		return kFloat
	case "boolean":
		return kBool
	case "timestamp without time zone", "timestamp with time zone":
		return kTimestamp
	case "date":
		return kDate
	case "uuid":
		return kUUID
	case "json", "jsonb":
		return kJSON
	case "bytea":
		return kBinary
	}
	return kText
}

func mysqlKind(dataType, colType string) kind {
	switch dataType {
	case "tinyint":
		if strings.HasPrefix(colType, "tinyint(1)") {
			return kBool // what BOOLEAN is in MySQL
		}
		return kInteger
	case "smallint", "mediumint", "int", "integer", "bigint":
		return kInteger
	case "decimal", "numeric":
		return kDecimal
	case "float", "double", "real":
		return kFloat
	case "datetime", "timestamp":
		return kTimestamp
	case "date":
		return kDate
	case "json":
		return kJSON
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit", "geometry", "point":
		return kBinary
	}
	return kText
}

// sqliteKind reads a declared type the way SQLite's affinity rules do,
// with the names that say more (BOOLEAN, DATETIME, DECIMAL) first.
func sqliteKind(declared string) kind {
	t := strings.ToUpper(strings.TrimSpace(declared))
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	switch {
	case t == "BOOLEAN" || t == "BOOL":
		return kBool
	case strings.Contains(t, "DATETIME") || strings.Contains(t, "TIMESTAMP"):
		return kTimestamp
	case t == "DATE":
		return kDate
	case strings.Contains(t, "INT"):
		return kInteger
	case strings.Contains(t, "CHAR") || strings.Contains(t, "CLOB") || strings.Contains(t, "TEXT") || t == "UUID":
		return kText
	case t == "JSON":
		return kJSON
	case strings.Contains(t, "BLOB"):
		return kBinary
	case strings.Contains(t, "REAL") || strings.Contains(t, "FLOA") || strings.Contains(t, "DOUB"):
		return kFloat
	case t == "DECIMAL" || t == "NUMERIC" || t == "MONEY":
		return kDecimal
	}
	return kAny
}
