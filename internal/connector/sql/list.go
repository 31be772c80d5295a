package sqlconn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// Cursors are text with a prefix naming their kind, so that a cursor of
// another kind (the settings changed from updated_column to change_table)
// is seen as such and the listing starts over instead of guessing:
//
//	u:<RFC 3339 time>        updated_column: rows updated at or after the
//	                         time, less the overlap
//	c:<seq>:<RFC 3339 time>  change_table: changes after seq, and those
//	                         logged at or after the time less the overlap
const (
	updatedPrefix = "u:"
	changesPrefix = "c:"
)

// pageToken continues a listing. It is the connector's own; the engine
// only hands it back.
type pageToken struct {
	Start   time.Time `json:"s"`           // the database's time when the listing began
	Updated string    `json:"u,omitempty"` // keyset: the last row's updated value
	ID      string    `json:"i,omitempty"` // keyset: the last row's id
	Low     int64     `json:"l,omitempty"` // change_table: changes after this seq
	Cap     int64     `json:"c,omitempty"` // change_table: and up to this one
}

func (t pageToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Start.IsZero() {
		return t, fmt.Errorf("page token %q is not one this connector made", s)
	}
	return t, nil
}

// List returns one page of a full listing (live rows by id) or of the
// changes since req.Cursor.
func (c *Conn) List(ctx context.Context, datatype string, req connector.ListRequest) (connector.Page, error) {
	dt, err := c.datatype(datatype)
	if err != nil {
		return connector.Page{}, err
	}
	var tok pageToken
	if req.PageToken != "" {
		if tok, err = decodeToken(req.PageToken); err != nil {
			return connector.Page{}, fmt.Errorf("list %s: %w", datatype, err)
		}
	}
	var p connector.Page
	switch {
	case req.Full:
		p, err = c.listFull(ctx, dt, tok, req.PageToken == "")
	case dt.changes != nil:
		p, err = c.listChanges(ctx, dt, req.Cursor, tok, req.PageToken == "")
	default:
		p, err = c.listUpdated(ctx, dt, req.Cursor, tok, req.PageToken == "")
	}
	if err != nil {
		return connector.Page{}, fmt.Errorf("list %s: %w", datatype, err)
	}
	return p, nil
}

// listFull lists live rows in key order. Its cursor is where the next
// incremental listing starts: the time (or change) at which it began.
func (c *Conn) listFull(ctx context.Context, dt *datatype, tok pageToken, first bool) (connector.Page, error) {
	if first {
		var err error
		if tok.Start, err = c.now(ctx); err != nil {
			return connector.Page{}, err
		}
		if dt.changes != nil {
			if tok.Cap, err = c.maxSeq(ctx, dt); err != nil {
				return connector.Page{}, err
			}
		}
	}
	a := &args{d: c.d}
	idq := c.d.quote(dt.id.name)
	var where []string
	if dt.deleted != nil {
		where = append(where, c.d.liveCond(dt.deleted))
	}
	if !first {
		key, _ := c.d.idParam(dt.id, tok.ID)
		where = append(where, idq+" > "+a.add(key))
	}
	query := "SELECT " + dt.selectList + " FROM " + dt.readFrom + whereClause(where) +
		" ORDER BY " + idq + " LIMIT " + strconv.Itoa(c.cfg.PageSize)
	rows, err := c.scan(ctx, c.db, dt, query, a.vals)
	if err != nil {
		return connector.Page{}, err
	}
	c.dated(dt, rows, tok.Start)
	if dt.updated == nil && dt.changes != nil {
		if err := c.fillChangedAt(ctx, dt, rows); err != nil {
			return connector.Page{}, err
		}
	}
	p := connector.Page{Records: records(rows)}
	if dt.changes != nil {
		p.Cursor = changesCursor(tok.Cap, tok.Start)
	} else {
		p.Cursor = updatedCursor(tok.Start)
	}
	if len(rows) == c.cfg.PageSize {
		tok.ID = rows[len(rows)-1].rec.ID
		p.NextPageToken = tok.encode()
	}
	return p, nil
}

