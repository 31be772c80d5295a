// Package exactonline is the connector of kind "exactonline": Exact
// Online's REST API for Accounts, Contacts, Items, Quotations,
// QuotationLines, SalesOrders and SalesOrderLines.
//
// It reads changes through the sync endpoints (1000 rows a page, by the
// Int64 Timestamp row version) and deletions through sync/Deleted, writes
// with POST (a header with its lines), partial PUT and DELETE (an item's
// default sales price through logistics/SalesItemPrices: SalesPriceField),
// keeps the
// OAuth2 tokens in Concord's store with one refresher at a time, paces its
// calls by Exact's rate-limit headers, and verifies webhook notifications.
// Authorization is the flow behind `concord auth exactonline`. The
// decisions are in docs/adr/0007-exactonline-connector.md.
//
// It owns the wire protocol of Exact Online only. It must not import the
// engine, the store or the configuration, and knows nothing of merging;
// its tests use the sandbox in internal/sandbox/exactonline.
package exactonline
