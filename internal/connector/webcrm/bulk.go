package webcrm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/concordsync/concord/internal/connector"
)

var _ connector.BulkInserter = (*Conn)(nil)

// InsertMany creates several records in one bulk PATCH (an id of 0
// inserts): one call instead of one per record, which matters under 250
// calls a minute. Every item gets the new id or WebCRM's message for it. An
// item refused because creates came too fast is Temporary (the engine tries
// it again); any other message is the record's own fault (ErrRejected). A
// PATCH whose outcome is unknown (a dropped connection) is not repeated: the
// engine's insert intents recognise what it created on the next read.
func (c *Conn) InsertMany(ctx context.Context, datatype string, fields []connector.Fields) []connector.InsertResult {
	out := make([]connector.InsertResult, len(fields))
	failAll := func(idx []int, err error) []connector.InsertResult {
		for _, i := range idx {
			out[i].Err = err
		}
		return out
	}
	e, err := c.entity(datatype)
	if err != nil {
		all := make([]int, len(fields))
		for i := range all {
			all[i] = i
		}
		return failAll(all, err)
	}
	var bodies []any
	var at []int // the fields index of each body
	for i, f := range fields {
		body, err := c.body(ctx, e, f, nil)
		if err != nil {
			out[i].Err = err
			continue
		}
		body[e.idField()] = 0
		bodies = append(bodies, body)
		at = append(at, i)
	}
	if len(bodies) == 0 {
		return out
	}
	answer, err := c.c.call(ctx, http.MethodPatch, "/"+e.name, nil, bodies)
	if err != nil {
		return failAll(at, err)
	}
	var texts []string
	if err := json.Unmarshal(answer, &texts); err != nil || len(texts) != len(bodies) {
		return failAll(at, connector.Temporary(fmt.Errorf("WebCRM PATCH /%s: the answer %.80q is not one text per item; the next read links what was created", e.name, answer)))
	}
	for k, i := range at {
		text := strings.TrimSpace(texts[k])
		if id, err := strconv.ParseInt(text, 10, 32); err == nil && id > 0 {
			out[i].Record = connector.Record{ID: strconv.FormatInt(id, 10)}
			if e.name == Products {
				c.products.forget(id)
			}
			continue
		}
		if strings.Contains(strings.ToLower(text), "try again") {
			out[i].Err = connector.Temporary(fmt.Errorf("WebCRM PATCH /%s, item %d: %s", e.name, k+1, text))
		} else {
			out[i].Err = fmt.Errorf("WebCRM PATCH /%s, item %d: %s: %w", e.name, k+1, text, connector.ErrRejected)
		}
	}
	return out
}
