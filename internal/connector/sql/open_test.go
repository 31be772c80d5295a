package sqlconn

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/store/memstore"
)

// openErr opens the shop with changed datatype settings and returns the
// error, failing when there is none.
func (s *shop) openErr(datatype string, change map[string]any) error {
	s.t.Helper()
	settings := s.settings(nil)
	dt := datatypeSettings(settings, datatype)
	for k, v := range change {
		if v == nil {
			delete(dt, k)
		} else {
			dt[k] = v
		}
	}
	c, err := Open(s.t.Context(), "shop", settings)
	if err == nil {
		c.Close()
		s.t.Fatalf("open with %s %v succeeded", datatype, change)
	}
	return err
}

// wantOneError fails unless err is one line holding every part.
func wantOneError(t *testing.T, err error, parts ...string) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("want one error, got several:\n%s", msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error does not say %s:\n%s", p, msg)
		}
	}
}

// A wrong table or column name in the settings is one clear error at open,
// naming the system, the datatype, the setting, the table and the column.
func TestOpenChecksNamesAgainstTheCatalog(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, b)
			wantOneError(t, s.openErr("customers", map[string]any{"columns": []any{"email", "nmae"}}),
				`system "shop"`, `datatype "customers"`, "datatypes.customers.columns[1]", `table "customers"`, `no column "nmae"`, "it has: id, email, name")
			err := s.openErr("customers", map[string]any{"table": "customer"})
			wantOneError(t, err, `system "shop"`, `datatype "customers"`, "datatypes.customers.table", `no table "customer"`, "customers", "order_lines", "orders", "products")
			if strings.Contains(err.Error(), "order_lines_changes") {
				t.Errorf("an open that failed made the change table of order_lines: %v", err)
			}
			wantOneError(t, s.openErr("orders", map[string]any{"updated_column": "updatd_at"}),
				`datatype "orders"`, "datatypes.orders.updated_column", `table "orders" has no column "updatd_at"`)
			wantOneError(t, s.openErr("orders", map[string]any{"updated_column": "number"}),
				"datatypes.orders.updated_column", "must be a timestamp")
			wantOneError(t, s.openErr("orders", map[string]any{"generate_id": nil}),
				"datatypes.orders.id_column", `column "id" of table "orders" gets no value from the database`, "generate_id: uuid")
			wantOneError(t, s.openErr("customers", map[string]any{"generate_id": "uuid"}),
				"datatypes.customers.generate_id", "needs a text or uuid key column")
			wantOneError(t, s.openErr("order_lines", map[string]any{"change_table": map[string]any{"name": "line_log"}}),
				"datatypes.order_lines.change_table", `no change table "line_log"`, "create: true")
			wantOneError(t, s.openErr("customers", map[string]any{"read_from": "customer_view"}),
				"datatypes.customers.read_from", `no view or table "customer_view"`)
		})
	}
}

