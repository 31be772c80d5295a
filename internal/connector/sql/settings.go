package sqlconn

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// Defaults of the settings.
const (
	DefaultPageSize = 1000
	MaxPageSize     = 10000
	DefaultOverlap  = 2 * time.Minute
	DefaultIDColumn = "id"
)

// Drivers the connector speaks, by the name the `driver` setting takes.
const (
	DriverPostgres = "postgres"
	DriverMySQL    = "mysql"
	DriverSQLite   = "sqlite"
)

// Config is a system's settings, decoded from its `settings:` block:
//
//	driver:     postgres | mysql (also MariaDB) | sqlite
//	dsn:        the connection string, or
//	dsn_env:    the environment variable that holds it
//	schema:     PostgreSQL schema or MySQL database of the tables (default:
//	            the connection's current one; not for sqlite)
//	page_size:  rows per listing page, 1..10000 (default 1000)
//	overlap:    how far back each incremental listing reaches before the
//	            position it was given (default 2m; "0s" turns it off)
//	datatypes:  per datatype name, a DatatypeConfig
//
// docs/adr/0011-sql-connector.md gives a full example.
type Config struct {
	Driver    string
	DSN       string
	Schema    string
	PageSize  int
	Overlap   time.Duration
	Datatypes map[string]*DatatypeConfig
}

// DatatypeConfig is one datatype's settings:
//
//	table:             the table written to (and read from)
//	read_from:         a view to read from instead (writes still go to table)
//	id_column:         the key column (default id)
//	generate_id:       uuid: the connector gives new rows a UUID (text or uuid
//	                   key columns); otherwise the database must (identity,
//	                   serial, auto-increment or a default)
//	updated_column:    the last-modified timestamp; the database maintains it
//	                   and the connector sets it on its own writes
//	change_table:      {create: true, name: …}: a change log table filled by
//	                   triggers, read as a sequence (instead of, or next to,
//	                   updated_column)
//	deleted_column:    soft deletes: a timestamp (set = deleted) or boolean
//	columns:           the columns presented as fields (default: all but the
//	                   id, updated and deleted columns)
//	parent_column:     for lines: the column holding the parent row's id
//	reference_columns: columns holding other rows' ids, presented as text like
//	                   record ids (foreign keys are found in the catalog)
type DatatypeConfig struct {
	Name             string
	Table            string
	ReadFrom         string
	IDColumn         string
	GenerateID       string
	UpdatedColumn    string
	DeletedColumn    string
	Columns          []string
	ParentColumn     string
	ReferenceColumns []string
	ChangeTable      *ChangeTableConfig
}

// ChangeTableConfig is a datatype's change_table block.
type ChangeTableConfig struct {
	Name   string // default <table>_changes
	Create bool   // create the table and its triggers when missing
}

var (
	settingKeys     = []string{"datatypes", "driver", "dsn", "dsn_env", "overlap", "page_size", "schema"}
	datatypeKeys    = []string{"change_table", "columns", "deleted_column", "generate_id", "id_column", "parent_column", "read_from", "reference_columns", "table", "updated_column"}
	changeTableKeys = []string{"create", "name"}
)

// settingsReader decodes one block of settings, naming the path of every
// problem ("datatypes.orders.table").
type settingsReader struct {
	m    map[string]any
	path string
	err  error
}

func (r *settingsReader) at(key string) string {
	if r.path == "" {
		return key
	}
	return r.path + "." + key
}

func (r *settingsReader) fail(key, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("setting %s: %s", r.at(key), fmt.Sprintf(format, args...))
	}
}

func (r *settingsReader) known(keys []string) {
	for _, k := range mapKeys(r.m) {
		if !slices.Contains(keys, k) {
			r.fail(k, "unknown setting (known here: %s)", strings.Join(keys, ", "))
		}
	}
}

// str reads a text setting; absent gives "".
func (r *settingsReader) str(key string) string {
	v, ok := r.m[key]
	if !ok || v == nil {
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		r.fail(key, "want a text, got %v", v)
		return ""
	}
	return strings.TrimSpace(s)
}

