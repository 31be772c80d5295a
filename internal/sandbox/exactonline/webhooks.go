package exactonline

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// webhookSubscriptions is the entity of webhooks/WebhookSubscriptions. It
// is not synced and has no row versions that matter.
var webhookSubscriptions = &entityDef{
	name: "WebhookSubscriptions", path: "webhooks/WebhookSubscriptions",
	modelType: "Exact.Web.Api.Models.Webhooks.WebhookSubscription", key: "ID",
	fields: subscriptionFields, byName: subscriptionByName,
}

func (s *Server) handleWebhooks(r *http.Request, t target, a *app) *response {
	def := webhookSubscriptions
	mine := func(rec *record) bool { return rec.str("ClientID") == a.ClientID }
	if t.nav != "" {
		return errorResponse(http.StatusNotFound, "Resource not found for the segment '%s'.", t.nav)
	}
	switch r.Method {
	case http.MethodGet:
		if t.hasKey {
			id, errResp := s.parseKey(def, t.key)
			if errResp != nil {
				return errResp
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			rec := s.tables[def].rows[id]
			if rec == nil || !mine(rec) {
				return failure(notFound(def, id))
			}
			var b bytes.Buffer
			b.WriteString(`{"d":`)
			s.writeRow(&b, def, rec, rowOpts{base: s.base(r), kind: targetEntity})
			b.WriteString("}")
			return jsonResponse(http.StatusOK, b.Bytes())
		}
		q, err := parseQuery(r.URL.RawQuery, def.field, nil, s.loc)
		if err != nil {
			return failure(err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.listRecords(r, def, q, targetEntity, def.path, pageSize, mine)
	case http.MethodPost:
		if t.hasKey {
			return methodNotAllowed(r.Method, def.path+"(…)")
		}
		raw, errResp := readBody(r)
		if errResp != nil {
			return errResp
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		in, err := s.readInput(def, raw, byAPI, true)
		if err != nil {
			return failure(err)
		}
		rec, err := s.subscribe(a, in.set)
		if err != nil {
			return failure(err)
		}
		base := s.base(r)
		var b bytes.Buffer
		b.WriteString(`{"d":`)
		s.writeRow(&b, def, rec, rowOpts{base: base, kind: targetEntity})
		b.WriteString("}")
		resp := jsonResponse(http.StatusCreated, b.Bytes())
		resp.header.Set("Location", s.rowURI(base, def, rec, targetEntity))
		return resp
	case http.MethodDelete:
		if !t.hasKey {
			return methodNotAllowed(r.Method, def.path)
		}
		id, errResp := s.parseKey(def, t.key)
		if errResp != nil {
			return errResp
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		rec := s.tables[def].rows[id]
		if rec == nil || !mine(rec) {
			return failure(notFound(def, id))
		}
		s.tables[def].remove(id)
		s.dirty = true
		return newResponse(http.StatusNoContent)
	}
	return errorResponse(http.StatusMethodNotAllowed, "The HTTP method '%s' is not allowed on %s: a subscription cannot be changed, only deleted and created again.", r.Method, def.path)
}

// subscribe adds a subscription of app a; s.mu is held.
func (s *Server) subscribe(a *app, set map[string]any) (*record, error) {
	cb, _ := set["CallbackURL"].(string)
	topic, _ := set["Topic"].(string)
	if cb == "" {
		return nil, badRequest("CallbackURL is mandatory")
	}
	u, err := url.Parse(cb)
	if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, badRequest("CallbackURL %q is not an absolute http(s) URL", cb)
	}
	if webhookTopics[topic] == nil {
		return nil, badRequest("Topic %q is not supported: use Accounts, Contacts, Items, SalesOrders or Quotations", topic)
	}
	t := s.tables[webhookSubscriptions]
	for _, o := range t.rows {
		if o.str("ClientID") == a.ClientID && o.str("Topic") == topic && o.str("CallbackURL") == cb {
			return nil, badRequest("A subscription to %s with this CallbackURL already exists: %s", topic, o.str("ID"))
		}
	}
	now := s.now()
	rec := &record{f: map[string]any{
		"ID": newGUID(s.idRNG), "CallbackURL": cb, "Topic": topic, "Description": set["Description"],
		"ClientID": a.ClientID, "UserID": s.user.ID, "Created": now, "Creator": s.user.ID,
		"CreatorFullName": s.user.FullName, "Division": int64(s.division),
	}}
	t.put(rec)
	s.dirty = true
	return rec, nil
}

// webhookContent is the Content of a notification, in Exact's field order.
type webhookContent struct {
	Topic               string
	ClientId            string //nolint:revive // Exact's spelling
	Division            int
	Action              string
	Key                 string
	ExactOnlineEndpoint string
	EventCreatedOn      string
}

// notify queues a notification of c to every subscription of its topic;
// s.mu is held. Delivery happens on the webhook goroutine, never in the
// API call.
func (s *Server) notify(c change, now time.Time) {
	var subs []*record
	for _, rec := range s.tables[webhookSubscriptions].sortedByKey() {
		if rec.str("Topic") == c.def.topic {
			subs = append(subs, rec)
		}
	}
	if len(subs) == 0 {
		return
	}
	base := cmp.Or(s.baseURL, s.seenBase, "http://localhost")
	for _, sub := range subs {
		a := s.apps[sub.str("ClientID")]
		if a == nil {
			continue
		}
		content, _ := json.Marshal(webhookContent{
			Topic: c.def.topic, ClientId: a.ClientID, Division: s.division, Action: c.action, Key: c.key,
			ExactOnlineEndpoint: base + "/api/v1/" + strconv.Itoa(s.division) + "/" + c.def.path + "(guid'" + c.key + "')",
			EventCreatedOn:      now.In(s.loc).Format("2006-01-02T15:04:05.000"),
		})
		body := []byte(`{"Content":` + string(content) + `,"HashCode":"` + HashCode(content, a.WebhookSecret) + `"}`)
		s.hooks.push(WebhookDelivery{CallbackURL: sub.str("CallbackURL"), Topic: c.def.topic, Action: c.action, Key: c.key, Body: body})
	}
}

// HashCode is the signature Exact puts on a webhook notification: the
// upper-case hex HMAC-SHA256 of the raw Content JSON text, keyed with the
// app's webhook secret.
func HashCode(content []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(content)
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

// hookQueue holds notifications waiting for the webhook goroutine, and a
// log of what was sent. It never blocks the API: the queue is unbounded.
type hookQueue struct {
	mu      sync.Mutex
	pending []WebhookDelivery
	log     []WebhookDelivery
	busy    bool
	wake    chan struct{}
	idle    chan struct{} // closed and replaced when the queue drains
}

// maxDeliveryLog bounds the log WebhookDeliveries returns.
const maxDeliveryLog = 1000

func newHookQueue() *hookQueue {
	return &hookQueue{wake: make(chan struct{}, 1), idle: make(chan struct{})}
}

func (q *hookQueue) push(d WebhookDelivery) {
	q.mu.Lock()
	q.pending = append(q.pending, d)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (s *Server) deliverWebhooks() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	q := s.hooks
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.busy = false
			close(q.idle)
			q.idle = make(chan struct{})
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-s.stop:
				return
			}
		}
		d := q.pending[0]
		q.pending = q.pending[1:]
		q.busy = true
		q.mu.Unlock()

		d = s.send(ctx, d)

		q.mu.Lock()
		q.log = append(q.log, d)
		if len(q.log) > maxDeliveryLog {
			q.log = q.log[len(q.log)-maxDeliveryLog:]
		}
		q.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
	}
}

func (s *Server) send(ctx context.Context, d WebhookDelivery) WebhookDelivery {
	d.At = s.opts.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.CallbackURL, bytes.NewReader(d.Body))
	if err != nil {
		d.Err = err.Error()
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.opts.WebhookClient.Do(req)
	if err != nil {
		d.Err = err.Error()
		s.log.Warn("webhook not delivered", "topic", d.Topic, "action", d.Action, "key", d.Key, "callback", d.CallbackURL, "err", err)
		return d
	}
	resp.Body.Close()
	d.StatusCode = resp.StatusCode
	if resp.StatusCode >= 300 {
		d.Err = resp.Status
		s.log.Warn("webhook refused", "topic", d.Topic, "action", d.Action, "key", d.Key, "callback", d.CallbackURL, "status", resp.StatusCode)
	}
	return d
}

// WebhookDeliveries returns the notifications sent so far (the last 1000),
// oldest first.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	q := s.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]WebhookDelivery(nil), q.log...)
}

// WaitWebhooks waits until every queued notification has been sent, or ctx
// ends.
func (s *Server) WaitWebhooks(ctx context.Context) error {
	q := s.hooks
	for {
		q.mu.Lock()
		if len(q.pending) == 0 && !q.busy {
			q.mu.Unlock()
			return nil
		}
		idle := q.idle
		q.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stop:
			return nil
		}
	}
}