func TestParseSettingsErrors(t *testing.T) {
	t.Setenv("EMPTY_DSN", "")
	dt := func(kv ...any) map[string]any {
		m := map[string]any{"table": "customers", "updated_column": "updated_at"}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return map[string]any{"driver": "sqlite", "dsn": "shop.db", "datatypes": map[string]any{"customers": m}}
	}
	with := func(base map[string]any, kv ...any) map[string]any {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(base, kv[i].(string))
			} else {
				base[kv[i].(string)] = kv[i+1]
			}
		}
		return base
	}
	for _, c := range []struct {
		name     string
		settings map[string]any
		want     string
	}{
		{"unknown setting", with(dt(), "host", "db"), `setting host: unknown setting (known here: datatypes, driver, dsn, dsn_env`},
		{"no driver", with(dt(), "driver", nil), "setting driver: required: postgres, mysql"},
		{"unknown driver", with(dt(), "driver", "oracle"), `setting driver: want postgres, mysql (also for MariaDB) or sqlite, got "oracle"`},
		{"no dsn", with(dt(), "dsn", nil), "setting dsn: required (or dsn_env)"},
		{"both dsn", with(dt(), "dsn_env", "X"), "give dsn or dsn_env, not both"},
		{"empty dsn_env", with(dt(), "dsn", nil, "dsn_env", "EMPTY_DSN"), "setting dsn_env: the environment variable EMPTY_DSN is empty or not set"},
		{"schema with sqlite", with(dt(), "schema", "public"), "setting schema: not used with sqlite"},
		{"page size", with(dt(), "page_size", 0), "setting page_size: want a whole number from 1 to 10000, got 0"},
		{"overlap", with(dt(), "overlap", "soon"), `setting overlap: want a duration such as "2m"`},
		{"no datatypes", with(dt(), "datatypes", nil), "setting datatypes: required"},
		{"datatypes not a mapping", with(dt(), "datatypes", []any{"customers"}), "setting datatypes: want a mapping"},
		{"unknown datatype key", dt("id_colum", "id"), "setting datatypes.customers.id_colum: unknown setting (known here: change_table, columns"},
		{"no table", dt("table", nil), "setting datatypes.customers.table: required"},
		{"no way to list changes", dt("updated_column", nil), "setting datatypes.customers: give updated_column"},
		{"generate_id", dt("generate_id", "serial"), `setting datatypes.customers.generate_id: want uuid`},
		{"column is the id", dt("columns", []any{"name", "id"}), `setting datatypes.customers.columns[1]: "id" is the id_column`},
		{"column twice", dt("columns", []any{"name", "name"}), `setting datatypes.customers.columns[1]: "name" is listed twice`},
		{"column not text", dt("columns", []any{"name", 3}), `setting datatypes.customers.columns[1]: want column names, got 3`},
		{"updated is deleted", dt("deleted_column", "updated_at"), `setting datatypes.customers.deleted_column: "updated_at" is already the updated_column`},
		{"change_table key", dt("change_table", map[string]any{"create": true, "keep": "7d"}), "setting datatypes.customers.change_table.keep: unknown setting"},
		{"change_table create", dt("change_table", map[string]any{"create": "yes"}), "setting datatypes.customers.change_table.create: want true or false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSettings(c.settings)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant an error holding %q", err, c.want)
			}
		})
	}
}

// The example configurations stay valid: they parse, and against their
// schema they open, the engine compiles their mappings, and every field
// they map is one the connector describes.
func TestExampleConfigs(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			loadExample(t, b) // parses whatever servers are reachable
			s := newShop(t, b)
			cfg := s.exampleConfig("example-" + s.prefix)
			c := s.open(cfg.Systems["shop"].Settings)
			conns := map[string]connector.Connector{"shop": c, "erp": nil}
			erp, err := connector.Open(t.Context(), "memory", "erp", cfg.Systems["erp"].Settings)
			if err != nil {
				t.Fatal(err)
			}
			conns["erp"] = erp
			if _, err := engine.New(cfg, memstore.New(), conns, engine.Options{}); err != nil {
				t.Fatal(err)
			}
			infos, _ := c.Describe(t.Context())
			known := map[string]map[string]bool{}
			for _, info := range infos {
				known[info.Name] = map[string]bool{}
				for _, p := range info.Properties {
					known[info.Name][p.Name] = true
				}
			}
			for _, m := range cfg.Mappings {
				if m.System != "shop" {
					continue
				}
				for _, p := range m.Properties {
					if !known[m.Datatype][p.Field] {
						t.Errorf("mapping of %s: the shop's %s have no field %s", m.Datatype, m.Datatype, p.Field)
					}
				}
				if m.Lines != nil {
					fields := []string{m.Lines.ParentField}
					for _, p := range m.Lines.Properties {
						fields = append(fields, p.Field)
					}
					for _, f := range fields {
						if !known[m.Lines.Datatype][f] {
							t.Errorf("lines of %s: the shop's %s have no field %s", m.Datatype, m.Lines.Datatype, f)
						}
					}
				}
			}
		})
	}
}

