package rest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/pace"
)

// Retry policy and limits of one call.
const (
	backoffBase    = 500 * time.Millisecond
	backoffCap     = 30 * time.Second
	defaultRetryIn = 5 * time.Second // a 429 without Retry-After
	maxAnswer      = 64 << 20
	maxShown       = 300 // bytes of an unexpected body quoted in an error
)

// client makes the HTTP calls of one system: it authenticates, paces,
// retries what is safe to retry, and turns answers outside 2xx into the
// connector's error classes.
type client struct {
	system string
	cfg    *Config
	http   *http.Client
	auth   authenticator
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func() float64
	log    *slog.Logger
	pacer  *pace.Window

	calls atomic.Int64 // requests sent, token requests included
}

// call is one request.
type call struct {
	datatype string
	method   string
	url      string
	body     []byte      // nil: none
	header   http.Header // besides auth and the configured headers
}

// answer is a 2xx answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// StatusError is an answer outside 2xx. Its text names the system, the
// datatype, the call and what the system said.
type StatusError struct {
	System, Datatype string
	Method, URL      string
	Status           int
	Message          string // the system's message (and details), or the start of its body
	Note             string // what the connector adds (what to check, whether it was carried out)
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "system %q, datatype %q: %s %s: %d %s", e.System, e.Datatype, e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Note != "" {
		b.WriteString(" (")
		b.WriteString(e.Note)
		b.WriteString(")")
	}
	return b.String()
}

// idempotent tells whether a call may be sent again when its outcome is
// unknown (a dropped connection, a timeout, a 500). PATCH counts: the
// connector sends field values, never relative changes, so a repeated PATCH
// writes the same. A repeated POST may create a second record; its unknown
// outcome is left to the engine's insert intents.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	return false
}

// do makes one call, with retries, and returns its 2xx answer.
func (c *client) do(ctx context.Context, cl call) (*answer, error) {
	where := func() string {
		return fmt.Sprintf("system %q, datatype %q: %s %s", c.system, cl.datatype, cl.method, cl.url)
	}
	renewed := false
	var waited time.Duration // waiting out 429s within this call
	for attempt := 1; ; attempt++ {
		if err := c.pacer.Wait(ctx); err != nil {
			return nil, connector.Throttled(fmt.Errorf("%s: waiting for the rate limit: %w", where(), err))
		}
		req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, bytes.NewReader(cl.body))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where(), err)
		}
		if cl.body == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		for k, v := range c.cfg.Headers {
			req.Header.Set(k, v)
		}
		for k, vs := range cl.header {
			req.Header[k] = vs
		}
		if err := c.auth.apply(ctx, req.Header); err != nil {
			return nil, err
		}
		c.calls.Add(1)
		resp, err := c.http.Do(req)
		if ue, ok := err.(*url.Error); ok {
			// where() names the method and address already.
			err = ue.Err
		}
		var body []byte
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
			resp.Body.Close()
			if err == nil && len(body) > maxAnswer {
				return nil, fmt.Errorf("%s: the answer is larger than %d MiB", where(), maxAnswer>>20)
			}
			if err != nil && resp.StatusCode/100 != 2 {
				err = nil // the status says enough
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !idempotent(cl.method) {
				return nil, connector.Temporary(fmt.Errorf("%s: %w (the call may or may not have been carried out)", where(), err))
			}
			if attempt >= c.cfg.MaxAttempts {
				return nil, connector.Temporary(fmt.Errorf("%s: %w (after %d attempts)", where(), err, attempt))
			}
			c.log.Debug("retrying after a connection error", "datatype", cl.datatype, "call", cl.method+" "+cl.url, "attempt", attempt, "err", err)
			if err := c.sleep(ctx, c.backoff(attempt)); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode/100 == 2 {
			return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
		}

		se := c.statusError(cl, resp.StatusCode, body)
		switch status := resp.StatusCode; {
		case status == http.StatusUnauthorized && !renewed && c.auth.renew(req.Header):
			// An access token the system no longer takes: fetch a new one, once.
			renewed = true
			attempt--
			continue
		case status == http.StatusTooManyRequests:
			wait := retryAfter(resp.Header, c.now(), defaultRetryIn)
			if waited+wait > c.cfg.MaxWait {
				se.Note = fmt.Sprintf("the system asks to wait %v; max_wait is %v", wait, c.cfg.MaxWait)
				return nil, connector.Throttled(se)
			}
			if dl, ok := ctx.Deadline(); ok && c.now().Add(wait).After(dl) {
				return nil, connector.Throttled(se)
			}
			waited += wait
			c.pacer.Hold(wait)
			c.log.Info("throttled; waiting", "datatype", cl.datatype, "call", cl.method+" "+cl.url, "wait", wait)
			if err := c.sleep(ctx, wait); err != nil {
				return nil, err
			}
			attempt-- // a call refused for the rate was not carried out: no failed attempt
			continue
		case status >= 500 || status == http.StatusRequestTimeout:
			// 503 says the call was not carried out; any other 5xx may
			// come after it was, which only a call safe to repeat may risk.
			safe := idempotent(cl.method) || status == http.StatusServiceUnavailable
			if safe && attempt < c.cfg.MaxAttempts {
				wait := c.backoff(attempt)
				if resp.Header.Get("Retry-After") != "" {
					wait = max(wait, retryAfter(resp.Header, c.now(), 0))
				}
				wait = min(wait, max(c.cfg.MaxWait, backoffBase))
				c.log.Debug("retrying after a server error", "datatype", cl.datatype, "call", cl.method+" "+cl.url, "attempt", attempt, "status", status, "wait", wait)
				if err := c.sleep(ctx, wait); err != nil {
					return nil, err
				}
				continue
			}
			if !safe {
				se.Note = "the call may or may not have been carried out"
			} else {
				se.Note = fmt.Sprintf("after %d attempts", attempt)
			}
			switch status {
			case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				// The system (or the gateway before it) cannot serve now:
				// not this record's fault.
				return nil, connector.Unavailable(se)
			}
			return nil, connector.Temporary(se)
		}
		return nil, classify(se)
	}
}

