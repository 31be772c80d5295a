// Package exactonline is a local emulator of the Exact Online REST API: the
// sandbox a connector is developed, tested and demonstrated against, and
// that `concord sandbox exactonline` serves. It follows
// shared/reference/exactonline.md; where that lists variants, the sandbox
// accepts every one. A connector that works against it should work against
// the real service, so it is strict where Exact is strict.
//
// It owns only this emulation. It must not import the engine, the store,
// the configuration or any connector; other packages reach it over HTTP,
// and tests start it in-process (New, Handler) and play the user of Exact
// through Put, Delete, Records and Record.
//
// # What is emulated
//
//   - OAuth2 authorization code grant: GET /api/oauth2/auth (the user is
//     always logged in and consents; it redirects at once with a single-use
//     code valid 10 minutes) and POST /api/oauth2/token (form; client
//     credentials in the form or as basic auth). Access tokens live 600 s and
//     expires_in is the string "600". Every refresh rotates the refresh token
//     and voids the old one ("Old refresh token used."). A refresh less than
//     570 s after the chain's last access token was issued is refused with
//     400 access_denied "Rate limit exceeded: access_token not expired" and
//     the header Reason: TooEarlyToRefreshTokens, and does not void anything.
//     Refresh tokens unused for 30 days lapse. IssueCredentials (and
//     --print-credentials) makes a new authorization whose refresh token has
//     no access token yet, so its first refresh is never too early.
//   - GET /api/v1/current/Me, and under /api/v1/{division}/ the entities
//     crm/Accounts, crm/Contacts, logistics/Items, crm/Quotations,
//     crm/QuotationLines, salesorder/SalesOrders, salesorder/SalesOrderLines
//     (GET list and by key, POST, PUT as a partial update, DELETE), their
//     sync/… and bulk/… endpoints, sync/Deleted and
//     webhooks/WebhookSubscriptions; logistics/SalesItemPrices the same way,
//     without sync/… or bulk/…. Paths ignore case and a trailing slash.
//   - OData v2 in Exact's JSON: {"d":{"results":[…],"__next":…}}, rows with
//     __metadata {uri,type}, lines as {"__deferred":{"uri":…}} (the uri
//     works) or inline with $expand; $filter (filter.go), $select, $top,
//     $skip, $orderby, $expand, $inlinecount=allpages, $skiptoken, $format=json.
//   - Sync: one row-version counter per division, bumped by every change
//     (row versions start above 1000 and have nothing to do with time);
//     sync rows carry Timestamp (and headers their key as ID as well);
//     sync/Deleted keeps deletions for two months.
//   - Rate limits per app and division, the hourly error block, the token
//     endpoint's daily limit; webhooks; faults; persistence to a JSON file.
//
// # Decisions where the reference is unclear
//
// Entities and writes:
//   - Properties a client may not set (read-only: keys, Created, Modified,
//     Division, Status, AmountDC, LineNumber, ItemCode, StandardSalesPrice, …)
//     are ignored on POST and PUT alike, never refused. A property the
//     entity does not have is refused with 400, as Exact refuses it. A key
//     sent on POST is ignored: the sandbox assigns every key.
//   - OrderedBy, DeliverTo and InvoiceTo of an order, and a line's OrderID
//     or QuotationID, are fixed at creation: a PUT that sends a different
//     value gets 400; sending the same value is accepted.
//   - A sales order with Status 21 (complete) refuses PUT and DELETE, and so
//     do its lines, and it takes no new lines (400). Only the user (Put) can
//     complete or reopen an order.
//   - Lines are written with their header on POST (an array or
//     {"results":[…]}) or one by one through the line endpoint (with OrderID
//     or QuotationID). A PUT of a header that carries lines is refused (400).
//   - Account Code: trimmed, right-aligned in 18 characters with leading
//     spaces, unique (ignoring case); when omitted, the next free number
//     above the highest numeric code the division has held (numbers of
//     deleted accounts are not handed out again; OrderNumber and
//     QuotationNumber work the same way). Status defaults to C (customer),
//     IsSales is true for C, Type is A, CountryName comes from a small table
//     of country codes.
//   - Item Code is unique (ignoring case), not padded. Contacts need an
//     existing Account and a FirstName or LastName.
//   - Lines: Quantity defaults to 1, UnitPrice to the item's
//     StandardSalesPrice, Description and VATCode to the item's. NetPrice =
//     UnitPrice × (1 − Discount); a NetPrice sent without a Discount sets the
//     Discount instead. AmountDC = NetPrice × Quantity in cents; no VAT;
//     AmountFC = AmountDC (one currency). A header's amounts are the sum of
//     its lines; when a line change moves them, the header gets a new row
//     version and Modified, so sync headers see it.
//   - Names of referred records (Contacts.AccountName, OrderedByName, …) are
//     looked up when read, like Exact's joins: renaming an account does not
//     give its orders a new row version.
//   - Deleting an order or quotation deletes its lines; deleting an account
//     deletes its contacts; each shows in sync/Deleted. An account used by
//     an order or quotation, or an item used on a line, cannot be deleted
//     (400).
//   - sync/Deleted EntityType: 2 Accounts, 5 Contacts (Exact's SyncDeleted
//     documentation numbers Contacts 5), 9 Items, 32 SalesOrderHeaders, 33
//     SalesOrderLines, 34 QuotationHeaders, 35 QuotationLines.
//   - SalesItemPrices (prices.go): one record per item, currency, unit,
//     quantity break (Quantity) and date range. Item and Price are mandatory;
//     an Item that does not exist is a 400; Item is fixed once the price
//     exists. Currency defaults to the division's (EUR), Unit to the item's,
//     Quantity to 0; ItemCode, ItemDescription and DefaultItemUnit (the
//     item's unit) are looked up when read, NumberOfItemsPerUnit is 1.
//     The default price (Currency EUR, Quantity 0 or 1, Unit the item's or
//     empty, no EndDate, no StartDate after the write) is what the item's
//     read-only StandardSalesPrice shows; among several, the one that started
//     last, then the one written last. Writing or deleting a price of an item
//     recomputes it (0 without a default price); when it moves, the item
//     gets a new row version and Modified (sync reads see it) and an Items
//     webhook fires. Not confirmed against real Exact: which prices Exact
//     counts as the standard one; whether it refuses two prices for the same
//     item, currency, unit, quantity and period (the sandbox takes them, so
//     a client that doubles them is caught by counting); whether Exact
//     creates a price record with a new item; whether the item's row version
//     really moves with its price; the Quantity default (0 or 1); whether
//     the endpoint demands a $filter; the EntityType of a deleted price in
//     sync/Deleted (the sandbox lists none; deleting an item deletes its
//     prices). A date that passes does not recompute StandardSalesPrice, only
//     a write does. The Account of a customer's own price is not emulated.
//   - Unknown key: 404 for GET, PUT and DELETE by key. A key is
//     (guid'…') or (Name=guid'…').
//
// Reading:
//   - Mandatory filtering: a GET of the whole of crm/Accounts or
//     logistics/Items needs a $filter on one of the properties Exact lists
//     for them, or gets 400 "This endpoint has mandatory filtering applied.
//     …". Reads by key are exempt; Options.NoMandatoryFilter lifts the rule.
//   - bulk/… and sync/… (and sync/Deleted) refuse a GET without $select
//     unless it has $top=1: 400 "Please add a $select or a $top=1 statement
//     to the query string.". Sync endpoints take only $select, $filter,
//     $top, $skiptoken and $format, and filter on Timestamp only
//     (sync/Deleted also on EntityType).
//   - $skiptoken: without $orderby the last key (guid'…'); with $orderby the
//     last row's $orderby values and key ('Acme',guid'…'), as WCF Data
//     Services writes it; on sync endpoints the last Timestamp (123L). __next
//     drops $skip and lowers $top by the rows already given.
//   - __count is a string, as in OData v2 JSON.
//   - A GET by key answers {"d":{…}}; Options.KeyedReadShape also gives the
//     {"d":{"results":[…]}} and {"d":[…]} shapes Exact has been seen to send.
//   - POST answers 201 with the whole record (lines inline as
//     {"results":[…]}) and a Location header, whatever Prefer says.
//   - String comparisons and ordering ignore case, as Exact's database
//     collation does. Comparing a property with a literal of another type
//     is a 400, as in WCF Data Services. Dates outside SQL Server's datetime
//     range (1753–9999) are refused.
//   - Times are Dutch: "/Date(ms)/" counts milliseconds to the wall-clock
//     time in Europe/Amsterdam as if it were UTC, and a date written without
//     a zone is Dutch local time. Options.DateOffsetSuffix writes
//     "/Date(ms+hhmm)/" instead, with ms the true UTC instant (the WCF
//     meaning of the suffix). Writes take ISO-8601 with or without zone, and
//     both /Date forms.
//
// Limits:
//   - Budgets are per app (client id) and division. The minute window opens
//     with the first call after the previous one closed and lasts 60 s; the
//     day is the calendar day in the Netherlands. Every API call with a
//     valid token counts, whatever its answer; refused (429) and blocked
//     calls do not. A limit of 0 is unlimited and its headers are left out.
//   - A call over the minute budget gets 429 with only the three minutely
//     headers; over the day budget, 429 with all six. Reset headers are the
//     window's end in ms since 1970.
//   - Error block: when an app gets more than Options.ErrorLimit (Exact: 10)
//     responses of 400, 401, 403 or 404 from one endpoint (the collection,
//     keys stripped, all methods) of a division within an hour, that
//     endpoint answers the app 429 for one hour from the error that tipped
//     it, with the error envelope ("API key blocked for endpoint …"), a
//     Retry-After in seconds and the current rate-limit headers. The block
//     does not grow when errors continue. 401s count only when the token is
//     known (expired): an unknown token names no app.
//   - The token endpoint has its own daily budget per app (Exact: about
//     200); over it, 429 {"error":"access_denied",…}. It carries no
//     X-RateLimit headers and is never faulted.
//   - A division other than the sandbox's gets 403.
//
// Webhooks:
//   - Topics Accounts, Contacts, Items, SalesOrders, Quotations. A change to
//     a line is notified as an Update of its header (Key and
//     ExactOnlineEndpoint name the order or quotation), since the topic is
//     the header's. Changes made through the API and by the user (Put,
//     Delete) alike are notified, once per record per operation.
//   - Notifications go out on one goroutine, in order, one attempt each,
//     never inside the API call; WebhookDeliveries shows what happened.
//     ClientId is the subscribing app's; EventCreatedOn is Dutch time
//     without zone, to the millisecond. HashCode is HashCode(Content).
//   - A subscription belongs to its app; the same Topic and CallbackURL
//     twice is refused (400); http callbacks are allowed (a sandbox runs
//     locally); PUT is 405. Exact's callback validation handshake is not
//     emulated.
//
// Faults (Options.Faults, SetFaults) apply to /api/v1 after authentication
// and rate limiting: latency, a 5xx (500, 502, 503, 504) before anything
// runs, a dropped connection (a GET before it runs, a write after its change
// is made), and an empty page whose __next repeats the request. With a seed
// they come out the same for the same sequence of calls.
//
// The data file keeps records, row versions, deletions, apps, grants,
// refresh and access tokens and subscriptions, so that a connector's stored
// tokens and sync positions survive a restart. It is written atomically
// every SaveInterval when something changed, on Save and on Close.
//
// # Not emulated
//
// Atom/XML responses (the sandbox always answers JSON, as if Accept:
// application/json were sent); other entities (price lists, the sync
// and bulk endpoints of SalesItemPrices, invoices, goods deliveries, documents, …);
// $batch; $expand beyond lines, nested $select ("Lines/Item"), arithmetic
// in $filter, the /$count segment; the implicit grant; several divisions or
// users; VAT, currencies and price lists; quotation versions, acceptance
// and printing; the growing length of repeated error blocks; webhook
// retries; the reset of sync timestamps when a division moves; fair-use
// throttling of data volume.
package exactonline
