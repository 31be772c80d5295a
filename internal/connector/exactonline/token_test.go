package exactonline

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// call makes one API call through c.
func call(t testing.TB, c *Conn) {
	t.Helper()
	if _, err := c.List(t.Context(), "Accounts", connector.ListRequest{Full: true}); err != nil {
		t.Fatalf("call: %v", err)
	}
}

func storedTokens(t testing.TB, e *env) (tokenState, int64) {
	t.Helper()
	raw, ver, err := e.state.GetState(context.Background(), "exact", stateKey)
	if err != nil {
		t.Fatal(err)
	}
	var st tokenState
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			t.Fatal(err)
		}
	}
	return st, ver
}

func writeTokens(t testing.TB, e *env, st tokenState) {
	t.Helper()
	if err := storeTokens(context.Background(), e.state, "exact", st); err != nil {
		t.Fatal(err)
	}
}

func TestTokensRefreshOnlyWhenDue(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	c := e.open()
	call(t, c)
	first, _ := storedTokens(t, e)
	if first.RefreshToken == e.creds.RefreshToken || first.AccessToken == "" {
		t.Fatal("the rotated tokens were not stored")
	}
	e.clock.Advance(5 * time.Minute)
	call(t, c)
	e.clock.Advance(4*time.Minute + 40*time.Second) // 580 s after the refresh
	call(t, c)
	if n := e.calls("POST oauth2/token"); n != 2 {
		t.Fatalf("%d token calls, want 2 (the first, and one once the token was due)", n)
	}
	if e.statuses.get(400) != 0 || e.statuses.get(401) != 0 {
		t.Fatalf("answers: %v (a refresh too early, or an expired token used)", e.statuses.n)
	}
}

// Two connectors (two workers or processes) share the stored tokens: one
// refreshes, the other reads the rotated tokens instead of using the void
// refresh token; when both find the token due at once, one refreshes.
func TestRotatedRefreshTokenIsShared(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	a, b := e.open(), e.open()
	call(t, a)
	call(t, b)
	e.clock.Advance(10 * time.Minute)
	call(t, a)
	call(t, b)
	if n := e.calls("POST oauth2/token"); n != 2 {
		t.Fatalf("%d token calls, want 2: b must use a's rotated tokens", n)
	}

	e.clock.Advance(10 * time.Minute)
	conns := []*Conn{a, b, e.open(), e.open()}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(conns))
	for _, c := range conns {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.List(context.Background(), "Accounts", connector.ListRequest{Full: true})
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.calls("POST oauth2/token"); n != 3 {
		t.Fatalf("%d token calls, want 3: one refresher at a time", n)
	}
}

// An access token that the store holds as valid but Exact has expired is
// refreshed on the 401, once, and the call made again.
func TestExpiredAccessTokenIsRefreshedOn401(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	call(t, e.open())
	st, _ := storedTokens(t, e)
	st.Expires = e.clock.Now().Add(time.Hour) // what a wrong clock would think
	writeTokens(t, e, st)
	e.clock.Advance(11 * time.Minute)

	c := e.open() // a process started later
	call(t, c)
	if n401, n := e.statuses.get(401), e.calls("POST oauth2/token"); n401 != 1 || n != 2 {
		t.Fatalf("%d answers 401 and %d token calls, want 1 and 2", n401, n)
	}
}

// When Exact says a refresh is too early (clocks disagree), the connector
// goes on with the token it has.
func TestTooEarlyRefreshKeepsTheCurrentToken(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	call(t, e.open())
	st, _ := storedTokens(t, e)
	st.Issued, st.Expires = st.Issued.Add(-30*time.Second), st.Expires.Add(-30*time.Second)
	writeTokens(t, e, st)
	e.clock.Advance(550 * time.Second) // 580 s by the stored times, 550 s for Exact

	c := e.open()
	call(t, c)
	if n := e.statuses.get(400); n != 1 {
		t.Fatalf("%d answers 400, want the one refused refresh", n)
	}
	e.clock.Advance(30 * time.Second)
	call(t, c)
	if n := e.calls("POST oauth2/token"); n != 3 {
		t.Fatalf("%d token calls, want 3", n)
	}
	if after, _ := storedTokens(t, e); after.LeaseOwner != "" {
		t.Fatalf("a lease was left behind: %+v", after.LeaseOwner)
	}
}

