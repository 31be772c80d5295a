package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// migrationsWith returns the embedded migrations plus extra files.
func migrationsWith(t *testing.T, extra map[string]string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(migrationFiles, "migrations", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrationFiles, p)
		fsys[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range extra {
		fsys["migrations/"+name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func migrateFS(t *testing.T, db *sql.DB, fsys fs.FS) ([]int, error) {
	t.Helper()
	ms, err := loadMigrations(fsys, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	return migrate(context.Background(), db, ms)
}

func appliedVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestMigrateUpToDateAppliesNothing(t *testing.T) {
	db := openRaw(t, filepath.Join(t.TempDir(), "m.db"))
	fsys := migrationsWith(t, nil)
	first, err := migrateFS(t, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, []int{1, 2, 3}) {
		t.Fatalf("first run applied %v, want [1 2 3]", first)
	}
	again, err := migrateFS(t, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Fatalf("second run applied %v, want nothing", again)
	}
	if got := appliedVersions(t, db); !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Fatalf("schema_migrations = %v", got)
	}
}

func TestOpenTwiceKeepsSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "concord.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var appliedAt int64
	if err := s.w.QueryRow(`SELECT max(applied_at) FROM schema_migrations`).Scan(&appliedAt); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	var again int64
	if err := s.w.QueryRow(`SELECT count(*), max(applied_at) FROM schema_migrations`).Scan(&n, &again); err != nil {
		t.Fatal(err)
	}
	if n != 3 || again != appliedAt {
		t.Fatalf("after reopening: %d migrations, applied at %d (first %d)", n, again, appliedAt)
	}
}

func TestMigrateAppliesOnlyNewVersions(t *testing.T) {
	db := openRaw(t, filepath.Join(t.TempDir(), "m.db"))
	if _, err := migrateFS(t, db, migrationsWith(t, nil)); err != nil {
		t.Fatal(err)
	}
	next := migrationsWith(t, map[string]string{
		"9001_notes.sql": `CREATE TABLE notes (id TEXT PRIMARY KEY); INSERT INTO notes VALUES ('a');`,
		"9002_more.sql":  `INSERT INTO notes VALUES ('b');`,
		"README.md":      "not a migration",
	})
	applied, err := migrateFS(t, db, next)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(applied, []int{9001, 9002}) {
		t.Fatalf("applied %v, want [9001 9002]", applied)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM notes`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("notes: %d rows, %v", n, err)
	}
}

func TestMigrateFailureRollsBack(t *testing.T) {
	db := openRaw(t, filepath.Join(t.TempDir(), "m.db"))
	broken := migrationsWith(t, map[string]string{
		"9001_broken.sql": `CREATE TABLE half (id TEXT); INSERT INTO nowhere VALUES (1);`,
	})
	applied, err := migrateFS(t, db, broken)
	if err == nil || !strings.Contains(err.Error(), "9001_broken.sql") {
		t.Fatalf("err = %v, want one naming 9001_broken.sql", err)
	}
	real := []int{1, 2, 3} // the project's own migrations, applied before the broken one
	if !reflect.DeepEqual(applied, real) {
		t.Fatalf("applied %v before the failure, want %v", applied, real)
	}
	if got := appliedVersions(t, db); !reflect.DeepEqual(got, real) {
		t.Fatalf("schema_migrations = %v, want %v", got, real)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'half'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the failed migration left table half behind (%d, %v)", n, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "concord.db")
	db := openRaw(t, path)
	if _, err := migrateFS(t, db, migrationsWith(t, map[string]string{"0099_future.sql": `SELECT 1;`})); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database with an unknown migration: no error")
	}
	if !strings.Contains(err.Error(), "99") {
		t.Errorf("err = %v, want it to name migration 99", err)
	}
}

func TestLoadMigrationsRejectsBadNames(t *testing.T) {
	for _, name := range []string{"init.sql", "x1_init.sql", "0000_zero.sql"} {
		fsys := fstest.MapFS{"migrations/" + name: &fstest.MapFile{Data: []byte("SELECT 1;")}}
		if _, err := loadMigrations(fsys, "migrations"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	dup := fstest.MapFS{
		"migrations/0001_a.sql": &fstest.MapFile{Data: []byte("SELECT 1;")},
		"migrations/1_b.sql":    &fstest.MapFile{Data: []byte("SELECT 1;")},
	}
	if _, err := loadMigrations(dup, "migrations"); err == nil {
		t.Error("two migrations with version 1: no error")
	}
}

func TestOpenSetsPragmas(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "concord.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, db := range []*sql.DB{s.w, s.r} {
		var mode string
		var sync int
		if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || sync != 1 {
			t.Errorf("journal_mode %s, synchronous %d; want wal, 1 (NORMAL)", mode, sync)
		}
	}
	if _, err := s.r.Exec(`DELETE FROM records`); err == nil {
		t.Error("the read pool can write")
	}
}
