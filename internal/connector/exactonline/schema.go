package exactonline

import (
	"slices"
	"strings"
)

// kind is how a property is typed on the wire, which decides how it is read
// and written.
type kind int

const (
	kString kind = iota
	kGUID
	kInt
	kDouble
	kBool
	kDate     // a calendar date: /Date(…)/ at midnight, presented as YYYY-MM-DDT00:00:00Z
	kDateTime // an instant: presented in UTC
)

// propertyType is the name Describe gives a kind.
func (k kind) propertyType() string {
	switch k {
	case kInt:
		return "integer"
	case kDouble:
		return "number"
	case kBool:
		return "boolean"
	case kDate:
		return "date"
	case kDateTime:
		return "datetime"
	}
	return "string"
}

type property struct {
	name string
	kind kind
}

// datatype is one entity set as users configure it ("Accounts"), with the
// endpoints Concord reads and writes it through.
type datatype struct {
	name       string // as configured: Accounts
	path       string // REST endpoint: crm/Accounts
	syncPath   string // incremental reads: sync/CRM/Accounts
	key        string // ID, OrderID, QuotationID
	entityType int    // EntityType in sync/Deleted
	topic      string // webhook topic that covers it

	// linesField is the array a header's POST carries its lines in;
	// lines is the lines datatype. parentKey is, on a lines datatype,
	// the property that holds its header's key.
	linesField string
	lines      *datatype
	parentKey  string

	props []property

	// salesPrice: the datatype has SalesPriceField (Items), read from
	// StandardSalesPrice and written through logistics/SalesItemPrices.
	salesPrice bool
}

// audit properties every entity carries.
var audit = []property{
	{"Created", kDateTime}, {"Creator", kGUID}, {"CreatorFullName", kString},
	{"Modified", kDateTime}, {"Modifier", kGUID}, {"ModifierFullName", kString},
	{"Division", kInt},
}

func props(spec string, extra ...property) []property {
	// spec: "Name:kind Name:kind …" with kinds s g i d b D T.
	var out []property
	for _, f := range strings.Fields(spec) {
		name, k, _ := strings.Cut(f, ":")
		out = append(out, property{name, map[string]kind{
			"s": kString, "g": kGUID, "i": kInt, "d": kDouble, "b": kBool, "D": kDate, "T": kDateTime,
		}[k]})
	}
	return append(append(out, extra...), audit...)
}

