package exactonline

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// List reads a datatype through its sync endpoint: 1000 rows a page, in
// Timestamp order, from the cursor's Timestamp (a full listing from the
// start), following __next. Row versions are unique, so "gt" neither loses
// nor repeats a record, and a record changed while the listing runs gets a
// new Timestamp and shows up later in the same listing. An incremental
// listing ends with the datatype's deletions from sync/Deleted, as
// tombstones; its cursor carries both positions.
func (c *Conn) List(ctx context.Context, datatype string, req connector.ListRequest) (connector.Page, error) {
	d, err := c.datatype(datatype)
	if err != nil {
		return connector.Page{}, err
	}
	cur, err := c.parseCursor(req.Cursor)
	if err != nil {
		return connector.Page{}, err
	}
	rd := c.reader(d)
	var tok pageToken
	first := req.PageToken == ""
	if first {
		tok = pageToken{TS: cur.TS, Del: cur.Del}
		if req.Full {
			tok.TS = 0
		}
		sel := "Timestamp," + strings.Join(rd.fields, ",")
		tok.Next = d.syncPath + "?" + query("$select", sel, "$filter", fmt.Sprintf("Timestamp gt %dL", max(tok.TS, 1)))
	} else if err := json.Unmarshal([]byte(req.PageToken), &tok); err != nil || tok.Next == "" {
		return connector.Page{}, fmt.Errorf("exactonline system %q: page token %q is not one of this connector's", c.system, req.PageToken)
	}

	before := c.seenTS.Load()
	path, q, _ := strings.Cut(tok.Next, "?")
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q, endpoint: d.syncPath, retry: true})
	if err != nil {
		return connector.Page{}, fmt.Errorf("list %s: %w", datatype, err)
	}
	rs, next, err := rows(resp.body)
	if err != nil {
		return connector.Page{}, connector.Temporary(fmt.Errorf("exactonline system %q: list %s: %w", c.system, datatype, err))
	}
	page := connector.Page{Records: make([]connector.Record, 0, len(rs))}
	high := int64(0)
	for _, row := range rs {
		rec, ts, err := rd.record(row)
		if err != nil {
			return connector.Page{}, fmt.Errorf("exactonline system %q: list %s: %w", c.system, datatype, err)
		}
		high = max(high, ts)
		page.Records = append(page.Records, rec)
	}
	c.noteTS(high)
	if req.Full && first {
		// Every deletion made after this first answer has a higher row
		// version than any row in it, or any row read before: where the
		// deletions start when the cursor holds no position for them yet.
		tok.Floor = max(high, before, 1)
	}
	tok.TS = max(tok.TS, high)
	if next != "" {
		if tok.Next, err = relativeLink(next); err != nil {
			return connector.Page{}, err
		}
		page.NextPageToken = encodeToken(tok)
		page.Cursor = cursorPos{TS: tok.TS, Del: tok.Del}.String()
		return page, nil
	}
	if req.Full {
		del := tok.Del
		if del == 0 {
			del = tok.Floor
		}
		page.Cursor = cursorPos{TS: tok.TS, Del: del}.String()
		return page, nil
	}
	tombs, del, err := c.deletions(ctx, d, tok.Del)
	if err != nil {
		return connector.Page{}, fmt.Errorf("list %s: %w", datatype, err)
	}
	page.Records = append(page.Records, tombs...)
	page.Cursor = cursorPos{TS: tok.TS, Del: del}.String()
	return page, nil
}

// noteTS keeps the highest Timestamp any listing has read: the division's
// row version was at least that when the row was read.
func (c *Conn) noteTS(ts int64) {
	for {
		old := c.seenTS.Load()
		if ts <= old || c.seenTS.CompareAndSwap(old, ts) {
			return
		}
	}
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return string(b)
}

// deletedCache is one complete read of sync/Deleted from a position on, for
// every entity type: the incremental listings of all datatypes take their
// tombstones from it while it is fresh, which costs one call a cycle
// instead of one per datatype. Row versions are one counter for the whole
// division, so the highest Timestamp of a complete read is a safe position
// for every datatype.
type deletedCache struct {
	ok      bool
	from    int64 // the read covers Timestamps above this
	high    int64 // the highest Timestamp it holds (from when none)
	fetched time.Time
	rows    []deletedRow
}

type deletedRow struct {
	ts         int64
	key        string
	entityType int64
	at         time.Time
}

// deletions returns d's tombstones with a Timestamp above since and the new
// position.
func (c *Conn) deletions(ctx context.Context, d *datatype, since int64) ([]connector.Record, int64, error) {
	c.delMu.Lock()
	defer c.delMu.Unlock()
	now := c.now()
	if !c.del.ok || c.del.from > since || now.Sub(c.del.fetched) >= c.delMaxAge || now.Before(c.del.fetched) {
		fresh, err := c.readDeleted(ctx, since, now)
		if err != nil {
			return nil, since, err
		}
		c.del = fresh
	}
	var out []connector.Record
	for _, r := range c.del.rows {
		if r.ts > since && r.entityType == int64(d.entityType) {
			out = append(out, connector.Record{ID: r.key, Deleted: true, Modified: r.at})
		}
	}
	return out, max(since, c.del.high), nil
}

// readDeleted reads sync/Deleted from since on, every page.
func (c *Conn) readDeleted(ctx context.Context, since int64, now time.Time) (deletedCache, error) {
	// Every deletion with a Timestamp up to the highest row version read
	// before this read began happened before it, so this read holds it:
	// the position may move that far even when there are no deletions,
	// which keeps the positions of all datatypes together.
	out := deletedCache{ok: true, from: since, high: max(since, c.seenTS.Load()), fetched: now}
	rd := &reader{d: &datatype{name: "Deleted", key: "EntityKey"}, loc: c.s.Location}
	link := "sync/Deleted?" + query("$select", "Timestamp,EntityKey,EntityType,DeletedDate", "$filter", fmt.Sprintf("Timestamp gt %dL", max(since, 1)))
	for pages := 0; link != ""; pages++ {
		if pages > 10000 {
			return deletedCache{}, fmt.Errorf("exactonline system %q: sync/Deleted never ends", c.system)
		}
		path, q, _ := strings.Cut(link, "?")
		resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q, endpoint: "sync/Deleted", retry: true})
		if err != nil {
			return deletedCache{}, err
		}
		rs, next, err := rows(resp.body)
		if err != nil {
			return deletedCache{}, connector.Temporary(fmt.Errorf("exactonline system %q: sync/Deleted: %w", c.system, err))
		}
		for _, row := range rs {
			ts, err := int64Of(row["Timestamp"])
			if err != nil {
				return deletedCache{}, fmt.Errorf("exactonline system %q: sync/Deleted: Timestamp: %w", c.system, err)
			}
			et, _ := int64Of(row["EntityType"])
			key, _ := row["EntityKey"].(string)
			r := deletedRow{ts: ts, key: strings.ToLower(key), entityType: et}
			if s, ok := row["DeletedDate"].(string); ok {
				if v, ok := presentDate(s, kDateTime, rd.loc); ok {
					r.at, _ = time.Parse(time.RFC3339Nano, v)
				}
			}
			out.high = max(out.high, ts)
			out.rows = append(out.rows, r)
		}
		link = ""
		if next != "" {
			if link, err = relativeLink(next); err != nil {
				return deletedCache{}, err
			}
		}
	}
	return out, nil
}
