package exactonline

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDataSurvivesARestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "exact.json")
	clk := newClock()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	sb := startSandbox(t, Options{DataFile: file, Now: clk.Now, Logger: quiet})
	c := sb.login()
	acc := sb.seedAccount("Blijvend")
	item := sb.seedItem("KEEP", 4.5)
	c.mustCreate("salesorder/SalesOrders", map[string]any{"OrderedBy": acc, "SalesOrderLines": []any{map[string]any{"Item": item, "Quantity": 2}}})
	c.mustCreate("webhooks/WebhookSubscriptions", map[string]any{"CallbackURL": "https://example.com/hook", "Topic": "Items"})
	c.mustCreate("logistics/SalesItemPrices", map[string]any{"Item": item, "Price": 4.75})
	gone := sb.seedAccount("Weg")
	if err := sb.Delete("Accounts", gone); err != nil {
		t.Fatal(err)
	}
	creds := sb.IssueCredentials()
	rowver := sb.RowVersion()
	want := map[string][]map[string]any{}
	for _, e := range []string{"Accounts", "Items", "SalesItemPrices", "SalesOrders", "SalesOrderLines"} {
		want[e] = sb.Records(e)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}

	again, err := New(Options{DataFile: file, Now: clk.Now, Logger: quiet})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer again.Close()
	for e, rows := range want {
		if got := again.Records(e); !reflect.DeepEqual(got, rows) {
			t.Errorf("%s after restart:\n got %v\nwant %v", e, got, rows)
		}
	}
	if again.RowVersion() != rowver || again.Division() != sb.Division() {
		t.Errorf("row version %d division %d, want %d %d", again.RowVersion(), again.Division(), rowver, sb.Division())
	}
	if got := again.IssueCredentials(); got.ClientID != creds.ClientID || got.ClientSecret != creds.ClientSecret || got.WebhookSecret != creds.WebhookSecret {
		t.Errorf("the app changed across the restart")
	}

	// The connector's stored refresh token still works, deletions are
	// still reported, and new row versions continue upwards.
	sb2 := &sandbox{Server: again, t: t, clock: clk}
	ts := newHTTPServer(t, again)
	sb2.url = ts
	again.SetBaseURL(ts)
	tok := sb2.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {creds.RefreshToken},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}})
	if tok.status != 200 {
		t.Fatalf("refresh token from before the restart: %d %s", tok.status, tok.body)
	}
	c2 := &client{sb: sb2, access: tok.json["access_token"].(string)}
	if rows := c2.get("sync/Deleted?$select=EntityKey").rows(t); len(rows) != 1 || rows[0]["EntityKey"] != gone {
		t.Errorf("sync/Deleted after restart: %v", rows)
	}
	if rows := c2.get("webhooks/WebhookSubscriptions").rows(t); len(rows) != 1 {
		t.Errorf("%d subscriptions after restart", len(rows))
	}
	sb2.seedAccount("Later")
	if again.RowVersion() != rowver+1 {
		t.Errorf("row version %d after one change, want %d", again.RowVersion(), rowver+1)
	}
}

func newHTTPServer(t *testing.T, s *Server) string {
	t.Helper()
	hs := &http.Server{Handler: s.Handler()}
	ln, err := listenLocal()
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}

func TestChangesAreSavedWithoutClose(t *testing.T) {
	file := filepath.Join(t.TempDir(), "exact.json")
	sb := startSandbox(t, Options{DataFile: file, SaveInterval: 5 * time.Millisecond})
	sb.seedAccount("Vroeg")
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, err := os.ReadFile(file)
		if err == nil && strings.Contains(string(data), "Vroeg") {
			var snap map[string]any
			if err := json.Unmarshal(data, &snap); err != nil {
				t.Fatalf("saved file is not JSON: %v", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the change was not saved within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestABrokenDataFileIsReported(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "exact.json")
	os.WriteFile(file, []byte("{not json"), 0o644)
	if _, err := New(Options{DataFile: file}); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("broken file: %v", err)
	}
	os.WriteFile(file, []byte(`{"version":1,"division":5}`), 0o644)
	if _, err := New(Options{DataFile: file, Division: 6}); err == nil || !strings.Contains(err.Error(), "division 5") {
		t.Errorf("another division: %v", err)
	}
}

func TestListenAndServeStopsCleanlyAndSaves(t *testing.T) {
	file := filepath.Join(t.TempDir(), "exact.json")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan Credentials, 1)
	done := make(chan error, 1)
	go func() {
		done <- ListenAndServe(ctx, "127.0.0.1:0", Options{DataFile: file, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
			func(srv *Server, base string) { ready <- srv.IssueCredentials() })
	}()
	var creds Credentials
	select {
	case creds = <-ready:
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	}
	if !strings.HasPrefix(creds.BaseURL, "http://127.0.0.1:") || creds.TokenURL != creds.BaseURL+"/api/oauth2/token" || creds.RefreshToken == "" {
		t.Fatalf("credentials %+v", creds)
	}
	resp, err := http.PostForm(creds.TokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {creds.RefreshToken},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("refresh against the listener: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenAndServe returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ListenAndServe did not stop")
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("no data file after shutdown: %v", err)
	}
}
