package exactonline

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Webhooks. Exact posts {"Content":{…},"HashCode":"…"} where HashCode is
// the upper-case hex HMAC-SHA256 of the raw Content JSON text keyed with the
// app's webhook secret. A notification carries no data Concord trusts: it
// only makes its datatypes due for an incremental read.

// Notification is the Content of a webhook notification.
type Notification struct {
	Topic               string
	ClientID            string `json:"ClientId"`
	Division            int
	Action              string
	Key                 string
	ExactOnlineEndpoint string
	EventCreatedOn      string
}

// maxWebhookBody bounds a notification.
const maxWebhookBody = 64 << 10

// ParseNotification verifies a notification's HashCode against secret and
// returns its Content. A wrong or missing HashCode is an error.
func ParseNotification(body []byte, secret string) (Notification, error) {
	var env struct {
		Content  json.RawMessage `json:"Content"`
		HashCode string          `json:"HashCode"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return Notification{}, fmt.Errorf("not a webhook notification: %w", err)
	}
	if len(env.Content) == 0 || env.HashCode == "" {
		return Notification{}, errors.New("not a webhook notification: Content or HashCode missing")
	}
	if secret == "" {
		return Notification{}, errors.New("no webhook_secret is configured: notifications cannot be verified")
	}
	got, err := hex.DecodeString(env.HashCode)
	if err != nil {
		return Notification{}, errors.New("HashCode is not hex")
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(env.Content)
	if !hmac.Equal(got, m.Sum(nil)) {
		return Notification{}, errors.New("HashCode does not match the content")
	}
	var n Notification
	if err := json.Unmarshal(env.Content, &n); err != nil {
		return Notification{}, fmt.Errorf("webhook Content: %w", err)
	}
	return n, nil
}

// WebhookHandler verifies Exact's notifications and calls changed with each
// datatype a notification's topic covers (SalesOrders: SalesOrders and
// SalesOrderLines; Quotations likewise). A notification with a wrong
// HashCode is answered 401 and changes nothing.
func (c *Conn) WebhookHandler(changed func(datatype string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST Exact Online webhook notifications here", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
		if err != nil || len(body) > maxWebhookBody {
			http.Error(w, "notification too large or unreadable", http.StatusBadRequest)
			return
		}
		n, err := ParseNotification(body, c.s.WebhookSecret)
		if err != nil {
			c.log.Warn("webhook notification refused", "err", err, "remote", r.RemoteAddr)
			http.Error(w, "notification refused: "+err.Error(), http.StatusUnauthorized)
			return
		}
		dts := topicDatatypes(n.Topic)
		c.log.Debug("webhook notification", "topic", n.Topic, "action", n.Action, "key", n.Key, "datatypes", dts)
		for _, dt := range dts {
			changed(dt)
		}
		w.WriteHeader(http.StatusOK)
	})
}

// Topics are the webhook topics Concord can subscribe to.
var Topics = []string{"Accounts", "Contacts", "Items", "SalesOrders", "Quotations"}

// Subscribe makes sure the app is subscribed to each topic (all of Topics
// when none are given) with callbackURL, creating what is missing. It
// returns the topics it subscribed to now. Subscriptions cannot be changed,
// only deleted and created again (Unsubscribe).
func (c *Conn) Subscribe(ctx context.Context, callbackURL string, topics ...string) ([]string, error) {
	if len(topics) == 0 {
		topics = Topics
	}
	for _, t := range topics {
		if !slices.Contains(Topics, t) {
			return nil, fmt.Errorf("exactonline: unknown webhook topic %q (topics: %s)", t, strings.Join(Topics, ", "))
		}
	}
	subs, err := c.subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	var made []string
	for _, t := range topics {
		if slices.ContainsFunc(subs, func(s subscription) bool { return s.Topic == t && s.CallbackURL == callbackURL }) {
			continue
		}
		_, err := c.do(ctx, request{method: http.MethodPost, path: "webhooks/WebhookSubscriptions", endpoint: "webhooks/WebhookSubscriptions",
			body: map[string]any{"CallbackURL": callbackURL, "Topic": t}, write: true})
		if err != nil {
			return made, fmt.Errorf("subscribe to %s: %w", t, err)
		}
		made = append(made, t)
	}
	return made, nil
}

// Unsubscribe deletes the app's subscriptions with callbackURL (all of
// them when callbackURL is empty) and returns how many it deleted.
func (c *Conn) Unsubscribe(ctx context.Context, callbackURL string) (int, error) {
	subs, err := c.subscriptions(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range subs {
		if callbackURL != "" && s.CallbackURL != callbackURL || !isGUID(s.ID) {
			continue
		}
		if _, err := c.do(ctx, request{method: http.MethodDelete, path: "webhooks/WebhookSubscriptions(guid'" + s.ID + "')",
			endpoint: "webhooks/WebhookSubscriptions", retry: true, write: true}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

type subscription struct {
	ID, CallbackURL, Topic string
}

func (c *Conn) subscriptions(ctx context.Context) ([]subscription, error) {
	var out []subscription
	link := "webhooks/WebhookSubscriptions?" + query("$select", "ID,CallbackURL,Topic")
	for link != "" {
		path, q, _ := strings.Cut(link, "?")
		resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q, endpoint: "webhooks/WebhookSubscriptions", retry: true})
		if err != nil {
			return nil, err
		}
		rs, next, err := rows(resp.body)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			s := subscription{}
			s.ID, _ = r["ID"].(string)
			s.CallbackURL, _ = r["CallbackURL"].(string)
			s.Topic, _ = r["Topic"].(string)
			out = append(out, s)
		}
		link = ""
		if next != "" {
			if link, err = relativeLink(next); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
