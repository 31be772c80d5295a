package webcrm

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// How the connector reads changes (docs/adr/0008 gives the reasons):
//
//   - Incremental listings query
//     SELECT * FROM <Table> WHERE <Table>UpdatedAt >= '<from>' ORDER BY <Table>UpdatedAt, <Table>Id
//     where from is the cursor's newest UpdatedAt minus the overlap, and page
//     on by key: the next page starts after the last (UpdatedAt, Id) seen.
//     WebCRM's timestamps are texts in an unknown zone; the connector only
//     compares them with each other, so it never needs the zone to page or
//     to move its cursor.
//   - The cursor carries the newest UpdatedAt seen (not the time of the
//     read), so it moves only when WebCRM has something newer, and a read
//     re-reads just the changes of the overlap window before it.
//   - Records re-read in the overlap window whose content did not change
//     since the previous completed listing are not emitted again: the
//     connector keeps their ids and content hashes in memory, and trusts
//     them only when the next listing starts from the cursor that listing
//     ended with (so the engine has stored what it emitted).
//   - Full listings page through GET /<Entity>?Page=&Size= and stop at a
//     short or empty page.

// cursor is the position the engine stores after a completed listing.
type cursor struct {
	T string `json:"t,omitempty"` // the newest *UpdatedAt seen, as WebCRM wrote it
	D int64  `json:"d,omitempty"` // delete notifications reported up to this number
	N string `json:"n,omitempty"` // the listing that ended here (de-duplication)
}

func parseCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return cursor{}, fmt.Errorf("cursor %q is not a WebCRM cursor", s)
	}
	if c.T != "" {
		if _, err := wireTimeAdd(c.T, 0); err != nil {
			return cursor{}, fmt.Errorf("cursor %q: %w", s, err)
		}
	}
	return c, nil
}

