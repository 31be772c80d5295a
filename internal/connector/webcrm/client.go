package webcrm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/pace"
)

// Retry policy of one call.
const (
	maxAttempts    = 5 // tries of a call failing with 5xx or a dropped connection
	maxThrottled   = 8 // 429 answers waited out within one call
	backoffBase    = 250 * time.Millisecond
	backoffCap     = 15 * time.Second
	refreshMargin  = 5 * time.Minute // refresh the access token this long before it expires
	maxAnswer      = 256 << 20
	defaultRetryIn = 5 * time.Second // a 429 without Retry-After
)

// client makes the HTTP calls: it logs in, keeps the access token fresh,
// paces calls under the rate limit, retries what is safe to retry and turns
// WebCRM's answers into the connector's error classes.
type client struct {
	base     string
	apiToken string
	http     *http.Client
	log      *slog.Logger
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	pacer    *pace.Window
	jitter   func() float64

	mu      sync.Mutex // guards the tokens; held during a login
	access  string
	refresh string
	expires time.Time

	calls atomic.Int64 // requests sent, logins included
}

// apiError is an error answer of WebCRM.
type apiError struct {
	Method, Path string
	Status       int
	Message      string
	Type         string
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Type != "" {
		return fmt.Sprintf("WebCRM %s %s: %d %s (%s)", e.Method, e.Path, e.Status, msg, e.Type)
	}
	return fmt.Sprintf("WebCRM %s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// classify wraps an error answer in the class the engine acts on.
func classify(e *apiError) error {
	switch {
	case e.Status == http.StatusNotFound:
		return fmt.Errorf("%w: %w", connector.ErrNotFound, e)
	case e.Status == http.StatusMethodNotAllowed:
		return fmt.Errorf("%w: %w", connector.ErrNotSupported, e)
	case e.Status == http.StatusConflict:
		return fmt.Errorf("%w: %w", connector.ErrConflict, e)
	case e.Status == http.StatusBadGateway, e.Status == http.StatusServiceUnavailable, e.Status == http.StatusGatewayTimeout:
		// The service (or a gateway before it) cannot serve now: the
		// system's failure, not the record's (ADR 19).
		return connector.Unavailable(e)
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusUnauthorized,
		e.Status == http.StatusRequestTimeout, e.Status >= 500:
		return connector.Temporary(e)
	default: // 400 validation and the other 4xx: this record, as sent, will not do
		return fmt.Errorf("%w: %w", connector.ErrRejected, e)
	}
}

// idempotent tells whether a call may be sent again after its connection
// dropped: a POST or PATCH that reached the service may have created
// records, so its outcome is left to the engine's insert intents.
func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodPut || method == http.MethodDelete
}

// call makes one API call with a JSON body (nil for none) and returns the
// answer's body. query may be nil.
func (c *client) call(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("WebCRM %s %s: encode the body: %w", method, path, err)
		}
	}
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	relogged := false
	throttled := 0
	for attempt := 1; ; attempt++ {
		token, err := c.token(ctx)
		if err != nil {
			return nil, err
		}
		if err := c.pacer.Wait(ctx); err != nil {
			return nil, connector.Temporary(fmt.Errorf("WebCRM %s %s: waiting for the rate limit: %w", method, path, err))
		}
		req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("WebCRM %s %s: %w", method, path, err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		c.calls.Add(1)
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			err = fmt.Errorf("WebCRM %s %s: %w", method, path, err)
			if !idempotent(method) {
				return nil, connector.Temporary(fmt.Errorf("%w (the call may or may not have been carried out)", err))
			}
			if attempt >= maxAttempts {
				return nil, connector.Temporary(err)
			}
			c.log.Debug("retrying after a connection error", "call", method+" "+path, "attempt", attempt, "err", err)
			if err := c.sleep(ctx, c.backoff(attempt)); err != nil {
				return nil, connector.Temporary(err)
			}
			continue
		}
		answer, rerr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
		if rerr != nil && resp.StatusCode/100 == 2 {
			if !idempotent(method) {
				return nil, connector.Temporary(fmt.Errorf("WebCRM %s %s: reading the answer: %w (the call was carried out)", method, path, rerr))
			}
			if attempt < maxAttempts {
				continue
			}
			return nil, connector.Temporary(fmt.Errorf("WebCRM %s %s: reading the answer: %w", method, path, rerr))
		}
		if resp.StatusCode/100 == 2 {
			return answer, nil
		}
		apiErr := decodeError(method, path, resp.StatusCode, answer)
		switch {
		case resp.StatusCode == http.StatusUnauthorized && !relogged:
			// An access token the service no longer takes (expired early,
			// revoked, the service restarted): log in again, once.
			relogged = true
			c.forget(token)
			c.log.Info("access token refused; logging in again", "call", method+" "+path)
			continue
		case resp.StatusCode == http.StatusTooManyRequests:
			throttled++
			wait := retryAfter(resp.Header, answer)
			if dl, ok := ctx.Deadline(); ok && c.now().Add(wait).After(dl) || throttled > maxThrottled {
				return nil, classify(apiErr)
			}
			c.pacer.Hold(wait)
			c.log.Info("throttled by WebCRM; waiting", "call", method+" "+path, "wait", wait)
			if err := c.sleep(ctx, wait); err != nil {
				return nil, connector.Temporary(err)
			}
			attempt-- // a throttled call was not carried out: it is no failed attempt
			continue
		case resp.StatusCode >= 500 && attempt < maxAttempts:
			// The service answered with an error, so nothing was done; this
			// also covers creates that fail when they follow each other fast.
			wait := c.backoff(attempt)
			if ra := resp.Header.Get("Retry-After"); ra != "" {
				wait = max(wait, retryAfter(resp.Header, nil))
			}
			c.log.Debug("retrying after a server error", "call", method+" "+path, "attempt", attempt, "status", resp.StatusCode, "wait", wait)
			if err := c.sleep(ctx, wait); err != nil {
				return nil, connector.Temporary(err)
			}
			continue
		}
		return nil, classify(apiErr)
	}
}