// Writes the schema refuses are rejected naming the constraint; values a
// column cannot take and unknown fields are rejected naming the field.
func TestRejectedWrites(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, b)
			c := s.open(s.settings(nil))
			ctx := t.Context()
			if _, err := c.Insert(ctx, "customers", connector.Fields{"email": "a@shop.test", "name": "A"}); err != nil {
				t.Fatal(err)
			}
			for _, w := range []struct {
				datatype string
				fields   connector.Fields
				says     []string
			}{
				{"customers", connector.Fields{"email": "a@shop.test", "name": "Again"}, []string{"customers", "email"}},
				{"customers", connector.Fields{"email": "b@shop.test"}, []string{"name"}},
				{"products", connector.Fields{"sku": "NEG", "name": "Negative", "price": -1.0}, []string{"products_price_check"}},
				{"orders", connector.Fields{"number": "SO-X", "customer_id": "999999"}, []string{"insert orders"}},
				{"customers", connector.Fields{"email": "c@shop.test", "name": "C", "credit_limit": "lots"}, []string{`field "credit_limit"`, "want a number"}},
				{"customers", connector.Fields{"email": "d@shop.test", "name": "D", "shoe_size": 42.0}, []string{`customers has no field "shoe_size"`}},
				{"customers", connector.Fields{"email": "e@shop.test", "name": "E", "updated_at": "2024-01-01T00:00:00Z"}, []string{`no field "updated_at"`}},
				{"customers", connector.Fields{"id": "7", "email": "f@shop.test", "name": "F"}, []string{`field "id" is the key column`}},
			} {
				_, err := c.Insert(ctx, w.datatype, w.fields)
				if !errors.Is(err, connector.ErrRejected) {
					t.Errorf("insert %s %v: want ErrRejected, got %v", w.datatype, w.fields, err)
					continue
				}
				for _, part := range w.says {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("insert %s %v: the error does not say %s: %v", w.datatype, w.fields, part, err)
					}
				}
			}
			// Customers are deleted softly, so one with orders can be; a
			// product on an order line cannot be (a foreign key): rejected.
			cust := s.insert("customers", []string{"email", "name"}, "g@shop.test", "G")
			if _, err := c.Insert(ctx, "orders", connector.Fields{"number": "SO-G", "customer_id": cust}); err != nil {
				t.Fatal(err)
			}
			if err := c.Delete(ctx, "customers", cust); err != nil {
				t.Fatalf("soft delete of a customer with orders: %v", err)
			}
			if _, err := c.Get(ctx, "customers", cust); !errors.Is(err, connector.ErrNotFound) {
				t.Fatalf("get of a soft-deleted customer: want ErrNotFound, got %v", err)
			}
			if err := c.Delete(ctx, "customers", cust); !errors.Is(err, connector.ErrNotFound) {
				t.Fatalf("second delete: want ErrNotFound, got %v", err)
			}
			if _, err := c.Update(ctx, "customers", cust, connector.Fields{"city": "X"}, ""); !errors.Is(err, connector.ErrNotFound) {
				t.Fatalf("update of a soft-deleted customer: want ErrNotFound, got %v", err)
			}
			prod := s.insert("products", []string{"sku", "name"}, "HELD", "Held")
			order, err := c.Insert(ctx, "orders", connector.Fields{"number": "SO-H", "customer_id": s.insert("customers", []string{"email", "name"}, "h@shop.test", "H")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Insert(ctx, "order_lines", connector.Fields{"order_id": order.ID, "product_id": prod, "quantity": 1.0}); err != nil {
				t.Fatal(err)
			}
			if err := c.Delete(ctx, "products", prod); !errors.Is(err, connector.ErrRejected) {
				t.Fatalf("delete of a product on an order line: want ErrRejected, got %v", err)
			}
			if _, err := c.Get(ctx, "orders", "not-a-uuid"); !errors.Is(err, connector.ErrNotFound) {
				t.Fatalf("get of a malformed key: want ErrNotFound, got %v", err)
			}
		})
	}
}

