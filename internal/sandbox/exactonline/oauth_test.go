package exactonline

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// authorize walks the browser part of the code grant and returns the code.
func (sb *sandbox) authorize(clientID, redirect, state string) (code string, back url.Values) {
	sb.t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u := sb.url + "/api/oauth2/auth?" + url.Values{
		"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {state},
	}.Encode()
	resp, err := noFollow.Get(u)
	if err != nil {
		sb.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		sb.t.Fatalf("authorize: %d, want a redirect", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect) {
		sb.t.Fatalf("authorize redirected to %q, not to %q", resp.Header.Get("Location"), redirect)
	}
	return loc.Query().Get("code"), loc.Query()
}

func TestAuthorizationCodeGrantIssuesTokensOnce(t *testing.T) {
	sb := startSandbox(t, Options{})
	creds := sb.IssueCredentials()
	redirect := "https://connector.example/callback"
	code, back := sb.authorize(creds.ClientID, redirect, "xyz")
	if code == "" || back.Get("state") != "xyz" {
		t.Fatalf("redirect carries code %q and state %q", code, back.Get("state"))
	}
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret},
	}
	tok := sb.token(form)
	if tok.status != 200 {
		t.Fatalf("code exchange: %d %s", tok.status, tok.body)
	}
	if tok.json["expires_in"] != "600" || tok.json["token_type"] != "bearer" || tok.json["access_token"] == "" || tok.json["refresh_token"] == "" {
		t.Errorf("token response %s: want expires_in the string \"600\", token_type bearer, both tokens", tok.body)
	}
	if again := sb.token(form); again.status != 400 || again.json["error"] != "invalid_grant" {
		t.Errorf("a code used twice: %d %s, want 400 invalid_grant", again.status, again.body)
	}

	c := &client{sb: sb, access: tok.json["access_token"].(string)}
	if me := c.get("/api/v1/current/Me"); me.status != 200 {
		t.Errorf("Me with the new access token: %d %s", me.status, me.body)
	}
}

func TestAuthorizationCodeIsRefusedForAnotherRedirectOrWhenExpired(t *testing.T) {
	sb := startSandbox(t, Options{})
	creds := sb.IssueCredentials()
	code, _ := sb.authorize(creds.ClientID, "https://a.example/cb", "")
	tok := sb.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://b.example/cb"},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}})
	if tok.status != 400 || tok.json["error"] != "invalid_grant" {
		t.Errorf("another redirect_uri: %d %s", tok.status, tok.body)
	}
	code, _ = sb.authorize(creds.ClientID, "https://a.example/cb", "")
	sb.clock.Advance(11 * time.Minute)
	tok = sb.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://a.example/cb"},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}})
	if tok.status != 400 || tok.json["error"] != "invalid_grant" {
		t.Errorf("an expired code: %d %s", tok.status, tok.body)
	}
}

func TestRefreshRotatesTheRefreshTokenAndVoidsTheOld(t *testing.T) {
	sb := startSandbox(t, Options{})
	creds := sb.IssueCredentials()
	refresh := func(rt string) tokenReply {
		return sb.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
			"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}})
	}
	first := refresh(creds.RefreshToken)
	if first.status != 200 {
		t.Fatalf("first refresh of issued credentials: %d %s", first.status, first.body)
	}
	rt2 := first.json["refresh_token"].(string)
	if rt2 == creds.RefreshToken {
		t.Fatal("the refresh token did not change")
	}
	sb.clock.Advance(570 * time.Second)
	second := refresh(rt2)
	if second.status != 200 {
		t.Fatalf("refresh after 570 s: %d %s", second.status, second.body)
	}
	if old := refresh(rt2); old.status != 400 || old.json["error"] != "invalid_grant" || !strings.Contains(old.body, "Old refresh token") {
		t.Errorf("a replaced refresh token: %d %s, want 400 invalid_grant", old.status, old.body)
	}
	if oldest := refresh(creds.RefreshToken); oldest.status != 400 {
		t.Errorf("the first refresh token: %d %s, want 400", oldest.status, oldest.body)
	}
}

