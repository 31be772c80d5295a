package webcrm

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLoginTakesTheAuthCodeAsFormMultipartOrHeader(t *testing.T) {
	sb := startSandbox(t, Options{})
	code := sb.srv.APIToken()
	multipartLogin := func() *http.Request {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("authCode", code)
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, "/Auth/ApiLogin", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return req
	}
	headerLogin := func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, "/Auth/ApiLogin", nil)
		req.Header.Set("authCode", code)
		return req
	}
	for name, req := range map[string]*http.Request{
		"url-encoded form": loginForm(code),
		"multipart form":   multipartLogin(),
		"header":           headerLogin(),
	} {
		t.Run(name, func(t *testing.T) {
			tok := sb.loginWith(sb.at(req))
			if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.RefreshToken == "" || tok.Error != "" {
				t.Errorf("token answer %+v, want a Bearer token for 3600 s with a refresh token", tok)
			}
			if a := sb.callAs(tok.AccessToken, http.MethodGet, "/Organisations", nil); a.status != http.StatusOK {
				t.Errorf("the new token does not work: %s", a)
			}
		})
	}
}

func TestLoginRefusesAWrongOrMissingAuthCode(t *testing.T) {
	sb := startSandbox(t, Options{})
	for name, code := range map[string]string{"wrong": "00000000-0000-4000-8000-000000000000", "missing": ""} {
		t.Run(name, func(t *testing.T) {
			a := sb.send(sb.at(loginForm(code)))
			var tok tokenAnswer
			a.decode(t, &tok)
			if a.status != http.StatusBadRequest || !tok.IsError || tok.Error == "" || tok.ErrorDescription == "" || tok.AccessToken != "" {
				t.Errorf("got %s, want 400 with IsError, Error and ErrorDescription", a)
			}
		})
	}
}

func TestAccessTokenIsValidForOneHour(t *testing.T) {
	sb := startSandbox(t, Options{})
	sb.clock.Advance(time.Hour - time.Second)
	wantStatus(t, sb.call(http.MethodGet, "/Organisations", nil), http.StatusOK)
	sb.clock.Advance(time.Second)
	a := sb.call(http.MethodGet, "/Organisations", nil)
	wantStatus(t, a, http.StatusUnauthorized)
	a.apiError(t)
	if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate %q, want a Bearer challenge", a.header.Get("WWW-Authenticate"))
	}
}

func TestCallsWithoutAValidBearerTokenAre401(t *testing.T) {
	sb := startSandbox(t, Options{})
	for name, token := range map[string]string{"none": "", "unknown": "not-a-token"} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/Organisations", "/Persons/1", "/Queries?script=SELECT+*+FROM+Person", "/Products/Hooks"} {
				wantStatus(t, sb.callAs(token, http.MethodGet, path, nil), http.StatusUnauthorized)
			}
		})
	}
}

func TestRefreshIssuesANewAccessToken(t *testing.T) {
	sb := startSandbox(t, Options{})
	first := sb.loginWith(sb.at(loginForm(sb.srv.APIToken())))
	sb.clock.Advance(50 * time.Minute)

	byHeader, _ := http.NewRequest(http.MethodPost, "/Auth/ApiRefresh", nil)
	byHeader.Header.Set("refreshToken", first.RefreshToken)
	byForm, _ := http.NewRequest(http.MethodPost, "/Auth/ApiRefresh", strings.NewReader(url.Values{"refreshToken": {first.RefreshToken}}.Encode()))
	byForm.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	for name, req := range map[string]*http.Request{"header": byHeader, "form": byForm} {
		t.Run(name, func(t *testing.T) {
			tok := sb.loginWith(sb.at(req))
			if tok.AccessToken == first.AccessToken {
				t.Fatal("refresh returned the old access token")
			}
			sb.clock.Advance(30 * time.Minute) // past the first token's hour
			wantStatus(t, sb.callAs(first.AccessToken, http.MethodGet, "/Users", nil), http.StatusUnauthorized)
			wantStatus(t, sb.callAs(tok.AccessToken, http.MethodGet, "/Users", nil), http.StatusOK)
		})
	}

	bad, _ := http.NewRequest(http.MethodPost, "/Auth/ApiRefresh", nil)
	bad.Header.Set("refreshToken", "unknown")
	wantStatus(t, sb.send(sb.at(bad)), http.StatusBadRequest)
}

func TestASeedGivesTheSameAPIToken(t *testing.T) {
	a, b := New(Options{Seed: 42}), New(Options{Seed: 42})
	defer a.Close()
	defer b.Close()
	if a.APIToken() != b.APIToken() {
		t.Errorf("tokens %s and %s differ under one seed", a.APIToken(), b.APIToken())
	}
	if len(a.APIToken()) != 36 || strings.Count(a.APIToken(), "-") != 4 {
		t.Errorf("token %q is not a GUID", a.APIToken())
	}
	c := New(Options{AuthCode: "fixed"})
	defer c.Close()
	if c.APIToken() != "fixed" {
		t.Errorf("token %q, want the one given", c.APIToken())
	}
}