func (c cursor) String() string {
	if c == (cursor{}) {
		return ""
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// pageToken continues a listing.
type pageToken struct {
	L    string `json:"l"`           // the listing (matches Conn.listings)
	Mode string `json:"m"`           // "q": query by key; "f": full pages by number
	Page int    `json:"p,omitempty"` // f: the next page
	T    string `json:"t,omitempty"` // q: UpdatedAt of the last record read
	I    int64  `json:"i,omitempty"` // q: its id
	Max  string `json:"x,omitempty"` // the newest UpdatedAt seen so far (with the cursor's)
	D    int64  `json:"d,omitempty"` // delete notifications reported in this listing
}

func parsePageToken(s string) (pageToken, error) {
	var t pageToken
	if err := json.Unmarshal([]byte(s), &t); err != nil || (t.Mode != "q" && t.Mode != "f") {
		return pageToken{}, fmt.Errorf("page token %q is not a WebCRM page token: %w", s, connector.ErrRejected)
	}
	if t.Mode == "q" && t.T != "" {
		if _, err := wireTimeAdd(t.T, 0); err != nil {
			return pageToken{}, fmt.Errorf("page token %q: %w: %w", s, err, connector.ErrRejected)
		}
	}
	return t, nil
}

func (t pageToken) String() string {
	b, _ := json.Marshal(t)
	return string(b)
}

// seenEntry is a record a completed listing emitted (or found unchanged).
type seenEntry struct {
	hash     string // connector.Hash of the fields as presented, before product resolution
	updated  string // its UpdatedAt text
	modified time.Time
}

// seenState is what the last completed listing of a datatype emitted.
type seenState struct {
	listing string // the listing's id, as its final cursor carries it
	records map[int64]seenEntry
}

// listing is the state of a listing under way.
type listing struct {
	id      string
	trusted map[int64]seenEntry // the previous listing's records, when its cursor came back
	next    map[int64]seenEntry // what this listing emitted or found unchanged
	full    bool
}

// maxSkippedPages bounds the pages one List call reads when their records
// are all unchanged.
const maxSkippedPages = 10

// maxSeen bounds the records remembered for de-duplication per datatype;
// beyond it the engine's own content hashes do the work alone.
const maxSeen = 200_000

func newListingID() string {
	var b [8]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// List returns one page of changes since req.Cursor, or of every record
// when req.Full is set. Tombstones come only from delete notifications
// (webhooks) WebCRM confirms: see pendingDeletes.
func (c *Conn) List(ctx context.Context, datatype string, req connector.ListRequest) (connector.Page, error) {
	e, err := c.entity(datatype)
	if err != nil {
		return connector.Page{}, err
	}
	cur, err := parseCursor(req.Cursor)
	if err != nil {
		// Not ours (or from an older format): read from the beginning;
		// the engine drops what it already has by content hash.
		c.log.Warn("unreadable cursor; reading every record again", "datatype", datatype, "err", err)
		cur = cursor{}
	}

	var tok pageToken
	var tombstones []connector.Record
	if req.PageToken == "" {
		tok = pageToken{L: newListingID(), Mode: "q", Max: cur.T, D: cur.D}
		if req.Full || (e.name == Users && c.noUsersQuery()) {
			tok.Mode, tok.Page = "f", 1
		}
		c.startListing(datatype, tok.L, cur, req.Full)
		if !req.Full {
			if tombstones, tok.D, err = c.confirmDeletes(ctx, e, cur.D); err != nil {
				return connector.Page{}, err
			}
		}
	} else if tok, err = parsePageToken(req.PageToken); err != nil {
		return connector.Page{}, err
	}

	// Pages whose records were all read before unchanged are skipped
	// within the call (a few at most), so that the engine is not handed
	// empty pages one call at a time.
	var emit []wireRecord
	var more bool
	for reads := 0; ; reads++ {
		var recs []wireRecord
		switch tok.Mode {
		case "f":
			recs, more, err = c.fullPage(ctx, e, tok.Page)
			tok.Page++
		default:
			recs, more, err = c.queryPage(ctx, e, cur, tok)
			if isQueryRefused(err) && e.name == Users && req.PageToken == "" && reads == 0 {
				// Some installations have no User query table: list every user.
				c.log.Info("the Users query table is missing; incremental reads of Users list every user", "err", err)
				c.setNoUsersQuery(ctx)
				tok.Mode, tok.Page = "f", 1
				recs, more, err = c.fullPage(ctx, e, 1)
				tok.Page++
			} else if len(recs) > 0 {
				last := recs[len(recs)-1]
				tok.T, tok.I = last.updated, last.id
			}
		}
		if err != nil {
			return connector.Page{}, err
		}
		for _, r := range recs {
			tok.Max = laterWire(tok.Max, r.updated)
		}
		emit = c.dedupe(datatype, tok.L, recs, req.Full)
		if len(emit) > 0 || !more || reads >= maxSkippedPages {
			break
		}
	}
	if err := c.afterRead(ctx, e, emit); err != nil {
		return connector.Page{}, err
	}
	c.reportZone(ctx)

	page := connector.Page{Records: tombstones}
	for _, r := range emit {
		page.Records = append(page.Records, r.rec)
	}
	next := cursor{T: tok.Max, D: tok.D}
	if more {
		page.NextPageToken = tok.String()
	} else {
		next.N = c.finishListing(datatype, tok.L, tok.Max)
	}
	page.Cursor = next.String()
	return page, nil
}

// queryPage reads one page of changes by key.
func (c *Conn) queryPage(ctx context.Context, e *entity, cur cursor, tok pageToken) ([]wireRecord, bool, error) {
	upd, id := e.updatedField(), e.idField()
	var where string
	switch {
	case tok.T != "":
		after, err := wireTimeAdd(tok.T, 1e9) // timestamps have whole seconds
		if err != nil {
			return nil, false, err
		}
		where = fmt.Sprintf(" WHERE (%s = '%s' AND %s >= %d) OR %s >= '%s'", upd, tok.T, id, tok.I+1, upd, after)
	case cur.T != "":
		from, err := wireTimeAdd(cur.T, -c.cfg.Overlap)
		if err != nil {
			return nil, false, err
		}
		where = fmt.Sprintf(" WHERE %s >= '%s'", upd, from)
	}
	script := fmt.Sprintf("SELECT * FROM %s%s ORDER BY %s, %s", e.table, where, upd, id)
	body, err := c.c.call(ctx, http.MethodGet, "/Queries", url.Values{"script": {script}, "Page": {"1"}, "Size": {strconv.Itoa(c.cfg.PageSize)}}, nil)
	if err != nil {
		return nil, false, err
	}
	recs, err := c.decodePage(e, "GET /Queries", body)
	if err != nil {
		return nil, false, err
	}
	return recs, len(recs) >= c.cfg.PageSize, nil
}

// fullPage reads one page of every record, by id.
func (c *Conn) fullPage(ctx context.Context, e *entity, page int) ([]wireRecord, bool, error) {
	body, err := c.c.call(ctx, http.MethodGet, "/"+e.name, url.Values{"Page": {strconv.Itoa(page)}, "Size": {strconv.Itoa(c.cfg.PageSize)}}, nil)
	if err != nil {
		return nil, false, err
	}
	recs, err := c.decodePage(e, "GET /"+e.name, body)
	if err != nil {
		return nil, false, err
	}
	return recs, len(recs) >= c.cfg.PageSize, nil
}

func (c *Conn) decodePage(e *entity, call string, body []byte) ([]wireRecord, error) {
	objs, err := decodeObjects(body)
	if err != nil {
		return nil, connector.Temporary(fmt.Errorf("WebCRM %s: %w", call, err))
	}
	recs := make([]wireRecord, 0, len(objs))
	for _, o := range objs {
		w, err := c.present(e, o)
		if err != nil {
			return nil, connector.Temporary(fmt.Errorf("WebCRM %s: %w", call, err))
		}
		recs = append(recs, w)
	}
	return recs, nil
}

// isQueryRefused tells whether the query endpoint refused a script (a 400
// or 404): the table is not there.
func isQueryRefused(err error) bool {
	var ae *apiError
	return err != nil && errors.As(err, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusNotFound)
}

func (c *Conn) noUsersQuery() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.usersNoQuery
}

func (c *Conn) setNoUsersQuery(ctx context.Context) {
	c.mu.Lock()
	c.usersNoQuery = true
	c.mu.Unlock()
	c.note(ctx, "users", "Users: this installation has no User query table; each read of Users lists every user")
}

// startListing begins the de-duplication state of a listing: the previous
// listing's records are trusted only when this listing starts from the
// cursor that listing ended with, i.e. when the engine stored what it
// emitted.
func (c *Conn) startListing(datatype, id string, cur cursor, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := &listing{id: id, next: map[int64]seenEntry{}, full: full}
	if s := c.seen[datatype]; s != nil && cur.N != "" && s.listing == cur.N {
		l.trusted = s.records
	}
	c.listings[datatype] = l
}

// dedupe drops records the previous completed listing already emitted with
// the same content, and remembers what this listing saw. A full listing
// drops nothing: the engine needs to see every record.
func (c *Conn) dedupe(datatype, listingID string, recs []wireRecord, full bool) []wireRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.listings[datatype]
	if l == nil || l.id != listingID {
		return recs // a listing resumed from a page token of another: no memory
	}
	out := recs[:0:0]
	for _, r := range recs {
		if was, ok := l.trusted[r.id]; ok {
			if was.hash == r.rawHash {
				if len(l.next) < maxSeen {
					l.next[r.id] = was
				}
				if !full {
					continue
				}
			} else if was.updated == r.updated && !r.rec.Modified.After(was.modified) {
				// Changed within the second of the version emitted before:
				// WebCRM's timestamps have whole seconds, but this version
				// is known to be the later one.
				r.rec.Modified = was.modified.Add(time.Millisecond)
			}
		}
		if len(l.next) < maxSeen {
			l.next[r.id] = seenEntry{hash: r.rawHash, updated: r.updated, modified: r.rec.Modified}
		}
		out = append(out, r)
	}
	return out
}

// finishListing keeps what a completed listing saw within the overlap
// window of its newest change (what the next listing will read again) and
// returns the id the final cursor carries.
func (c *Conn) finishListing(datatype, listingID, newest string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.listings[datatype]
	if l == nil || l.id != listingID {
		return ""
	}
	delete(c.listings, datatype)
	from := ""
	if newest != "" {
		from, _ = wireTimeAdd(newest, -c.cfg.Overlap)
	}
	keep := map[int64]seenEntry{}
	// Records the previous listing trusted and this one did not read again
	// (a full listing reads everything) stay known while in the window.
	for id, s := range l.trusted {
		if s.updated >= from {
			keep[id] = s
		}
	}
	for id, s := range l.next {
		if s.updated >= from {
			keep[id] = s
		}
	}
	if len(keep) > maxSeen {
		delete(c.seen, datatype)
		return ""
	}
	c.seen[datatype] = &seenState{listing: l.id, records: keep}
	return l.id
}
