package webcrm

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// TokenLifetime is how long an access token is valid, as on the service.
const TokenLifetime = time.Hour

// tokenResponse is the body of /Auth/ApiLogin and /Auth/ApiRefresh.
type tokenResponse struct {
	AccessToken      *string `json:"AccessToken"`
	RefreshToken     *string `json:"RefreshToken"`
	ExpiresIn        int64   `json:"ExpiresIn"`
	TokenType        *string `json:"TokenType"`
	IsError          bool    `json:"IsError"`
	Error            *string `json:"Error"`
	ErrorDescription *string `json:"ErrorDescription"`
}

// tokens holds the access and refresh tokens handed out. They live in
// memory only: after a restart every client logs in again.
type tokens struct {
	mu      sync.Mutex
	access  map[string]accessToken
	refresh map[string]string // refresh token → the auth code it was issued for
}

type accessToken struct {
	authCode string
	expires  time.Time
}

func newTokens() *tokens {
	return &tokens{access: map[string]accessToken{}, refresh: map[string]string{}}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// issue hands out an access token for authCode, and a refresh token unless
// one is given to keep.
func (t *tokens) issue(authCode, refresh string, now time.Time) tokenResponse {
	t.mu.Lock()
	defer t.mu.Unlock()
	for tok, a := range t.access {
		if !now.Before(a.expires) {
			delete(t.access, tok)
		}
	}
	access := randomToken()
	t.access[access] = accessToken{authCode: authCode, expires: now.Add(TokenLifetime)}
	if refresh == "" {
		refresh = randomToken()
		t.refresh[refresh] = authCode
	}
	typ := "Bearer"
	return tokenResponse{AccessToken: &access, RefreshToken: &refresh, ExpiresIn: int64(TokenLifetime / time.Second), TokenType: &typ}
}

// check returns the auth code behind a valid access token.
func (t *tokens) check(token string, now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.access[token]
	if !ok {
		return "", false
	}
	if !now.Before(a.expires) {
		delete(t.access, token)
		return "", false
	}
	return a.authCode, true
}

func (t *tokens) refreshed(refresh string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	code, ok := t.refresh[refresh]
	return code, ok
}

// credential reads a login field from a header, a url-encoded form or a
// multipart form; names match without regard to case.
func credential(r *http.Request, name string) string {
	if v := strings.TrimSpace(r.Header.Get(name)); v != "" {
		return v
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "multipart/form-data"):
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return ""
		}
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		if err := r.ParseForm(); err != nil {
			return ""
		}
	default:
		return ""
	}
	for k, vs := range r.PostForm {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return strings.TrimSpace(vs[0])
		}
	}
	return ""
}

func tokenError(w http.ResponseWriter, code, description string) {
	writeJSON(w, http.StatusBadRequest, tokenResponse{IsError: true, Error: &code, ErrorDescription: &description})
}

// handleLogin is POST /Auth/ApiLogin.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	code := credential(r, "authCode")
	switch {
	case code == "":
		tokenError(w, "invalid_request", "Send the API token as the field or header authCode.")
		return
	case !strings.EqualFold(code, s.APIToken()):
		tokenError(w, "invalid_grant", "The API token is not valid.")
		return
	}
	writeJSON(w, http.StatusOK, s.tokens.issue(s.APIToken(), "", s.clock()))
}

// handleRefresh is POST /Auth/ApiRefresh. The refresh token stays valid; a
// new access token is issued.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	refresh := credential(r, "refreshToken")
	if refresh == "" {
		tokenError(w, "invalid_request", "Send the refresh token as the field or header refreshToken.")
		return
	}
	code, ok := s.tokens.refreshed(refresh)
	if !ok || code != s.APIToken() {
		tokenError(w, "invalid_grant", "The refresh token is not valid.")
		return
	}
	writeJSON(w, http.StatusOK, s.tokens.issue(code, refresh, s.clock()))
}

// authorize checks the bearer token of an API call and returns the auth
// code it stands for.
func (s *Server) authorize(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return s.tokens.check(strings.TrimSpace(token), s.clock())
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeError(w, &apiError{status: http.StatusUnauthorized, typ: "UnauthorizedException",
		message: "Authorization has been denied for this request: the access token is missing, unknown or expired. Log in again with /Auth/ApiLogin."})
}
