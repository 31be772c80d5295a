package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/concordsync/concord/internal/connector"
)

// ParentField is the field of a nested line that holds its record's id.
const ParentField = "_parent"

// Lines nested in a record (an order's line_items) are served as a
// datatype of their own, "<datatype>/<member>", so that the engine syncs
// them as it syncs lines kept in a separate datatype (ADR 5, ADR 12):
//
//   - A listing is the parent datatype's listing, with the same page
//     tokens and cursors, and one record per line of every record read:
//     id "<record id>/<line id>", the line's members plus _parent, and the
//     record's modification time.
//   - A line that left its record must come out as a tombstone, yet the
//     record shows only the lines it has now. So the connector keeps, per
//     record, the ids of the lines it ever listed or wrote, in the
//     connector.State (Concord's store), and lists every known id that the
//     record no longer has as a tombstone, each time the record is read.
//     The set only grows and is stored before the page is returned: a
//     crash anywhere re-reads the record and lists the same tombstones
//     again, which the engine takes as done. A deleted record tombstones
//     all its known lines. A full listing lists the live lines only; the
//     engine finds what is gone by asking Get, which answers not found.
//   - Get reads the record. Insert, Update and Delete read it, change its
//     list of lines and write it back with the whole list by the
//     datatype's update call (PATCH of the list, or PUT of the whole
//     record with update.full): two calls per line written. A new line is
//     sent without its id, which the system hands out; it is found in the
//     answer as the one id that was not there before.

// lineSet is what the state keeps per record: the ids of its lines ever
// seen.
type lineSet []string

func lineStateKey(l *Lines, parentID string) string {
	return "lines/" + l.Name + "/" + parentID
}

// lineRecordID is "<record id>/<line id>", each path-escaped so that
// either may hold a slash.
func lineRecordID(parentID, lineID string) string {
	return url.PathEscape(parentID) + "/" + url.PathEscape(lineID)
}

// splitLineID splits a line record's id into its record's and its own.
func splitLineID(id string) (parentID, lineID string, ok bool) {
	a, b, found := strings.Cut(id, "/")
	if !found || a == "" || b == "" || strings.Contains(b, "/") {
		return "", "", false
	}
	p, err1 := url.PathUnescape(a)
	l, err2 := url.PathUnescape(b)
	return p, l, err1 == nil && err2 == nil
}

// nested returns the nested lines a datatype name stands for.
func (c *Conn) nested(name string) (*Lines, bool) {
	parent, field, found := strings.Cut(name, "/")
	if !found {
		return nil, false
	}
	d, ok := c.cfg.Datatypes[parent]
	if !ok {
		return nil, false
	}
	l, ok := d.Lines[field]
	return l, ok
}

// linesOf reads the lines of a record and their ids; problem says what
// does not fit.
func (c *Conn) linesOf(l *Lines, parent connector.Record) ([]map[string]any, []string, string) {
	v := parent.Fields[l.Field]
	if v == nil {
		return nil, nil, ""
	}
	list, ok := v.([]any)
	if !ok {
		return nil, nil, fmt.Sprintf("record %q to hold its lines as a list at %q (settings.datatypes.%s.lines), found %s", parent.ID, l.Field, l.Parent.Name, kindOf(v))
	}
	objs := make([]map[string]any, 0, len(list))
	ids := make([]string, 0, len(list))
	for i, e := range list {
		obj, isObj := e.(map[string]any)
		if !isObj {
			return nil, nil, fmt.Sprintf("line %d of record %q to be an object, found %s", i+1, parent.ID, kindOf(e))
		}
		iv, _ := l.IDField.get(obj)
		id, ok := idText(iv)
		if !ok || id == "" {
			return nil, nil, fmt.Sprintf("line %d of record %q to have its id at %s, found %s", i+1, parent.ID, l.IDField, kindOf(iv))
		}
		objs = append(objs, obj)
		ids = append(ids, id)
	}
	return objs, ids, ""
}

