package sqlconn

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/concordsync/concord/internal/connector"
)

// dialect holds what differs between the backends: quoting, placeholders,
// the database's clock, and how a new key comes back. Everything else is
// the same SQL on all three.
type dialect struct {
	driver string
	// returning: INSERT … RETURNING gives the new key (PostgreSQL, SQLite,
	// MariaDB 10.5+). Without it (MySQL), LAST_INSERT_ID() does, which
	// needs an auto-increment key.
	returning bool
	// mariadb: the mysql driver reaches MariaDB (not MySQL).
	mariadb bool
}

// quote quotes an identifier. Names come from the settings and are checked
// against the catalog at open; quoting keeps any name a name.
func (d dialect) quote(name string) string {
	if d.driver == DriverMySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// qualified quotes a table name, in schema when one is set.
func (d dialect) qualified(schema, name string) string {
	if schema == "" {
		return d.quote(name)
	}
	return d.quote(schema) + "." + d.quote(name)
}

// args builds a statement's placeholders as parameters are added.
type args struct {
	d    dialect
	vals []any
}

// add appends a parameter and returns its placeholder.
func (a *args) add(v any) string {
	a.vals = append(a.vals, v)
	if a.d.driver == DriverPostgres {
		return "$" + strconv.Itoa(len(a.vals))
	}
	return "?"
}

// nowExpr is the database's current time, to the column's precision, as the
// connector writes it into updated and deleted timestamps.
func (d dialect) nowExpr(c *column) string {
	switch d.driver {
	case DriverPostgres:
		return "clock_timestamp()"
	case DriverMySQL:
		// UTC whatever the session's zone; truncated (not rounded) to the
		// column's fractional digits.
		return fmt.Sprintf("UTC_TIMESTAMP(%d)", max(0, min(6, c.precision)))
	}
	return sqliteNow
}

const sqliteNow = "strftime('%Y-%m-%d %H:%M:%f','now')"

// sqliteTime is how the connector writes timestamps in SQLite: UTC text
// that sorts as time, with milliseconds like strftime('%Y-%m-%d %H:%M:%f'),
// and finer digits only where the time has them.
func sqliteTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%int(time.Millisecond) == 0 {
		return t.Format("2006-01-02 15:04:05.000")
	}
	return strings.TrimRight(t.Format("2006-01-02 15:04:05.000000000"), "0")
}

// now reads the database's clock.
func (d dialect) now(ctx context.Context, db *sql.DB) (time.Time, error) {
	var q string
	switch d.driver {
	case DriverPostgres:
		q = "SELECT clock_timestamp()"
	case DriverMySQL:
		q = "SELECT UTC_TIMESTAMP(6)"
	default:
		q = "SELECT " + sqliteNow
	}
	var v any
	if err := db.QueryRowContext(ctx, q).Scan(&v); err != nil {
		return time.Time{}, err
	}
	t, ok := timeOf(v)
	if !ok {
		return time.Time{}, fmt.Errorf("the database's clock answered %v, not a time", v)
	}
	return t.UTC(), nil
}

// timeParam is a time as a parameter compared with a timestamp column:
// SQLite keeps text, the others take time values.
func (d dialect) timeParam(t time.Time) any {
	if d.driver == DriverSQLite {
		return sqliteTime(t)
	}
	return t.UTC()
}

// liveCond is the condition a row that is not soft-deleted meets.
func (d dialect) liveCond(c *column) string {
	q := d.quote(c.name)
	switch c.kind {
	case kTimestamp, kDate, kText:
		return q + " IS NULL"
	}
	if d.driver == DriverPostgres && c.kind == kBool {
		return q + " IS NOT TRUE"
	}
	return "(" + q + " IS NULL OR " + q + " = 0)"
}

// deletedValue is what a soft delete writes into the deleted column.
func (d dialect) deletedValue(c *column) string {
	switch c.kind {
	case kTimestamp:
		return d.nowExpr(c)
	case kBool:
		if d.driver == DriverPostgres {
			return "TRUE"
		}
	}
	return "1"
}

