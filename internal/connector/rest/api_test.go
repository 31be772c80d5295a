package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/rest"
)

// api is a small JSON API of another dialect than the sandboxes': page
// numbers, offsets and Link headers over one collection, records wrapped
// in {"data": …} and {"item": …}, ETags, ids from Location, OAuth2 client
// credentials or basic auth. It checks the paging and auth styles the
// sandboxes do not use.
type api struct {
	t     *testing.T
	ts    *httptest.Server
	clock *clock

	mu        sync.Mutex
	items     []map[string]any // by id, ascending
	versions  map[string]int
	nextID    int
	auth      string // "oauth2", "basic", "key"
	tokens    int    // tokens handed out
	token     string // the one the API takes
	expires   time.Time
	calls     map[string]int // by method and path
	bodies    []string       // bodies of writes, in order
	moveOnGet bool           // a GET of a record is followed by someone else's change
}

func newAPI(t *testing.T, auth string) *api {
	a := &api{t: t, clock: newClock(), versions: map[string]int{}, nextID: 1, auth: auth, calls: map[string]int{}}
	a.ts = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.ts.Close)
	return a
}

func (a *api) add(fields map[string]any) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addLocked(fields)
}

func (a *api) addLocked(fields map[string]any) string {
	id := strconv.Itoa(a.nextID)
	a.nextID++
	rec := map[string]any{"id": a.nextID - 1, "updated_at": a.clock.Now().UTC().Format(time.RFC3339)}
	for k, v := range fields {
		rec[k] = v
	}
	a.items = append(a.items, rec)
	a.versions[id] = 1
	return id
}

func (a *api) find(id string) int {
	for i, it := range a.items {
		if fmt.Sprint(it["id"]) == id {
			return i
		}
	}
	return -1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (a *api) authorized(r *http.Request) bool {
	switch a.auth {
	case "oauth2":
		return r.Header.Get("Authorization") == "Bearer "+a.token && a.clock.Now().Before(a.expires)
	case "basic":
		u, p, ok := r.BasicAuth()
		return ok && u == "sync" && p == "s3cret"
	case "key":
		return r.Header.Get("Api-Token") == "k3y"
	}
	return true
}

func (a *api) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls[r.Method+" "+r.URL.Path]++
	if testing.Verbose() {
		a.t.Logf("%s %s", r.Method, r.URL)
	}
	if r.URL.Path == "/token" {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "client" || secret != "secret" || r.FormValue("grant_type") != "client_credentials" || r.FormValue("scope") != "items" {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_description": "unknown client"})
			return
		}
		a.tokens++
		a.token, a.expires = fmt.Sprintf("tok-%d", a.tokens), a.clock.Now().Add(time.Hour)
		writeJSON(w, http.StatusOK, map[string]any{"access_token": a.token, "token_type": "Bearer", "expires_in": 3600})
		return
	}
	if !a.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []any{map[string]any{"message": "not authorized"}}})
		return
	}
	q := r.URL.Query()
	num := func(k string, def int) int {
		if n, err := strconv.Atoi(q.Get(k)); err == nil {
			return n
		}
		return def
	}
	slice := func(from, n int) []any {
		out := []any{}
		for i := from; i < len(a.items) && i < from+n; i++ {
			out = append(out, a.items[i])
		}
		return out
	}
	path := strings.TrimPrefix(r.URL.Path, "/v2")
	switch {
	case r.Method == http.MethodGet && path == "/paged":
		size := num("size", 10)
		writeJSON(w, http.StatusOK, map[string]any{"results": slice((num("page", 1)-1)*size, size), "total": len(a.items)})
	case r.Method == http.MethodGet && path == "/offset":
		writeJSON(w, http.StatusOK, map[string]any{"results": slice(num("offset", 0), num("limit", 10))})
	case r.Method == http.MethodGet && path == "/linked":
		size, from := num("size", 10), num("from", 0)
		if from+size < len(a.items) {
			w.Header().Add("Link", fmt.Sprintf(`</v2/linked?from=%d&size=%d>; rel="next", </v2/linked?from=0&size=%d>; rel="first"`, from+size, size, size))
		}
		writeJSON(w, http.StatusOK, slice(from, size))
	case r.Method == http.MethodPost && path == "/items":
		body, _ := io.ReadAll(r.Body)
		a.bodies = append(a.bodies, string(body))
		var in struct{ Item map[string]any }
		json.Unmarshal(body, &in)
		if in.Item["name"] == "" {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": []any{map[string]any{"message": "name can't be blank", "field": "name"}}})
			return
		}
		id := a.addLocked(in.Item)
		w.Header().Set("Location", "/v2/items/"+id)
		w.WriteHeader(http.StatusCreated)
	case strings.HasPrefix(path, "/items/"):
		id := strings.TrimPrefix(path, "/items/")
		i := a.find(id)
		if i < 0 {
			writeJSON(w, http.StatusNotFound, map[string]any{"errors": []any{map[string]any{"message": "no such item"}}})
			return
		}
		etag := fmt.Sprintf(`"v%d"`, a.versions[id])
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("ETag", etag)
			writeJSON(w, http.StatusOK, map[string]any{"data": a.items[i]})
			if a.moveOnGet {
				a.versions[id]++
			}
		case http.MethodPut:
			if r.Header.Get("If-Match") != etag {
				writeJSON(w, http.StatusPreconditionFailed, map[string]any{"errors": []any{map[string]any{"message": "changed in the meantime"}}})
				return
			}
			body, _ := io.ReadAll(r.Body)
			a.bodies = append(a.bodies, string(body))
			var in struct{ Item map[string]any }
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.UseNumber()
			dec.Decode(&in)
			in.Item["id"], in.Item["updated_at"] = a.items[i]["id"], a.clock.Now().UTC().Format(time.RFC3339)
			a.items[i] = in.Item
			a.versions[id]++
			writeJSON(w, http.StatusOK, map[string]any{"data": in.Item})
		case http.MethodDelete:
			a.items = append(a.items[:i], a.items[i+1:]...)
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []any{map[string]any{"message": "no route " + r.URL.Path}}})
	}
}

