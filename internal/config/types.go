package config

import (
	"time"

	"github.com/concordsync/concord/internal/canonical"
)

// These types are the one definition of Concord's configuration: the YAML
// loader decodes into them, the JSON Schema (`concord schema`) is generated
// from them, and the README's config reference is generated from the schema.
// Struct tags: `yaml` names the key, `jsonschema` adds schema facts, and
// `jsonschema_description` holds the description shown to users (its own tag
// because the `jsonschema` tag splits on commas, which cut descriptions short).

// Config is a whole configuration file.
type Config struct {
	// Store says where Concord keeps its state.
	Store Store `yaml:"store,omitempty" json:"store,omitempty" jsonschema_description:"Where Concord keeps record versions, golden records, links and history."`
	// Engine tunes the sync engine.
	Engine Engine `yaml:"engine,omitempty" json:"engine,omitempty" jsonschema_description:"Engine settings: batch size, retry limit, circuit breaker."`
	// Systems are the connected systems by name.
	Systems map[string]System `yaml:"systems" json:"systems" jsonschema:"required" jsonschema_description:"Connected systems by name. The name is used in mappings and in the CLI."`
	// Canonical adds types or properties to the built-in canonical model.
	Canonical map[string]canonical.Type `yaml:"canonical,omitempty" json:"canonical,omitempty" jsonschema_description:"Canonical types to add or extend. The built-in types customer, contact, product and order (with lines) are always present."`
	// Mappings map system datatypes to canonical types.
	Mappings []Mapping `yaml:"mappings" json:"mappings" jsonschema:"required" jsonschema_description:"One entry per system datatype: how its records map to a canonical type."`

	// File is the path the configuration was read from.
	File string `yaml:"-" json:"-"`
}

// Store selects the store backend.
type Store struct {
	Driver string `yaml:"driver,omitempty" json:"driver,omitempty" jsonschema:"enum=sqlite,default=sqlite" jsonschema_description:"Store backend. sqlite is embedded and needs nothing installed."`
	Path   string `yaml:"path,omitempty" json:"path,omitempty" jsonschema:"default=concord-data/concord.db" jsonschema_description:"SQLite database file, relative to the config file's folder."`
	DSN    string `yaml:"dsn,omitempty" json:"dsn,omitempty" jsonschema_description:"Connection string for server backends."`
}

// Engine tunes the engine.
type Engine struct {
	BatchSize        int     `yaml:"batch_size,omitempty" json:"batch_size,omitempty" jsonschema:"minimum=1,maximum=100000,default=1000" jsonschema_description:"Records merged or shared per store transaction."`
	RetryLimit       int     `yaml:"retry_limit,omitempty" json:"retry_limit,omitempty" jsonschema:"minimum=1,default=5" jsonschema_description:"Failed attempts after which a record is parked as a dead letter."`
	BreakerThreshold float64 `yaml:"breaker_threshold,omitempty" json:"breaker_threshold,omitempty" jsonschema:"minimum=0,maximum=1,default=0.5" jsonschema_description:"Trip the circuit breaker when one read would delete more than this fraction of a datatype's stored records."`
	BreakerMinimum   int     `yaml:"breaker_minimum,omitempty" json:"breaker_minimum,omitempty" jsonschema:"minimum=0,default=10" jsonschema_description:"The breaker only considers datatypes with at least this many stored records."`
}

// System is one configured connection.
type System struct {
	Preset   string         `yaml:"preset,omitempty" json:"preset,omitempty" jsonschema_description:"A built-in system (customwebshop, customerp, exactonline, webcrm): brings its kind, title, connector settings and the mappings of its datatypes. Settings and mappings given here are laid over the preset's (a mapping by system and datatype, a property row by field)."`
	Title    string         `yaml:"title,omitempty" json:"title,omitempty" jsonschema_description:"The system's name in documents and reports (e.g. Exact Online); defaults to its key."`
	Kind     string         `yaml:"kind" json:"kind" jsonschema:"required,minLength=1" jsonschema_description:"Connector kind: memory (in-process), exactonline, webcrm, rest, sql; each kind's settings are in its ADR (docs/adr) and package doc."`
	Settings map[string]any `yaml:"settings,omitempty" json:"settings,omitempty" jsonschema_description:"Kind-specific settings (credentials, base URL, limits)."`
	Schedule Duration       `yaml:"schedule,omitempty" json:"schedule,omitempty" jsonschema_description:"Default collect interval for this system's datatypes (e.g. 30s, 5m)."`
}

