package sqlconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/concordsync/concord/internal/connector"
)

// classify sorts a database error into the engine's classes: a broken rule
// of the schema (constraint, bad value) rejects the record and names the
// constraint; a lost connection, deadlock, serialization failure or lock
// timeout is temporary; anything else passes as it is.
func (c *Conn) classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var (
		pg *pgconn.PgError
		my *mysql.MySQLError
		sl *sqlite.Error
		ne net.Error
	)
	switch {
	case errors.As(err, &pg):
		switch {
		case strings.HasPrefix(pg.Code, "23"): // integrity constraint violation
			return rejected(err, pg.ConstraintName, pg.ColumnName)
		case strings.HasPrefix(pg.Code, "22"): // data exception: a value the column cannot take
			return rejected(err, "", pg.ColumnName)
		case pg.Code == "40001", pg.Code == "40P01", pg.Code == "55P03", // serialization failure, deadlock, lock not available
			strings.HasPrefix(pg.Code, "08"), strings.HasPrefix(pg.Code, "53"), strings.HasPrefix(pg.Code, "57P"):
			return connector.Temporary(err)
		}
		return err
	case errors.As(err, &my):
		switch my.Number {
		case 1062, 1451, 1452, 1048, 1364, 3819, 4025, 1216, 1217, 1557, 1586: // duplicate, foreign key, null, check
			return rejected(err, mysqlConstraint(my.Message), "")
		case 1406, 1264, 1366, 1292, 1265, 1367, 1690: // data too long, out of range, incorrect value
			return rejected(err, "", "")
		case 1213, 1205, 1040, 1053, 1927, 2006, 2013, 1317: // deadlock, lock wait timeout, too many connections, shutdown, gone away
			return connector.Temporary(err)
		}
		return err
	case errors.As(err, &sl):
		switch sl.Code() & 0xff {
		case 19: // SQLITE_CONSTRAINT and its extended codes
			return rejected(err, sqliteConstraint(sl.Error()), "")
		case 20, 18, 25: // SQLITE_MISMATCH, SQLITE_TOOBIG, SQLITE_RANGE
			return rejected(err, "", "")
		case 5, 6, 10, 13: // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL
			return connector.Temporary(err)
		}
		return err
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &ne), pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return connector.Temporary(err)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return connector.Temporary(err)
	}
	return err
}

// constraintError is a write the schema refused.
type constraintError struct {
	constraint, column string
	err                error
}

func (e *constraintError) Error() string {
	var what []string
	if e.constraint != "" {
		what = append(what, "constraint "+e.constraint)
	}
	if e.column != "" {
		what = append(what, "column "+e.column)
	}
	if len(what) == 0 {
		return e.err.Error()
	}
	return fmt.Sprintf("%s: %v", strings.Join(what, ", "), e.err)
}

func (e *constraintError) Unwrap() []error { return []error{e.err, connector.ErrRejected} }

func rejected(err error, constraint, column string) error {
	return &constraintError{constraint: constraint, column: column, err: err}
}

var (
	mysqlConstraintRes = []*regexp.Regexp{
		regexp.MustCompile("CONSTRAINT `([^`]+)`"),
		regexp.MustCompile(`for key '([^']+)'`),
		regexp.MustCompile(`Column '([^']+)' cannot be null`),
		regexp.MustCompile(`Field '([^']+)' doesn't have a default`),
	}
	sqliteConstraintRe = regexp.MustCompile(`(?:constraint failed|CHECK constraint failed): ([^()]+)`)
)

func mysqlConstraint(msg string) string {
	for _, re := range mysqlConstraintRes {
		if m := re.FindStringSubmatch(msg); m != nil {
			return m[1]
		}
	}
	return ""
}

func sqliteConstraint(msg string) string {
	if m := sqliteConstraintRe.FindStringSubmatch(msg); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}