// name reads an identifier setting: non-empty text without control
// characters. Whether it exists is checked against the catalog at open.
func (r *settingsReader) name(key, what string) string {
	s := r.str(key)
	if _, ok := r.m[key]; ok && s == "" && r.err == nil {
		r.fail(key, "want %s, got an empty value", what)
	}
	if strings.ContainsFunc(s, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		r.fail(key, "want %s, got %q (control characters)", what, s)
	}
	return s
}

// names reads a list of identifiers.
func (r *settingsReader) names(key, what string) ([]string, bool) {
	v, ok := r.m[key]
	if !ok {
		return nil, false
	}
	list, isList := v.([]any)
	if !isList {
		r.fail(key, "want a list of %s, got %v", what, v)
		return nil, true
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, isStr := e.(string)
		s = strings.TrimSpace(s)
		if !isStr || s == "" {
			r.fail(fmt.Sprintf("%s[%d]", key, i), "want %s, got %v", what, e)
			return nil, true
		}
		if slices.Contains(out, s) {
			r.fail(fmt.Sprintf("%s[%d]", key, i), "%q is listed twice", s)
			return nil, true
		}
		out = append(out, s)
	}
	return out, true
}

// block reads a nested mapping.
func (r *settingsReader) block(key string) (*settingsReader, bool) {
	v, ok := r.m[key]
	if !ok {
		return nil, false
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		r.fail(key, "want a mapping, got %v", v)
		return nil, false
	}
	return &settingsReader{m: m, path: r.at(key)}, true
}

// ParseSettings reads and checks a system's settings block. It does not
// reach the database: names are checked against its catalog at open.
func ParseSettings(settings map[string]any) (Config, error) {
	cfg := Config{PageSize: DefaultPageSize, Overlap: DefaultOverlap, Datatypes: map[string]*DatatypeConfig{}}
	r := &settingsReader{m: settings}
	r.known(settingKeys)
	cfg.Driver = strings.ToLower(r.str("driver"))
	if r.err == nil {
		switch cfg.Driver {
		case DriverPostgres, DriverMySQL, DriverSQLite:
		case "postgresql", "pgx":
			cfg.Driver = DriverPostgres
		case "mariadb":
			cfg.Driver = DriverMySQL
		case "":
			r.fail("driver", "required: postgres, mysql (also for MariaDB) or sqlite")
		default:
			r.fail("driver", "want postgres, mysql (also for MariaDB) or sqlite, got %q", cfg.Driver)
		}
	}
	cfg.DSN = r.str("dsn")
	dsnEnv := r.str("dsn_env")
	if r.err == nil {
		switch {
		case cfg.DSN != "" && dsnEnv != "":
			r.fail("dsn", "give dsn or dsn_env, not both")
		case dsnEnv != "":
			cfg.DSN = strings.TrimSpace(os.Getenv(dsnEnv))
			if cfg.DSN == "" {
				r.fail("dsn_env", "the environment variable %s is empty or not set", dsnEnv)
			}
		case cfg.DSN == "":
			r.fail("dsn", "required (or dsn_env): the database's connection string, e.g. %s", exampleDSN(cfg.Driver))
		}
	}
	cfg.Schema = r.name("schema", "a schema name")
	if cfg.Schema != "" && cfg.Driver == DriverSQLite && r.err == nil {
		r.fail("schema", "not used with sqlite (the tables are those of the database file)")
	}
	if v, ok := settings["page_size"]; ok {
		n, whole := wholeNumber(v)
		if !whole || n < 1 || n > MaxPageSize {
			r.fail("page_size", "want a whole number from 1 to %d, got %v", MaxPageSize, v)
		}
		cfg.PageSize = n
	}
	if s := r.str("overlap"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			r.fail("overlap", "want a duration such as \"2m\" (\"0s\" for none), got %q", s)
		}
		cfg.Overlap = d
	}
	dts, ok := r.block("datatypes")
	if !ok && r.err == nil {
		r.fail("datatypes", "required: one entry per datatype, e.g. datatypes: {customers: {table: customers, updated_column: updated_at}}")
	}
	if r.err != nil {
		return cfg, r.err
	}
	if len(dts.m) == 0 {
		return cfg, fmt.Errorf("setting datatypes: name at least one datatype")
	}
	for _, name := range mapKeys(dts.m) {
		dr, _ := dts.block(name)
		if dts.err != nil {
			return cfg, dts.err
		}
		dt, err := parseDatatype(name, dr)
		if err != nil {
			return cfg, err
		}
		cfg.Datatypes[name] = dt
	}
	return cfg, nil
}

