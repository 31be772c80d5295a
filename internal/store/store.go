// Package store defines how Concord persists what it knows: record versions,
// golden records with per-property provenance, links, cursors, insert
// intents, dead letters and the history of every decision. The engine talks
// only to the Store interface and contains no SQL; implementations live in
// sub-packages (sqlite by default). Every method is atomic: it commits all
// of its batch or none of it, so a crash between two calls loses nothing
// that the first call reported as stored.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by single-item lookups that find nothing.
var ErrNotFound = errors.New("not found")

// Key names one system record.
type Key struct {
	System   string `json:"system"`
	Datatype string `json:"datatype"`
	ID       string `json:"id"`
}

// Record is the last known version of one system record plus its link.
type Record struct {
	Key
	Hash       string               `json:"hash"`
	Fields     map[string]any       `json:"fields"`
	FieldTimes map[string]time.Time `json:"field_times"` // per-field modification time
	Modified   time.Time            `json:"modified"`
	Deleted    bool                 `json:"deleted"`
	// GoldenID is the golden record this record is linked to ("" = unlinked).
	GoldenID string `json:"golden_id"`
	// BasedOn is the hash of the version the golden record last reflected:
	// set when a version is merged or written. Pending is true while a newer
	// version waits to be merged.
	BasedOn string `json:"based_on"`
	Pending bool   `json:"pending"`
	// SeenGen is the full-scan generation in which the record was last seen.
	SeenGen int64 `json:"seen_gen"`
	// Excluded marks a link the delete policy cut: the golden record must not
	// be inserted into this system datatype again.
	Excluded bool `json:"excluded"`
}

// Provenance tells which system record set a golden property, and when.
type Provenance struct {
	System   string    `json:"system"`
	Datatype string    `json:"datatype"`
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
}

// Golden is a merged canonical entity.
type Golden struct {
	ID      string                `json:"id"`
	Type    string                `json:"type"`
	Props   map[string]any        `json:"props"`
	Prov    map[string]Provenance `json:"prov"`
	Deleted bool                  `json:"deleted"`
	// Dirty is true while its state still has to be shared with the systems.
	Dirty   bool      `json:"dirty"`
	Updated time.Time `json:"updated"`
}

// MatchKey is one merge-criterion value of a golden record, normalised.
type MatchKey struct {
	Type     string `json:"type"`
	Name     string `json:"name"`  // criterion name, e.g. "email" or "name+postcode"
	Value    string `json:"value"` // normalised, never empty
	GoldenID string `json:"golden_id"`
}

// Intent is an insert announced before the API call.
type Intent struct {
	ID        string    `json:"id"`
	GoldenID  string    `json:"golden_id"`
	System    string    `json:"system"`
	Datatype  string    `json:"datatype"`
	Gen       int64     `json:"gen"` // the datatype's collect generation when created
	CreatedAt time.Time `json:"created_at"`
}

// Cursor is the collect position of one system datatype.
type Cursor struct {
	System      string    `json:"system"`
	Datatype    string    `json:"datatype"`
	Value       string    `json:"value"`
	PageToken   string    `json:"page_token"` // resumable listing in progress
	Gen         int64     `json:"gen"`        // completed collects
	ScanGen     int64     `json:"scan_gen"`   // completed full scans
	LastSuccess time.Time `json:"last_success"`
	LastScan    time.Time `json:"last_scan"`
	// Breaker holds the reason a circuit breaker tripped ("" = closed).
	Breaker string `json:"breaker"`
}