func TestDeadRefreshTokenAsksToAuthorize(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	call(t, e.open()) // uses the refresh_token setting
	writeTokens(t, e, tokenState{RefreshToken: "void"})
	c := e.open()
	_, err := c.List(t.Context(), "Accounts", connector.ListRequest{})
	if !errors.Is(err, ErrAuthorize) || !connector.IsTemporary(err) || !strings.Contains(err.Error(), "concord auth exactonline --system exact") {
		t.Fatalf("want a temporary error that says to run concord auth exactonline, got %v", err)
	}
	// Every worker sees it at once, without asking Exact again.
	before := e.calls("POST oauth2/token")
	_, err = e.open().Get(t.Context(), "Accounts", "0b5e7a52-1c1e-4d5f-9a39-3f0e8c6c7d11")
	if !errors.Is(err, ErrAuthorize) || e.calls("POST oauth2/token") != before {
		t.Fatalf("a second worker: %v, %d more token calls", err, e.calls("POST oauth2/token")-before)
	}
	// The refresh_token setting, used before, is not tried again.
	if st, _ := storedTokens(t, e); st.Refused == "" {
		t.Fatalf("the refusal is not stored: %+v", st)
	}
}

func TestDivisionIsReadFromMeOnce(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	noDivision := func(s map[string]any) { delete(s, "division") }
	call(t, e.open(noDivision))
	call(t, e.open(noDivision))
	if n := e.calls("GET current/Me"); n != 1 {
		t.Fatalf("current/Me read %d times, want once", n)
	}
}

// A wrong client secret is reported as such and leaves the stored tokens
// alone.
func TestWrongClientSecretKeepsTheTokens(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	call(t, e.open())
	before, _ := storedTokens(t, e)
	e.clock.Advance(10 * time.Minute)
	_, err := e.open(func(s map[string]any) { s["client_secret"] = "wrong" }).List(t.Context(), "Accounts", connector.ListRequest{})
	if err == nil || !strings.Contains(err.Error(), "client_secret") || errors.Is(err, ErrAuthorize) {
		t.Fatalf("want an error about the client secret, got %v", err)
	}
	if after, _ := storedTokens(t, e); after.RefreshToken != before.RefreshToken {
		t.Fatal("a wrong client secret changed the stored refresh token")
	}
	call(t, e.open())
}

// A worker that hangs past its lease may still have used the refresh
// token: the worker that took the lease over and finds the token refused
// waits for the successor instead of declaring the token dead.
func TestTakeoverWaitsForALateSuccessor(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	call(t, e.open())
	e.clock.Advance(10 * time.Minute)
	st, _ := storedTokens(t, e)
	// The hung worker: it took the lease and refreshed, but has not stored
	// the new tokens yet.
	s, err := ParseSettings("exact", e.settings())
	if err != nil {
		t.Fatal(err)
	}
	late, err := postToken(t.Context(), http.DefaultClient, s, e.clock.Now, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {st.RefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	st.LeaseOwner, st.LeaseUntil = "hung-worker", e.clock.Now().Add(-time.Second)
	writeTokens(t, e, st)

	done := make(chan error, 1)
	go func() {
		_, err := e.open().List(context.Background(), "Accounts", connector.ListRequest{})
		done <- err
	}()
	// It stores them late.
	deadline := time.Now().Add(10 * time.Second)
	for e.statuses.get(400) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	writeTokens(t, e, late)
	if err := <-done; err != nil {
		t.Fatalf("the worker that took over: %v", err)
	}
	if after, _ := storedTokens(t, e); after.RefreshToken != late.RefreshToken || after.Refused != "" {
		t.Fatalf("stored after the takeover: %+v", after)
	}
}
