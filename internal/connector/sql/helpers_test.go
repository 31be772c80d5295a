package sqlconn

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	_ "github.com/concordsync/concord/internal/connector/memory"
)

// The servers the tests reach where they run (CI runs both). Each test
// works in a schema (PostgreSQL) or database (MariaDB) of its own, made
// for it and dropped after it, so that parallel runs never meet.
var (
	postgresDSN = envOr("CONCORD_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	mariadbDSN  = envOr("CONCORD_TEST_MYSQL_DSN", "root@tcp(127.0.0.1:3306)/test")
)

// requireServices makes an unreachable server a failure instead of a skip
// (.ci/run sets it).
var requireServices = os.Getenv("CONCORD_REQUIRE_SERVICES") == "1"

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// backends are the three databases, by the name the tests and testdata use.
var backends = []string{"sqlite", "postgres", "mariadb"}

// server is a reachable database server, or why not.
type server struct {
	once  sync.Once
	admin *sql.DB
	err   error
}

var servers = map[string]*server{"postgres": {}, "mariadb": {}}

func (s *server) reach(name string) (*sql.DB, error) {
	s.once.Do(func() {
		var err error
		switch name {
		case "postgres":
			s.admin, err = sql.Open("pgx", postgresDSN)
		case "mariadb":
			s.admin, err = sql.Open("mysql", mariadbDSN)
		}
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			err = s.admin.PingContext(ctx)
			cancel()
		}
		s.err = err
	})
	return s.admin, s.err
}

// shop is a webshop database made for one test from testdata/schema.*.sql.
type shop struct {
	t       *testing.T
	backend string
	driver  string
	dsn     string  // the connection string of the test's own schema
	db      *sql.DB // a user's connection to it, beside the connector's
	prefix  string  // unique within the server, for names and values
}

var shopSeq atomic.Int64

// newShop makes an empty webshop on backend, or skips the test (fails it,
// with CONCORD_REQUIRE_SERVICES=1) when the server cannot be reached.
func newShop(t *testing.T, backend string) *shop {
	t.Helper()
	s := &shop{t: t, backend: backend, prefix: fmt.Sprintf("concord_t%d_%d_%d", os.Getpid(), shopSeq.Add(1), rand.IntN(1e6))}
	switch backend {
	case "sqlite":
		s.driver = DriverSQLite
		path := t.TempDir() + "/shop.db"
		// WAL with synchronous NORMAL: commits do not wait for the disk.
		s.dsn = "file:" + path + "?_pragma=synchronous(NORMAL)"
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
		if err != nil {
			t.Fatal(err)
		}
		s.db = db
	case "postgres":
		s.driver = DriverPostgres
		admin := s.server()
		if _, err := admin.Exec("CREATE SCHEMA " + s.prefix); err != nil {
			t.Fatalf("create schema: %v", err)
		}
		t.Cleanup(func() {
			if _, err := admin.Exec("DROP SCHEMA " + s.prefix + " CASCADE"); err != nil {
				t.Errorf("drop schema %s: %v", s.prefix, err)
			}
		})
		u, err := url.Parse(postgresDSN)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", s.prefix)
		u.RawQuery = q.Encode()
		s.dsn = u.String()
		if s.db, err = sql.Open("pgx", s.dsn); err != nil {
			t.Fatal(err)
		}
	case "mariadb":
		s.driver = DriverMySQL
		admin := s.server()
		if _, err := admin.Exec("CREATE DATABASE " + s.prefix); err != nil {
			t.Fatalf("create database: %v", err)
		}
		t.Cleanup(func() {
			if _, err := admin.Exec("DROP DATABASE " + s.prefix); err != nil {
				t.Errorf("drop database %s: %v", s.prefix, err)
			}
		})
		mc, err := mysql.ParseDSN(mariadbDSN)
		if err != nil {
			t.Fatal(err)
		}
		mc.DBName = s.prefix
		s.dsn = mc.FormatDSN()
		mc.MultiStatements = true
		mc.ParseTime = true
		mc.Params = map[string]string{"time_zone": "'+00:00'"}
		if s.db, err = sql.Open("mysql", mc.FormatDSN()); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("no backend %q", backend)
	}
	t.Cleanup(func() { s.db.Close() })
	schema, err := os.ReadFile("testdata/schema." + backend + ".sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(string(schema)); err != nil {
		t.Fatalf("create the webshop's tables in %s: %v", backend, err)
	}
	return s
}