// listUpdated lists rows by (updated, id) from the cursor less the overlap
// up to the database's time at the start of the listing (rounded up to the
// column's precision), in keyset pages: rows that share a timestamp are
// never split unfairly across a page boundary, and the listing ends.
//
// Each page's cursor is the updated time of its last row (or the start
// time, if earlier): every row before it in the order was listed, and a
// row written while the listing runs is stamped after it, or is within
// the overlap of it when its transaction committed late.
func (c *Conn) listUpdated(ctx context.Context, dt *datatype, cursor string, tok pageToken, first bool) (connector.Page, error) {
	if first {
		var err error
		if tok.Start, err = c.now(ctx); err != nil {
			return connector.Page{}, err
		}
	}
	upper := ceilTo(tok.Start, dt.updated.precision)
	a := &args{d: c.d}
	uq, idq := c.d.quote(dt.updated.name), c.d.quote(dt.id.name)
	var where []string
	if from, ok := c.updatedFrom(cursor); ok {
		where = append(where, uq+" >= "+a.add(c.d.timeParam(from.Add(-c.cfg.Overlap))))
	}
	where = append(where, uq+" <= "+a.add(c.d.timeParam(upper)))
	if !first {
		lastU, err := c.updatedParam(tok.Updated)
		if err != nil {
			return connector.Page{}, err
		}
		key, _ := c.d.idParam(dt.id, tok.ID)
		if c.d.driver == DriverMySQL {
			// MySQL plans the expanded form on the index; the others take
			// row values.
			u1, u2, k := a.add(lastU), a.add(lastU), a.add(key)
			where = append(where, "("+uq+" > "+u1+" OR ("+uq+" = "+u2+" AND "+idq+" > "+k+"))")
		} else {
			where = append(where, "("+uq+", "+idq+") > ("+a.add(lastU)+", "+a.add(key)+")")
		}
	}
	query := "SELECT " + dt.selectList + " FROM " + dt.readFrom + whereClause(where) +
		" ORDER BY " + uq + ", " + idq + " LIMIT " + strconv.Itoa(c.cfg.PageSize)
	rows, err := c.scan(ctx, c.db, dt, query, a.vals)
	if err != nil {
		return connector.Page{}, err
	}
	c.dated(dt, rows, tok.Start)
	p := connector.Page{Records: records(rows), Cursor: updatedCursor(tok.Start)}
	if len(rows) == c.cfg.PageSize {
		last := rows[len(rows)-1]
		if last.at.Before(tok.Start) {
			p.Cursor = updatedCursor(last.at)
		}
		tok.ID = last.rec.ID
		if tok.Updated, err = c.updatedToken(last.updated); err != nil {
			return connector.Page{}, err
		}
		p.NextPageToken = tok.encode()
	}
	return p, nil
}

// updatedFrom reads an updated_column cursor; ok is false for "from the
// beginning" (empty, or a cursor of another kind).
func (c *Conn) updatedFrom(cursor string) (time.Time, bool) {
	s, ok := strings.CutPrefix(cursor, updatedPrefix)
	if !ok {
		if cursor != "" {
			c.log.Warn("listing from the beginning: the cursor is not an updated_column position", "cursor", cursor)
		}
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		c.log.Warn("listing from the beginning: the cursor does not parse", "cursor", cursor, "error", err)
		return time.Time{}, false
	}
	return t, true
}

// updatedToken keeps a row's updated value exactly, to continue a keyset
// from: the time on PostgreSQL and MySQL, the stored text on SQLite.
func (c *Conn) updatedToken(v any) (string, error) {
	if c.d.driver == DriverSQLite {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("updated value %v is not text", v)
		}
		return s, nil
	}
	t, ok := timeOf(v)
	if !ok {
		return "", fmt.Errorf("updated value %v is not a time", v)
	}
	return t.UTC().Format(time.RFC3339Nano), nil
}

func (c *Conn) updatedParam(s string) (any, error) {
	if c.d.driver == DriverSQLite {
		return s, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, fmt.Errorf("page token: %w", err)
	}
	return t, nil
}

func updatedCursor(t time.Time) string { return updatedPrefix + t.UTC().Format(time.RFC3339Nano) }

// ceilTo rounds t up to a number of fractional second digits: a database
// that rounds a written time to the column's precision may store a time
// after the clock's reading.
func ceilTo(t time.Time, digits int) time.Time {
	if digits >= 9 || digits < 0 {
		return t
	}
	unit := time.Second
	for range digits {
		unit /= 10
	}
	if tt := t.Truncate(unit); !tt.Equal(t) {
		return tt.Add(unit)
	}
	return t
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func records(rows []row) []connector.Record {
	out := make([]connector.Record, len(rows))
	for i, r := range rows {
		out[i] = r.rec
	}
	return out
}