func TestRefreshingTooEarlyIsRefusedWithReason(t *testing.T) {
	sb := startSandbox(t, Options{})
	creds := sb.IssueCredentials()
	refresh := func(rt string) tokenReply {
		return sb.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
			"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}})
	}
	first := refresh(creds.RefreshToken)
	rt := first.json["refresh_token"].(string)
	sb.clock.Advance(569 * time.Second)
	early := refresh(rt)
	if early.status != 400 || early.json["error"] != "access_denied" ||
		early.json["error_description"] != "Rate limit exceeded: access_token not expired" ||
		early.header.Get("Reason") != "TooEarlyToRefreshTokens" {
		t.Fatalf("refresh after 569 s: %d %v Reason=%q", early.status, early.json, early.header.Get("Reason"))
	}
	sb.clock.Advance(time.Second)
	if late := refresh(rt); late.status != 200 {
		t.Errorf("the same refresh token once 570 s passed: %d %s (a too-early refusal must not void it)", late.status, late.body)
	}
}

func TestAccessTokensLastTenMinutes(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	sb.clock.Advance(599 * time.Second)
	if r := c.get("/api/v1/current/Me"); r.status != 200 {
		t.Fatalf("after 599 s: %d", r.status)
	}
	sb.clock.Advance(time.Second)
	r := c.get("/api/v1/current/Me")
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("after 600 s: %d, want 401 with WWW-Authenticate", r.status)
	}
	r.message(t)
	if r.header.Get("X-RateLimit-Limit") != "" {
		t.Error("a 401 carries rate-limit headers")
	}
}

func TestRefreshTokenLapsesAfterThirtyDaysUnused(t *testing.T) {
	sb := startSandbox(t, Options{})
	creds := sb.IssueCredentials()
	sb.clock.Advance(30 * 24 * time.Hour)
	tok := sb.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {creds.RefreshToken},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}})
	if tok.status != 400 || tok.json["error"] != "invalid_grant" {
		t.Errorf("refresh after 30 idle days: %d %s", tok.status, tok.body)
	}
}

func TestClientMayAuthenticateWithBasicAuth(t *testing.T) {
	sb := startSandbox(t, Options{})
	creds := sb.IssueCredentials()
	req, _ := http.NewRequest(http.MethodPost, sb.url+"/api/oauth2/token",
		strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {creds.RefreshToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(creds.ClientID, creds.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("basic auth: %d", resp.StatusCode)
	}
	bad := sb.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {creds.ClientID}, "client_secret": {"wrong"}})
	if bad.status != 401 || bad.json["error"] != "invalid_client" {
		t.Errorf("a wrong secret: %d %s", bad.status, bad.body)
	}
}

func TestTokenEndpointHasItsOwnDailyLimit(t *testing.T) {
	sb := startSandbox(t, Options{TokenDailyLimit: 3})
	creds := sb.IssueCredentials()
	rt := creds.RefreshToken
	for i := 0; i < 3; i++ {
		tok := sb.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
			"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}})
		if tok.status != 200 {
			t.Fatalf("token call %d: %d %s", i+1, tok.status, tok.body)
		}
		rt = tok.json["refresh_token"].(string)
		sb.clock.Advance(10 * time.Minute)
	}
	over := sb.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}})
	if over.status != http.StatusTooManyRequests {
		t.Errorf("fourth token call of the day: %d %s, want 429", over.status, over.body)
	}
	sb.clock.Advance(24 * time.Hour)
	next := sb.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}})
	if next.status != 200 {
		t.Errorf("the next day: %d %s", next.status, next.body)
	}
}

func TestMeTellsTheCurrentDivision(t *testing.T) {
	sb := startSandbox(t, Options{Division: 441700})
	c := sb.login()
	rows := c.get("/api/v1/current/Me").rows(t)
	if len(rows) != 1 {
		t.Fatalf("Me: %d rows", len(rows))
	}
	me := rows[0]
	if num(t, me["CurrentDivision"]) != 441700 || me["UserID"] == "" || me["Email"] == "" || me["FullName"] == "" {
		t.Errorf("Me: %v", me)
	}
	if _, ok := me["__metadata"].(map[string]any); !ok {
		t.Error("Me row has no __metadata")
	}
	if r := c.get("/api/v1/999/crm/Accounts?$filter=Name eq 'x'"); r.status != http.StatusForbidden {
		t.Errorf("another division: %d, want 403", r.status)
	}
}
