package webcrm

import (
	"fmt"
	"strings"

	"github.com/concordsync/concord/internal/connector"
)

// The datatypes, as users name them in mappings (the API's path names).
const (
	Organisations  = "Organisations"
	Persons        = "Persons"
	Users          = "Users"
	Opportunities  = "Opportunities"
	QuotationLines = "QuotationLines"
	Products       = "Products"
)

// Virtual fields: names the connector presents instead of per-installation
// custom fields (see Config), so that mappings do not depend on which
// custom field an installation uses.
const (
	ProductCode              = "ProductCode"
	ProductName              = "ProductName"
	QuotationLineProductCode = "QuotationLineProductCode"
	QuotationLineProductName = "QuotationLineProductName"
	// QuotationLineProductId is the id of the product whose code the line
	// holds: WebCRM lines keep a copy of the product's code and name, not
	// its id. Reading, the connector finds the product by code; writing,
	// it copies the product's code and name into the line.
	QuotationLineProductId = "QuotationLineProductId"
)

// kind is how a field is written on the wire and presented to the engine.
type kind int

const (
	kText  kind = iota
	kInt        // int32, presented as a number
	kFloat      // double
	kBool
	kDate     // a date-time used as a date: presented "2006-01-02"
	kDateTime // presented as UTC RFC 3339
	kEnum     // a text from a fixed list
	kRef      // int32 id of another record: presented as a decimal string, 0 as absent
	kStamp    // *UpdatedAt and *UpdatedBy: Record.Modified, not a field
)

