package rest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// pageToken is what a page token carries: where the next page is, and
// what the listing has learnt so far that its last page needs to compute
// the cursor. It is opaque to the engine (base64 of JSON).
type pageToken struct {
	Page   int    `json:"p,omitempty"`
	Offset int    `json:"o,omitempty"`
	Cursor string `json:"c,omitempty"`
	URL    string `json:"u,omitempty"`
	Start  int64  `json:"s"`           // the connector's clock at the pass start, unix ns
	Server int64  `json:"d,omitempty"` // the system's clock at the pass start (its Date header), unix s
	Max    int64  `json:"m,omitempty"` // the greatest modified time read, unix ns
	Any    bool   `json:"a,omitempty"` // Max holds a time
	First  string `json:"f,omitempty"` // page and offset styles: the id of the previous page's first record
}

func (t pageToken) encode() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	return t, err
}

// List returns one page of the changes since req.Cursor, or of every live
// record when req.Full is set (tombstones left out). A page that does not
// fit the settings is an error and returns no records, so the engine
// stores nothing of it.
func (c *Conn) List(ctx context.Context, datatype string, req connector.ListRequest) (connector.Page, error) {
	if l, ok := c.nested(datatype); ok {
		return c.listLines(ctx, l, req)
	}
	d, err := c.datatype(datatype)
	if err != nil {
		return connector.Page{}, err
	}
	var tok pageToken
	first := req.PageToken == ""
	if first {
		tok = pageToken{Start: c.now().UnixNano(), Page: d.Paging.FirstPage}
	} else if tok, err = decodePageToken(req.PageToken); err != nil {
		return connector.Page{}, fmt.Errorf("system %q, datatype %q: the page token %q is not one this connector gave out", c.system, datatype, req.PageToken)
	}
	incremental := !req.Full && req.Cursor != "" && d.Changes.Style != ChangesNone
	target, err := c.listURL(d, req, tok, incremental)
	if err != nil {
		return connector.Page{}, err
	}
	ans, err := c.c.do(ctx, call{datatype: datatype, method: http.MethodGet, url: target})
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusBadRequest) {
			// A listing names no record: these say the settings ask wrongly.
			se.Note = fmt.Sprintf("check settings.datatypes.%s: list.path, list.query, paging and changes", datatype)
			return connector.Page{}, se
		}
		return connector.Page{}, err
	}
	fit := func(format string, args ...any) error {
		return &FitError{System: c.system, Datatype: datatype, Method: http.MethodGet, URL: target, Status: ans.status,
			Expected: fmt.Sprintf(format, args...)}
	}
	if first {
		if t, err := http.ParseTime(ans.header.Get("Date")); err == nil {
			tok.Server = t.Unix()
		}
	}
	doc, err := decodeJSON(ans.body)
	if err != nil {
		return connector.Page{}, fit("expected a JSON body, found %s (%v)", bodyKind(ans), err)
	}
	v, ok := d.Records.get(doc)
	if !ok {
		return connector.Page{}, fit("expected the records as a list at %s, found no such member (%s)", d.Records, members(doc))
	}
	list, isList := v.([]any)
	if !isList && v != nil {
		return connector.Page{}, fit("expected the records as a list at %s, found %s", d.Records, kindOf(v))
	}
	recs := make([]connector.Record, 0, len(list))
	firstID := ""
	for i, e := range list {
		obj, isObj := e.(map[string]any)
		if !isObj {
			return connector.Page{}, fit("expected record %d of the page (at %s) to be an object, found %s", i+1, d.Records, kindOf(e))
		}
		r, problem := c.decodeRecord(d, obj)
		if problem != "" {
			return connector.Page{}, fit("expected record %d of the page %s", i+1, problem)
		}
		if i == 0 {
			firstID = r.ID
		}
		if !r.Modified.IsZero() && (!tok.Any || r.Modified.UnixNano() > tok.Max) {
			tok.Max, tok.Any = r.Modified.UnixNano(), true
		}
		if r.Deleted && req.Full {
			continue // a full listing holds the live records only
		}
		recs = append(recs, r)
	}

	if (d.Paging.Style == PageNumber || d.Paging.Style == PageOffset) && firstID != "" && firstID == tok.First {
		// Records keep their place in these styles: a page that starts with
		// the previous page's first record is that page again.
		return connector.Page{}, fit("expected the next page, found the previous one again (it starts with record %q); does the system take %s?",
			firstID, map[string]string{PageNumber: "page_param " + strconv.Quote(d.Paging.PageParam), PageOffset: "offset_param " + strconv.Quote(d.Paging.OffsetParam)}[d.Paging.Style])
	}
	tok.First = firstID
	next, more, err := c.nextPage(d, doc, ans, target, tok, len(list), fit)
	if err != nil {
		return connector.Page{}, err
	}
	page := connector.Page{Records: recs}
	if more {
		page.NextPageToken = next.encode()
	}
	switch d.Changes.Style {
	case ChangesCursor:
		page.Cursor = req.Cursor
		cv, present := d.Changes.Field.get(doc)
		if s, ok := idText(cv); ok {
			page.Cursor = s
		} else if !more && !present {
			return connector.Page{}, fit("expected the cursor to store at %s on the last page, found no such member (%s)", d.Changes.Field, members(doc))
		}
	case ChangesUpdatedSince:
		page.Cursor = req.Cursor
		if !more {
			page.Cursor = c.timeCursor(d, req.Cursor, tok)
		}
	}
	return page, nil
}