// openDB opens the database of cfg: the driver's settings that make values
// read the same on every backend (UTC, times parsed, rows found counted)
// are set here, over what the connection string says.
func openDB(ctx context.Context, cfg Config) (*sql.DB, dialect, error) {
	d := dialect{driver: cfg.Driver, returning: true}
	var db *sql.DB
	switch cfg.Driver {
	case DriverPostgres:
		pc, err := pgx.ParseConfig(cfg.DSN)
		if err != nil {
			return nil, d, fmt.Errorf("setting dsn: not a PostgreSQL connection string such as %s: %w", exampleDSN(cfg.Driver), err)
		}
		pc.RuntimeParams["timezone"] = "UTC"
		db = stdlib.OpenDB(*pc)
	case DriverMySQL:
		mc, err := mysql.ParseDSN(cfg.DSN)
		if err != nil {
			return nil, d, fmt.Errorf("setting dsn: not a MySQL connection string such as %s: %w", exampleDSN(cfg.Driver), err)
		}
		mc.ParseTime = true
		mc.Loc = time.UTC
		mc.ClientFoundRows = true // an UPDATE that changes nothing still finds its row
		mc.MultiStatements = false
		if mc.Params == nil {
			mc.Params = map[string]string{}
		}
		mc.Params["time_zone"] = "'+00:00'"
		conn, err := mysql.NewConnector(mc)
		if err != nil {
			return nil, d, fmt.Errorf("setting dsn: %w", err)
		}
		db = sql.OpenDB(conn)
		d.returning = false
	case DriverSQLite:
		dsn, err := sqliteDSN(ctx, cfg.DSN)
		if err != nil {
			return nil, d, err
		}
		if db, err = sql.Open("sqlite", dsn); err != nil {
			return nil, d, fmt.Errorf("setting dsn: %w", err)
		}
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, d, connector.Temporary(fmt.Errorf("connect to the %s database: %w", cfg.Driver, err))
	}
	if cfg.Driver == DriverMySQL {
		var version string
		if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
			db.Close()
			return nil, d, connector.Temporary(fmt.Errorf("read the server's version: %w", err))
		}
		d.mariadb, d.returning = mariaDBReturning(version)
	}
	return db, d, nil
}

// mariaDBReturning tells from VERSION() whether the server is MariaDB and
// whether it has INSERT … RETURNING (10.5 and later).
func mariaDBReturning(version string) (mariadb, returning bool) {
	if !strings.Contains(strings.ToLower(version), "mariadb") {
		return false, false
	}
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return true, false
	}
	return true, major > 10 || (major == 10 && minor >= 5)
}

// sqliteDSN makes a modernc SQLite connection string of a path or file:
// URI: relative paths against the configuration's folder, a busy timeout so
// that another writer makes us wait instead of fail, foreign keys checked,
// and write transactions
// that take the write lock at BEGIN (so an ifMatch check and its update see
// the same row).
func sqliteDSN(ctx context.Context, dsn string) (string, error) {
	if dsn == ":memory:" || strings.Contains(dsn, "mode=memory") {
		return "", fmt.Errorf("setting dsn: an in-memory SQLite database is private to one connection; give a file")
	}
	var path, query string
	if rest, uri := strings.CutPrefix(dsn, "file:"); uri {
		path, query, _ = strings.Cut(rest, "?")
		path = connector.ResolvePath(ctx, path)
	} else {
		// A plain path: the characters a URI gives a meaning are escaped.
		path = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(connector.ResolvePath(ctx, dsn))
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("setting dsn: the parameters after ? do not parse: %w", err)
	}
	pragmas := strings.Join(q["_pragma"], ",")
	if !strings.Contains(pragmas, "busy_timeout") {
		q.Add("_pragma", "busy_timeout(10000)")
	}
	if !strings.Contains(pragmas, "foreign_keys") {
		// SQLite checks foreign keys only where a connection asks it to;
		// the connector does not write rows that break the schema's.
		q.Add("_pragma", "foreign_keys(1)")
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode(), nil
}
