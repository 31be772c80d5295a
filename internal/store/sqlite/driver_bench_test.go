package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// BenchmarkDriverCeiling measures what the SQLite driver itself can write,
// without the store: the cheapest row a record could be (its key, a hash and
// its fields as JSON, in a WITHOUT ROWID table like the store's records,
// with no secondary index), inserted in the order of its key, 50 rows a
// statement and 1,000 a transaction, with the store's pragmas. Anything
// the store keeps per record (golden record, links, match keys, history,
// intents) is one or more such rows and index entries more, so rows/s over
// the rows a record needs bounds the records/s of any store on this driver
// and machine (ADR 13).
func BenchmarkDriverCeiling(b *testing.B) {
	for _, indexed := range []bool{false, true} {
		name := "bare"
		if indexed {
			name = "with-golden-index"
		}
		b.Run(name, func(b *testing.B) {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "ceiling.db")+
				"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-65536)&_txlock=immediate")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			ddl := []string{`CREATE TABLE records (system TEXT NOT NULL, datatype TEXT NOT NULL, id TEXT NOT NULL,
				hash TEXT NOT NULL, fields TEXT NOT NULL, golden_id TEXT NOT NULL, PRIMARY KEY (system, datatype, id)) WITHOUT ROWID`}
			if indexed {
				// Time-ordered golden ids, as the engine makes them (UUIDv7).
				ddl = append(ddl, `CREATE INDEX records_golden ON records (golden_id)`)
			}
			for _, q := range ddl {
				if _, err := db.Exec(q); err != nil {
					b.Fatal(err)
				}
			}
			const perStmt, perTx = 50, 1000
			q := "INSERT INTO records VALUES " + strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?),", perStmt), ",")
			args := make([]any, 0, 6*perStmt)
			b.ReportAllocs()
			b.ResetTimer()
			rows := 0
			for n := 0; n < b.N; n++ {
				tx, err := db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				st, err := tx.Prepare(q)
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < perTx; i += perStmt {
					args = args[:0]
					for j := rows; j < rows+perStmt; j++ {
						args = append(args, "shop", "customers", fmt.Sprintf("S%08d", j), "zaMCgFowAathBMLCHEEk71oc",
							fmt.Sprintf(`{"code":"C%07d","name":"Customer %d","email":"c%d@example.com","city":"Amsterdam"}`, j, j, j),
							fmt.Sprintf("01a20223-%04x-7a00-b929-%012x", j>>16, j))
					}
					rows += perStmt
					if _, err := st.Exec(args...); err != nil {
						b.Fatal(err)
					}
				}
				st.Close()
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
