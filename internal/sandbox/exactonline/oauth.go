package exactonline

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// OAuth2 as Exact Online does it: the authorization code grant, 10-minute
// access tokens, refresh tokens that rotate on every use, a refusal to
// refresh before an access token has lived 9½ minutes, and refresh tokens
// that lapse after 30 days unused.
const (
	accessTokenLife    = 10 * time.Minute
	earliestRefresh    = 570 * time.Second
	refreshTokenIdle   = 30 * 24 * time.Hour
	authCodeLife       = 10 * time.Minute
	sandboxRedirectURI = "http://localhost/oauth/callback"
)

// app is a registered client.
type app struct {
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	WebhookSecret string `json:"webhook_secret"`
}

// grant is one authorization: the chain of refresh tokens that descends
// from one authorization code (or one IssueCredentials call).
type grant struct {
	ClientID     string    `json:"client_id"`
	RefreshToken string    `json:"refresh_token"`
	LastUsed     time.Time `json:"last_used"`              // issue or last refresh
	AccessIssued time.Time `json:"access_issued,omitzero"` // zero: no access token yet
}

type accessToken struct {
	Token    string    `json:"token"`
	ClientID string    `json:"client_id"`
	Expires  time.Time `json:"expires"`
}

type authCode struct {
	clientID    string
	redirectURI string
	expires     time.Time
}

// secret draws an opaque random string of n bytes. Secrets and tokens come
// from crypto/rand even on a seeded server: nothing should depend on them
// being repeatable, and a sandbox left listening should not hand out
// guessable tokens.
func (s *Server) secret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// IssueCredentials authorizes the sandbox's app as its user, as a browser
// login would, and returns a fresh refresh token with everything else a
// connector needs. No access token is issued yet, so the first refresh is
// never too early.
func (s *Server) IssueCredentials() Credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &grant{ClientID: s.app.ClientID, RefreshToken: s.secret(32), LastUsed: s.now()}
	s.grants[g.RefreshToken] = g
	s.dirty = true
	base := cmp.Or(s.baseURL, s.seenBase) // empty until known
	return Credentials{
		ClientID:      s.app.ClientID,
		ClientSecret:  s.app.ClientSecret,
		RedirectURI:   sandboxRedirectURI,
		RefreshToken:  g.RefreshToken,
		Division:      s.division,
		WebhookSecret: s.app.WebhookSecret,
		BaseURL:       base,
		AuthURL:       base + "/api/oauth2/auth",
		TokenURL:      base + "/api/oauth2/token",
		APIURL:        base + "/api/v1",
	}
}

