package rest

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// authenticator puts a system's credential on each request.
type authenticator interface {
	apply(ctx context.Context, h http.Header) error
	// renew forgets the credential a request carried that was refused
	// (401) and reports whether a new one may be fetched.
	renew(used http.Header) bool
}

func newAuthenticator(c *client) authenticator {
	a := c.cfg.Auth
	switch a.Type {
	case AuthBearer:
		return staticAuth{header: "Authorization", value: "Bearer " + a.Token}
	case AuthBasic:
		return staticAuth{header: "Authorization", value: "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password))}
	case AuthAPIKey:
		return staticAuth{header: a.Header, value: a.APIKey}
	case AuthOAuth2:
		return &oauth2Auth{c: c, a: a}
	}
	return staticAuth{}
}

// staticAuth sends one header with a fixed value (none when header is "").
type staticAuth struct{ header, value string }

func (s staticAuth) apply(_ context.Context, h http.Header) error {
	if s.header != "" {
		h.Set(s.header, s.value)
	}
	return nil
}

func (staticAuth) renew(http.Header) bool { return false }

// oauth2Auth fetches access tokens with the client credentials grant
// (RFC 6749, section 4.4) and renews them before they expire, or when the
// system refuses one. Tokens are kept in memory only: a new process fetches
// its own, which the grant allows at any time.
type oauth2Auth struct {
	c *client
	a Auth

	mu      sync.Mutex // held during a fetch, so that one call fetches
	token   string
	expires time.Time
	renewAt time.Time
}

func (o *oauth2Auth) apply(ctx context.Context, h http.Header) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.token == "" || !o.c.now().Before(o.renewAt) {
		if err := o.fetch(ctx); err != nil {
			return err
		}
	}
	h.Set("Authorization", "Bearer "+o.token)
	return nil
}

func (o *oauth2Auth) renew(used http.Header) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if used.Get("Authorization") == "Bearer "+o.token {
		o.token = ""
	}
	return true
}

// tokenAnswer is a token endpoint's answer (RFC 6749, sections 5.1, 5.2).
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        any    `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// fetch gets a new access token; o.mu is held.
func (o *oauth2Auth) fetch(ctx context.Context) error {
	form := url.Values{"grant_type": {"client_credentials"}}
	if o.a.Scope != "" {
		form.Set("scope", o.a.Scope)
	}
	if o.a.Audience != "" {
		form.Set("audience", o.a.Audience)
	}
	if o.a.ClientAuth == "body" {
		form.Set("client_id", o.a.ClientID)
		form.Set("client_secret", o.a.ClientSecret)
	}
	where := fmt.Sprintf("system %q: OAuth2 token request to %s", o.c.system, o.a.TokenURL)
	var last error
	for attempt := 1; attempt <= o.c.cfg.MaxAttempts; attempt++ {
		if attempt > 1 {
			if err := o.c.sleep(ctx, o.c.backoff(attempt-1)); err != nil {
				return err
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.a.TokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if o.a.ClientAuth != "body" {
			// RFC 6749, section 2.3.1: the id and secret form-encoded, then basic.
			req.SetBasicAuth(url.QueryEscape(o.a.ClientID), url.QueryEscape(o.a.ClientSecret))
		}
		o.c.calls.Add(1)
		resp, err := o.c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = connector.Temporary(fmt.Errorf("%s: %w", where, err))
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		var t tokenAnswer
		doc, jerr := decodeJSON(body)
		if m, ok := doc.(map[string]any); ok && jerr == nil {
			t.AccessToken, _ = m["access_token"].(string)
			t.TokenType, _ = m["token_type"].(string)
			t.ExpiresIn = m["expires_in"]
			t.Error, _ = m["error"].(string)
			t.ErrorDescription, _ = m["error_description"].(string)
		}
		switch {
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			last = connector.Temporary(fmt.Errorf("%s: %d %s", where, resp.StatusCode, http.StatusText(resp.StatusCode)))
			continue
		case resp.StatusCode/100 != 2 || t.AccessToken == "":
			reason := strings.Trim(t.Error+": "+t.ErrorDescription, ": ")
			if reason == "" {
				reason = fmt.Sprintf("%d %s, %s", resp.StatusCode, http.StatusText(resp.StatusCode), shown(body))
			}
			// Not the record's fault, and not solved by waiting either: the
			// engine retries and reports it; the user fixes the settings.
			return connector.Temporary(fmt.Errorf("%s refused: %s (check settings.auth: token_url, client_id, client_secret, scope)", where, reason))
		case t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer"):
			return fmt.Errorf("%s: token_type %q; only bearer tokens are supported", where, t.TokenType)
		}
		life := time.Hour
		switch x := t.ExpiresIn.(type) {
		case float64:
			life = time.Duration(x) * time.Second
		case string:
			if n, err := strconv.Atoi(x); err == nil {
				life = time.Duration(n) * time.Second
			}
		}
		now := o.c.now()
		o.token, o.expires = t.AccessToken, now.Add(life)
		o.renewAt = o.expires.Add(-min(time.Minute, life/10))
		return nil
	}
	return last
}