var (
	dtAccounts = &datatype{
		name: "Accounts", path: "crm/Accounts", syncPath: "sync/CRM/Accounts", key: "ID", entityType: 2, topic: "Accounts",
		props: props("ID:g Code:s Name:s SearchCode:s Email:s Phone:s Website:s AddressLine1:s AddressLine2:s AddressLine3:s " +
			"Postcode:s City:s State:s Country:s CountryName:s VATNumber:s ChamberOfCommerce:s Status:s IsSales:b " +
			"IsSupplier:b Blocked:b Type:s Remarks:s"),
	}
	dtContacts = &datatype{
		name: "Contacts", path: "crm/Contacts", syncPath: "sync/CRM/Contacts", key: "ID", entityType: 5, topic: "Contacts",
		props: props("ID:g Account:g AccountName:s FirstName:s MiddleName:s LastName:s FullName:s Initials:s Gender:s " +
			"Email:s BusinessEmail:s Phone:s BusinessPhone:s Mobile:s JobTitleDescription:s BirthDate:D Language:s " +
			"Notes:s IsMainContact:b"),
	}
	dtItems = &datatype{
		name: "Items", path: "logistics/Items", syncPath: "sync/Logistics/Items", key: "ID", entityType: 9, topic: "Items", salesPrice: true,
		props: props("ID:g Code:s Description:s ExtraDescription:s Unit:s IsSalesItem:b IsStockItem:b IsPurchaseItem:b " +
			"CostPriceStandard:d StandardSalesPrice:d Stock:d SalesVatCode:s ItemGroup:g Barcode:s StartDate:D EndDate:D Notes:s"),
	}
	dtSalesOrderLines = &datatype{
		name: "SalesOrderLines", path: "salesorder/SalesOrderLines", syncPath: "sync/SalesOrder/SalesOrderLines", key: "ID",
		entityType: 33, topic: "SalesOrders", parentKey: "OrderID",
		props: props("ID:g OrderID:g OrderNumber:i LineNumber:i Item:g ItemCode:s ItemDescription:s Description:s " +
			"Quantity:d UnitPrice:d NetPrice:d Discount:d AmountDC:d AmountFC:d DeliveryDate:D VATCode:s Notes:s"),
	}
	dtSalesOrders = &datatype{
		name: "SalesOrders", path: "salesorder/SalesOrders", syncPath: "sync/SalesOrder/SalesOrderHeaders", key: "OrderID",
		entityType: 32, topic: "SalesOrders", linesField: "SalesOrderLines", lines: dtSalesOrderLines,
		props: props("OrderID:g OrderNumber:i OrderDate:D DeliveryDate:D Description:s YourRef:s Currency:s Discount:d " +
			"OrderedBy:g OrderedByName:s DeliverTo:g DeliverToName:s InvoiceTo:g InvoiceToName:s PaymentCondition:s " +
			"Remarks:s Status:i StatusDescription:s DeliveryStatus:i InvoiceStatus:i AmountDC:d AmountFC:d"),
	}
	dtQuotationLines = &datatype{
		name: "QuotationLines", path: "crm/QuotationLines", syncPath: "sync/CRM/QuotationLines", key: "ID",
		entityType: 35, topic: "Quotations", parentKey: "QuotationID",
		props: props("ID:g QuotationID:g QuotationNumber:i VersionNumber:i LineNumber:i Item:g ItemCode:s " +
			"ItemDescription:s Description:s Quantity:d UnitPrice:d NetPrice:d Discount:d AmountDC:d AmountFC:d VATCode:s Notes:s"),
	}
	dtQuotations = &datatype{
		name: "Quotations", path: "crm/Quotations", syncPath: "sync/CRM/QuotationHeaders", key: "QuotationID",
		entityType: 34, topic: "Quotations", linesField: "QuotationLines", lines: dtQuotationLines,
		props: props("QuotationID:g QuotationNumber:i VersionNumber:i QuotationDate:D DueDate:D Description:s YourRef:s " +
			"Currency:s OrderAccount:g OrderAccountName:s InvoiceAccount:g InvoiceAccountName:s DeliveryAccount:g " +
			"DeliveryAccountName:s Remarks:s Status:i StatusDescription:s AmountDC:d AmountFC:d"),
	}

	// datatypes in the order Describe lists them: what a record refers to
	// comes first.
	datatypes = []*datatype{dtAccounts, dtContacts, dtItems, dtSalesOrders, dtSalesOrderLines, dtQuotations, dtQuotationLines}
)

func datatypeByName(name string) *datatype {
	i := slices.IndexFunc(datatypes, func(d *datatype) bool { return d.name == name })
	if i < 0 {
		return nil
	}
	return datatypes[i]
}

func datatypeNames() []string {
	out := make([]string, len(datatypes))
	for i, d := range datatypes {
		out[i] = d.name
	}
	return out
}

// topicDatatypes are the datatypes a webhook topic announces changes of:
// an order's topic also fires for its lines.
func topicDatatypes(topic string) []string {
	var out []string
	for _, d := range datatypes {
		if strings.EqualFold(d.topic, topic) {
			out = append(out, d.name)
		}
	}
	return out
}

// kindOf is the kind of a property of d; unknown properties (extra fields a
// user selects) are read as they come.
func (d *datatype) kindOf(name string) (kind, bool) {
	if d.salesPrice && name == SalesPriceField {
		return kDouble, true
	}
	for _, p := range d.props {
		if p.name == name {
			return p.kind, true
		}
	}
	return kString, false
}