// lineRecord is the record of one line.
func lineRecord(parent connector.Record, lineID string, obj map[string]any) connector.Record {
	f := connector.CloneFields(obj)
	f[ParentField] = parent.ID
	return connector.Record{ID: lineRecordID(parent.ID, lineID), Fields: f, Modified: parent.Modified}
}

// listLines is a page of the parent datatype's listing as lines.
func (c *Conn) listLines(ctx context.Context, l *Lines, req connector.ListRequest) (connector.Page, error) {
	page, err := c.List(ctx, l.Parent.Name, req)
	if err != nil {
		return connector.Page{}, err
	}
	out := connector.Page{NextPageToken: page.NextPageToken, Cursor: page.Cursor}
	for _, parent := range page.Records {
		var objs []map[string]any
		var ids []string
		if !parent.Deleted {
			var problem string
			if objs, ids, problem = c.linesOf(l, parent); problem != "" {
				return connector.Page{}, &FitError{System: c.system, Datatype: l.Name, Method: http.MethodGet,
					URL: c.url(l.Parent.ListPath, "", nil), Status: http.StatusOK, Expected: "expected " + problem}
			}
		}
		// The ids are stored before the lines are returned: a line the
		// engine has stored is always a known one.
		known, err := c.knowLines(ctx, l, parent.ID, ids)
		if err != nil {
			return connector.Page{}, err
		}
		for i, obj := range objs {
			out.Records = append(out.Records, lineRecord(parent, ids[i], obj))
		}
		if req.Full {
			continue // a full listing holds the live lines only
		}
		for _, id := range known {
			if !slices.Contains(ids, id) {
				out.Records = append(out.Records, connector.Record{ID: lineRecordID(parent.ID, id), Deleted: true, Modified: parent.Modified})
			}
		}
	}
	return out, nil
}

// knowLines adds ids to the lines known of a record and returns them all.
func (c *Conn) knowLines(ctx context.Context, l *Lines, parentID string, ids []string) ([]string, error) {
	key := lineStateKey(l, parentID)
	for range 20 {
		raw, ver, err := c.state.GetState(ctx, c.system, key)
		if err != nil {
			return nil, fmt.Errorf("system %q, datatype %q: read the known lines of record %q: %w", c.system, l.Name, parentID, err)
		}
		var known lineSet
		if raw != "" {
			if err := json.Unmarshal([]byte(raw), &known); err != nil {
				return nil, fmt.Errorf("system %q, datatype %q: the known lines of record %q are not readable (%v); delete the connector state %q", c.system, l.Name, parentID, err, key)
			}
		}
		all := slices.Clone(known)
		for _, id := range ids {
			if !slices.Contains(all, id) {
				all = append(all, id)
			}
		}
		if len(all) == len(known) {
			return known, nil
		}
		slices.Sort(all)
		b, _ := json.Marshal(all)
		if _, ok, err := c.state.SwapState(ctx, c.system, key, string(b), ver); err != nil {
			return nil, fmt.Errorf("system %q, datatype %q: store the known lines of record %q: %w", c.system, l.Name, parentID, err)
		} else if ok {
			return all, nil
		}
	}
	return nil, connector.Temporary(fmt.Errorf("system %q, datatype %q: the known lines of record %q keep changing under this worker", c.system, l.Name, parentID))
}

// getLine reads one line.
func (c *Conn) getLine(ctx context.Context, l *Lines, id string) (connector.Record, error) {
	parentID, lineID, ok := splitLineID(id)
	if !ok {
		return connector.Record{}, fmt.Errorf("system %q, datatype %q: %q is not a line id (<record id>/<line id>): %w", c.system, l.Name, id, connector.ErrNotFound)
	}
	parent, _, err := c.get(ctx, l.Parent, parentID)
	if err != nil {
		return connector.Record{}, err
	}
	objs, ids, problem := c.linesOf(l, parent)
	if problem != "" {
		return connector.Record{}, &FitError{System: c.system, Datatype: l.Name, Method: l.Parent.Get.Method,
			URL: c.url(l.Parent.Get.Path, parentID, nil), Status: http.StatusOK, Expected: "expected " + problem}
	}
	if i := slices.Index(ids, lineID); i >= 0 {
		return lineRecord(parent, lineID, objs[i]), nil
	}
	return connector.Record{}, fmt.Errorf("system %q, datatype %q: record %q has no line %q: %w", c.system, l.Name, parentID, lineID, connector.ErrNotFound)
}