// classed is an answer outside 2xx with its class (ErrRejected, …). Its
// text is made when it is read, so that a caller may still add a note.
type classed struct {
	*StatusError
	class error
}

func (e *classed) Error() string   { return e.StatusError.Error() + " (" + e.class.Error() + ")" }
func (e *classed) Unwrap() []error { return []error{e.StatusError, e.class} }

// classify wraps an answer outside 2xx (other than 429 and 5xx) in the
// class the engine acts on.
func classify(e *StatusError) error {
	switch e.Status {
	case http.StatusNotFound, http.StatusGone:
		return &classed{e, connector.ErrNotFound}
	case http.StatusPreconditionFailed:
		return &classed{e, connector.ErrConflict}
	case http.StatusMethodNotAllowed:
		e.Note = "the system does not take this method here; check the datatype's method settings"
		return &classed{e, connector.ErrNotSupported}
	case http.StatusUnauthorized, http.StatusForbidden:
		// Not the record's fault: the engine retries, the user fixes settings.auth.
		e.Note = "check settings.auth"
		return connector.Temporary(e)
	}
	// 400, 409, 422 and the other 4xx: this record, as sent, will not do
	// (a validation rule, a conflict with the system's state).
	return &classed{e, connector.ErrRejected}
}

// statusError reads what the system says in an error answer.
func (c *client) statusError(cl call, status int, body []byte) *StatusError {
	return &StatusError{System: c.system, Datatype: cl.datatype, Method: cl.method, URL: cl.url, Status: status,
		Message: errorMessage(c.cfg, body)}
}

// Where systems commonly put an error's message and its details.
var (
	messagePaths = []string{"message", "error.message", "error_description", "error", "detail", "title", "errors.0.message", "Message"}
	detailPaths  = []string{"errors", "error.field", "error.details", "details", "fields"}
)

// errorMessage is the system's message in an error body, with its details
// (the fields that are wrong), or the start of the body when it is not
// JSON.
func errorMessage(cfg *Config, body []byte) string {
	doc, err := decodeJSON(body)
	if err != nil {
		return shown(body)
	}
	msg := ""
	pick := func(p fieldPath) bool {
		if v, ok := p.get(doc); ok {
			if s, isStr := v.(string); isStr && strings.TrimSpace(s) != "" {
				msg = strings.TrimSpace(s)
				return true
			}
		}
		return false
	}
	if cfg.ErrorMessage.set() {
		pick(cfg.ErrorMessage)
	} else {
		for _, t := range messagePaths {
			p, _ := parsePath(t, "")
			if pick(p) {
				break
			}
		}
	}
	detail := ""
	addDetail := func(p fieldPath) bool {
		v, ok := p.get(doc)
		if !ok || v == nil {
			return false
		}
		if s, isStr := v.(string); isStr {
			if s == "" {
				return false
			}
			detail = "field " + s
			return true
		}
		v = without(v, msg)
		if v == nil {
			return false
		}
		j, err := encodeJSON(v)
		if err != nil {
			return false
		}
		detail = string(j)
		return true
	}
	if cfg.ErrorDetail.set() {
		addDetail(cfg.ErrorDetail)
	} else {
		for _, t := range detailPaths {
			p, _ := parsePath(t, "")
			if addDetail(p) {
				break
			}
		}
	}
	switch {
	case msg == "" && detail == "":
		return shown(body)
	case detail == "":
		return msg
	case msg == "":
		return detail
	}
	return msg + " (" + detail + ")"
}

// without is v without the members that repeat msg, nil when nothing else
// is left: details that only say the message again are not shown.
func without(v any, msg string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if s, ok := e.(string); ok && s == msg {
				continue
			}
			if e = without(e, msg); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, e := range x {
			if e = without(e, msg); e != nil {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if x == msg || x == "" {
			return nil
		}
	}
	return v
}

// shown is the start of a body, for an error message.
func shown(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > maxShown {
		s = s[:maxShown] + "…"
	}
	return strconv.Quote(s)
}

// backoff is the wait before attempt+1: exponential, with jitter.
func (c *client) backoff(attempt int) time.Duration {
	d := backoffBase << (attempt - 1)
	if d > backoffCap || d <= 0 {
		d = backoffCap
	}
	return time.Duration(float64(d) * (0.5 + c.jitter()/2))
}

// retryAfter reads Retry-After: seconds or an HTTP date; def without one.
func retryAfter(h http.Header, now time.Time, def time.Duration) time.Duration {
	if d, ok := pace.RetryAfter(h, now); ok {
		return d
	}
	return def
}