func parseDatatype(name string, r *settingsReader) (*DatatypeConfig, error) {
	dt := &DatatypeConfig{Name: name}
	r.known(datatypeKeys)
	dt.Table = r.name("table", "a table name")
	if dt.Table == "" && r.err == nil {
		r.fail("table", "required: the table that holds the %s", name)
	}
	dt.ReadFrom = r.name("read_from", "a view or table name")
	dt.IDColumn = r.name("id_column", "a column name")
	if dt.IDColumn == "" {
		dt.IDColumn = DefaultIDColumn
	}
	switch g := strings.ToLower(r.str("generate_id")); g {
	case "", "database":
	case "uuid":
		dt.GenerateID = g
	default:
		r.fail("generate_id", "want uuid (the connector makes new ids) or leave it out (the database does), got %q", g)
	}
	dt.UpdatedColumn = r.name("updated_column", "a column name")
	dt.DeletedColumn = r.name("deleted_column", "a column name")
	dt.ParentColumn = r.name("parent_column", "a column name")
	dt.Columns, _ = r.names("columns", "column names")
	dt.ReferenceColumns, _ = r.names("reference_columns", "column names")
	if _, ok := r.m["columns"]; ok && len(dt.Columns) == 0 && r.err == nil {
		r.fail("columns", "name at least one column, or leave columns out for all of them")
	}
	if ct, ok := r.block("change_table"); ok {
		ct.known(changeTableKeys)
		dt.ChangeTable = &ChangeTableConfig{Name: ct.name("name", "a table name")}
		if v, ok := ct.m["create"]; ok {
			b, isBool := v.(bool)
			if !isBool {
				ct.fail("create", "want true or false, got %v", v)
			}
			dt.ChangeTable.Create = b
		}
		if ct.err != nil && r.err == nil {
			r.err = ct.err
		}
		if dt.ChangeTable.Name == "" {
			dt.ChangeTable.Name = dt.Table + "_changes"
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if dt.UpdatedColumn == "" && dt.ChangeTable == nil {
		return nil, fmt.Errorf("setting %s: give updated_column (a timestamp the database keeps current) or change_table: {create: true} (a change log the connector keeps with triggers), so that changes can be listed", r.path)
	}
	special := map[string]string{dt.IDColumn: "id_column"}
	for _, s := range []struct{ key, col string }{{"updated_column", dt.UpdatedColumn}, {"deleted_column", dt.DeletedColumn}} {
		if s.col == "" {
			continue
		}
		if other, dup := special[s.col]; dup {
			return nil, fmt.Errorf("setting %s.%s: %q is already the %s", r.path, s.key, s.col, other)
		}
		special[s.col] = s.key
	}
	for i, c := range dt.Columns {
		if role, ok := special[c]; ok {
			return nil, fmt.Errorf("setting %s.columns[%d]: %q is the %s, which the connector keeps itself; it cannot be a field", r.path, i, c, role)
		}
	}
	for _, s := range append([]string{dt.ParentColumn}, dt.ReferenceColumns...) {
		if role, ok := special[s]; ok && s != "" {
			return nil, fmt.Errorf("setting %s: %q is the %s; it cannot also hold another row's id", r.path, s, role)
		}
	}
	return dt, nil
}

func exampleDSN(driver string) string {
	switch driver {
	case DriverMySQL:
		return "shop:secret@tcp(db.example:3306)/shop"
	case DriverSQLite:
		return "shop.db"
	}
	return "postgres://shop:secret@db.example:5432/shop"
}

func wholeNumber(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), n >= math.MinInt32 && n <= math.MaxInt32
	case uint64:
		return int(n), n <= math.MaxInt32
	case float64:
		return int(n), n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32
	}
	return 0, false
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