// timeCursor is the cursor an updated-since listing stores when it
// completes: the earlier of the greatest modified time read less the
// pass's length and the system's time at the pass start, less the overlap,
// and never before the cursor it started from. A record written while the
// pass ran has a modified time after the pass start; one written before it
// and not read has none after the cursor the pass started from. Without
// either time (nothing read, no Date header) the cursor stays.
func (c *Conn) timeCursor(d *Datatype, old string, tok pageToken) string {
	var at time.Time
	have := false
	if tok.Any {
		pass := max(c.now().Sub(time.Unix(0, tok.Start)), 0)
		at, have = time.Unix(0, tok.Max).Add(-pass), true
	}
	if tok.Server != 0 {
		if s := time.Unix(tok.Server, 0); !have || s.Before(at) {
			at, have = s, true
		}
	}
	if !have {
		return old
	}
	at = at.Add(-d.Changes.Overlap).UTC()
	if prev, err := time.Parse(time.RFC3339Nano, old); err == nil && prev.After(at) {
		return old
	}
	return at.Format(time.RFC3339Nano)
}

// listURL is the URL of a listing's page.
func (c *Conn) listURL(d *Datatype, req connector.ListRequest, tok pageToken, incremental bool) (string, error) {
	if tok.URL != "" {
		return tok.URL, nil
	}
	q := url.Values{}
	for k, vs := range d.ListQuery {
		q[k] = slices.Clone(vs)
	}
	pg := d.Paging
	if incremental {
		switch d.Changes.Style {
		case ChangesUpdatedSince:
			at, err := time.Parse(time.RFC3339Nano, req.Cursor)
			if err != nil {
				return "", fmt.Errorf("system %q, datatype %q: the stored cursor %q is not a time, which changes style updated_since needs (was the style changed? clear the datatype's cursor to list from the start)", c.system, d.Name, req.Cursor)
			}
			q.Set(d.Changes.Param, d.Changes.Format.format(at))
		case ChangesCursor:
			if !(tok.Cursor != "" && pg.Style == PageCursor && pg.CursorParam == d.Changes.Param) {
				q.Set(d.Changes.Param, req.Cursor)
			}
		}
	}
	switch pg.Style {
	case PageNumber:
		q.Set(pg.PageParam, strconv.Itoa(tok.Page))
	case PageOffset:
		q.Set(pg.OffsetParam, strconv.Itoa(tok.Offset))
	case PageCursor:
		if tok.Cursor != "" {
			q.Set(pg.CursorParam, tok.Cursor)
		}
	}
	if pg.SizeParam != "" && pg.Size > 0 {
		q.Set(pg.SizeParam, strconv.Itoa(pg.Size))
	}
	return c.url(d.ListPath, "", q), nil
}

