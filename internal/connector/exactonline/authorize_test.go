package exactonline

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func freeRedirectURI(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/callback"
}

// authSettings are a system's settings before `concord auth exactonline`:
// no refresh token, no division.
func authSettings(e *env, redirect string) map[string]any {
	s := e.settings()
	delete(s, "refresh_token")
	delete(s, "division")
	s["redirect_uri"] = redirect
	return s
}

func TestAuthorizationFlowStoresTokens(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	settings := authSettings(e, freeRedirectURI(t))
	a, err := NewAuthorization("exact", settings, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.now = e.clock.Now
	var out bytes.Buffer
	browser := make(chan error, 1)
	err = a.Run(t.Context(), e.state, AuthorizeOptions{Out: &out, Ready: func(authURL string) {
		// The user's browser: the sandbox logs in at once and sends it
		// back to the redirect URI with a code.
		go func() {
			resp, err := http.Get(authURL)
			if err == nil {
				resp.Body.Close()
			}
			browser <- err
		}()
	}})
	if err != nil {
		t.Fatalf("authorize: %v\n%s", err, out.String())
	}
	if err := <-browser; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "/api/oauth2/auth?") || !strings.Contains(out.String(), "division 3141592") {
		t.Errorf("the instructions:\n%s", out.String())
	}
	// A connector without a refresh_token setting works with what is stored.
	c, err := New(t.Context(), "exact", authSettings(e, settings["redirect_uri"].(string)), e.options())
	if err != nil {
		t.Fatal(err)
	}
	call(t, c)
	if n := e.calls("GET current/Me"); n != 1 {
		t.Errorf("current/Me read %d times, want once (by the authorization, then kept)", n)
	}
}

// For a machine whose browser cannot reach Concord, the user pastes the
// address the browser was sent to.
func TestAuthorizationByPastedAddress(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	settings := authSettings(e, "https://concord.example/callback")
	a, err := NewAuthorization("exact", settings, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.now = e.clock.Now
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if !strings.HasPrefix(line, "http") {
				continue
			}
			noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := noRedirect.Get(line)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			io.WriteString(inW, resp.Header.Get("Location")+"\n")
		}
	}()
	err = a.Run(t.Context(), e.state, AuthorizeOptions{Out: outW, In: inR})
	outW.Close()
	wg.Wait()
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	call(t, e.open(func(s map[string]any) { delete(s, "refresh_token") }))
}

func TestSettingsErrorsSayWhatIsWrong(t *testing.T) {
	base := map[string]any{"client_id": "id", "client_secret": "s"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	t.Setenv("CONCORD_TEST_EMPTY", "")
	t.Setenv("CONCORD_TEST_SECRET", "from-env")
	tests := []struct {
		settings map[string]any
		want     string
	}{
		{with("client_id", nil), "client_id is required"},
		{with("client_secret", nil), "client_secret (or client_secret_env"},
		{with("colour", "blue"), `unknown setting "colour"`},
		{with("division", "abc"), "setting division: want a whole number"},
		{with("base_url", "start.exactonline.nl"), "setting base_url"},
		{with("max_wait", "soon"), "setting max_wait"},
		{with("fields", map[string]any{"Invoices": []any{"X"}}), `unknown datatype "Invoices"`},
		{with("client_secret_env", "CONCORD_TEST_SECRET"), "give one of them"},
		{with("time_zone", "Mars/Olympus"), "time_zone"},
	}
	for _, tc := range tests {
		_, err := ParseSettings("exact", tc.settings)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `system "exact"`) {
			t.Errorf("%v: got %v, want an error about %q", tc.settings, err, tc.want)
		}
	}
	s := with("client_secret", nil)
	s["client_secret_env"] = "CONCORD_TEST_SECRET"
	got, err := ParseSettings("exact", s)
	if err != nil || got.ClientSecret != "from-env" {
		t.Errorf("client_secret_env: %+v %v", got.ClientSecret, err)
	}
	s["client_secret_env"] = "CONCORD_TEST_EMPTY"
	if _, err := ParseSettings("exact", s); err == nil || !strings.Contains(err.Error(), "CONCORD_TEST_EMPTY is empty") {
		t.Errorf("an empty environment variable: %v", err)
	}
}
