package exactonline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// request is one API call.
type request struct {
	method string
	// path is below /api/v1/{division}/ ("crm/Accounts"), or an absolute
	// path starting with /api/ (a __next link, current/Me).
	path  string
	query string // raw, already encoded
	body  any
	// endpoint names the call's endpoint for the error block and messages.
	endpoint string
	// retry: the call may be repeated after an answer that leaves its
	// outcome unknown (a dropped connection, a 5xx). Reads, PUTs and
	// DELETEs may; a POST may not (the engine's intents cover it).
	retry bool
	write bool
}

// response is an answer with a 2xx status.
type response struct {
	status int
	header http.Header
	body   []byte
}

const maxAttempts = 5

// do makes a call: it waits for the pacer, adds the access token, retries
// what is safe to retry with backoff and jitter, refreshes once on a 401,
// waits out a 429, and maps the rest to the connector's error classes.
func (c *Conn) do(ctx context.Context, r request) (*response, error) {
	u, err := c.url(ctx, r)
	if err != nil {
		return nil, err
	}
	var payload []byte
	if r.body != nil {
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("exactonline: encode %s %s: %w", r.method, r.endpoint, err)
		}
	}
	sum := sha256.Sum256(payload)
	fingerprint := r.method + " " + u + " " + hex.EncodeToString(sum[:8])
	what := r.method + " " + r.endpoint
	reauthorized := false
	var lastErr error
	lastStatus := 0
	for attempt := 0; ; attempt++ {
		if attempt >= maxAttempts {
			return nil, unavailableOr(lastStatus, fmt.Errorf("exactonline system %q: %s: gave up after %d attempts: %w", c.system, what, attempt, lastErr))
		}
		if err := c.pacer.reserve(ctx, r.endpoint, fingerprint, r.write); err != nil {
			c.saveBudget(ctx) // writes may just have been held
			return nil, err
		}
		tok, err := c.tokens.token(ctx)
		if err != nil {
			c.pacer.done(r.endpoint, 0, nil)
			return nil, err
		}
		status, header, body, err := c.send(ctx, r.method, u, payload, tok)
		c.pacer.done(r.endpoint, status, header)
		c.saveBudget(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = err
			if !r.retry {
				return nil, connector.Temporary(fmt.Errorf("exactonline system %q: %s: %w (the outcome is unknown; Concord checks on its next read)", c.system, what, err))
			}
			if err := c.backoff(ctx, attempt); err != nil {
				return nil, err
			}
			continue
		}
		switch {
		case status >= 200 && status < 300:
			return &response{status: status, header: header, body: body}, nil
		case status == http.StatusUnauthorized:
			c.tokens.unauthorized(tok)
			if reauthorized {
				return nil, c.tokens.needAuth("the API refused a freshly refreshed access token (401: " + exactMessage(body) + ")")
			}
			reauthorized = true
			attempt-- // the refresh is not a retry
			continue
		case status == http.StatusTooManyRequests:
			wait := c.pacer.throttled(r.endpoint, header)
			lastErr = fmt.Errorf("429 %s", exactMessage(body))
			if wait > c.s.MaxWait {
				return nil, connector.Throttled(fmt.Errorf("exactonline system %q: %s: rate limited (%s); retry in %s", c.system, what, exactMessage(body), wait.Round(time.Second)))
			}
			if err := c.sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		case status >= 500:
			lastErr, lastStatus = fmt.Errorf("%d %s", status, exactMessage(body)), status
			if !r.retry {
				return nil, unavailableOr(status, fmt.Errorf("exactonline system %q: %s: %w", c.system, what, lastErr))
			}
			if err := c.backoff(ctx, attempt); err != nil {
				return nil, err
			}
			continue
		}
		err = c.failure(what, status, body)
		c.pacer.remember(fingerprint, err)
		return nil, err
	}
}

