package exactonline

import "strings"

// access says who may set a property.
type access int

const (
	writable   access = iota // POST and PUT
	readOnly                 // the server's; ignored when a client sends it
	createOnly               // POST only; a PUT that changes it is refused
)

type fieldDef struct {
	name   string
	typ    edmType
	access access
}

// entityDef describes one entity set: its endpoints, key, properties and
// how it shows up in sync/Deleted and webhooks.
type entityDef struct {
	name      string // "Accounts": the name Put, Records and Calls use
	path      string // "crm/Accounts"
	syncPath  string // "sync/CRM/Accounts"
	bulkPath  string // "bulk/CRM/Accounts"
	modelType string // __metadata type
	key       string // "ID", "OrderID", "QuotationID"
	fields    []fieldDef
	byName    map[string]*fieldDef

	deletedType int    // EntityType in sync/Deleted
	topic       string // webhook topic

	// Headers and lines: a header owns lines posted inline under linesProp;
	// a line points to its header with parentKey.
	lines     *entityDef
	linesProp string
	parent    *entityDef
	parentKey string

	// unique are the properties no two records may share (ignoring case
	// and surrounding spaces); the table indexes them.
	unique []string

	// mandatoryFilter lists the properties one of which a plain GET of the
	// whole collection must filter on; empty when the endpoint takes an
	// unfiltered GET.
	mandatoryFilter []string

	syncFields   []fieldDef
	syncByName   map[string]*fieldDef
	syncTypeName string
}

func (d *entityDef) field(name string) (edmType, bool) {
	if f, ok := d.byName[name]; ok {
		return f.typ, true
	}
	return 0, false
}

func (d *entityDef) syncField(name string) (edmType, bool) {
	if f, ok := d.syncByName[name]; ok {
		return f.typ, true
	}
	return 0, false
}

// audit are the read-only properties every entity carries.
var audit = []fieldDef{
	{"Created", edmDateTime, readOnly},
	{"Creator", edmGuid, readOnly},
	{"CreatorFullName", edmString, readOnly},
	{"Modified", edmDateTime, readOnly},
	{"Modifier", edmGuid, readOnly},
	{"ModifierFullName", edmString, readOnly},
	{"Division", edmInt32, readOnly},
}

