package webcrm

import (
	"fmt"
	"strings"
)

// The entity names the API uses in its paths. The helpers (Put, Edit,
// Remove, Records) also accept the singular table names.
const (
	Organisations  = "Organisations"
	Persons        = "Persons"
	Users          = "Users"
	Opportunities  = "Opportunities"
	QuotationLines = "QuotationLines"
	Products       = "Products"
)

// kind is the JSON type of a field.
type kind int

const (
	kindString kind = iota
	kindInt         // int32
	kindFloat       // double
	kindBool
	kindTime // date-time without offset, in the sandbox's time zone
	kindEnum // a string from a fixed list
)

func (k kind) String() string {
	switch k {
	case kindInt:
		return "an integer"
	case kindFloat:
		return "a number"
	case kindBool:
		return "true or false"
	case kindTime:
		return "a date-time text"
	case kindEnum:
		return "one of the listed texts"
	}
	return "a text"
}

// field is one property of an entity.
type field struct {
	name     string
	kind     kind
	enum     []string // kindEnum: the allowed values; the first is the default
	readOnly bool     // set by the service only: ids and the created/updated stamps
	maxLen   int      // kindString: the longest accepted text (0: no limit)
	// nonEmpty: the field may be left out, but never sent as an empty text
	// (QuotationLineData1..9). Such fields are left out of the JSON when unset.
	nonEmpty bool
	custom   bool // a per-installation field, described by /FieldsMetadata
}

// entity is one datatype of the API.
type entity struct {
	name        string // path segment: Organisations
	table       string // singular: Organisation; the prefix of every field, the query table
	fields      []*field
	byLower     map[string]*field
	deletable   bool     // DELETE /{Entity}/{id} exists
	hookFilters []string // accepted values of a hook's Filter
}

func (e *entity) idField() string { return e.table + "Id" }

// field returns the named field, matching the name without regard to case as
// the service's model binding does.
func (e *entity) field(name string) *field { return e.byLower[strings.ToLower(name)] }

// fieldSpec adds fields to an entity under construction; names are given
// without the entity prefix.
type fieldSpec func(e *entity)

func add(e *entity, f *field) {
	f.name = e.table + f.name
	e.fields = append(e.fields, f)
}

func text(names ...string) fieldSpec {
	return func(e *entity) {
		for _, n := range names {
			add(e, &field{name: n, kind: kindString})
		}
	}
}

func textMax(name string, max int) fieldSpec {
	return func(e *entity) { add(e, &field{name: name, kind: kindString, maxLen: max}) }
}

func integer(names ...string) fieldSpec {
	return func(e *entity) {
		for _, n := range names {
			add(e, &field{name: n, kind: kindInt})
		}
	}
}

func number(names ...string) fieldSpec {
	return func(e *entity) {
		for _, n := range names {
			add(e, &field{name: n, kind: kindFloat})
		}
	}
}

func boolean(names ...string) fieldSpec {
	return func(e *entity) {
		for _, n := range names {
			add(e, &field{name: n, kind: kindBool})
		}
	}
}

func datetime(names ...string) fieldSpec {
	return func(e *entity) {
		for _, n := range names {
			add(e, &field{name: n, kind: kindTime})
		}
	}
}

func enum(name string, values ...string) fieldSpec {
	return func(e *entity) { add(e, &field{name: name, kind: kindEnum, enum: values}) }
}

// family adds the text fields <prefix>1..n, e.g. Custom1..15.
func family(prefix string, n int) fieldSpec {
	return func(e *entity) {
		for i := 1; i <= n; i++ {
			add(e, &field{name: fmt.Sprintf("%s%d", prefix, i), kind: kindString, custom: true})
		}
	}
}

// stamps adds the fields the service maintains on every change.
func stamps(e *entity) {
	add(e, &field{name: "CreatedAt", kind: kindTime, readOnly: true})
	add(e, &field{name: "CreatedBy", kind: kindString, readOnly: true})
	add(e, &field{name: "UpdatedAt", kind: kindTime, readOnly: true})
	add(e, &field{name: "UpdatedBy", kind: kindString, readOnly: true})
}

func newEntity(name, table string, deletable bool, hookFilters []string, specs ...fieldSpec) *entity {
	e := &entity{name: name, table: table, deletable: deletable, hookFilters: hookFilters, byLower: map[string]*field{}}
	add(e, &field{name: "Id", kind: kindInt, readOnly: true})
	for _, s := range specs {
		s(e)
	}
	for _, f := range e.fields {
		e.byLower[strings.ToLower(f.name)] = f
	}
	return e
}