// handleAuthorize stands in for the login page: the user is always logged
// in and always consents, so it redirects straight back with a code.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	clientID, redirect := q.Get("client_id"), q.Get("redirect_uri")
	if g, ok := parseGUID(clientID); ok {
		clientID = g
	}
	s.mu.Lock()
	_, known := s.apps[clientID]
	s.mu.Unlock()
	if !known {
		http.Error(w, "unknown client_id "+q.Get("client_id"), http.StatusBadRequest)
		return
	}
	u, err := url.Parse(redirect)
	if redirect == "" || err != nil || !u.IsAbs() {
		http.Error(w, "redirect_uri must be an absolute URL", http.StatusBadRequest)
		return
	}
	back := u.Query()
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	if rt := q.Get("response_type"); rt != "code" {
		back.Set("error", "unsupported_response_type")
		u.RawQuery = back.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	s.mu.Lock()
	code := s.secret(24)
	s.codes[code] = &authCode{clientID: clientID, redirectURI: redirect, expires: s.now().Add(authCodeLife)}
	s.mu.Unlock()
	back.Set("code", code)
	u.RawQuery = back.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

type tokenError struct {
	status int
	code   string
	desc   string
	reason string // the Reason header, if any
}

func (e *tokenError) write(w http.ResponseWriter) {
	if e.reason != "" {
		w.Header().Set("Reason", e.reason)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"error": e.code, "error_description": e.desc})
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		(&tokenError{http.StatusMethodNotAllowed, "invalid_request", "use POST", ""}).write(w)
		return
	}
	if err := r.ParseForm(); err != nil {
		(&tokenError{http.StatusBadRequest, "invalid_request", "the body is not a form: " + err.Error(), ""}).write(w)
		return
	}
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if g, ok := parseGUID(clientID); ok {
		clientID = g
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a := s.apps[clientID]
	if a == nil || subtle.ConstantTimeCompare([]byte(a.ClientSecret), []byte(secret)) != 1 {
		(&tokenError{http.StatusUnauthorized, "invalid_client", "unknown client or wrong client secret", ""}).write(w)
		return
	}
	if !s.limits.tokenCall(clientID, now) {
		(&tokenError{http.StatusTooManyRequests, "access_denied", "Rate limit exceeded: too many token requests today", ""}).write(w)
		return
	}
	var g *grant
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		code := r.PostForm.Get("code")
		c := s.codes[code]
		delete(s.codes, code) // single use, whatever happens next
		switch {
		case c == nil || c.clientID != clientID:
			(&tokenError{http.StatusBadRequest, "invalid_grant", "unknown or already used authorization code", ""}).write(w)
			return
		case !now.Before(c.expires):
			(&tokenError{http.StatusBadRequest, "invalid_grant", "authorization code expired", ""}).write(w)
			return
		case r.PostForm.Get("redirect_uri") != c.redirectURI:
			(&tokenError{http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the one the code was issued for", ""}).write(w)
			return
		}
		g = &grant{ClientID: clientID}
	case "refresh_token":
		var terr *tokenError
		g, terr = s.refreshGrant(clientID, r.PostForm.Get("refresh_token"), now)
		if terr != nil {
			terr.write(w)
			return
		}
	default:
		(&tokenError{http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token", ""}).write(w)
		return
	}
	// Rotate: a new refresh token replaces the old one, which is void.
	if g.RefreshToken != "" {
		delete(s.grants, g.RefreshToken)
		s.voided[g.RefreshToken] = true
	}
	g.RefreshToken = s.secret(32)
	g.LastUsed, g.AccessIssued = now, now
	s.grants[g.RefreshToken] = g
	at := &accessToken{Token: s.secret(32), ClientID: clientID, Expires: now.Add(accessTokenLife)}
	s.access[at.Token] = at
	s.pruneTokens(now)
	s.dirty = true
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]string{
		"access_token":  at.Token,
		"token_type":    "bearer",
		"expires_in":    "600", // a string, as Exact sends it
		"refresh_token": g.RefreshToken,
	})
}

func (s *Server) refreshGrant(clientID, token string, now time.Time) (*grant, *tokenError) {
	g := s.grants[token]
	switch {
	case g == nil && s.voided[token]:
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "Old refresh token used.", ""}
	case g == nil || g.ClientID != clientID:
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "unknown refresh token", ""}
	case now.Sub(g.LastUsed) >= refreshTokenIdle:
		delete(s.grants, token)
		s.voided[token] = true
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", "refresh token expired: unused for 30 days; authorize again", ""}
	case !g.AccessIssued.IsZero() && now.Sub(g.AccessIssued) < earliestRefresh:
		return nil, &tokenError{http.StatusBadRequest, "access_denied", "Rate limit exceeded: access_token not expired", "TooEarlyToRefreshTokens"}
	}
	return g, nil
}

// pruneTokens forgets access tokens that have expired; s.mu is held.
func (s *Server) pruneTokens(now time.Time) {
	for k, t := range s.access {
		if now.Sub(t.Expires) > time.Hour {
			delete(s.access, k)
		}
	}
	for k, c := range s.codes {
		if !now.Before(c.expires) {
			delete(s.codes, k)
		}
	}
}

var (
	errNoToken      = errors.New("no access token: send Authorization: Bearer <access_token>")
	errUnknownToken = errors.New("access token is not valid")
	errExpiredToken = errors.New("access token has expired: refresh it")
)

// authenticate finds the app of the request's bearer token; s.mu is held.
// For an expired token it returns the app too, so that the error counts
// towards the app's error block.
func (s *Server) authenticate(r *http.Request, now time.Time) (*app, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, errNoToken
	}
	at := s.access[strings.TrimSpace(tok)]
	if at == nil {
		return nil, errUnknownToken
	}
	a := s.apps[at.ClientID]
	if a == nil {
		return nil, errUnknownToken
	}
	if !now.Before(at.Expires) {
		return a, errExpiredToken
	}
	return a, nil
}