// A server that cannot be reached is a temporary failure.
func TestUnreachableIsTemporary(t *testing.T) {
	for _, c := range []struct{ driver, dsn string }{
		{DriverPostgres, "postgres://concord@127.0.0.1:1/shop?connect_timeout=2"},
		{DriverMySQL, "concord@tcp(127.0.0.1:1)/shop?timeout=2s"},
	} {
		_, err := Open(t.Context(), "shop", map[string]any{"driver": c.driver, "dsn": c.dsn,
			"datatypes": map[string]any{"customers": map[string]any{"table": "customers", "updated_column": "updated_at"}}})
		if !connector.IsTemporary(err) {
			t.Errorf("%s: want a temporary error, got %v", c.driver, err)
		}
	}
}

// Values read the same on every backend and go back as they came:
// decimals keep their digits.
func TestValues(t *testing.T) {
	d := &column{name: "price", dbType: "numeric(10,2)", kind: kDecimal}
	for _, c := range []struct {
		in   any
		want any
	}{
		{"12.50", 12.5},
		{[]byte("0.10"), 0.1},
		{"-0.30", -0.3},
		{"007", 7.0},
		{"99999999999999.99", json.Number("99999999999999.99")}, // 16 digits: more than a float64 holds
		{"1234567890.1234567891", json.Number("1234567890.1234567891")},
		{12.5, 12.5}, // SQLite keeps REAL
		{int64(3), 3.0},
		{nil, nil},
	} {
		if got, _ := present(d, c.in); got != c.want {
			t.Errorf("present %#v: got %#v, want %#v", c.in, got, c.want)
		}
	}
	pg := dialect{driver: DriverPostgres}
	for _, c := range []struct {
		in   any
		want any
	}{
		{json.Number("12.50"), "12.50"},
		{12.5, "12.5"},
		{0.1, "0.1"},
		{"99999999.99", "99999999.99"},
		{int64(7), "7"},
	} {
		if got, err := pg.param(d, c.in); err != nil || got != c.want {
			t.Errorf("param %#v: got %#v, %v, want %#v", c.in, got, err, c.want)
		}
	}
	ts := &column{name: "at", kind: kTimestamp}
	at := time.Date(2024, 1, 2, 10, 11, 12, 345000000, time.FixedZone("CET", 3600))
	for _, in := range []any{at, "2024-01-02 09:11:12.345", []byte("2024-01-02 09:11:12.345"), "2024-01-02T10:11:12.345+01:00"} {
		if got, _ := present(ts, in); got != "2024-01-02T09:11:12.345Z" {
			t.Errorf("present %#v: got %#v", in, got)
		}
	}
	if got := sqliteTime(at); got != "2024-01-02 09:11:12.345" {
		t.Errorf("sqliteTime = %q", got)
	}
	ref := &column{name: "customer_id", kind: kInteger, ref: true}
	if got, _ := present(ref, int64(17)); got != "17" {
		t.Errorf("a reference reads as text: got %#v", got)
	}
	if got, _ := pg.param(ref, "17"); got != int64(17) {
		t.Errorf("a reference writes as a number: got %#v", got)
	}
	if _, err := pg.param(ref, "E17"); err == nil {
		t.Errorf("a reference that is not a row id of the column is written")
	}
	if got := ceilTo(time.Date(2024, 1, 1, 0, 0, 5, 600, time.UTC), 0); !got.Equal(time.Date(2024, 1, 1, 0, 0, 6, 0, time.UTC)) {
		t.Errorf("ceilTo = %v", got)
	}
	if mariadb, returning := mariaDBReturning("10.11.19-MariaDB-0+deb12u1"); !mariadb || !returning {
		t.Errorf("MariaDB 10.11 has RETURNING")
	}
	if _, returning := mariaDBReturning("8.0.36"); returning {
		t.Errorf("MySQL 8 has no INSERT … RETURNING")
	}
}
