package webcrm

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/concordsync/concord/internal/connector"
)

// WebCRM hooks (/<Entity>/Hooks) POST a notification to a TargetUrl on
// Create, Update and Delete. Their payload is not documented; the sandbox
// sends {EventType, EntityType, Id}. The connector reads that shape
// leniently (any letter case, the id as number or text) and trusts nothing
// in it but the hint: a notification only makes its datatype due for a read,
// and a Delete is reported as a tombstone only after WebCRM answers 404 for
// the record.
//
// A notification is accepted only when its URL carries the system's
// hook_secret as the query parameter "secret": register hooks with
//
//	TargetUrl: https://concord.example.com/webhooks/<system>?secret=<hook_secret>&datatype=<Datatype>
//
// (datatype is optional; it names the datatype when a payload lacks
// EntityType).

// hookPayload is a notification as the sandbox sends it.
type hookPayload struct {
	EventType  string
	EntityType string
	ID         int64
}

// parseHookPayload reads a notification body. Keys match without regard
// to case; Id may be a number or a decimal text.
func parseHookPayload(body []byte) (hookPayload, error) {
	var raw map[string]any
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return hookPayload{}, fmt.Errorf("the body is not a JSON object")
	}
	var p hookPayload
	for k, v := range raw {
		switch strings.ToLower(k) {
		case "eventtype":
			p.EventType, _ = v.(string)
		case "entitytype":
			p.EntityType, _ = v.(string)
		case "id":
			if n, ok := wholeOf(v); ok {
				p.ID = n
			} else {
				return hookPayload{}, fmt.Errorf("Id %v is not a record id", v)
			}
		}
	}
	return p, nil
}

// pendingDeletes are the ids delete notifications named, numbered in the
// order they came; a listing's cursor says up to which number it reported
// them, so none is lost when a listing fails before the engine stores it.
type pendingDeletes struct {
	seq int64
	ids []pendingDelete
}

type pendingDelete struct {
	seq int64
	id  int64
}

// maxPendingDeletes bounds what notifications can make the connector hold;
// the rest is found by the next full scan.
const maxPendingDeletes = 100_000

// WebhookHandler serves WebCRM's hook notifications (see the comment at
// the top of this file).
func (c *Conn) WebhookHandler(changed func(datatype string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "WebCRM notifications are POSTed", http.StatusMethodNotAllowed)
			return
		}
		secret := r.URL.Query().Get("secret")
		if c.cfg.HookSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.cfg.HookSecret)) != 1 {
			c.log.Warn("refused a webhook notification without the hook secret", "remote", r.RemoteAddr)
			http.Error(w, "unauthorized: the notification URL must carry the system's hook_secret as ?secret=", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		p, err := parseHookPayload(body)
		if err != nil {
			http.Error(w, "bad notification: "+err.Error(), http.StatusBadRequest)
			return
		}
		name := p.EntityType
		if name == "" {
			name = r.URL.Query().Get("datatype")
		}
		e := lookupEntity(name)
		if e == nil {
			http.Error(w, fmt.Sprintf("unknown entity %q (the datatypes are %s)", name, strings.Join(datatypeNames(), ", ")), http.StatusBadRequest)
			return
		}
		if strings.EqualFold(p.EventType, "Delete") && p.ID > 0 {
			c.noteDelete(e.name, p.ID)
		}
		changed(e.name)
		w.WriteHeader(http.StatusNoContent)
	})
}

func (c *Conn) noteDelete(datatype string, id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.deletes[datatype]
	if d == nil {
		// Numbers start at the clock, so that those of a new process are
		// above any a cursor of an earlier process acknowledged.
		d = &pendingDeletes{seq: c.c.now().UnixNano()}
		c.deletes[datatype] = d
	}
	if len(d.ids) >= maxPendingDeletes {
		c.log.Warn("too many delete notifications waiting; the next full scan finds the rest", "datatype", datatype)
		return
	}
	d.seq++
	d.ids = append(d.ids, pendingDelete{seq: d.seq, id: id})
}

// confirmDeletes reports the records delete notifications named after
// number ack as tombstones, once WebCRM confirms each is gone (404). The
// ones up to ack were reported by a listing the engine completed, so they
// are dropped. It returns the tombstones and the new ack.
func (c *Conn) confirmDeletes(ctx context.Context, e *entity, ack int64) ([]connector.Record, int64, error) {
	c.mu.Lock()
	d := c.deletes[e.name]
	var todo []pendingDelete
	if d != nil {
		if ack > d.seq {
			ack = 0 // numbers of another process (a restart): report all held
		}
		kept := d.ids[:0]
		for _, p := range d.ids {
			if p.seq > ack {
				kept = append(kept, p)
			}
		}
		d.ids = kept
		todo = append(todo, kept...)
	}
	c.mu.Unlock()
	var out []connector.Record
	seen := map[int64]bool{}
	for _, p := range todo {
		ack = max(ack, p.seq)
		if seen[p.id] {
			continue
		}
		seen[p.id] = true
		_, err := c.getRaw(ctx, e, p.id)
		switch {
		case errors.Is(err, connector.ErrNotFound):
			out = append(out, connector.Record{ID: fmt.Sprint(p.id), Deleted: true})
		case err != nil:
			return nil, 0, err
		}
	}
	return out, ack, nil
}