// DeadLetter is a record or write that failed; parked once Attempts reaches
// the retry limit. Ref is a record id (stage "map") or golden id ("write").
type DeadLetter struct {
	System   string    `json:"system"`
	Datatype string    `json:"datatype"`
	Ref      string    `json:"ref"`
	Stage    string    `json:"stage"`
	Reason   string    `json:"reason"`
	Attempts int       `json:"attempts"`
	Parked   bool      `json:"parked"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// PropDecision is the merge outcome for one property.
type PropDecision struct {
	Property string `json:"property"`
	Value    any    `json:"value"`
	Outcome  string `json:"outcome"` // won, lost, kept, equal
	Reason   string `json:"reason"`
}

// Event is one history entry: a merge decision, a write, a skip.
type Event struct {
	Seq      int64          `json:"seq"`
	At       time.Time      `json:"at"`
	GoldenID string         `json:"golden_id"`
	Key                     // the system record concerned (may be empty)
	Action   string         `json:"action"` // created, matched, merged, inserted, updated, deleted, skipped, deferred, conflict, failed, parked, unlinked
	Detail   string         `json:"detail"`
	Props    []PropDecision `json:"props,omitempty"`
}

// CollectBatch is what one collected page commits, atomically.
type CollectBatch struct {
	System, Datatype string
	// Versions are new or changed record versions; they become Pending.
	// Link fields (GoldenID, BasedOn, Excluded) are kept as stored.
	Versions []Record
	// Seen are ids listed by a full scan whose content did not change; their
	// SeenGen is set to ScanGen.
	Seen    []string
	ScanGen int64
	// Cursor is stored when not nil. PageToken is stored as given.
	Cursor    *string
	PageToken string
	// Done marks the listing complete: Gen is incremented, LastSuccess set,
	// and for a full scan ScanGen becomes the given ScanGen.
	Done     bool
	FullScan bool
}

// MergeBatch is what merging a batch of pending records commits, atomically.
type MergeBatch struct {
	Goldens []Golden // upserted whole
	// Links set GoldenID (and Excluded) of the given records and clear their
	// Pending flag by setting BasedOn to the given Hash, but only if the
	// stored Hash still equals it (a newer version stays pending).
	Links []Record
	// Keys replace all match keys of the golden records listed in KeysFor.
	KeysFor []string
	Keys    []MatchKey
	Events  []Event
	// DeadLetters are upserted (attempts as given); Cleared are removed.
	DeadLetters []DeadLetter
	Cleared     []DeadLetter
}

// ShareBatch is what sharing a batch of golden records commits, atomically.
type ShareBatch struct {
	// Written are system records as written (inserted or updated), stored
	// with Pending=false and BasedOn=Hash, linked to GoldenID.
	Written []Record
	// Unlinked records lose their link (deleted on the system).
	Unlinked []Key
	// Clean are golden ids whose Dirty flag is cleared.
	Clean []string
	// IntentsDone are intent ids to delete.
	IntentsDone []string
	Events      []Event
	DeadLetters []DeadLetter
	Cleared     []DeadLetter
}

// DatatypeStatus is one line of `concord status`.
type DatatypeStatus struct {
	System         string    `json:"system"`
	Datatype       string    `json:"datatype"`
	Records        int64     `json:"records"`
	Linked         int64     `json:"linked"`
	Pending        int64     `json:"pending"`
	PendingInserts int64     `json:"pending_inserts"`
	DeadLetters    int64     `json:"dead_letters"`
	LastSuccess    time.Time `json:"last_success"`
	Breaker        string    `json:"breaker"`
}

// Store is the persistence boundary of the engine.
type Store interface {
	// Records.
	GetRecords(ctx context.Context, system, datatype string, ids []string) (map[string]Record, error)
	// PendingRecords pages through records waiting to be merged, ordered by
	// id, starting after afterID.
	PendingRecords(ctx context.Context, system, datatype, afterID string, limit int) ([]Record, error)
	// RecordsForGoldens returns every record linked to the given golden ids.
	RecordsForGoldens(ctx context.Context, goldenIDs []string) (map[string][]Record, error)
	// UnseenRecords pages through live records of a datatype whose SeenGen is
	// below scanGen (missing from a full scan).
	UnseenRecords(ctx context.Context, system, datatype string, scanGen int64, afterID string, limit int) ([]Record, error)
	// ListLinks pages through linked records of a system datatype (all
	// system datatypes when both are empty).
	ListLinks(ctx context.Context, system, datatype, afterID string, limit int) ([]Record, error)
	CommitCollect(ctx context.Context, b CollectBatch) error

	// Golden records.
	GetGoldens(ctx context.Context, ids []string) (map[string]Golden, error)
	// FindByKeys returns, per key value, the golden ids that hold it.
	FindByKeys(ctx context.Context, typ, name string, values []string) (map[string][]string, error)
	// DirtyGoldens pages through golden records that still have to be shared.
	DirtyGoldens(ctx context.Context, typ, afterID string, limit int) ([]Golden, error)
	CommitMerge(ctx context.Context, b MergeBatch) error

	// Sharing.
	PutIntent(ctx context.Context, in Intent) error
	Intents(ctx context.Context, goldenIDs []string) (map[string][]Intent, error)
	CommitShare(ctx context.Context, b ShareBatch) error

	// Cursors and breakers.
	GetCursor(ctx context.Context, system, datatype string) (Cursor, error) // zero Cursor when none
	SetBreaker(ctx context.Context, system, datatype, reason string) error

	// Dead letters.
	DeadLetters(ctx context.Context, system, datatype string) ([]DeadLetter, error)
	GetDeadLetters(ctx context.Context, system, datatype, stage string, refs []string) (map[string]DeadLetter, error)

	// History, in order of Seq.
	EventsForGolden(ctx context.Context, goldenID string) ([]Event, error)
	EventsForRecord(ctx context.Context, k Key) ([]Event, error)

	Status(ctx context.Context) ([]DatatypeStatus, error)
	Close() error
}