// failure maps a 4xx answer to the connector's error classes.
func (c *Conn) failure(what string, status int, body []byte) error {
	msg := exactMessage(body)
	base := fmt.Sprintf("exactonline system %q: %s: %d %s", c.system, what, status, msg)
	switch status {
	case http.StatusNotFound:
		return fmt.Errorf("%s: %w", base, connector.ErrNotFound)
	case http.StatusMethodNotAllowed:
		return fmt.Errorf("%s: %w", base, connector.ErrNotSupported)
	case http.StatusForbidden:
		return fmt.Errorf("%s (the Exact user lacks the right for this, or the division is wrong): %w", base, connector.ErrRejected)
	}
	return fmt.Errorf("%s: %w", base, connector.ErrRejected)
}

func (c *Conn) send(ctx context.Context, method, u string, payload []byte, tok string) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.s.Timeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPost {
		req.Header.Set("Prefer", "return=representation")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, resp.Header, nil, err
	}
	return resp.StatusCode, resp.Header, body, nil
}

// backoff sleeps before retry attempt+1: exponential with jitter.
func (c *Conn) backoff(ctx context.Context, attempt int) error {
	d := 500 * time.Millisecond << attempt
	d = min(d, 10*time.Second)
	d += time.Duration(rand.Int64N(int64(d) / 2))
	return c.sleep(ctx, d)
}

// url builds the call's URL. Links from the API (__next) are followed by
// their path and query only, against base_url, so that a token never goes
// to another host.
func (c *Conn) url(ctx context.Context, r request) (string, error) {
	p := r.path
	if !strings.HasPrefix(p, "/api/") {
		div, err := c.division(ctx)
		if err != nil {
			return "", err
		}
		p = "/api/v1/" + strconv.Itoa(div) + "/" + p
	}
	u := c.s.BaseURL + p
	if r.query != "" {
		u += "?" + r.query
	}
	return u, nil
}

// relativeLink returns the path and query of a link the API gave, or an
// error when it does not point into the REST API.
func relativeLink(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(u.Path, "/api/v1/") {
		return "", fmt.Errorf("exactonline: unexpected __next link %q", link)
	}
	if u.RawQuery == "" {
		return u.EscapedPath(), nil
	}
	return u.EscapedPath() + "?" + u.RawQuery, nil
}

// query encodes OData options; $ and the quotes of literals stay readable.
func query(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(kv[i+1]), "+", "%20"))
	}
	return b.String()
}

// exactMessage reads Exact's error envelope
// {"error":{"code":"","message":{"lang":"","value":"…"}}}, or gives the
// body's start.
func exactMessage(body []byte) string {
	var env struct {
		Error struct {
			Message struct {
				Value string `json:"value"`
			} `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error.Message.Value != "" {
		return env.Error.Message.Value
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// rows reads the d of an answer: a list {"results":[…],"__next":…}, an
// array, or one object — Exact answers a read by key in all three shapes.
func rows(body []byte) (out []map[string]any, next string, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var env struct {
		D json.RawMessage `json:"d"`
	}
	if err := dec.Decode(&env); err != nil {
		return nil, "", fmt.Errorf("exactonline: the answer is not JSON: %w", err)
	}
	if len(env.D) == 0 {
		return nil, "", errors.New("exactonline: the answer has no d")
	}
	decode := func(raw []byte, v any) error {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		return d.Decode(v)
	}
	switch bytes.TrimSpace(env.D)[0] {
	case '[':
		err = decode(env.D, &out)
		return out, "", err
	case '{':
		var obj map[string]any
		if err := decode(env.D, &obj); err != nil {
			return nil, "", err
		}
		res, isList := obj["results"].([]any)
		if !isList {
			return []map[string]any{obj}, "", nil
		}
		for _, r := range res {
			m, ok := r.(map[string]any)
			if !ok {
				return nil, "", errors.New("exactonline: a result row is not an object")
			}
			out = append(out, m)
		}
		next, _ = obj["__next"].(string)
		return out, next, nil
	}
	return nil, "", errors.New("exactonline: d is neither an object nor an array")
}

// unavailableOr classes a failure after a server error: the service (or a
// gateway before it) saying it cannot serve now (502, 503, 504) is the
// system's failure, not the record's (connector.Unavailable); anything else
// is temporary.
func unavailableOr(status int, err error) error {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return connector.Unavailable(err)
	}
	return connector.Temporary(err)
}