// server returns the admin connection of the shop's server, or skips.
func (s *shop) server() *sql.DB {
	s.t.Helper()
	admin, err := servers[s.backend].reach(s.backend)
	if err != nil {
		if requireServices {
			s.t.Fatalf("%s is not reachable (CONCORD_REQUIRE_SERVICES=1): %v", s.backend, err)
		}
		s.t.Skipf("%s is not reachable, skipped (set CONCORD_REQUIRE_SERVICES=1 to fail instead): %v", s.backend, err)
	}
	return admin
}

// placeholders turns the ? of a test's statement into the backend's.
func (s *shop) placeholders(q string) string {
	if s.driver != DriverPostgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exec runs a statement as a user of the shop would, beside the connector.
func (s *shop) exec(q string, args ...any) sql.Result {
	s.t.Helper()
	res, err := s.db.Exec(s.placeholders(q), args...)
	if err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return res
}

// insert adds a row as a user would and returns its key as text.
func (s *shop) insert(table string, cols []string, vals ...any) string {
	s.t.Helper()
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + marks + ")"
	if s.driver == DriverMySQL {
		res := s.exec(q, vals...)
		id, err := res.LastInsertId()
		if err != nil {
			s.t.Fatal(err)
		}
		return fmt.Sprint(id)
	}
	var id any
	if err := s.db.QueryRow(s.placeholders(q+" RETURNING id"), vals...).Scan(&id); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return idText(bytesToString(id))
}

// count counts a table's rows that meet a condition.
func (s *shop) count(table, where string, args ...any) int {
	s.t.Helper()
	var n int
	q := "SELECT COUNT(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	if err := s.db.QueryRow(s.placeholders(q), args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// value reads one value.
func (s *shop) value(q string, args ...any) any {
	s.t.Helper()
	var v any
	if err := s.db.QueryRow(s.placeholders(q), args...).Scan(&v); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return bytesToString(v)
}

// exampleConfig loads the backend's example configuration as a user wrote
// it, pointed at this test's shop and at an ERP memory instance of its own.
func (s *shop) exampleConfig(erpInstance string) *config.Config {
	s.t.Helper()
	cfg := loadExample(s.t, s.backend)
	settings := cfg.Systems["shop"].Settings
	delete(settings, "dsn_env")
	settings["dsn"] = s.dsn
	cfg.Systems["erp"].Settings["instance"] = erpInstance
	return cfg
}

func loadExample(t *testing.T, backend string) *config.Config {
	t.Helper()
	file := "testdata/webshop." + backend + ".yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.ParseWith(file, data, config.Options{Kinds: connector.Kinds()})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return cfg
}

// settings returns the example's shop settings with changes, for tests
// that open the connector on their own.
func (s *shop) settings(change map[string]any) map[string]any {
	s.t.Helper()
	settings := s.exampleConfig("unused").Systems["shop"].Settings
	for k, v := range change {
		settings[k] = v
	}
	return settings
}

// open opens the shop through the connector registry, as the runner does.
func (s *shop) open(settings map[string]any) *Conn {
	s.t.Helper()
	c, err := connector.Open(s.t.Context(), Kind, "shop", settings)
	if err != nil {
		s.t.Fatalf("open: %v", err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c.(*Conn)
}

// datatypeSettings is the example's settings block of one datatype.
func datatypeSettings(settings map[string]any, datatype string) map[string]any {
	return settings["datatypes"].(map[string]any)[datatype].(map[string]any)
}
