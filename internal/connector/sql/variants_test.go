package sqlconn

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/concordsync/concord/internal/connector"
)

// A datatype read from a view presents the view's columns; those the
// table lacks are read-only.
func TestReadFromView(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, b)
			s.exec("CREATE VIEW customers_view AS SELECT c.*, UPPER(c.name) AS name_upper FROM customers c")
			settings := s.settings(nil)
			dt := datatypeSettings(settings, "customers")
			dt["read_from"] = "customers_view"
			dt["columns"] = []any{"email", "name", "name_upper"}
			c := s.open(settings)
			ctx := t.Context()
			r, err := c.Insert(ctx, "customers", connector.Fields{"email": "v@shop.test", "name": "Viewed"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Fields["name_upper"] != "VIEWED" {
				t.Fatalf("insert returned %v, want the view's name_upper", r.Fields)
			}
			if _, err := c.Update(ctx, "customers", r.ID, connector.Fields{"name_upper": "X"}, ""); !errors.Is(err, connector.ErrRejected) || !strings.Contains(err.Error(), "read-only") {
				t.Fatalf("update of a view-only column: want a read-only rejection, got %v", err)
			}
			u, err := c.Update(ctx, "customers", r.ID, connector.Fields{"name": "Renamed"}, connector.Hash(r.Fields))
			if err != nil {
				t.Fatal(err)
			}
			if u.Fields["name_upper"] != "RENAMED" {
				t.Fatalf("update returned %v", u.Fields)
			}
			recs, _ := listAll(t, c, "customers", connector.ListRequest{})
			if len(recs) != 1 || recs[0].Fields["name_upper"] != "RENAMED" {
				t.Fatalf("listing from the view: %v", recs)
			}
		})
	}
}

// With the schema setting, names are qualified by it, whatever the
// connection's current schema (database); the change table and its
// triggers are made there.
func TestSchemaSetting(t *testing.T) {
	t.Parallel()
	for _, b := range []string{"postgres", "mariadb"} {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, b)
			settings := s.settings(map[string]any{"schema": s.prefix, "dsn": postgresDSN})
			if b == "mariadb" {
				settings["dsn"] = mariadbDSN
			}
			c := s.open(settings)
			ctx := t.Context()
			cust := s.insert("customers", []string{"email", "name"}, "s@shop.test", "S")
			order, err := c.Insert(ctx, "orders", connector.Fields{"number": "SO-S", "customer_id": cust})
			if err != nil {
				t.Fatal(err)
			}
			prod := s.insert("products", []string{"sku", "name"}, "P", "P")
			if _, err := c.Insert(ctx, "order_lines", connector.Fields{"order_id": order.ID, "product_id": prod, "quantity": 2.0}); err != nil {
				t.Fatal(err)
			}
			if n := s.count("order_lines_changes", ""); n != 1 {
				t.Fatalf("the change table in %s logged %d changes, want 1", s.prefix, n)
			}
			recs, _ := listAll(t, c, "order_lines", connector.ListRequest{})
			if len(recs) != 1 {
				t.Fatalf("order_lines listing: %v", recs)
			}
		})
	}
}

// Without INSERT … RETURNING (MySQL; MariaDB before 10.5) the new key of
// an AUTO_INCREMENT column comes from LAST_INSERT_ID().
func TestInsertWithoutReturning(t *testing.T) {
	t.Parallel()
	s := newShop(t, "mariadb")
	c := s.open(s.settings(nil))
	c.d.returning = false
	r, err := c.Insert(t.Context(), "customers", connector.Fields{"email": "l@shop.test", "name": "L"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.value("SELECT id FROM customers WHERE email = ?", "l@shop.test"); r.ID == "" || idText(got) != r.ID {
		t.Fatalf("insert returned id %q; the row's is %v", r.ID, got)
	}
	// A key with a default other than AUTO_INCREMENT cannot be read back
	// there: open says so.
	s.exec("CREATE TABLE notes (id CHAR(36) DEFAULT (UUID()) PRIMARY KEY, body TEXT, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))")
	mc, _ := mysql.ParseDSN(s.dsn)
	cfg := Config{Driver: DriverMySQL, DSN: mc.FormatDSN(), PageSize: 10,
		Datatypes: map[string]*DatatypeConfig{"notes": {Name: "notes", Table: "notes", IDColumn: "id", UpdatedColumn: "updated_at"}}}
	db, d, err := openDB(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d.returning = false
	cat := &catalog{db: db, d: d}
	conn := &Conn{system: "shop", cfg: cfg, db: db, d: d}
	_, err = conn.resolve(t.Context(), cat, cfg.Datatypes["notes"])
	if err == nil || !strings.Contains(err.Error(), "not AUTO_INCREMENT") {
		t.Fatalf("a uuid() default key without RETURNING: want an error at open, got %v", err)
	}
}

// Decimals go back as they came: amounts as float64, wider values with
// every digit.
func TestDecimalsRoundTrip(t *testing.T) {
	t.Parallel()
	ddl := map[string]string{
		"sqlite":   "CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount DECIMAL(30,10), updated_at DATETIME NOT NULL)",
		"postgres": "CREATE TABLE ledger (id serial PRIMARY KEY, amount numeric(30,10), updated_at timestamptz NOT NULL)",
		"mariadb":  "CREATE TABLE ledger (id INT AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(30,10), updated_at DATETIME(6) NOT NULL)",
	}
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, b)
			s.exec(ddl[b])
			settings := s.settings(nil)
			settings["datatypes"] = map[string]any{"ledger": map[string]any{"table": "ledger", "updated_column": "updated_at"}}
			c := s.open(settings)
			wide := "12345678901234567890.0123456789"
			for _, in := range []any{12.5, json.Number(wide), "0.1"} {
				r, err := c.Insert(t.Context(), "ledger", connector.Fields{"amount": in})
				if err != nil {
					t.Fatal(err)
				}
				got := r.Fields["amount"]
				switch {
				case in == 12.5 && got != 12.5,
					in == "0.1" && got != 0.1:
					t.Errorf("amount %#v came back as %#v", in, got)
				case in == json.Number(wide) && b != "sqlite" && got != json.Number(wide):
					t.Errorf("amount %s came back as %#v", wide, got)
				}
			}
		})
	}
}
