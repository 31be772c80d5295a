package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/concordsync/concord/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is the SQLite implementation of store.Store. It is safe for
// concurrent use: writes are serialised on one connection, reads run on a
// pool of read-only connections and see the last committed state (WAL).
type Store struct {
	path string
	w    *sql.DB // the one writer connection
	r    *sql.DB // read-only pool; == w for an in-memory database

	// stmts are the statements batch commits run once per row, prepared once
	// on the writer connection.
	stmts writeStmts

	// walTrimmed is when trimWAL last tried (unix nanoseconds).
	walTrimmed atomic.Int64

	// readStmts caches prepared read statements by their SQL text.
	readMu    sync.Mutex
	readStmts map[string]*sql.Stmt
}

// Pragmas every connection runs. busy_timeout first so that none of the
// others can fail on a lock held by another process. The page cache is
// per connection and set apart (writerCache, readerCache). Memory-mapped
// reads are off: measured on the benchmark
// (go run ./bench) they were no faster, and every mapped page counts in the
// process's resident size.
var pragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"synchronous(NORMAL)",
	"temp_store(MEMORY)",
	"mmap_size(0)",
}

// Page cache sizes in KiB. The writer's cache holds the b-tree pages the
// commits touch; readers look records up by key and fall back to the
// operating system's file cache. Peak RSS at a million records (go run
// ./bench) was 586 MB with 64 MiB for each of the five connections.
const (
	writerCache = "_pragma=cache_size(-65536)"
	readerCache = "_pragma=cache_size(-16384)"
)

// Open opens (creating it if needed) the database at path and brings its
// schema up to date. The path ":memory:" gives a private in-memory database
// on a single connection, for tests.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite store: empty database path")
	}
	s := &Store{path: path, readStmts: map[string]*sql.Stmt{}}
	var err error
	if path == ":memory:" {
		if s.w, err = sql.Open("sqlite", dsn(path, "_txlock=immediate", writerCache)); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		s.w.SetConnMaxLifetime(0)
		s.w.SetConnMaxIdleTime(0)
		s.r = s.w
	} else {
		if s.w, err = sql.Open("sqlite", dsn(path, "_txlock=immediate", writerCache)); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		// One writer: SQLite serialises writers anyway, and a single
		// connection means a commit never waits on SQLITE_BUSY from our own
		// process.
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		s.w.SetConnMaxLifetime(0)
		s.w.SetConnMaxIdleTime(0)
	}
	if err := s.w.PingContext(ctx); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err == nil {
		_, err = migrate(ctx, s.w, ms)
	}
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if s.r == nil {
		if s.r, err = sql.Open("sqlite", dsn(path, "_pragma=query_only(1)", readerCache)); err != nil {
			s.w.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		s.r.SetMaxOpenConns(n)
		s.r.SetMaxIdleConns(n)
		s.r.SetConnMaxLifetime(0)
		s.r.SetConnMaxIdleTime(0)
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// dsn builds the driver's connection string: a SQLite URI for path with the
// common pragmas and the given extra parameters.
func dsn(path string, extra ...string) string {
	var b strings.Builder
	b.WriteString("file:")
	b.WriteString(strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path))
	b.WriteByte('?')
	for i, p := range pragmas {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString("_pragma=")
		b.WriteString(p)
	}
	for _, e := range extra {
		b.WriteByte('&')
		b.WriteString(e)
	}
	return b.String()
}

// Close closes the database. Calls after Close fail.
func (s *Store) Close() error {
	s.readMu.Lock()
	for _, st := range s.readStmts {
		st.Close()
	}
	s.readStmts = map[string]*sql.Stmt{}
	s.readMu.Unlock()
	s.stmts.close()
	var errs []error
	if s.r != s.w && s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		// Leave a small WAL behind: fold it into the database on a clean
		// shutdown. Best effort; the WAL is valid either way.
		s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`) //nolint:errcheck
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// readStmt returns the prepared read statement for query, preparing it on
// first use. database/sql prepares it again on each pool connection as
// needed.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if st, ok := s.readStmts[query]; ok {
		return st, nil
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.readStmts[query] = st
	return st, nil
}

// query runs a cached read statement.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// The batch size of IN (...) lists. SQLite builds may limit a statement to
// 999 variables; chunks stay well below with room for the other arguments.
const chunkSize = 500

// chunkClass is the length a chunk of n ids is padded to, so that a handful
// of prepared statements serve every slice length: powers of two up to
// chunkSize. Padding repeats the last id, which changes no IN result.
func chunkClass(n int) int {
	c := 1
	for c < n {
		c *= 2
	}
	return min(c, chunkSize)
}

// inChunks calls fn with the ids split into chunks padded to their class,
// and the IN list placeholders for that class ("?,?,?").
func inChunks(ids []string, fn func(args []any, marks string) error) error {
	for len(ids) > 0 {
		n := min(len(ids), chunkSize)
		chunk := ids[:n]
		ids = ids[n:]
		class := chunkClass(n)
		args := make([]any, class)
		for i := range class {
			args[i] = chunk[min(i, n-1)]
		}
		if err := fn(args, placeholders(class)); err != nil {
			return err
		}
	}
	return nil
}

var marksCache sync.Map // int → string

// placeholders returns "?,?,…" with n marks.
func placeholders(n int) string {
	if s, ok := marksCache.Load(n); ok {
		return s.(string)
	}
	s := strings.TrimSuffix(strings.Repeat("?,", n), ",")
	marksCache.Store(n, s)
	return s
}

// dedupe returns ids without empty strings and repeats, in first-seen order.
func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; ok || id == "" {
			continue
		}
		seen[id] = struct{}{}
		out = append(out, id)
	}
	return out
}

// inTx runs fn in one write transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback() //nolint:errcheck // the error from fn is the one to report
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.trimWAL(ctx)
	return nil
}

// walLimit is the size past which the write-ahead log is checkpointed and
// truncated after a commit.
const walLimit = 32 << 20

// trimWAL keeps the write-ahead log short. SQLite's automatic checkpoint
// copies the log into the database but can start the log over only at a
// moment no reader uses it; with reads running while commits do (the
// engine reads the next batch during a commit), that moment may never
// come. The log then grows by every page written (737 MB in an initial
// sync of a million records), and every page read searches its index, so
// reads and writes slow down as it grows. A TRUNCATE checkpoint waits for
// the readers of the moment to finish (new ones read the database file),
// then starts the log over. It waits at most a moment: a long reader makes
// it give up until a later commit. Best effort; errors are ignored.
func (s *Store) trimWAL(ctx context.Context) {
	if s.path == ":memory:" {
		return
	}
	if fi, err := os.Stat(s.path + "-wal"); err != nil || fi.Size() < walLimit {
		return
	}
	now := time.Now().UnixNano()
	if last := s.walTrimmed.Load(); now-last < int64(time.Second) || !s.walTrimmed.CompareAndSwap(last, now) {
		return // tried a moment ago
	}
	c, err := s.w.Conn(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	c.ExecContext(ctx, `PRAGMA busy_timeout = 200`)       //nolint:errcheck
	c.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`) //nolint:errcheck
	c.ExecContext(ctx, `PRAGMA busy_timeout = 10000`)     //nolint:errcheck
}