// rewrite reads a record, lets edit change its lines, and writes the record
// back with the whole list by the datatype's update call. It returns the
// line ids before the edit and the record after the write (read again when
// the answer does not hold it and again is set).
func (c *Conn) rewrite(ctx context.Context, l *Lines, parentID string, again bool,
	edit func(parent connector.Record, objs []map[string]any, ids []string) ([]map[string]any, error),
) (before []string, after connector.Record, err error) {
	d := l.Parent
	if d.Update == nil {
		return nil, connector.Record{}, fmt.Errorf("system %q, datatype %q: lines are written by updating their record, and update of %s is switched off in the settings: %w", c.system, l.Name, d.Name, connector.ErrNotSupported)
	}
	parent, etag, err := c.get(ctx, d, parentID)
	if err != nil {
		return nil, connector.Record{}, err
	}
	objs, ids, problem := c.linesOf(l, parent)
	if problem != "" {
		return nil, connector.Record{}, &FitError{System: c.system, Datatype: l.Name, Method: d.Get.Method,
			URL: c.url(d.Get.Path, parentID, nil), Status: http.StatusOK, Expected: "expected " + problem}
	}
	for i := range objs {
		objs[i] = connector.CloneFields(objs[i])
	}
	edited, err := edit(parent, objs, ids)
	if err != nil {
		return nil, connector.Record{}, err
	}
	list := make([]any, len(edited))
	for i, o := range edited {
		list[i] = map[string]any(o)
	}
	payload := connector.Fields{l.Field: list}
	if d.Update.Full {
		payload = parent.Fields
		payload[l.Field] = list
	}
	header := http.Header{}
	if d.Update.IfMatch == "etag" && etag != "" {
		header.Set("If-Match", etag)
	}
	after, err = c.write(ctx, d, parentID, payload, header)
	if err != nil {
		return nil, connector.Record{}, err
	}
	if after.ID == "" && again {
		if after, _, err = c.get(ctx, d, parentID); err != nil {
			return nil, connector.Record{}, fmt.Errorf("system %q, datatype %q: read record %q after writing its lines: %w", c.system, l.Name, parentID, err)
		}
	}
	return ids, after, nil
}

// lineFields are the members a write sets on a line: the fields without
// _parent, which must name the line's record when given.
func (c *Conn) lineFields(l *Lines, parentID string, fields connector.Fields) (connector.Fields, error) {
	out := connector.CloneFields(fields)
	if v, ok := out[ParentField]; ok {
		if p, _ := idText(v); p != parentID {
			return nil, fmt.Errorf("system %q, datatype %q: a line cannot move from record %q to %v: %w", c.system, l.Name, parentID, v, connector.ErrRejected)
		}
		delete(out, ParentField)
	}
	return out, nil
}

