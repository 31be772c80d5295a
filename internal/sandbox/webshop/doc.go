// Package webshop is a reference system: a small but real webshop with a
// REST API and its own storage, of the kind a company builds itself. It
// shows what a company's own system offers to be connected with zero code
// (docs/custom-system-convention.md), and the demo and tests sync against
// it. `concord sandbox webshop` serves it; tests start it in-process with
// New and reach it over HTTP through Handler, and act as the shop's own
// staff through Put, Edit, Remove and Records.
//
// It owns the shop only. It must not import the engine, the store, the
// configuration or any connector; a connector reaches it over HTTP only.
// It speaks a deliberately different dialect from the reference ERP
// (internal/sandbox/erp), so that the generic `rest` connector is
// exercised by both styles.
//
// # The API
//
// JSON under /api/v1/: customers, products, orders. Every call needs
// "Authorization: Bearer <token>" (Token, --print-credentials); without it
// 401 with WWW-Authenticate: Bearer.
//
//	GET    /api/v1/{collection}?updated_since=&page=&per_page=&<filter>=
//	GET    /api/v1/{collection}/{id}
//	POST   /api/v1/{collection}          → 201 with the record
//	PATCH  /api/v1/{collection}/{id}     → 200 with the record (partial)
//	DELETE /api/v1/{collection}/{id}     → 204 (soft)
//
// Listings answer {"data":[…],"meta":{"page","per_page","total"},
// "links":{"next": absolute URL or null}}, and send the same next URL as a
// Link header (rel="next"). page starts at 1; per_page is 1 to 100,
// default 25. Records come in id order. Filters: customers email and type,
// products sku, orders number, status and customer_id (exact, texts
// without regard to case). Unknown parameters are a 400, so that a
// misspelt updated_since cannot pass for a full listing.
//
// Change listing: with updated_since (RFC 3339; a "+" in its offset must
// be sent as %2B) a listing holds every record whose updated_at is at or
// after it, deleted ones included, with deleted_at set: the tombstones a
// connector needs. Without updated_since it holds the live records only.
// Because records keep their place (id order) when they change and a
// change listing only grows while it is read, paging never skips a
// record: one changed during a pass is either read later in that pass or
// has an updated_at after the pass began. A connector keeps as its cursor
// the time its pass began (or the greatest updated_at it read, less an
// overlap longer than a pass) and sends it as updated_since next time;
// the bound is inclusive, so records of the same millisecond come again
// rather than never.
//
// Records. Ids are whole numbers the shop hands out per collection, never
// reused. Times are RFC 3339 with the shop's offset (Options.Location,
// default Europe/Amsterdam) and milliseconds: "2024-01-02T10:11:12.345+01:00".
// Amounts are texts with two decimals ("12.50"); writes take such a text
// or a JSON number with at most two decimals.
//
//	customer  id, type (person|company), first_name, last_name, company_name,
//	          email, phone, vat_number, billing_address {address_1,
//	          address_2, postcode, city, state, country}, created_at,
//	          updated_at, deleted_at
//	product   id, sku, name, description, price, active, timestamps
//	order     id, number, customer_id, status, currency, customer_note,
//	          placed_at, line_items [{id, product_id, sku, name, quantity,
//	          price, total}], total, timestamps
//
// Writes. POST takes the record; PATCH takes the members to change and
// keeps the others: a nested object (billing_address) is merged member by
// member, null clears (JSON Merge Patch, RFC 7386). id, created_at,
// updated_at, deleted_at and the totals are ignored when sent; a member
// the record does not have is a 422. line_items, when sent, is the order's
// new list: an item with the id of a current line changes that line (its
// left-out members keep their values), an item without id is a new line,
// and current lines left out are removed. A line names its product by
// product_id or sku; sku and name are copied from the product, price too
// unless given. PUT is 405: the shop only patches. Every write, also one
// that changes nothing, moves updated_at.
//
// Validation (422 {"message", "errors": {"field": ["…"]}}, field paths
// such as "line_items[0].quantity" and "billing_address.country"):
// customers need a type, a name (company_name, or first or last name) and
// an e-mail address that no other live customer has; products a sku no
// other live product has (ignoring case) and a name; prices are not
// negative; countries are two letters and currencies three (stored upper
// case); an order needs an existing customer and at least one line, each
// with an existing product and a quantity of 1 or more. Order numbers
// ("WS-1001", …) are handed out unless given, are unique and fixed once
// the order exists. Status moves forward only: pending → processing →
// completed, pending or processing → cancelled; completed and cancelled
// are final, and such an order's customer, currency and lines no longer
// change. A customer that has orders cannot be deleted (409).
//
// Other answers: 400 {"message"} for malformed JSON or query parameters,
// 404 for an unknown collection or id (also a deleted one), 405 with
// Allow, 409 for a conflict, 429 with Retry-After over the rate limit, 500
// or 503 (with Retry-After) when a fault says so.
//
// # The sandbox around it
//
// Options.RateLimit (calls a minute per token, sliding window), Faults
// (latency, a fraction of 5xx, a fraction of dropped connections: a GET
// before it runs, a write after its change is made) and Calls (counts by
// method and route) come from internal/sandbox/custom: the Server embeds a
// custom.Host, which runs the API behind Handler, saves the data (Save,
// Close), sets the base URL of absolute links (SetBaseURL) and serves in
// ListenAndServe. The ManualClock tests put in Options.Now is custom's too.
// Options.SeedDemo (--seed-demo) fills an empty shop with three customers,
// four products and three orders.
//
// Storage is in memory under one lock, and with Options.DataFile (--data)
// a JSON file written atomically when something changed (every
// SaveInterval) and on Close. JSON rather than SQLite: the data is
// demo-sized; every request must see one consistent state, which one lock
// over memory gives without transactions to get right; a person can read
// and edit the file; and the other sandboxes keep their data the same way.
// The SQL side of "a company's own system" is the planned `sql`
// connector's to test, against databases of its own.
//
// # Not done
//
// Stock, taxes, shipping, payments, refunds, coupons and customer
// accounts; webhooks; an opaque cursor (the ERP has one); ETags and
// conditional writes; bulk endpoints; sorting other than by id.
package webshop
