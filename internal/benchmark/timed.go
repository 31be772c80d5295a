package benchmark

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/concordsync/concord/internal/store"
)

// timedStore passes every call to the store it wraps and adds up the wall
// time spent inside the reads and the writes (commits, intents, breakers) a
// sync makes; what only the CLI calls (history, links, connector state) is
// passed through untimed. It tells how much of a phase the store alone takes: a
// bound no change to the engine can beat while the store does the same work.
type timedStore struct {
	store.Store
	reads, writes atomic.Int64 // nanoseconds
}

// StoreTime is the time a phase spent inside the store.
type StoreTime struct {
	Reads, Writes time.Duration
}

func (t *timedStore) take() StoreTime {
	return StoreTime{Reads: time.Duration(t.reads.Swap(0)), Writes: time.Duration(t.writes.Swap(0))}
}

func timeRead[T any](t *timedStore, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	t.reads.Add(int64(time.Since(start)))
	return v, err
}

func (t *timedStore) timeWrite(f func() error) error {
	start := time.Now()
	err := f()
	t.writes.Add(int64(time.Since(start)))
	return err
}

func (t *timedStore) GetRecords(ctx context.Context, system, datatype string, ids []string) (map[string]store.Record, error) {
	return timeRead(t, func() (map[string]store.Record, error) { return t.Store.GetRecords(ctx, system, datatype, ids) })
}

func (t *timedStore) PendingRecords(ctx context.Context, system, datatype, afterID string, limit int) ([]store.Record, error) {
	return timeRead(t, func() ([]store.Record, error) {
		return t.Store.PendingRecords(ctx, system, datatype, afterID, limit)
	})
}

func (t *timedStore) RecordsForGoldens(ctx context.Context, goldenIDs []string) (map[string][]store.Record, error) {
	return timeRead(t, func() (map[string][]store.Record, error) { return t.Store.RecordsForGoldens(ctx, goldenIDs) })
}

func (t *timedStore) LinkedIDs(ctx context.Context, system, datatype string, goldenIDs []string) (map[string][]string, error) {
	return timeRead(t, func() (map[string][]string, error) {
		return t.Store.LinkedIDs(ctx, system, datatype, goldenIDs)
	})
}

func (t *timedStore) UnseenRecords(ctx context.Context, system, datatype string, scanGen int64, afterID string, limit int) ([]store.Record, error) {
	return timeRead(t, func() ([]store.Record, error) {
		return t.Store.UnseenRecords(ctx, system, datatype, scanGen, afterID, limit)
	})
}

func (t *timedStore) GetGoldens(ctx context.Context, ids []string) (map[string]store.Golden, error) {
	return timeRead(t, func() (map[string]store.Golden, error) { return t.Store.GetGoldens(ctx, ids) })
}

func (t *timedStore) FindByKeys(ctx context.Context, typ, name string, values []string) (map[string][]string, error) {
	return timeRead(t, func() (map[string][]string, error) { return t.Store.FindByKeys(ctx, typ, name, values) })
}

func (t *timedStore) DirtyGoldens(ctx context.Context, typ, afterID string, limit int) ([]store.Golden, error) {
	return timeRead(t, func() ([]store.Golden, error) { return t.Store.DirtyGoldens(ctx, typ, afterID, limit) })
}

func (t *timedStore) Intents(ctx context.Context, goldenIDs []string) (map[string][]store.Intent, error) {
	return timeRead(t, func() (map[string][]store.Intent, error) { return t.Store.Intents(ctx, goldenIDs) })
}

func (t *timedStore) OpenIntents(ctx context.Context, system, datatype string) ([]store.Intent, error) {
	return timeRead(t, func() ([]store.Intent, error) { return t.Store.OpenIntents(ctx, system, datatype) })
}

func (t *timedStore) GetCursor(ctx context.Context, system, datatype string) (store.Cursor, error) {
	return timeRead(t, func() (store.Cursor, error) { return t.Store.GetCursor(ctx, system, datatype) })
}

func (t *timedStore) GetDeadLetters(ctx context.Context, system, datatype, stage string, refs []string) (map[string]store.DeadLetter, error) {
	return timeRead(t, func() (map[string]store.DeadLetter, error) {
		return t.Store.GetDeadLetters(ctx, system, datatype, stage, refs)
	})
}

func (t *timedStore) DeadLetters(ctx context.Context, system, datatype string) ([]store.DeadLetter, error) {
	return timeRead(t, func() ([]store.DeadLetter, error) { return t.Store.DeadLetters(ctx, system, datatype) })
}

func (t *timedStore) Status(ctx context.Context) ([]store.DatatypeStatus, error) {
	return timeRead(t, func() ([]store.DatatypeStatus, error) { return t.Store.Status(ctx) })
}

func (t *timedStore) CommitCollect(ctx context.Context, b store.CollectBatch) error {
	return t.timeWrite(func() error { return t.Store.CommitCollect(ctx, b) })
}

func (t *timedStore) CommitMerge(ctx context.Context, b store.MergeBatch) error {
	return t.timeWrite(func() error { return t.Store.CommitMerge(ctx, b) })
}

func (t *timedStore) CommitShare(ctx context.Context, b store.ShareBatch) error {
	return t.timeWrite(func() error { return t.Store.CommitShare(ctx, b) })
}

func (t *timedStore) PutIntent(ctx context.Context, in store.Intent) error {
	return t.timeWrite(func() error { return t.Store.PutIntent(ctx, in) })
}

func (t *timedStore) PutIntents(ctx context.Context, ins []store.Intent) error {
	return t.timeWrite(func() error { return t.Store.PutIntents(ctx, ins) })
}

func (t *timedStore) SetBreaker(ctx context.Context, system, datatype, reason string) error {
	return t.timeWrite(func() error { return t.Store.SetBreaker(ctx, system, datatype, reason) })
}