// insertLine appends a line to its record (named by _parent) and returns
// it with its new id.
func (c *Conn) insertLine(ctx context.Context, l *Lines, fields connector.Fields) (connector.Record, error) {
	parentID, ok := idText(fields[ParentField])
	if !ok || parentID == "" {
		return connector.Record{}, fmt.Errorf("system %q, datatype %q: a new line needs %s, the id of its record: %w", c.system, l.Name, ParentField, connector.ErrRejected)
	}
	line, err := c.lineFields(l, parentID, fields)
	if err != nil {
		return connector.Record{}, err
	}
	// The system hands out the id of a new line.
	if len(l.IDField.segs) == 1 {
		delete(line, l.IDField.segs[0])
	}
	before, after, err := c.rewrite(ctx, l, parentID, true, func(_ connector.Record, objs []map[string]any, _ []string) ([]map[string]any, error) {
		return append(objs, line), nil
	})
	if err != nil {
		return connector.Record{}, err
	}
	objs, ids, problem := c.linesOf(l, after)
	var fresh []int
	if problem == "" {
		for i, id := range ids {
			if !slices.Contains(before, id) {
				fresh = append(fresh, i)
			}
		}
	}
	if len(fresh) != 1 {
		// Written, but which line is ours cannot be told: the next listing
		// brings it, and the engine links it by its merge keys.
		return connector.Record{}, fmt.Errorf("system %q, datatype %q: the line was added to record %q, but its id could not be told (%d new lines in the answer); it is linked when next read: %w",
			c.system, l.Name, parentID, len(fresh), connector.ErrRejected)
	}
	id := ids[fresh[0]]
	if _, err := c.knowLines(ctx, l, parentID, []string{id}); err != nil {
		// The line exists; the engine's insert intent stays open and the
		// next listing links it.
		return connector.Record{}, connector.Temporary(err)
	}
	return lineRecord(after, id, objs[fresh[0]]), nil
}

// updateLine changes the given members of a line in place. Its record is
// read anyway, so an ifMatch that is not the line's hash is a conflict
// whatever update.if_match says.
func (c *Conn) updateLine(ctx context.Context, l *Lines, id string, fields connector.Fields, ifMatch string) (connector.Record, error) {
	parentID, lineID, ok := splitLineID(id)
	if !ok {
		return connector.Record{}, fmt.Errorf("system %q, datatype %q: %q is not a line id (<record id>/<line id>): %w", c.system, l.Name, id, connector.ErrNotFound)
	}
	change, err := c.lineFields(l, parentID, fields)
	if err != nil {
		return connector.Record{}, err
	}
	_, after, err := c.rewrite(ctx, l, parentID, false, func(parent connector.Record, objs []map[string]any, ids []string) ([]map[string]any, error) {
		i := slices.Index(ids, lineID)
		if i < 0 {
			return nil, fmt.Errorf("system %q, datatype %q: record %q has no line %q: %w", c.system, l.Name, parentID, lineID, connector.ErrNotFound)
		}
		if ifMatch != "" && connector.Hash(lineRecord(parent, lineID, objs[i]).Fields) != ifMatch {
			return nil, fmt.Errorf("system %q, datatype %q: line %q is no longer the version the update was based on: %w", c.system, l.Name, id, connector.ErrConflict)
		}
		for k, v := range change {
			objs[i][k] = v
		}
		return objs, nil
	})
	if err != nil || after.ID == "" {
		return connector.Record{}, err
	}
	objs, ids, problem := c.linesOf(l, after)
	if i := slices.Index(ids, lineID); problem == "" && i >= 0 {
		return lineRecord(after, lineID, objs[i]), nil
	}
	return connector.Record{}, nil
}

// deleteLine removes a line from its record.
func (c *Conn) deleteLine(ctx context.Context, l *Lines, id string) error {
	parentID, lineID, ok := splitLineID(id)
	if !ok {
		return fmt.Errorf("system %q, datatype %q: %q is not a line id (<record id>/<line id>): %w", c.system, l.Name, id, connector.ErrNotFound)
	}
	_, _, err := c.rewrite(ctx, l, parentID, false, func(_ connector.Record, objs []map[string]any, ids []string) ([]map[string]any, error) {
		i := slices.Index(ids, lineID)
		if i < 0 {
			return nil, fmt.Errorf("system %q, datatype %q: record %q has no line %q: %w", c.system, l.Name, parentID, lineID, connector.ErrNotFound)
		}
		return slices.Delete(objs, i, i+1), nil
	})
	return err
}
