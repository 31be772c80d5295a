// Package store defines how Concord persists what it knows: record versions,
// golden records with per-property provenance, links, cursors, insert
// intents, dead letters and the history of every decision. The engine talks
// only to the Store interface and contains no SQL; implementations live in
// sub-packages (sqlite by default). Every method is atomic: it commits all
// of its batch or none of it, so a crash between two calls loses nothing
// that the first call reported as stored.
//
// What every implementation guarantees (storetest checks it):
//
//   - Values are stored as JSON holds them and come back so: maps
//     (Record.Fields, Golden.Props, PropDecision.Value) give numbers as
//     float64, except integers beyond ±2^53 that fit an int64, which come
//     back as int64; other types come back as encoding/json writes them
//     ([]string as []any, time.Time as a string). NaN and infinities cannot
//     be stored: the commit fails. Maps come back non-nil.
//   - Times come back in UTC at nanosecond precision; the zero time stays
//     zero (and so does the unix epoch itself, which shares its encoding).
//   - Nothing returned aliases what the store holds, and nothing passed in
//     is retained: callers may change either afterwards.
//   - Paging methods return items with an id greater than afterID in id
//     order; a limit <= 0 means no limit. A page shorter than the limit is
//     the last one.
//   - Lookups by id slices take any number of ids, repeats and unknown ids
//     included; unknown ids are absent from the result.
//   - Within one batch, entries apply in slice order, so of two entries for
//     the same record or golden record the later one wins.
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
// Content (Hash, Fields, FieldTimes, Modified, Deleted) comes from collect
// or from a write; the link columns (GoldenID, BasedOn, Excluded) only from
// merge and share; Pending and SeenGen are kept by the store.
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
	// Fingerprint is the content hash of the fields the insert sent, to
	// recognise the created record when the answer to the insert was lost.
	Fingerprint string `json:"fingerprint"`
	// RecordID is set for an update intent: the record being updated.
	// Fields are the values the update sent, so that their echo is known
	// for what it is when the answer was lost.
	RecordID string         `json:"record_id,omitempty"`
	Fields   map[string]any `json:"fields,omitempty"`
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
	// Only their content is stored: link fields (GoldenID, BasedOn,
	// Excluded) are kept as stored ("" / false for a new record), and their
	// Pending and SeenGen are ignored. When ScanGen > 0 their SeenGen becomes
	// ScanGen, otherwise it is kept (0 for a new record). A version's Key
	// must name the batch's system datatype (or leave them empty) and have
	// an ID, or the commit fails.
	Versions []Record
	// Seen are ids listed by a full scan whose content did not change; their
	// SeenGen is set to ScanGen. Ids the store does not have are ignored.
	Seen    []string
	ScanGen int64
	// Cursor is stored when not nil. PageToken is stored as given ("" ends a
	// listing in progress). Every commit creates the cursor if needed.
	Cursor    *string
	PageToken string
	// Done marks the listing complete: Gen is incremented, LastSuccess set
	// to the store's clock, and for a full scan ScanGen becomes the given
	// ScanGen and LastScan is set too.
	Done     bool
	FullScan bool
	// At is the engine's clock when the listing completed; LastSuccess and
	// LastScan take it when set (the store's clock otherwise).
	At time.Time
	// Merge, when set, is the merge of (some of) Versions, committed in the
	// same transaction: applied after Versions and Seen, exactly as
	// CommitMerge would apply it, so that a record seen for the first time
	// is stored once, already linked. The whole batch fails when Merge
	// cannot be stored.
	Merge *MergeBatch
}

// MergeBatch is what merging a batch of pending records commits, atomically.
// Its parts apply in field order: golden records, links, match keys, events,
// dead letters.
type MergeBatch struct {
	Goldens []Golden // upserted whole; an ID is required
	// Links set GoldenID (and Excluded) of the given records and clear their
	// Pending flag by setting BasedOn to the given Hash, but only if the
	// stored Hash still equals it (a newer version stays pending, linked).
	// Only Key, GoldenID, Excluded and Hash are read; links to records the
	// store does not have are ignored.
	Links []Record
	// Keys replace all match keys of the golden records listed in KeysFor
	// (listing a golden record without keys removes all of its keys). Keys
	// of golden records not in KeysFor are added to theirs. Keys with an
	// empty Value are skipped.
	KeysFor []string
	Keys    []MatchKey
	// Events are appended to the history. The store assigns Seq (the given
	// one is ignored); a zero At becomes the store's clock.
	Events []Event
	// DeadLetters are upserted whole (attempts and times as given); Cleared
	// are removed by (System, Datatype, Stage, Ref), after the upserts.
	DeadLetters []DeadLetter
	Cleared     []DeadLetter
}

// ShareBatch is what sharing a batch of golden records commits, atomically.
// Its parts apply in field order.
type ShareBatch struct {
	// Written are system records as written (inserted or updated), stored
	// with Pending=false and BasedOn=Hash, linked to GoldenID: content and
	// link replaced whole, Excluded as given. Key needs System, Datatype and
	// ID. SeenGen is the larger of the stored and the given one, so that a
	// record written while a full scan runs does not look missing after it.
	Written []Record
	// Unlinked records lose their link (deleted on the system): GoldenID
	// becomes "", the row and its other columns stay. Unknown keys are
	// ignored.
	Unlinked []Key
	// Clean are golden ids whose Dirty flag is cleared.
	Clean []string
	// IntentsDone are intent ids to delete.
	IntentsDone []string
	// Events, DeadLetters and Cleared as in MergeBatch.
	Events      []Event
	DeadLetters []DeadLetter
	Cleared     []DeadLetter
}