// backoff is the wait before attempt+1: exponential with full jitter.
func (c *client) backoff(attempt int) time.Duration {
	d := backoffBase << (attempt - 1)
	if d > backoffCap || d <= 0 {
		d = backoffCap
	}
	return time.Duration(float64(d) * (0.5 + c.jitter()/2))
}

func decodeError(method, path string, status int, body []byte) *apiError {
	e := &apiError{Method: method, Path: path, Status: status}
	var b struct{ Message, Type string }
	if json.Unmarshal(body, &b) == nil {
		e.Message, e.Type = b.Message, b.Type
	} else if s := strings.TrimSpace(string(body)); s != "" && len(s) < 500 {
		e.Message = s
	}
	return e
}

// retryAfter reads how long a 429 says to wait: the Retry-After header in
// seconds (or as an HTTP date), else the body's RetryAfterSeconds.
func retryAfter(h http.Header, body []byte) time.Duration {
	if d, ok := pace.RetryAfter(h, time.Now()); ok {
		return max(d, time.Second)
	}
	var b struct{ RetryAfterSeconds int }
	if json.Unmarshal(body, &b) == nil && b.RetryAfterSeconds > 0 {
		return time.Duration(b.RetryAfterSeconds) * time.Second
	}
	return defaultRetryIn
}

// tokenAnswer is the body of /Auth/ApiLogin and /Auth/ApiRefresh.
type tokenAnswer struct {
	AccessToken      string
	RefreshToken     string
	ExpiresIn        int64
	IsError          bool
	Error            string
	ErrorDescription string
}

// token returns an access token valid for a while yet: the one held, a
// refreshed one when it is about to expire, or a new login.
func (c *client) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.access != "" && now.Before(c.expires.Add(-refreshMargin)) {
		return c.access, nil
	}
	if c.refresh != "" && c.access != "" {
		if err := c.authenticate(ctx, "/Auth/ApiRefresh", url.Values{"refreshToken": {c.refresh}}); err == nil {
			return c.access, nil
		} else if ctx.Err() != nil {
			return "", err
		} else {
			c.log.Info("refreshing the access token failed; logging in again", "err", err)
		}
	}
	if err := c.authenticate(ctx, "/Auth/ApiLogin", url.Values{"authCode": {c.apiToken}}); err != nil {
		return "", err
	}
	return c.access, nil
}

// forget drops an access token the service refused, unless another call
// has already replaced it.
func (c *client) forget(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.access == token {
		c.access, c.refresh = "", ""
	}
}

// authenticate posts a login or refresh form and keeps the tokens. The
// caller holds c.mu. Logins are not rate limited by the service, so they
// are not paced; they are retried like reads.
func (c *client) authenticate(ctx context.Context, path string, form url.Values) error {
	var lastErr error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 {
			if err := c.sleep(ctx, c.backoff(attempt-1)); err != nil {
				return connector.Temporary(err)
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
		if err != nil {
			return fmt.Errorf("WebCRM %s: %w", path, err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		c.calls.Add(1)
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			lastErr = connector.Temporary(fmt.Errorf("WebCRM %s: %w", path, err))
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		var t tokenAnswer
		jerr := json.Unmarshal(body, &t)
		switch {
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			lastErr = connector.Temporary(decodeError(http.MethodPost, path, resp.StatusCode, body))
			continue
		case resp.StatusCode/100 != 2 || jerr != nil || t.IsError || t.AccessToken == "":
			what := "logging in with the API token"
			if strings.HasSuffix(path, "ApiRefresh") {
				what = "refreshing the access token"
			}
			reason := strings.TrimSpace(t.Error + ": " + t.ErrorDescription)
			if t.Error == "" && t.ErrorDescription == "" {
				reason = fmt.Sprintf("status %d", resp.StatusCode)
			}
			// Not the record's fault and not solved by waiting either: the
			// engine retries and reports it; the user fixes the token.
			return connector.Temporary(fmt.Errorf("WebCRM %s failed (%s); check the system's api_token", what, reason))
		}
		c.access, c.expires = t.AccessToken, c.now().Add(time.Duration(max(t.ExpiresIn, 60))*time.Second)
		if t.RefreshToken != "" {
			c.refresh = t.RefreshToken
		}
		return nil
	}
	return lastErr
}

func defaultJitter() float64 { return rand.Float64() }