var (
	accounts = &entityDef{
		name: "Accounts", path: "crm/Accounts", syncPath: "sync/CRM/Accounts", bulkPath: "bulk/CRM/Accounts",
		modelType: "Exact.Web.Api.Models.Account", key: "ID", deletedType: 2, topic: "Accounts", unique: []string{"Code"},
		fields: []fieldDef{
			{"ID", edmGuid, readOnly},
			{"Code", edmString, writable},
			{"Name", edmString, writable},
			{"SearchCode", edmString, writable},
			{"Email", edmString, writable},
			{"Phone", edmString, writable},
			{"Website", edmString, writable},
			{"AddressLine1", edmString, writable},
			{"AddressLine2", edmString, writable},
			{"AddressLine3", edmString, writable},
			{"Postcode", edmString, writable},
			{"City", edmString, writable},
			{"State", edmString, writable},
			{"Country", edmString, writable},
			{"CountryName", edmString, readOnly},
			{"VATNumber", edmString, writable},
			{"ChamberOfCommerce", edmString, writable},
			{"Status", edmString, writable},
			{"IsSales", edmBool, readOnly},
			{"IsSupplier", edmBool, writable},
			{"Blocked", edmBool, writable},
			{"Type", edmString, readOnly},
			{"Remarks", edmString, writable},
		},
		mandatoryFilter: []string{"AddressLine1", "AddressLine2", "AddressLine3", "Blocked", "ChamberOfCommerce", "City", "Code", "Country", "Created", "Email", "ID", "IsSales", "IsSupplier", "Modified", "Name", "Phone", "Postcode", "SearchCode", "State", "Status", "Type", "VATNumber"},
	}
	contacts = &entityDef{
		name: "Contacts", path: "crm/Contacts", syncPath: "sync/CRM/Contacts", bulkPath: "bulk/CRM/Contacts",
		modelType: "Exact.Web.Api.Models.Contact", key: "ID", deletedType: 5, topic: "Contacts",
		fields: []fieldDef{
			{"ID", edmGuid, readOnly},
			{"Account", edmGuid, writable},
			{"AccountName", edmString, readOnly},
			{"FirstName", edmString, writable},
			{"MiddleName", edmString, writable},
			{"LastName", edmString, writable},
			{"FullName", edmString, readOnly},
			{"Initials", edmString, writable},
			{"Gender", edmString, writable},
			{"Email", edmString, writable},
			{"BusinessEmail", edmString, writable},
			{"Phone", edmString, writable},
			{"BusinessPhone", edmString, writable},
			{"Mobile", edmString, writable},
			{"JobTitleDescription", edmString, writable},
			{"BirthDate", edmDateTime, writable},
			{"Language", edmString, writable},
			{"Notes", edmString, writable},
			{"IsMainContact", edmBool, readOnly},
		},
	}
	items = &entityDef{
		name: "Items", path: "logistics/Items", syncPath: "sync/Logistics/Items", bulkPath: "bulk/Logistics/Items",
		modelType: "Exact.Web.Api.Models.Logistics.Item", key: "ID", deletedType: 9, topic: "Items", unique: []string{"Code"},
		fields: []fieldDef{
			{"ID", edmGuid, readOnly},
			{"Code", edmString, writable},
			{"Description", edmString, writable},
			{"ExtraDescription", edmString, writable},
			{"Unit", edmString, writable},
			{"IsSalesItem", edmBool, writable},
			{"IsStockItem", edmBool, writable},
			{"IsPurchaseItem", edmBool, writable},
			{"CostPriceStandard", edmDouble, writable},
			{"StandardSalesPrice", edmDouble, readOnly},
			{"Stock", edmDouble, readOnly},
			{"SalesVatCode", edmString, writable},
			{"ItemGroup", edmGuid, writable},
			{"Barcode", edmString, writable},
			{"StartDate", edmDateTime, writable},
			{"EndDate", edmDateTime, writable},
			{"Notes", edmString, writable},
		},
		mandatoryFilter: []string{"Barcode", "Code", "Created", "Description", "EndDate", "ExtraDescription", "ID", "IsPurchaseItem", "IsSalesItem", "IsStockItem", "ItemGroup", "Modified", "StartDate", "Unit"},
	}
	// salesItemPrices are an item's sales prices: one record per item,
	// currency, unit, quantity break and date range. The default one sets
	// the item's StandardSalesPrice (prices.go). Exact's sync and bulk
	// endpoints for prices are not emulated: none here.
	salesItemPrices = &entityDef{
		name: "SalesItemPrices", path: "logistics/SalesItemPrices",
		modelType: "Exact.Web.Api.Models.Logistics.SalesItemPrice", key: "ID",
		fields: []fieldDef{
			{"ID", edmGuid, readOnly},
			{"Item", edmGuid, createOnly},
			{"ItemCode", edmString, readOnly},
			{"ItemDescription", edmString, readOnly},
			{"Currency", edmString, writable},
			{"Price", edmDouble, writable},
			{"Unit", edmString, writable},
			{"NumberOfItemsPerUnit", edmDouble, readOnly},
			{"Quantity", edmDouble, writable},
			{"StartDate", edmDateTime, writable},
			{"EndDate", edmDateTime, writable},
			{"DefaultItemUnit", edmString, readOnly},
		},
	}
	salesOrders = &entityDef{
		name: "SalesOrders", path: "salesorder/SalesOrders", syncPath: "sync/SalesOrder/SalesOrderHeaders", bulkPath: "bulk/SalesOrder/SalesOrders",
		modelType: "Exact.Web.Api.Models.SalesOrder.SalesOrder", key: "OrderID", deletedType: 32, topic: "SalesOrders",
		linesProp: "SalesOrderLines", unique: []string{"OrderNumber"},
		fields: []fieldDef{
			{"OrderID", edmGuid, readOnly},
			{"OrderNumber", edmInt32, writable},
			{"OrderDate", edmDateTime, writable},
			{"DeliveryDate", edmDateTime, writable},
			{"Description", edmString, writable},
			{"YourRef", edmString, writable},
			{"Currency", edmString, writable},
			{"Discount", edmDouble, writable},
			{"OrderedBy", edmGuid, createOnly},
			{"OrderedByName", edmString, readOnly},
			{"DeliverTo", edmGuid, createOnly},
			{"DeliverToName", edmString, readOnly},
			{"InvoiceTo", edmGuid, createOnly},
			{"InvoiceToName", edmString, readOnly},
			{"PaymentCondition", edmString, writable},
			{"Remarks", edmString, writable},
			{"Status", edmInt32, readOnly},
			{"StatusDescription", edmString, readOnly},
			{"DeliveryStatus", edmInt32, readOnly},
			{"InvoiceStatus", edmInt32, readOnly},
			{"AmountDC", edmDouble, readOnly},
			{"AmountFC", edmDouble, readOnly},
		},
	}
	salesOrderLines = &entityDef{
		name: "SalesOrderLines", path: "salesorder/SalesOrderLines", syncPath: "sync/SalesOrder/SalesOrderLines", bulkPath: "bulk/SalesOrder/SalesOrderLines",
		modelType: "Exact.Web.Api.Models.SalesOrder.SalesOrderLine", key: "ID", deletedType: 33, topic: "SalesOrders",
		parentKey: "OrderID",
		fields: []fieldDef{
			{"ID", edmGuid, readOnly},
			{"OrderID", edmGuid, createOnly},
			{"OrderNumber", edmInt32, readOnly},
			{"LineNumber", edmInt32, readOnly},
			{"Item", edmGuid, writable},
			{"ItemCode", edmString, readOnly},
			{"ItemDescription", edmString, readOnly},
			{"Description", edmString, writable},
			{"Quantity", edmDouble, writable},
			{"UnitPrice", edmDouble, writable},
			{"NetPrice", edmDouble, writable},
			{"Discount", edmDouble, writable},
			{"AmountDC", edmDouble, readOnly},
			{"AmountFC", edmDouble, readOnly},
			{"DeliveryDate", edmDateTime, writable},
			{"VATCode", edmString, writable},
			{"Notes", edmString, writable},
		},
	}
	quotations = &entityDef{
		name: "Quotations", path: "crm/Quotations", syncPath: "sync/CRM/QuotationHeaders", bulkPath: "bulk/CRM/Quotations",
		modelType: "Exact.Web.Api.Models.CRM.Quotation", key: "QuotationID", deletedType: 34, topic: "Quotations",
		linesProp: "QuotationLines", unique: []string{"QuotationNumber"},
		fields: []fieldDef{
			{"QuotationID", edmGuid, readOnly},
			{"QuotationNumber", edmInt32, writable},
			{"VersionNumber", edmInt32, readOnly},
			{"QuotationDate", edmDateTime, writable},
			{"DueDate", edmDateTime, writable},
			{"Description", edmString, writable},
			{"YourRef", edmString, writable},
			{"Currency", edmString, writable},
			{"OrderAccount", edmGuid, writable},
			{"OrderAccountName", edmString, readOnly},
			{"InvoiceAccount", edmGuid, writable},
			{"InvoiceAccountName", edmString, readOnly},
			{"DeliveryAccount", edmGuid, writable},
			{"DeliveryAccountName", edmString, readOnly},
			{"Remarks", edmString, writable},
			{"Status", edmInt32, readOnly},
			{"StatusDescription", edmString, readOnly},
			{"AmountDC", edmDouble, readOnly},
			{"AmountFC", edmDouble, readOnly},
		},
	}
	quotationLines = &entityDef{
		name: "QuotationLines", path: "crm/QuotationLines", syncPath: "sync/CRM/QuotationLines", bulkPath: "bulk/CRM/QuotationLines",
		modelType: "Exact.Web.Api.Models.CRM.QuotationLine", key: "ID", deletedType: 35, topic: "Quotations",
		parentKey: "QuotationID",
		fields: []fieldDef{
			{"ID", edmGuid, readOnly},
			{"QuotationID", edmGuid, createOnly},
			{"QuotationNumber", edmInt32, readOnly},
			{"VersionNumber", edmInt32, readOnly},
			{"LineNumber", edmInt32, readOnly},
			{"Item", edmGuid, writable},
			{"ItemCode", edmString, readOnly},
			{"ItemDescription", edmString, readOnly},
			{"Description", edmString, writable},
			{"Quantity", edmDouble, writable},
			{"UnitPrice", edmDouble, writable},
			{"NetPrice", edmDouble, writable},
			{"Discount", edmDouble, writable},
			{"AmountDC", edmDouble, readOnly},
			{"AmountFC", edmDouble, readOnly},
			{"VATCode", edmString, writable},
			{"Notes", edmString, writable},
		},
	}

	// entities in dependency order: what a record refers to comes first.
	entities = []*entityDef{accounts, contacts, items, salesItemPrices, salesOrders, salesOrderLines, quotations, quotationLines}
)