// DatatypeStatus is one line of `concord status`.
type DatatypeStatus struct {
	System   string `json:"system"`
	Datatype string `json:"datatype"`
	// Records counts every stored record, tombstones (Deleted) included;
	// Deleted counts the tombstones alone, so the records the system holds
	// are Records - Deleted.
	Records int64 `json:"records"`
	Deleted int64 `json:"deleted"`
	Linked  int64 `json:"linked"`  // records with a GoldenID, tombstones left out
	Pending int64 `json:"pending"` // records waiting to be merged
	// PendingInserts counts the intents of the system datatype.
	PendingInserts int64 `json:"pending_inserts"`
	// DeadLetters counts the parked dead letters (retrying ones are not).
	DeadLetters int64     `json:"dead_letters"`
	LastSuccess time.Time `json:"last_success"`
	Breaker     string    `json:"breaker"`
}

// Store is the persistence boundary of the engine.
type Store interface {
	// Records.

	// GetRecords returns the stored records of the ids, by id.
	GetRecords(ctx context.Context, system, datatype string, ids []string) (map[string]Record, error)
	// PendingRecords pages through records waiting to be merged, ordered by
	// id, starting after afterID.
	PendingRecords(ctx context.Context, system, datatype, afterID string, limit int) ([]Record, error)
	// RecordsForGoldens returns every record linked to the given golden ids
	// (excluded links included), per golden id, ordered by system, datatype
	// and id. Golden ids without records are absent.
	RecordsForGoldens(ctx context.Context, goldenIDs []string) (map[string][]Record, error)
	// LinkedIDs returns, per golden id, the ids of the records of one
	// system datatype linked to it, excluded links left out, sorted. Golden
	// ids without such records are absent. It is RecordsForGoldens narrowed
	// to what a merge needs to see whether a golden record is taken there.
	LinkedIDs(ctx context.Context, system, datatype string, goldenIDs []string) (map[string][]string, error)
	// UnseenRecords pages through live (not Deleted) records of a datatype
	// whose SeenGen is below scanGen (missing from a full scan).
	UnseenRecords(ctx context.Context, system, datatype string, scanGen int64, afterID string, limit int) ([]Record, error)
	// ListLinks pages through linked records of a system datatype (all
	// system datatypes when both are empty). afterID is a record id, so it
	// pages one system datatype only: listing all of them takes an empty
	// afterID (anything else is an error) and returns the first limit links
	// ordered by system, datatype and id.
	ListLinks(ctx context.Context, system, datatype, afterID string, limit int) ([]Record, error)
	CommitCollect(ctx context.Context, b CollectBatch) error

	// Golden records.
	GetGoldens(ctx context.Context, ids []string) (map[string]Golden, error)
	// FindByKeys returns, per key value, the golden ids that hold it, sorted.
	// Values nobody holds are absent.
	FindByKeys(ctx context.Context, typ, name string, values []string) (map[string][]string, error)
	// DirtyGoldens pages through golden records of a type that still have
	// to be shared (of every type when typ is empty), ordered by id.
	DirtyGoldens(ctx context.Context, typ, afterID string, limit int) ([]Golden, error)
	CommitMerge(ctx context.Context, b MergeBatch) error

	// Sharing.

	// PutIntent stores an intent, replacing one with the same ID, in its
	// own transaction. A zero CreatedAt becomes the store's clock.
	PutIntent(ctx context.Context, in Intent) error
	// Intents returns the intents of the golden ids, per golden id, ordered
	// by CreatedAt and ID.
	Intents(ctx context.Context, goldenIDs []string) (map[string][]Intent, error)
	// PutIntents stores several intents in one transaction, each as
	// PutIntent does: all of them, or none when one is invalid (no ID, or
	// Fields that cannot be stored). Intent.Fields come back normalised like
	// Record.Fields, nil when empty.
	PutIntents(ctx context.Context, ins []Intent) error
	// OpenIntents lists the intents of one system datatype, oldest first
	// (by CreatedAt, then ID).
	OpenIntents(ctx context.Context, system, datatype string) ([]Intent, error)
	CommitShare(ctx context.Context, b ShareBatch) error

	// Cursors and breakers.
	GetCursor(ctx context.Context, system, datatype string) (Cursor, error) // zero Cursor (System and Datatype set) when none
	// SetBreaker trips (reason != "") or closes (reason == "") the breaker,
	// leaving the rest of the cursor as it is.
	SetBreaker(ctx context.Context, system, datatype, reason string) error

	// Dead letters.

	// DeadLetters lists the dead letters of a system datatype ordered by
	// stage and ref (of all system datatypes when both are empty, ordered by
	// system, datatype, stage and ref).
	DeadLetters(ctx context.Context, system, datatype string) ([]DeadLetter, error)
	// GetDeadLetters returns the dead letters of the refs at one stage, by
	// ref.
	GetDeadLetters(ctx context.Context, system, datatype, stage string, refs []string) (map[string]DeadLetter, error)

	// History, in order of Seq (commit order, not the events' own At).
	EventsForGolden(ctx context.Context, goldenID string) ([]Event, error)
	EventsForRecord(ctx context.Context, k Key) ([]Event, error)

	// Connector state (connector.State): small values a connector keeps,
	// such as OAuth tokens, changed by compare-and-swap on a version.
	GetState(ctx context.Context, system, key string) (value string, version int64, err error)
	SwapState(ctx context.Context, system, key, value string, version int64) (newVersion int64, ok bool, err error)

	// Status returns a line per system datatype that has records, a cursor,
	// intents or dead letters, ordered by system and datatype. It counts
	// every record, so its cost grows with the store.
	Status(ctx context.Context) ([]DatatypeStatus, error)
	Close() error
}