// Mapping maps one system datatype to a canonical type.
type Mapping struct {
	System     string `yaml:"system" json:"system" jsonschema:"required,minLength=1" jsonschema_description:"Name of a system under systems."`
	Datatype   string `yaml:"datatype" json:"datatype" jsonschema:"required,minLength=1" jsonschema_description:"The system's datatype (entity), e.g. Accounts."`
	Canonical  string `yaml:"canonical" json:"canonical" jsonschema:"required,minLength=1" jsonschema_description:"Canonical type the records map to."`
	Title      string `yaml:"title,omitempty" json:"title,omitempty" jsonschema_description:"The datatype's name in documents and reports (e.g. Order for orders); defaults to the datatype."`
	Direction  string `yaml:"direction,omitempty" json:"direction,omitempty" jsonschema:"enum=both,enum=in,enum=out,default=both" jsonschema_description:"in: records only feed the hub; out: the hub only writes here; both: two-way."`
	Insert     *bool  `yaml:"insert,omitempty" json:"insert,omitempty" jsonschema:"default=true" jsonschema_description:"Whether Concord may create records in this datatype. When false, records are only linked by merge criteria and then kept in sync."`
	When       string `yaml:"when,omitempty" json:"when,omitempty" jsonschema_description:"Condition on the golden record (variable golden) that must hold for this datatype to take it, e.g. golden.status == 'quote'. Chooses between target datatypes."`
	InsertWhen string `yaml:"insert_when,omitempty" json:"insert_when,omitempty" jsonschema_description:"Condition on the golden record (variable golden) that must hold for Concord to create a record in this datatype; once linked, the record is kept in sync whether or not it holds (an order sent to the ERP once won is still updated when it is lost later). when, by contrast, stops updates too."`
	Filter     string `yaml:"filter,omitempty" json:"filter,omitempty" jsonschema_description:"Condition on the system record (variable record) that must hold for it to be collected."`
	// Merge lists merge criteria, tried in order; each is a combination of
	// canonical properties that must all be non-empty and equal.
	Merge      [][]string     `yaml:"merge,omitempty" json:"merge,omitempty" jsonschema_description:"Merge criteria for the first link, tried in order. Each is a list of canonical properties that must all be non-empty and equal (case and surrounding space ignored)."`
	Delete     string         `yaml:"delete,omitempty" json:"delete,omitempty" jsonschema:"enum=ignore,enum=unlink,enum=propagate,default=ignore" jsonschema_description:"What a deletion in this datatype does, and whether deletions reach it: ignore (nothing), unlink (the link is cut, nothing deleted), propagate (the golden record is deleted and so are its linked records in datatypes whose policy is propagate)."`
	Schedule   Duration       `yaml:"schedule,omitempty" json:"schedule,omitempty" jsonschema_description:"Collect interval for this datatype; overrides the system's."`
	FullScan   Duration       `yaml:"full_scan,omitempty" json:"full_scan,omitempty" jsonschema_description:"Interval of full-id reconciliation scans that find deletions; empty means only the first collect is a full scan."`
	Properties []PropertyMap  `yaml:"properties" json:"properties" jsonschema:"required,minItems=1" jsonschema_description:"Property rows: system field to canonical property."`
	Defaults   map[string]any `yaml:"defaults,omitempty" json:"defaults,omitempty" jsonschema_description:"Fields written when Concord creates a record in this datatype and the mapping gives them no value: what the system requires but no other system knows (a customer kind, a default VAT code). Never written on updates."`
	Lines      *LinesMap      `yaml:"lines,omitempty" json:"lines,omitempty" jsonschema_description:"Child lines of the canonical type, either nested in the record or in a separate datatype."`
}

// PropertyMap is one property row.
type PropertyMap struct {
	Field     string `yaml:"field" json:"field" jsonschema:"required,minLength=1" jsonschema_description:"The system's field name, or a path to a member of an object the record nests (billing_address.city)."`
	Property  string `yaml:"property" json:"property" jsonschema:"required,minLength=1" jsonschema_description:"The canonical property."`
	Type      string `yaml:"type,omitempty" json:"type,omitempty" jsonschema:"enum=string,enum=number,enum=integer,enum=boolean,enum=date,enum=datetime,enum=reference,enum=object,enum=array,default=string" jsonschema_description:"Data type of the field in the system (the target data type when Concord writes it). object and array pass nested values (an address, a list) through unchanged."`
	In        string `yaml:"in,omitempty" json:"in,omitempty" jsonschema_description:"Expression from field to property; variables value and record."`
	Out       string `yaml:"out,omitempty" json:"out,omitempty" jsonschema_description:"Expression from property to field; variables value and golden."`
	Direction string `yaml:"direction,omitempty" json:"direction,omitempty" jsonschema:"enum=both,enum=in,enum=out,default=both" jsonschema_description:"Which way this property flows."`
	Ref       string `yaml:"ref,omitempty" json:"ref,omitempty" jsonschema_description:"For a reference field: the datatype of the same system whose id it holds; Concord translates it through links."`
}

// LinesMap maps a canonical type's lines.
type LinesMap struct {
	Field       string        `yaml:"field,omitempty" json:"field,omitempty" jsonschema_description:"Array field holding the lines inside the record (nested lines, e.g. line_items). They sync as the records of the system datatype <datatype>/<field> (orders/line_items), which the connector serves from the records (kind rest; see its settings.datatypes.<datatype>.lines): one record per line, with the parent record's id in _parent. A new record is inserted carrying its lines in this field. Not with datatype, parent_field or insert_field."`
	Datatype    string        `yaml:"datatype,omitempty" json:"datatype,omitempty" jsonschema_description:"Separate datatype holding the lines, one record per line. Not with field."`
	ParentField string        `yaml:"parent_field,omitempty" json:"parent_field,omitempty" jsonschema_description:"For a separate datatype: the line field that holds the parent record's id. Nested lines have _parent."`
	IDField     string        `yaml:"id_field,omitempty" json:"id_field,omitempty" jsonschema_description:"For nested lines, optional: the line member that identifies a line within its record (id, line_no). The connector's settings say where it reads it; given here, no property row may write it, since the system hands it out."`
	InsertField string        `yaml:"insert_field,omitempty" json:"insert_field,omitempty" jsonschema_description:"For a separate datatype: the record's array field that carries the lines when a new record is inserted, for systems that create an order only together with its lines (Exact Online). The lines are read and changed through their own datatype afterwards. Nested lines are always inserted so, in field."`
	Properties  []PropertyMap `yaml:"properties" json:"properties" jsonschema:"required,minItems=1" jsonschema_description:"Property rows of a line."`
}

// Duration is a Go duration written as a string ("30s", "5m", "1h").
type Duration struct{ time.Duration }
