// Package connector defines what every system connector gives the engine and
// keeps the registry of connector kinds. A connector knows its system's wire
// protocol and nothing of merging; it must not import the engine or the store.
package connector

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Fields is one record's content as the system presents it: JSON-like values
// (string, float64, int64, bool, nil, []any, map[string]any).
type Fields = map[string]any

// Record is one entity of a datatype as a system returns it.
type Record struct {
	ID       string
	Fields   Fields
	Modified time.Time // the system's own modification time of the record
	Deleted  bool      // a tombstone: the system reports the record as deleted
}

// ListRequest asks for one page of records.
type ListRequest struct {
	// Cursor is the position stored after the previous completed listing;
	// empty means "from the beginning".
	Cursor string
	// Full asks for every live record (a reconciliation scan) instead of the
	// changes since Cursor. Tombstones are not expected in a full listing.
	Full bool
	// PageToken continues a listing; empty for its first page.
	PageToken string
}

// Page is one page of a listing.
type Page struct {
	Records []Record
	// NextPageToken is empty on the last page.
	NextPageToken string
	// Cursor is the position to store once this page's records are durably
	// stored. A connector may return records at the cursor value again on
	// the next listing (">=" semantics); the engine drops unchanged content
	// by hash, so ties are neither lost nor applied twice. The engine stores
	// the cursor only when a listing completes, but a cursor must still never
	// pass a record written while the listing runs: connectors cap it at the
	// system time the listing started (or use an overlap window).
	Cursor string
}

// Property describes one field of a datatype.
type Property struct {
	Name string `json:"name"`
	Type string `json:"type"` // string, number, integer, boolean, date, datetime, array, object
}

// DatatypeInfo describes one datatype of a system.
type DatatypeInfo struct {
	Name       string     `json:"name"`
	Properties []Property `json:"properties"`
	CanDelete  bool       `json:"can_delete"`
}

// Connector is the small, lifecycle-shaped interface every system gives.
// All methods must be safe for use by one goroutine at a time per datatype;
// implementations that serve several workers document their own locking.
type Connector interface {
	// Describe lists the datatypes of the system and their properties.
	Describe(ctx context.Context) ([]DatatypeInfo, error)
	// List returns one page of changes since req.Cursor, or of all live
	// records when req.Full is set.
	List(ctx context.Context, datatype string, req ListRequest) (Page, error)
	// Get returns one record, or an error wrapping ErrNotFound.
	Get(ctx context.Context, datatype, id string) (Record, error)
	// Insert creates a record and returns it with its new id.
	Insert(ctx context.Context, datatype string, fields Fields) (Record, error)
	// Update writes only the given fields. When ifMatch is not empty and the
	// system can check it, the update must fail with ErrConflict if the
	// record's current content hash (see Hash) differs from ifMatch.
	// It returns the record as it is after the update when the system says
	// so; a zero Record (empty ID) means "not returned".
	Update(ctx context.Context, datatype, id string, fields Fields, ifMatch string) (Record, error)
	// Delete removes a record; ErrNotSupported where the system cannot. A
	// missing record may give ErrNotFound; the engine treats that as done.
	Delete(ctx context.Context, datatype, id string) error
	// Close releases what the connector holds.
	Close() error
}

// BulkInserter is a connector that can create several records of one
// datatype in one call (WebCRM's PATCH upsert). The engine sends a batch's
// inserts into such a datatype through it, up to BulkSize at a time. The
// results are in the order of fields, each what Insert would have returned
// for that record; a failure of the whole call is the error of every one.
type BulkInserter interface {
	InsertMany(ctx context.Context, datatype string, fields []Fields) []InsertResult
}

// InsertResult is the outcome of one record of an InsertMany.
type InsertResult struct {
	Record Record
	Err    error
}

// BulkSize is the most records the engine passes to one InsertMany.
const BulkSize = 100

// Errors a connector wraps so that the engine can decide what to do.
var (
	ErrNotFound     = errors.New("record not found")
	ErrConflict     = errors.New("record changed since it was read")
	ErrNotSupported = errors.New("operation not supported by this system")
	// ErrRejected marks a permanent failure for one record (validation,
	// a required field missing): retrying the same write will not help.
	ErrRejected = errors.New("record rejected by the system")
)

// TemporaryError marks a failure that is worth retrying later (timeouts,
// 5xx, 429, dropped connections).
type TemporaryError struct{ Err error }

func (e *TemporaryError) Error() string { return e.Err.Error() }
func (e *TemporaryError) Unwrap() error { return e.Err }

// Temporary wraps err as retryable.
func Temporary(err error) error { return &TemporaryError{Err: err} }