// nextPage tells whether there is a page after this one and where.
func (c *Conn) nextPage(d *Datatype, doc any, ans *answer, target string, tok pageToken, n int, fit func(string, ...any) error) (pageToken, bool, error) {
	pg := d.Paging
	next := tok
	more := func(full bool) (bool, error) {
		if !pg.MoreField.set() {
			return full, nil
		}
		v, ok := pg.MoreField.get(doc)
		if !ok {
			return false, fit("expected whether more pages follow at %s, found no such member (%s)", pg.MoreField, members(doc))
		}
		return truthy(v), nil
	}
	switch pg.Style {
	case PageNumber, PageOffset:
		full := n > 0 && (pg.Size == 0 || n >= pg.Size)
		m, err := more(full)
		if err != nil || !m || n == 0 {
			return next, false, err
		}
		next.Page++
		next.Offset += n
		return next, true, nil
	case PageCursor:
		cv, _ := pg.CursorField.get(doc)
		cur, hasCur := idText(cv)
		m, err := more(hasCur && n > 0)
		if err != nil || !m {
			return next, false, err
		}
		if !hasCur {
			return next, false, fit("expected the next page's cursor at %s, as more pages follow, found %s", pg.CursorField, kindOf(cv))
		}
		if cur == tok.Cursor && n == 0 {
			return next, false, fit("expected a new cursor at %s; the system gave the one it was sent and no records, and says more follow", pg.CursorField)
		}
		next.Cursor = cur
		return next, true, nil
	case PageLink:
		link := nextLink(ans.header.Values("Link"))
		if link == "" {
			return next, false, nil
		}
		u, err := c.sameOrigin(target, link)
		if err != nil {
			return next, false, fit("%v", err)
		}
		next.URL = u
		return next, true, nil
	case PageNext:
		v, ok := pg.NextField.get(doc)
		if !ok {
			return next, false, fit("expected the next page's URL (or null on the last page) at %s, found no such member (%s)", pg.NextField, members(doc))
		}
		s, isStr := v.(string)
		if v == nil || (isStr && strings.TrimSpace(s) == "") {
			return next, false, nil
		}
		if !isStr {
			return next, false, fit("expected the next page's URL (or null) at %s, found %s", pg.NextField, kindOf(v))
		}
		u, err := c.sameOrigin(target, s)
		if err != nil {
			return next, false, fit("%v", err)
		}
		if u == target {
			return next, false, fit("expected the URL of another page at %s, found the URL of this page", pg.NextField)
		}
		next.URL = u
		return next, true, nil
	}
	return next, false, nil
}

// sameOrigin resolves a next-page link against the page's URL and checks
// that it stays on base_url's scheme and host: credentials go nowhere
// else.
func (c *Conn) sameOrigin(page, link string) (string, error) {
	base, err := url.Parse(page)
	if err != nil {
		return "", err
	}
	u, err := base.Parse(strings.TrimSpace(link))
	if err != nil {
		return "", fmt.Errorf("expected the next page's URL, found %q (%v)", link, err)
	}
	if !strings.EqualFold(u.Scheme, c.cfg.BaseURL.Scheme) || !strings.EqualFold(u.Host, c.cfg.BaseURL.Host) {
		return "", fmt.Errorf("expected the next page on %s://%s (base_url), found %q; the connector sends credentials to base_url's host only", c.cfg.BaseURL.Scheme, c.cfg.BaseURL.Host, u.Redacted())
	}
	return u.String(), nil
}

// nextLink finds rel="next" in Link headers (RFC 8288).
func nextLink(values []string) string {
	for _, v := range values {
		for _, part := range splitLinks(v) {
			part = strings.TrimSpace(part)
			if !strings.HasPrefix(part, "<") {
				continue
			}
			end := strings.Index(part, ">")
			if end < 0 {
				continue
			}
			target := part[1:end]
			for _, param := range strings.Split(part[end+1:], ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(param), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
					if strings.EqualFold(rel, "next") {
						return target
					}
				}
			}
		}
	}
	return ""
}

// splitLinks splits a Link header at the commas between links, not those
// inside a URL or a quoted value.
func splitLinks(v string) []string {
	var out []string
	inURL, inQuote, start := false, false, 0
	for i, r := range v {
		switch {
		case r == '<' && !inQuote:
			inURL = true
		case r == '>' && !inQuote:
			inURL = false
		case r == '"' && !inURL:
			inQuote = !inQuote
		case r == ',' && !inURL && !inQuote:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// members describes what an object holds, for an error.
func members(doc any) string {
	m, ok := doc.(map[string]any)
	if !ok {
		return "the body is " + kindOf(doc)
	}
	if len(m) == 0 {
		return "the body is an empty object"
	}
	keys := slices.Sorted(mapKeys(m))
	if len(keys) > 12 {
		keys = append(keys[:12], "…")
	}
	return "the body has " + strings.Join(keys, ", ")
}

// kindOf names a JSON value's kind.
func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		if len(x) > 60 {
			x = x[:60] + "…"
		}
		return "the text " + strconv.Quote(x)
	case bool:
		return fmt.Sprintf("%v", x)
	case float64, json.Number:
		return fmt.Sprintf("the number %v", x)
	}
	return fmt.Sprintf("%T", v)
}

// bodyKind describes a body that is not JSON, for an error.
func bodyKind(ans *answer) string {
	ct := ans.header.Get("Content-Type")
	if ct == "" {
		ct = "no Content-Type"
	}
	if len(strings.TrimSpace(string(ans.body))) == 0 {
		return "an empty body (" + ct + ")"
	}
	return ct + " " + shown(ans.body)
}
