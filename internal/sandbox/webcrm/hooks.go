package webcrm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// hook is a subscription to one kind of change of one entity.
type hook struct {
	id        int64
	entity    string // the entity's path name
	targetURL string
	enabled   bool
	eventType string // Create, Update, Delete
	filter    []string
	createdAt time.Time
	createdBy string
	updatedAt time.Time
	updatedBy string
}

var eventTypes = []string{"Create", "Update", "Delete"}

// hookJSON is a hook as the API shows it.
type hookJSON struct {
	Id        int64
	TargetUrl string
	IsEnabled bool
	EventType string
	Filter    []string
	CreatedAt string
	CreatedBy string
	UpdatedAt string
	UpdatedBy string
}

func (h *hook) json(loc *time.Location) hookJSON {
	return hookJSON{Id: h.id, TargetUrl: h.targetURL, IsEnabled: h.enabled, EventType: h.eventType,
		Filter: h.filter, CreatedAt: formatTime(h.createdAt, loc), CreatedBy: h.createdBy,
		UpdatedAt: formatTime(h.updatedAt, loc), UpdatedBy: h.updatedBy}
}

// HookPayload is what the sandbox POSTs to a hook's TargetUrl. The service
// does not document its payload; this shape is the sandbox's assumption.
type HookPayload struct {
	EventType  string // Create, Update or Delete
	EntityType string // the singular entity name: Organisation, Person, …
	Id         int
}

// bindHook reads a hook from a request body: TargetUrl (absolute http or
// https), EventType, IsEnabled and Filter (absent or empty means All).
func bindHook(e *entity, body []byte) (*hook, error) {
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, badRequest("The body must be a JSON object with TargetUrl, IsEnabled, EventType and Filter.")
	}
	get := func(name string) (any, bool) {
		for k, v := range obj {
			if strings.EqualFold(k, name) {
				return v, true
			}
		}
		return nil, false
	}
	h := &hook{entity: e.name}
	target, _ := get("TargetUrl")
	ts, _ := target.(string)
	u, err := url.Parse(ts)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, badRequest("TargetUrl must be an absolute http or https URL, not %q.", ts)
	}
	h.targetURL = ts
	if v, ok := get("IsEnabled"); ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return nil, badRequest("IsEnabled must be true or false.")
		}
		h.enabled = b
	}
	ev, _ := get("EventType")
	evs, _ := ev.(string)
	for _, t := range eventTypes {
		if strings.EqualFold(t, evs) {
			h.eventType = t
		}
	}
	if h.eventType == "" {
		return nil, badRequest("EventType must be one of %s, not %q.", strings.Join(eventTypes, ", "), evs)
	}
	if v, ok := get("Filter"); ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return nil, badRequest("Filter must be an array of texts.")
		}
		for _, item := range list {
			s, _ := item.(string)
			canon := ""
			for _, f := range e.hookFilters {
				if strings.EqualFold(f, s) {
					canon = f
				}
			}
			if canon == "" {
				return nil, badRequest("Filter values of %s hooks are %s, not %q.", e.table, strings.Join(e.hookFilters, ", "), s)
			}
			h.filter = append(h.filter, canon)
		}
	}
	if len(h.filter) == 0 {
		h.filter = []string{"All"}
	}
	return h, nil
}

// hookQueue delivers hook calls one after another, in the order of the
// changes, on a goroutine of its own that starts with the first delivery
// and stops when the server is closed. API calls never wait for it.
type hookQueue struct {
	client  *http.Client
	log     *slog.Logger
	ch      chan delivery
	ctx     context.Context
	cancel  context.CancelFunc
	start   sync.Once
	done    chan struct{}
	pending atomic.Int64
}

type delivery struct {
	url  string
	body []byte
}

// hookQueueSize bounds the deliveries waiting; beyond it they are dropped
// (and logged), as a slow receiver must not hold up the API.
const hookQueueSize = 4096

func newHookQueue(client *http.Client, log *slog.Logger) *hookQueue {
	ctx, cancel := context.WithCancel(context.Background())
	return &hookQueue{client: client, log: log, ch: make(chan delivery, hookQueueSize), ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

func (q *hookQueue) enqueue(d delivery) {
	q.start.Do(func() { go q.run() })
	q.pending.Add(1)
	select {
	case q.ch <- d:
	default:
		q.pending.Add(-1)
		q.log.Warn("hook delivery dropped: queue full", "target", d.url)
	}
}

func (q *hookQueue) run() {
	defer close(q.done)
	for {
		select {
		case <-q.ctx.Done():
			return
		case d := <-q.ch:
			q.deliver(d)
			q.pending.Add(-1)
		}
	}
}

func (q *hookQueue) deliver(d delivery) {
	ctx, cancel := context.WithTimeout(q.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		q.log.Warn("hook delivery failed", "target", d.url, "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := q.client.Do(req)
	if err != nil {
		q.log.Warn("hook delivery failed", "target", d.url, "err", err)
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		q.log.Warn("hook delivery refused", "target", d.url, "status", resp.StatusCode)
		return
	}
	q.log.Debug("hook delivered", "target", d.url, "payload", string(d.body))
}

// close stops the delivery goroutine; deliveries still waiting are dropped.
func (q *hookQueue) close() {
	q.cancel()
	started := true
	q.start.Do(func() { started = false })
	if started {
		<-q.done
	}
}

// wait returns when no delivery is waiting or running, or when ctx is done.
func (q *hookQueue) wait(ctx context.Context) error {
	for q.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("webcrm sandbox: %d hook deliveries still pending: %w", q.pending.Load(), ctx.Err())
		case <-q.done:
			return fmt.Errorf("webcrm sandbox: server closed with %d hook deliveries pending", q.pending.Load())
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// fireLocked hands the changes to every enabled hook of their entity and
// kind. Filters other than All name owners the sandbox does not model: such
// hooks hear every change, as an All hook does. The caller holds s.mu, so
// deliveries queue in the order of the changes; queueing never blocks.
func (s *Server) fireLocked(events []event) {
	for _, ev := range events {
		for _, id := range s.hookIDs {
			h := s.hooks[id]
			if h.entity != ev.e.name || !h.enabled || h.eventType != ev.kind {
				continue
			}
			body, _ := json.Marshal(HookPayload{EventType: ev.kind, EntityType: ev.e.table, Id: ev.id})
			s.hookq.enqueue(delivery{url: h.targetURL, body: body})
		}
	}
}

// WaitForHooks returns when every hook delivery of the changes so far has
// been made (or has failed), or when ctx is done. Tests use it instead of
// sleeping.
func (s *Server) WaitForHooks(ctx context.Context) error { return s.hookq.wait(ctx) }