// IsTemporary reports whether err is worth retrying.
func IsTemporary(err error) bool {
	var t *TemporaryError
	return errors.As(err, &t) || errors.Is(err, context.DeadlineExceeded) || IsThrottled(err) || IsUnavailable(err)
}

// UnavailableError marks a failure of the system rather than of the
// record: it could not be reached, or said it cannot serve now (503, a
// gateway's 502 or 504), after the connector's own retries. It is
// temporary and, like a spent call budget, not the record's fault: the
// engine stops calling the system for the rest of the cycle and does not
// count the failure against the records it was writing, so an outage
// parks nothing and the sync resumes by itself when the system is back.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Unavailable wraps err as the system being unavailable.
func Unavailable(err error) error { return &UnavailableError{Err: err} }

// IsUnavailable reports whether err says the system is unavailable:
// wrapped by Unavailable, or a failure to reach it anywhere in its chain (a
// connection refused or reset, a name that does not resolve). A call that
// timed out is not counted here: one slow answer says little of the system.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var u *UnavailableError
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &u) || errors.As(err, &op) || errors.As(err, &dns)
}

// ThrottledError marks a call not made, or refused, because the system's
// call budget is spent for now (a rate limit, a daily quota, writes held
// back so that reads go first). It is temporary, and it is not the
// record's fault: the engine retries on later cycles without counting it
// as a failed attempt, so a long backlog is never parked for it.
type ThrottledError struct{ Err error }

func (e *ThrottledError) Error() string { return e.Err.Error() }
func (e *ThrottledError) Unwrap() error { return e.Err }

// Throttled wraps err as a spent call budget.
func Throttled(err error) error { return &ThrottledError{Err: err} }

// IsThrottled reports whether err says the call budget is spent.
func IsThrottled(err error) bool {
	var t *ThrottledError
	return errors.As(err, &t)
}

// NotSent reports whether err says the call certainly did not reach the
// system, so nothing was written: it was held for the call budget
// (Throttled), or the connection could not even be opened (a dial error,
// such as a connection refused). After any other failure of a write the
// outcome is unknown.
func NotSent(err error) bool {
	var op *net.OpError
	return IsThrottled(err) || (errors.As(err, &op) && op.Op == "dial")
}

// State is durable storage a connector keeps its own small state in (OAuth
// tokens, webhook subscriptions), one value per system and key. It lives in
// Concord's store, so every worker on that store sees the same value;
// SwapState lets one of them change it at a time.
type State interface {
	// GetState returns a value and its version; version 0 means none is
	// stored.
	GetState(ctx context.Context, system, key string) (value string, version int64, err error)
	// SwapState stores value if the stored version is still version (0: if
	// none is stored yet) and returns the new version; ok is false, and
	// nothing is stored, when another writer changed it first.
	SwapState(ctx context.Context, system, key, value string, version int64) (newVersion int64, ok bool, err error)
}

// StatusKey is the State key whose value, a short line for people (an API
// budget nearly spent, writes held back until it resets), `concord status`
// prints under the system's name. A connector keeps it current and clears
// it ("") when there is nothing to say.
const StatusKey = "status"

type stateKey struct{}

// WithState returns a context that carries st to connector factories.
func WithState(ctx context.Context, st State) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

// StateFrom returns the State a factory's context carries, or nil.
func StateFrom(ctx context.Context) State {
	st, _ := ctx.Value(stateKey{}).(State)
	return st
}

// Notifier is a connector whose system can push change notifications
// (webhooks). `concord run --listen` serves each notifier's handler at
// /webhooks/<system>; the handler verifies a notification and calls changed
// with the datatype it concerns, which makes that datatype due for an
// incremental read at once. Notifications carry no data Concord trusts:
// the read brings the change.
type Notifier interface {
	WebhookHandler(changed func(datatype string)) http.Handler
}

// MemState is a State kept in memory, for a connector opened without
// Concord's store (unit tests, embedders, one-off tools): what it keeps is
// forgotten when the process ends.
type MemState struct {
	mu sync.Mutex
	v  map[string]memValue
}

type memValue struct {
	val string
	ver int64
}

// NewMemState returns an empty MemState.
func NewMemState() *MemState { return &MemState{v: map[string]memValue{}} }

// GetState implements State.
func (m *MemState) GetState(_ context.Context, system, key string) (string, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.v[system+"\x00"+key]
	return e.val, e.ver, nil
}

// SwapState implements State.
func (m *MemState) SwapState(_ context.Context, system, key, value string, version int64) (int64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := system + "\x00" + key
	if m.v[k].ver != version {
		return 0, false, nil
	}
	m.v[k] = memValue{value, version + 1}
	return version + 1, true, nil
}