// entities are the datatypes the sandbox serves, in the order they are
// listed and saved. Field names and types follow the service's published
// model; rarely used fields of that model are left out.
var entities = []*entity{
	newEntity(Organisations, "Organisation", false, []string{"All", "Owner", "Owner2"},
		textMax("Name", 200),
		text("DivisionName", "Address", "PostCode", "City", "State", "Country",
			"Telephone", "Fax", "Www", "Domain", "VatNumber", "Status", "Type", "Industry"),
		integer("Owner", "Owner2"),
		boolean("NoAds"),
		text("Comment", "Alert"),
		stamps,
		family("ExtraCustom", 8),
		family("Custom", 15),
		family("Plus", 20),
		text("Memo"),
	),
	newEntity(Persons, "Person", false, []string{"All", "OrganisationOwner", "OrganisationOwner2"},
		integer("OrganisationId"),
		text("FirstName", "MiddleName", "LastName", "Name", "Salutation", "Title",
			"Email", "Email2", "DirectPhone", "MobilePhone"),
		enum("Status", "Active", "Resigned", "Other", "Guest"),
		boolean("BlockMassEmail", "EmailBounces"),
		datetime("Birthday"),
		text("Comment"),
		integer("SortOrder"),
		stamps,
		family("Custom", 15),
		family("Plus", 20),
		text("Memo"),
	),
	newEntity(Users, "User", false, []string{"All", "Current"},
		text("Name", "Initials", "Email", "Title", "Telephone", "MobilePhone", "CurrencyName", "LoginName"),
		stamps,
		family("Custom", 15),
		text("Memo"),
	),
	newEntity(Opportunities, "Opportunity", false, []string{"All", "Responsible", "OrganisationOwner", "OrganisationOwner2"},
		text("Number", "Description"),
		integer("OrganisationId", "PersonId", "AssignedTo", "AssignedTo2", "Level"),
		text("LevelText"),
		number("OrderValue"),
		text("CurrencyName"),
		datetime("OrderDate"),
		integer("Percent"),
		number("Discount"),
		boolean("WinYesNo"),
		enum("ErpStatus", "NotReadyForSynchronization", "ReadyForSynchronization", "Synchronized"),
		text("ErpId", "Comment"),
		stamps,
		family("Custom", 15),
		family("Plus", 20),
		text("Memo"),
	),
	newEntity(QuotationLines, "QuotationLine", true, []string{"All", "OrganisationOwner", "OrganisationOwner2"},
		integer("OpportunityId", "OrganisationId", "PersonId"),
		number("Quantity", "Price", "ListPrice", "CostPrice", "Discount", "VatPercentage"),
		integer("SortOrder"),
		text("Comment", "StockStatus"),
		dataFields,
		text("Memo"),
		stamps,
	),
	newEntity(Products, "Product", true, []string{"All", "OrganisationOwner", "OrganisationOwner2"},
		integer("OrganisationId", "PersonId"),
		number("Price", "CostPrice", "ListPrice", "Discount", "Quantity"),
		text("VatCode", "Comment", "StockStatus"),
		integer("SortOrder"),
		stamps,
		family("Custom", 15),
		family("Plus", 20),
		text("Memo"),
	),
}

// dataFields adds QuotationLineData1..9: per-installation copies of the
// quoted product's data (its code, its name). They may be left out, never
// sent empty.
func dataFields(e *entity) {
	for i := 1; i <= 9; i++ {
		add(e, &field{name: fmt.Sprintf("Data%d", i), kind: kindString, nonEmpty: true, custom: true})
	}
}

// lookupEntity finds an entity by its path name or its table name, without
// regard to case.
func lookupEntity(name string) *entity {
	for _, e := range entities {
		if strings.EqualFold(e.name, name) || strings.EqualFold(e.table, name) {
			return e
		}
	}
	return nil
}

// entityByPath finds an entity by its path segment only.
func entityByPath(seg string) *entity {
	for _, e := range entities {
		if strings.EqualFold(e.name, seg) {
			return e
		}
	}
	return nil
}

// entityByTable finds an entity by its singular query table name only.
func entityByTable(name string) *entity {
	for _, e := range entities {
		if strings.EqualFold(e.table, name) {
			return e
		}
	}
	return nil
}

func tableNames() string {
	names := make([]string, len(entities))
	for i, e := range entities {
		names[i] = e.table
	}
	return strings.Join(names, ", ")
}