func (k kind) propertyType() string {
	switch k {
	case kInt:
		return "integer"
	case kFloat:
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

// field is one property of an entity as the connector knows it. Fields the
// connector does not know (WebCRM adds fields over time) pass through as
// they come.
type field struct {
	name     string
	kind     kind
	nonEmpty bool // may be left out but never sent as "" (QuotationLineData1..9)
	readOnly bool // kept by the service; never sent
}

// entity is one WebCRM datatype.
type entity struct {
	name      string // path and datatype: Organisations
	table     string // singular: the field prefix and the query table
	deletable bool
	fields    []*field
	byName    map[string]*field
	byLower   map[string]*field
}

func (e *entity) idField() string      { return e.table + "Id" }
func (e *entity) updatedField() string { return e.table + "UpdatedAt" }

// field finds a known field by its exact name, then without regard to case
// (the service's model binding ignores case).
func (e *entity) field(name string) *field {
	if f, ok := e.byName[name]; ok {
		return f
	}
	return e.byLower[strings.ToLower(name)]
}

type spec func(e *entity)

func fields(k kind, names ...string) spec {
	return func(e *entity) {
		for _, n := range names {
			e.fields = append(e.fields, &field{name: e.table + n, kind: k})
		}
	}
}

func family(prefix string, n int) spec {
	return func(e *entity) {
		for i := 1; i <= n; i++ {
			e.fields = append(e.fields, &field{name: fmt.Sprintf("%s%s%d", e.table, prefix, i), kind: kText})
		}
	}
}

func stamps(e *entity) {
	e.fields = append(e.fields,
		&field{name: e.table + "CreatedAt", kind: kDateTime, readOnly: true},
		&field{name: e.table + "CreatedBy", kind: kText, readOnly: true},
		&field{name: e.table + "UpdatedAt", kind: kStamp, readOnly: true},
		&field{name: e.table + "UpdatedBy", kind: kStamp, readOnly: true})
}

func dataFields(e *entity) {
	for i := 1; i <= 9; i++ {
		e.fields = append(e.fields, &field{name: fmt.Sprintf("%sData%d", e.table, i), kind: kText, nonEmpty: true})
	}
}

func newEntity(name, table string, deletable bool, specs ...spec) *entity {
	e := &entity{name: name, table: table, deletable: deletable, byName: map[string]*field{}, byLower: map[string]*field{}}
	e.fields = append(e.fields, &field{name: table + "Id", kind: kRef, readOnly: true})
	for _, s := range specs {
		s(e)
	}
	for _, f := range e.fields {
		e.byName[f.name] = f
		e.byLower[strings.ToLower(f.name)] = f
	}
	return e
}

// entities are the datatypes the connector serves, with the fields of
// WebCRM's published model (see shared/reference/webcrm.md).
var entities = []*entity{
	newEntity(Organisations, "Organisation", false,
		fields(kText, "Name", "DivisionName", "Address", "PostCode", "City", "State", "Country",
			"Telephone", "Fax", "Www", "Domain", "VatNumber", "Status", "Type", "Industry"),
		fields(kRef, "Owner", "Owner2"), // user ids
		fields(kBool, "NoAds"),
		fields(kText, "Comment", "Alert"),
		stamps,
		family("ExtraCustom", 8), family("Custom", 15), family("Plus", 20),
		fields(kText, "Memo"),
	),
	newEntity(Persons, "Person", false,
		fields(kRef, "OrganisationId"),
		fields(kText, "FirstName", "MiddleName", "LastName", "Name", "Salutation", "Title",
			"Email", "Email2", "DirectPhone", "MobilePhone"),
		fields(kEnum, "Status"),
		fields(kBool, "BlockMassEmail", "EmailBounces"),
		fields(kDate, "Birthday"),
		fields(kText, "Comment"),
		fields(kInt, "SortOrder"),
		stamps,
		family("Custom", 15), family("Plus", 20),
		fields(kText, "Memo"),
	),
	newEntity(Users, "User", false,
		fields(kText, "Name", "Initials", "Email", "Title", "Telephone", "MobilePhone", "CurrencyName", "LoginName"),
		stamps,
		family("Custom", 15),
		fields(kText, "Memo"),
	),
	newEntity(Opportunities, "Opportunity", false,
		fields(kText, "Number", "Description"),
		fields(kRef, "OrganisationId", "PersonId", "AssignedTo", "AssignedTo2"),
		fields(kInt, "Level"),
		fields(kText, "LevelText"),
		fields(kFloat, "OrderValue"),
		fields(kText, "CurrencyName"),
		fields(kDate, "OrderDate"),
		fields(kInt, "Percent"),
		fields(kFloat, "Discount"),
		fields(kBool, "WinYesNo"),
		fields(kEnum, "ErpStatus"),
		fields(kText, "ErpId", "Comment"),
		stamps,
		family("Custom", 15), family("Plus", 20),
		fields(kText, "Memo"),
	),
	newEntity(QuotationLines, "QuotationLine", true,
		fields(kRef, "OpportunityId", "OrganisationId", "PersonId"),
		fields(kFloat, "Quantity", "Price", "ListPrice", "CostPrice", "Discount", "VatPercentage"),
		fields(kInt, "SortOrder"),
		fields(kText, "Comment", "StockStatus"),
		dataFields,
		fields(kText, "Memo"),
		stamps,
	),
	newEntity(Products, "Product", true,
		fields(kRef, "OrganisationId", "PersonId"),
		fields(kFloat, "Price", "CostPrice", "ListPrice", "Discount", "Quantity"),
		fields(kText, "VatCode", "Comment", "StockStatus"),
		fields(kInt, "SortOrder"),
		stamps,
		family("Custom", 15), family("Plus", 20),
		fields(kText, "Memo"),
	),
}

// lookupEntity finds an entity by its datatype name (exactly) or, for
// webhook payloads, by its path or singular name without regard to case.
func lookupEntity(name string) *entity {
	for _, e := range entities {
		if e.name == name {
			return e
		}
	}
	for _, e := range entities {
		if strings.EqualFold(e.name, name) || strings.EqualFold(e.table, name) {
			return e
		}
	}
	return nil
}

func datatypeNames() []string {
	out := make([]string, len(entities))
	for i, e := range entities {
		out[i] = e.name
	}
	return out
}

// virtual is a presented field that stands for a custom field chosen in
// the settings.
type virtual struct {
	name string // presented name: ProductCode
	raw  string // the installation's field: ProductCustom1
}

// virtuals returns the virtual fields of a datatype under cfg.
func (cfg *Config) virtuals(datatype string) []virtual {
	var out []virtual
	add := func(name, raw string) {
		if raw != "" {
			out = append(out, virtual{name: name, raw: raw})
		}
	}
	switch datatype {
	case Products:
		add(ProductCode, cfg.ProductCodeField)
		add(ProductName, cfg.ProductNameField)
	case QuotationLines:
		add(QuotationLineProductCode, cfg.QuotationLineCodeField)
		add(QuotationLineProductName, cfg.QuotationLineNameField)
	}
	return out
}

// describe lists the datatypes with their properties as the connector
// presents them.
func (cfg *Config) describe() []connector.DatatypeInfo {
	out := make([]connector.DatatypeInfo, 0, len(entities))
	for _, e := range entities {
		vs := cfg.virtuals(e.name)
		hidden := map[string]bool{}
		info := connector.DatatypeInfo{Name: e.name, CanDelete: e.deletable}
		for _, v := range vs {
			hidden[v.raw] = true
			info.Properties = append(info.Properties, connector.Property{Name: v.name, Type: "string"})
		}
		if e.name == QuotationLines && cfg.QuotationLineCodeField != "" {
			info.Properties = append(info.Properties, connector.Property{Name: QuotationLineProductId, Type: "string"})
		}
		for _, f := range e.fields {
			if f.kind == kStamp || hidden[f.name] {
				continue
			}
			info.Properties = append(info.Properties, connector.Property{Name: f.name, Type: f.kind.propertyType()})
		}
		out = append(out, info)
	}
	return out
}