// apiSettings is the configuration of the api for kind rest.
func (a *api) settings(auth string) map[string]any {
	text := fmt.Sprintf(`
base_url: %s/v2
auth: %s
defaults:
  modified_field: /updated_at          # a JSON pointer
  list: {records: results}
  get: {path: "/items/{id}", record: data}    # quoted: braces in a flow mapping
  insert: {path: /items, wrap: item, id_from: location}
  update: {method: PUT, path: "/items/{id}", full: true, if_match: etag, wrap: item, record: data}
  delete: {path: "/items/{id}"}
  read_only: [updated_at]
datatypes:
  paged: {paging: {style: page, page_param: page, size_param: size, size: 3}}
  offset: {paging: {style: offset, offset_param: offset, size_param: limit, size: 3}}
  linked:
    list: {records: .}
    paging: {style: link_header, size_param: size, size: 3}
`, a.ts.URL, auth)
	var m map[string]any
	if err := json.Unmarshal(yamlToJSON(a.t, text), &m); err != nil {
		a.t.Fatal(err)
	}
	return m
}

func yamlToJSON(t *testing.T, text string) []byte {
	m := parseYAML(t, text)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (a *api) open(auth string) *rest.Conn {
	a.t.Helper()
	conn, err := rest.Open(context.Background(), "api", a.settings(auth), rest.Options{
		Now: a.clock.Now, Sleep: a.clock.Sleep, Logger: quiet,
		LookupEnv: func(k string) (string, bool) { return map[string]string{"API_SECRET": "secret"}[k], k == "API_SECRET" },
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return conn
}

func (a *api) count(call string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[call]
}

const oauth2Auth = `{type: oauth2_client_credentials, token_url: %s/token, client_id: client, client_secret_env: API_SECRET, scope: items}`

func TestPagingStyles(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 9, 10} {
		a := newAPI(t, "basic")
		for i := range n {
			a.add(map[string]any{"name": fmt.Sprintf("item %d", i)})
		}
		conn := a.open(`{type: basic, username: sync, password: s3cret}`)
		for _, tc := range []struct {
			datatype, call string
			calls          int // for n = 10; a listing that ends on a full page asks once more
		}{{"paged", "GET /v2/paged", 4}, {"offset", "GET /v2/offset", 4}, {"linked", "GET /v2/linked", 4}} {
			recs, _ := listAll(t, conn, tc.datatype, connector.ListRequest{Full: true})
			if len(recs) != n {
				t.Fatalf("%s, %d items: listed %d", tc.datatype, n, len(recs))
			}
			for i, r := range recs {
				if r.ID != strconv.Itoa(i+1) || r.Fields["name"] != fmt.Sprintf("item %d", i) || r.Modified.IsZero() {
					t.Fatalf("%s, %d items: record %d is %+v", tc.datatype, n, i, r)
				}
			}
			if got := a.count(tc.call); n == 10 && got != tc.calls {
				t.Errorf("%s: %d calls for 10 items in pages of 3, want %d", tc.datatype, got, tc.calls)
			}
		}
	}
}

func TestOAuth2ClientCredentials(t *testing.T) {
	t.Parallel()
	a := newAPI(t, "oauth2")
	a.add(map[string]any{"name": "one"})
	conn := a.open(fmt.Sprintf(oauth2Auth, a.ts.URL))
	for range 5 {
		listAll(t, conn, "paged", connector.ListRequest{Full: true})
	}
	if a.tokens != 1 {
		t.Errorf("%d tokens fetched for 5 calls, want 1", a.tokens)
	}
	// Renewed before it expires.
	a.clock.Advance(time.Hour - 30*time.Second)
	listAll(t, conn, "paged", connector.ListRequest{Full: true})
	if a.tokens != 2 {
		t.Errorf("%d tokens fetched after the first neared its end, want 2", a.tokens)
	}
	// Refused (revoked): fetched again, once, and the call goes through.
	a.mu.Lock()
	a.token = "revoked"
	a.mu.Unlock()
	listAll(t, conn, "paged", connector.ListRequest{Full: true})
	if a.tokens != 3 {
		t.Errorf("%d tokens fetched after a refusal, want 3", a.tokens)
	}
	if conn.Calls() != int64(a.count("GET /v2/paged")+a.count("POST /token")) {
		t.Errorf("the connector counts %d calls; the API saw %v", conn.Calls(), a.calls)
	}

	bad := newAPI(t, "oauth2")
	settings := bad.settings(fmt.Sprintf(`{type: oauth2_client_credentials, token_url: %s/token, client_id: nobody, client_secret: wrong}`, bad.ts.URL))
	c, err := rest.Open(context.Background(), "api", settings, rest.Options{Now: bad.clock.Now, Sleep: bad.clock.Sleep, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.List(context.Background(), "paged", connector.ListRequest{})
	if err == nil || !strings.Contains(err.Error(), "refused: invalid_client: unknown client (check settings.auth") {
		t.Errorf("a refused client: %v", err)
	}
}

func TestAPIKeyAndBasicAuth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ mode, auth string }{
		{"key", `{type: api_key, header: Api-Token, api_key: k3y}`},
		{"basic", `{type: basic, username: sync, password: s3cret}`},
	} {
		a := newAPI(t, tc.mode)
		a.add(map[string]any{"name": "one"})
		recs, _ := listAll(t, a.open(tc.auth), "offset", connector.ListRequest{Full: true})
		if len(recs) != 1 {
			t.Errorf("%s: listed %d", tc.mode, len(recs))
		}
		_, err := a.open(strings.Replace(strings.Replace(tc.auth, "k3y", "wrong", 1), "s3cret", "wrong", 1)).List(context.Background(), "offset", connector.ListRequest{})
		if !connector.IsTemporary(err) || !strings.Contains(err.Error(), `401 Unauthorized: not authorized (check settings.auth)`) {
			t.Errorf("%s with a wrong credential: %v", tc.mode, err)
		}
	}
}

func TestWritesWithLocationWrapAndETags(t *testing.T) {
	t.Parallel()
	a := newAPI(t, "")
	conn := a.open(`{type: none}`)
	ctx := context.Background()

	r, err := conn.Insert(ctx, "paged", connector.Fields{"name": "Widget", "price": 0.1, "updated_at": "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "1" || r.Fields != nil {
		t.Errorf("insert answered by Location only: %+v", r)
	}
	if a.bodies[0] != `{"item":{"name":"Widget","price":0.1}}` {
		t.Errorf("insert body %s: want the record wrapped in item, read-only fields left out", a.bodies[0])
	}
	_, err = conn.Insert(ctx, "paged", connector.Fields{"name": ""})
	if !errors.Is(err, connector.ErrRejected) || !strings.Contains(err.Error(), `POST `+a.ts.URL+`/v2/items: 422 Unprocessable Entity: name can't be blank ([{"field":"name"}])`) {
		t.Errorf("a refused insert: %v", err)
	}

	got, err := conn.Get(ctx, "paged", "1")
	if err != nil || got.Fields["name"] != "Widget" {
		t.Fatalf("get: %+v, %v", got, err)
	}
	u, err := conn.Update(ctx, "paged", "1", connector.Fields{"price": 0.2}, connector.Hash(got.Fields))
	if err != nil || u.Fields["price"] != 0.2 || u.Fields["name"] != "Widget" {
		t.Fatalf("full update: %+v, %v", u, err)
	}
	if _, err := conn.Update(ctx, "paged", "1", connector.Fields{"price": 0.3}, connector.Hash(got.Fields)); !errors.Is(err, connector.ErrConflict) {
		t.Errorf("an update based on an outdated hash: %v", err)
	}
	a.mu.Lock()
	a.moveOnGet = true // someone else writes between the connector's GET and PUT
	a.mu.Unlock()
	if _, err := conn.Update(ctx, "paged", "1", connector.Fields{"price": 0.4}, ""); !errors.Is(err, connector.ErrConflict) || !strings.Contains(err.Error(), "412") {
		t.Errorf("a PUT whose ETag went stale: %v", err)
	}
	if err := conn.Delete(ctx, "paged", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Get(ctx, "paged", "1"); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if err := conn.Delete(ctx, "paged", "1"); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("delete of a missing record: %v", err)
	}
}

// Values come back as the system wrote them: numbers a float64 cannot hold
// keep their text, amounts written as text stay text, nested objects and
// lists pass through, also when a full update writes them back.
func TestValuesPassThroughUnchanged(t *testing.T) {
	t.Parallel()
	a := newAPI(t, "")
	conn := a.open(`{type: none}`)
	a.mu.Lock()
	a.items = append(a.items, map[string]any{
		"id": json.Number("12345678901234567890"), "updated_at": "2024-01-02T09:00:00Z",
		"name": "Order", "amount": "12.50", "rate": json.Number("0.12345678901234567890"), "qty": json.Number("12.50"),
		"lines":   []any{map[string]any{"sku": "A", "qty": json.Number("2"), "price": json.Number("1.1")}},
		"address": map[string]any{"city": "Delft", "geo": map[string]any{"lat": json.Number("52.0116")}},
	})
	a.versions["12345678901234567890"] = 1
	a.mu.Unlock()
	recs, _ := listAll(t, conn, "paged", connector.ListRequest{Full: true})
	if len(recs) != 1 {
		t.Fatalf("listed %d", len(recs))
	}
	r := recs[0]
	if r.ID != "12345678901234567890" {
		t.Errorf("id %q", r.ID)
	}
	want := map[string]any{"amount": "12.50", "rate": json.Number("0.12345678901234567890"), "qty": 12.5}
	for k, v := range want {
		if r.Fields[k] != v {
			t.Errorf("%s: %#v, want %#v", k, r.Fields[k], v)
		}
	}
	lines, _ := r.Fields["lines"].([]any)
	if len(lines) != 1 || lines[0].(map[string]any)["price"] != 1.1 || r.Fields["address"].(map[string]any)["geo"].(map[string]any)["lat"] != 52.0116 {
		t.Errorf("nested values: %#v, %#v", r.Fields["lines"], r.Fields["address"])
	}
	if _, err := conn.Update(context.Background(), "paged", r.ID, connector.Fields{"name": "Order 2"}, ""); err != nil {
		t.Fatal(err)
	}
	body := a.bodies[len(a.bodies)-1]
	for _, s := range []string{`"id":12345678901234567890`, `"amount":"12.50"`, `"rate":0.12345678901234567890`, `"qty":12.5`,
		`"lines":[{"price":1.1,"qty":2,"sku":"A"}]`, `"address":{"city":"Delft","geo":{"lat":52.0116}}`, `"name":"Order 2"`} {
		if !strings.Contains(body, s) {
			t.Errorf("the full update's body %s does not hold %s", body, s)
		}
	}
}

// The webshop's orders and the ERP's orders, with their lines, read and
// written back through the example configurations: the lines are nested
// lists of objects, and a write of what was read (one line's quantity
// changed) keeps the others.
func TestOrdersWithLinesPassThrough(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := newShop(t, c)
	cust := s.put("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "a@acme.test"})
	mug := s.put("products", map[string]any{"sku": "MUG", "name": "Mug", "price": "4.50"})
	tea := s.put("products", map[string]any{"sku": "TEA", "name": "Tea", "price": "2.25"})
	s.put("orders", map[string]any{"customer_id": cust["id"], "currency": "EUR",
		"line_items": []any{map[string]any{"product_id": mug["id"], "quantity": 2}, map[string]any{"product_id": tea["id"], "quantity": 1}}})
	shopConn := open(t, "webshop", readConfig(t, "webshop.yaml").Systems["webshop"].Settings, s.front)
	recs, _ := listAll(t, shopConn, "orders", connector.ListRequest{})
	if len(recs) != 1 {
		t.Fatalf("listed %d orders", len(recs))
	}
	lines, _ := recs[0].Fields["line_items"].([]any)
	if len(lines) != 2 || lines[0].(map[string]any)["price"] != "4.50" || lines[0].(map[string]any)["quantity"] != 2.0 || recs[0].Fields["total"] != "11.25" {
		t.Fatalf("the order as listed: %v", recs[0].Fields)
	}
	read := connector.Hash(recs[0].Fields)
	lines[1].(map[string]any)["quantity"] = 3.0
	if _, err := shopConn.Update(context.Background(), "orders", recs[0].ID, connector.Fields{"line_items": lines}, read); err != nil {
		t.Fatal(err)
	}
	got, _ := s.srv.Get("orders", int64(recs[0].Fields["id"].(float64)))
	if got["total"] != "15.75" || len(got["line_items"].([]any)) != 2 {
		t.Errorf("the order after the write: %v", got)
	}

	l := newERP(t, c)
	ec := l.put("customers", map[string]any{"name": "Acme"})
	l.put("products", map[string]any{"item_number": "MUG", "name": "Mug", "price": 4.5})
	order := l.put("orders", map[string]any{"customer_id": ec["id"], "reference": "PO-1",
		"lines": []any{map[string]any{"item_number": "MUG", "qty": 2}}})
	erpConn := open(t, "erp", readConfig(t, "erp.yaml").Systems["erp"].Settings, l.front)
	r, err := erpConn.Get(context.Background(), "orders", order["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if ls, _ := r.Fields["lines"].([]any); len(ls) != 1 || ls[0].(map[string]any)["amount"] != 9.0 {
		t.Fatalf("the ERP order as read: %v", r.Fields)
	}
	if _, err := erpConn.Update(context.Background(), "orders", r.ID, connector.Fields{"reference": "PO-2"}, ""); err != nil {
		t.Fatal(err)
	}
	after, _ := l.srv.Get("orders", r.ID)
	if after["reference"] != "PO-2" || len(after["lines"].([]any)) != 1 || after["total"] != 9.0 && after["total"] != int64(9) {
		t.Errorf("a full PUT of the order must keep its lines: %v", after)
	}
}

// Describe gives the datatypes with the properties the settings list, or
// those of a record it reads once.
func TestDescribe(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := newShop(t, c)
	s.put("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "a@acme.test"})
	settings := settingsOf(readConfig(t, "webshop.yaml"), "webshop")
	dig(settings, "datatypes.products")["properties"] = map[string]any{"sku": "string", "price": "number"}
	dig(settings, "datatypes.orders")["delete"] = false
	conn := open(t, "webshop", settings, s.front)
	infos, err := conn.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, info := range infos {
		var props []string
		for _, p := range info.Properties {
			props = append(props, p.Name+":"+p.Type)
		}
		got[info.Name] = fmt.Sprintf("delete %v: %s", info.CanDelete, strings.Join(props, " "))
	}
	want := map[string]string{
		"customers": "delete true: billing_address:object company_name:string created_at:datetime deleted_at:string email:string first_name:string id:number last_name:string phone:string type:string updated_at:datetime vat_number:string",
		"products":  "delete true: price:number sku:string",
		"orders":    "delete false: customer_id:integer",
		// Lines are deleted by updating their order, which the settings allow.
		"orders/line_items": "delete true: product_id:integer quantity:integer _parent:string",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s\n want %s", k, got[k], v)
		}
	}
	calls := s.srv.Calls()
	if _, err := conn.Describe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again := s.srv.Calls(); fmt.Sprint(again) != fmt.Sprint(calls) {
		t.Errorf("a second Describe called the shop again: %v, then %v", calls, again)
	}
}

// A write the system refuses is ErrRejected with the system's own message
// and the field it names, in either sandbox's dialect.
func TestValidationErrorsCarryTheSystemsMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newClock()
	s := newShop(t, c)
	s.put("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "a@acme.test"})
	shopConn := open(t, "webshop", readConfig(t, "webshop.yaml").Systems["webshop"].Settings, s.front)
	_, err := shopConn.Insert(ctx, "customers", connector.Fields{"type": "company", "company_name": "Acme 2", "email": "a@acme.test"})
	if !errors.Is(err, connector.ErrRejected) || !strings.Contains(err.Error(), `system "webshop", datatype "customers": POST http://127.0.0.1:8083/api/v1/customers: 422 Unprocessable Entity: `) ||
		!strings.Contains(err.Error(), `{"email":[`) {
		t.Errorf("a taken e-mail address in the shop: %v", err)
	}

	l := newERP(t, c)
	l.put("customers", map[string]any{"code": "C1", "name": "Acme"})
	erpConn := open(t, "erp", readConfig(t, "erp.yaml").Systems["erp"].Settings, l.front)
	_, err = erpConn.Insert(ctx, "customers", connector.Fields{"code": "C1", "name": "Acme again"})
	if !errors.Is(err, connector.ErrRejected) || !strings.Contains(err.Error(), `system "erp", datatype "customers": POST http://127.0.0.1:8084/erp/customers: 422 Unprocessable Entity: `) ||
		!strings.Contains(err.Error(), "(field code)") {
		t.Errorf("a taken code in the ERP: %v", err)
	}

	// A method the system does not take (PUT on the shop) says which
	// settings to check.
	settings := settingsOf(readConfig(t, "webshop.yaml"), "webshop")
	dig(settings, "defaults.update")["method"] = "PUT"
	cust := s.srv.Records("customers")[0]
	_, err = open(t, "webshop", settings, s.front).Update(ctx, "customers", fmt.Sprint(cust["id"]), connector.Fields{"phone": "1"}, "")
	if !errors.Is(err, connector.ErrNotSupported) || !strings.Contains(err.Error(), "405 Method Not Allowed") || !strings.Contains(err.Error(), "check the datatype's method settings") {
		t.Errorf("PUT to the shop: %v", err)
	}
}

// A system that does not take the configured page parameter answers the
// first page again and again: the listing stops with an error instead of
// running for ever.
func TestPageParameterTheSystemIgnores(t *testing.T) {
	t.Parallel()
	a := newAPI(t, "")
	for i := range 7 {
		a.add(map[string]any{"name": fmt.Sprintf("item %d", i)})
	}
	settings := a.settings(`{type: none}`)
	dig(settings, "datatypes.paged.paging")["page_param"] = "p"
	conn, err := rest.Open(context.Background(), "api", settings, rest.Options{Now: a.clock.Now, Sleep: a.clock.Sleep, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	p, err := conn.List(context.Background(), "paged", connector.ListRequest{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.List(context.Background(), "paged", connector.ListRequest{Full: true, PageToken: p.NextPageToken})
	if err == nil || !strings.Contains(err.Error(), `expected the next page, found the previous one again (it starts with record "1"); does the system take page_param "p"?`) {
		t.Fatalf("the second page: %v", err)
	}
}

// A list path the system does not have says which settings to check.
func TestWrongListPath(t *testing.T) {
	t.Parallel()
	a := newAPI(t, "")
	settings := a.settings(`{type: none}`)
	dig(settings, "datatypes.paged.list")["path"] = "/pages"
	conn, err := rest.Open(context.Background(), "api", settings, rest.Options{Now: a.clock.Now, Sleep: a.clock.Sleep, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.List(context.Background(), "paged", connector.ListRequest{})
	if err == nil || !strings.Contains(err.Error(), `system "api", datatype "paged": GET `+a.ts.URL+`/v2/pages?page=1&size=3: 404 Not Found: no route /v2/pages (check settings.datatypes.paged: list.path, list.query, paging and changes)`) || errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("a wrong list path: %v", err)
	}
}