// deletedFields are the rows of sync/Deleted.
var deletedFields = []fieldDef{
	{"Timestamp", edmInt64, readOnly},
	{"ID", edmGuid, readOnly},
	{"EntityKey", edmGuid, readOnly},
	{"EntityType", edmInt32, readOnly},
	{"DeletedBy", edmGuid, readOnly},
	{"DeletedDate", edmDateTime, readOnly},
	{"Division", edmInt32, readOnly},
}

var deletedByName = indexFields(deletedFields)

// subscriptionFields are the rows of webhooks/WebhookSubscriptions.
var subscriptionFields = []fieldDef{
	{"ID", edmGuid, readOnly},
	{"CallbackURL", edmString, writable},
	{"Topic", edmString, writable},
	{"Description", edmString, writable},
	{"ClientID", edmGuid, readOnly},
	{"UserID", edmGuid, readOnly},
	{"Created", edmDateTime, readOnly},
	{"Creator", edmGuid, readOnly},
	{"CreatorFullName", edmString, readOnly},
	{"Division", edmInt32, readOnly},
}

var subscriptionByName = indexFields(subscriptionFields)

// webhookTopics are the topics a subscription may take, with the entity
// whose endpoint a notification names.
var webhookTopics = map[string]*entityDef{
	"Accounts": accounts, "Contacts": contacts, "Items": items,
	"SalesOrders": salesOrders, "Quotations": quotations,
}

