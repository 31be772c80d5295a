// Package erp is a reference system: a small but real ERP with a REST API
// and its own storage, of the kind a company builds itself. It shows what
// a company's own system offers to be connected with zero code
// (docs/custom-system-convention.md), and the demo and tests sync against
// it. `concord sandbox erp` serves it; tests start it in-process with New
// and reach it over HTTP through Handler, and act as the ERP's own users
// through Put, Replace, Edit, Remove and Records.
//
// It owns the ERP only. It must not import the engine, the store, the
// configuration or any connector; a connector reaches it over HTTP only.
// It speaks a deliberately different dialect from the reference webshop
// (internal/sandbox/webshop), so that the generic `rest` connector is
// exercised by both styles.
//
// # The API
//
// JSON under /erp/: customers, contacts, products, orders. Every call
// needs the header "X-API-Key: <key>" (APIKey, --print-credentials);
// without it 401.
//
//	GET    /erp/{collection}?changed_after=&limit=&<filter>=
//	GET    /erp/{collection}/{id}
//	POST   /erp/{collection}             → 201, Location, the record
//	PUT    /erp/{collection}/{id}        → 200, the record (full replace)
//	DELETE /erp/{collection}/{id}        → 204
//
// Listings answer {"items":[…],"next_cursor":"…","has_more":bool}: records
// in the order they were last written, limit 1 to 200 (default 50).
// Filters: customers code and email, contacts customer_id, email and
// is_employee, products item_number, orders number, customer_id and
// status. Unknown parameters are a 400.
//
// Change listing. Every write gets the next number of one change sequence
// that the whole ERP shares. A cursor is such a number made opaque
// (clients store it and send it back, and read nothing into it); it is
// not a time, so changes within one second, or while the clock stands
// still or goes back, are never lost to a tie. changed_after=<cursor>
// lists what was written after it, deleted records included as tombstones
// {"id", "deleted": true, "updated_at"}; without changed_after the listing
// starts at the beginning with the live records only. next_cursor is
// always set: the position after the page's last item, or the cursor sent
// when the page is empty, so a connector stores it after every page and
// resumes there. A record changed while a connector pages moves to the end
// and is read again later in the same pass; nothing is skipped. A cursor
// the ERP did not give out is a 400 (code invalid_cursor).
//
// Records. Ids are UUIDs the ERP hands out (from Options.Seed when given);
// business keys are separate fields: customer code ("C00001", handed out
// unless given), product item_number, order number ("SO00001"). Times are
// UTC to the second ("2024-01-02T09:11:12Z"), dates "2024-01-31", amounts
// JSON numbers; references without a value are null.
//
//	customer  id, code, name, email, phone, website, vat_number,
//	          address_line1, address_line2, postcode, city, country,
//	          currency, created_at, updated_at, deleted
//	contact   id, customer_id, first_name, last_name, email, phone, mobile,
//	          job_title, is_employee, timestamps
//	product   id, item_number, name, description, price, cost, unit,
//	          vat_code (S, R, Z, E), barcode, blocked, timestamps
//	order     id, number, customer_id, contact_id, order_date,
//	          delivery_date, reference, description, currency, status
//	          (open, confirmed, delivered, invoiced, cancelled), lines
//	          [{line_no, item_id, item_number, description, qty, price,
//	          discount_pct, vat_code, amount}], total, timestamps
//
// Writes. POST and PUT both take the full record. A member PUT leaves out
// is cleared (texts "", numbers 0, booleans false, lines none); members
// that cannot be empty take the same default as on POST (unit pcs,
// vat_code S, currency EUR, or the customer's for an order, status open),
// except code, number and order_date, which PUT must send. id (equal to
// the path's, if sent), created_at, updated_at, deleted, amount and total
// are ignored, so a client may PUT back what it read. A PUT that changes
// nothing is no change: no new sequence number, updated_at stays, and a
// connector's echo of its own write does not come back as a change. A
// line names its item by item_id (the product's id, as a client that keeps
// references by id has it) or item_number, and carries both once written;
// given both, they must name the same product. Description, price and vat_code
// default to the item's when left out; a line without line_no gets the
// next number the order never had (numbers of removed lines are not
// handed out again, so (order, line_no) names one line for ever). PATCH
// is 405.
//
// Validation errors are 422 {"error":{"code","message","field"}}, the
// first thing wrong, with code required, invalid, unknown_field, taken or
// not_found and a field path such as "lines[1].qty". Rules: customers need
// a name and a code no other live customer has; contacts a last name, and
// an existing customer unless they are employees (is_employee, the
// company's own people); products an item_number no other live product
// has (ignoring case) and a name, prices and costs not negative; orders an
// existing customer, a contact of that customer if any, and lines with
// existing items (not blocked ones, unless already on the order), qty
// above 0 and discount_pct 0 to 100. An item number on an order cannot
// change. Conflicts are 409 (code conflict): deleting a customer that has
// contacts or orders, a contact named on an order, a product on an order;
// changing or deleting an invoiced order.
//
// Other answers: 400 (bad_request, invalid_json, invalid_cursor), 404
// (not_found, also for a deleted record), 405 (method_not_allowed, with
// Allow), 429 (rate_limited, with Retry-After), 500 or 503 (server_error)
// when a fault says so.
//
// # The sandbox around it
//
// Options.RateLimit (calls a minute per key, sliding window), Faults
// (latency, a fraction of 5xx, a fraction of dropped connections: a GET
// before it runs, a write after its change is made) and Calls (counts by
// method and route) come from internal/sandbox/custom: the Server embeds a
// custom.Host, which runs the API behind Handler, saves the data (Save,
// Close), sets the base URL of absolute links (SetBaseURL) and serves in
// ListenAndServe. The ManualClock tests put in Options.Now is custom's too.
// Options.SeedDemo (--seed-demo) fills an empty ERP with two customers with
// a contact each, an employee, four products and two orders.
//
// Storage is in memory under one lock, and with Options.DataFile (--data)
// a JSON file written atomically when something changed (every
// SaveInterval) and on Close; it keeps the change sequence, so cursors
// given out before a restart stay valid. JSON rather than SQLite for the
// same reasons as the webshop: demo-sized data, one consistent state per
// request from one lock, a file a person can read, and the same habit as
// the other sandboxes.
//
// # Not done
//
// Invoices, stock, price lists, several currencies' rates, VAT amounts;
// webhooks; expiry of tombstones (they are kept for ever); ETags and
// conditional writes; a "changes since a time" parameter (the cursor is
// the way in).
package erp