func indexFields(fs []fieldDef) map[string]*fieldDef {
	m := make(map[string]*fieldDef, len(fs))
	for i := range fs {
		m[fs[i].name] = &fs[i]
	}
	return m
}

func init() {
	salesOrders.lines, salesOrderLines.parent = salesOrderLines, salesOrders
	quotations.lines, quotationLines.parent = quotationLines, quotations
	for _, d := range entities {
		d.fields = append(d.fields, audit...)
		d.byName = indexFields(d.fields)
		if d.syncPath == "" {
			continue // no sync endpoint
		}
		// A sync row is the record with its row version; headers also
		// carry their key as ID, as Exact's sync headers do.
		d.syncFields = []fieldDef{{"Timestamp", edmInt64, readOnly}}
		if d.key != "ID" {
			d.syncFields = append(d.syncFields, fieldDef{"ID", edmGuid, readOnly})
		}
		d.syncFields = append(d.syncFields, d.fields...)
		d.syncByName = indexFields(d.syncFields)
		area := d.syncPath[len("sync/"):strings.LastIndexByte(d.syncPath, '/')]
		d.syncTypeName = "Exact.Web.Api.Models.Sync." + area + "." + d.syncPath[strings.LastIndexByte(d.syncPath, '/')+1:]
	}
}

// entityByName finds an entity by its name ("Accounts") or endpoint path
// ("crm/Accounts"), in any case.
func entityByName(name string) *entityDef {
	for _, d := range entities {
		if strings.EqualFold(d.name, name) || strings.EqualFold(d.path, name) {
			return d
		}
	}
	return nil
}

// Names of the countries the sandbox knows for Accounts.CountryName.
var countryNames = map[string]string{
	"NL": "Netherlands", "BE": "Belgium", "DE": "Germany", "FR": "France",
	"GB": "United Kingdom", "LU": "Luxembourg", "US": "United States",
	"ES": "Spain", "IT": "Italy", "DK": "Denmark", "SE": "Sweden", "AT": "Austria",
}
