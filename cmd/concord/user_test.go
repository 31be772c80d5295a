package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
)

// writeConfig writes a configuration file into a fresh folder.
// oneShop writes a configuration of one memory system, shop, whose
// customers map their number to the code; instance names its data.
func oneShop(t *testing.T, instance string) string {
	t.Helper()
	return writeConfig(t, `
systems:
  shop: {kind: memory, settings: {instance: `+instance+`}}
mappings:
  - system: shop
    datatype: customers
    canonical: customer
    properties:
      - {field: number, property: code}
`)
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "concord.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestValidateChecksEachSystemsSettings(t *testing.T) {
	t.Setenv("CONCORD_TEST_UNSET_SECRET", "")
	file := writeConfig(t, `
systems:
  exact:
    preset: exactonline
    settings: {division: "abc", client_id: x, client_secret: y}
  shop:
    preset: customwebshop
    settings: {base_url: "http://127.0.0.1:1/api/v1", auth: {token_env: CONCORD_TEST_UNSET_SECRET}}
mappings: []
`)
	_, err := run(t, "validate", "-c", file)
	var cerrs config.Errors
	if !errors.As(err, &cerrs) {
		t.Fatalf("validate returned %v, want config errors", err)
	}
	want := map[string]string{
		"systems.exact.settings": "setting division: want a whole number",
		"systems.shop.settings":  "CONCORD_TEST_UNSET_SECRET is not set or empty",
	}
	for _, e := range cerrs {
		if w, ok := want[e.Path]; ok && strings.Contains(e.Message, w) && e.Line > 0 && e.Column > 0 {
			delete(want, e.Path)
		}
		if strings.HasPrefix(e.Message, "system ") {
			t.Errorf("the message names the system again: %v", e)
		}
	}
	if len(want) > 0 {
		t.Errorf("validate did not report %v:\n%v", want, err)
	}
}

func TestExplainAndLinksNameUnknownSystemsAndDatatypes(t *testing.T) {
	file := oneShop(t, "cli-unknown-shop")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", "nosuch", "customers", "1"}, `no system "nosuch"`},
		{[]string{"explain", "shop", "Customers", "1"}, `did you mean "customers"`},
		{[]string{"explain", "shop", "customers", "404"}, "customers 404 is not known to Concord"},
		{[]string{"links", "nosuch", "customers"}, `no system "nosuch"`},
		{[]string{"links", "shop", "orders"}, `maps no datatype "orders"`},
		{[]string{"links", "--golden", "nosuch"}, "golden record nosuch has no links"},
		{[]string{"links", "shop"}, "give both SYSTEM and DATATYPE"},
		{[]string{"breaker", "reset", "nosuch", "customers"}, `no system "nosuch"`},
		{[]string{"qa", "nosuch", "shop"}, `has no system "nosuch"`},
		{[]string{"breaker", "reset", "shop", "Customers"}, `did you mean "customers"`},
	} {
		_, err := run(t, append(c.args, "-c", file)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one saying %q", c.args, err, c.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The demo with --keep-running says how to change a record by hand, and
// leaves configurations that the other commands open.
func TestDemoKeepRunningLeavesConfigurationsAndAnExample(t *testing.T) {
	if testing.Short() {
		t.Skip("the live demo takes half a minute; -short skips it")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := rootCmd()
	var out syncBuffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"demo", "--keep-running", "--skip-qa", "--dir", dir})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(out.String(), "concord explain -c") {
		select {
		case err := <-done:
			t.Fatalf("demo ended before it kept running: %v\n%s", err, out.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo does not keep running:\n%s", out.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo stopped with %v", err)
	}
	text := out.String()
	for _, want := range []string{"curl -X PATCH -H 'Authorization: Bearer ws_", "/customers/", "read again every 1m.",
		"1 record version read, 0 golden records, 0 records created, 1 updated"} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
	if n := len(regexp.MustCompile(`skipped +green`).FindAllString(text, -1)); n != 10 {
		t.Errorf("with --skip-qa, %d summary rows say the checks were skipped, want 10", n)
	}
	cfg := filepath.Join(dir, "customwebshop-exactonline.yaml")
	status, err := run(t, "status", "-c", cfg)
	if err != nil || !strings.Contains(status, "Accounts") {
		t.Fatalf("status -c %s: %v\n%s", cfg, err, status)
	}
}

// concord run stops cleanly when interrupted (the context ends as on
// SIGINT), and says so in the engine's log format.
func TestRunStopsWhenInterrupted(t *testing.T) {
	file := oneShop(t, "cli-run-shop")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := rootCmd()
	var out syncBuffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"run", "-c", file, "--listen", "127.0.0.1:0"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	for !strings.Contains(out.String(), "cycle done") {
		select {
		case err := <-done:
			t.Fatalf("run ended: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run does not stop")
	}
	text := out.String()
	for _, want := range []string{`level=INFO msg="serving webhooks"`, `msg="stopping: the call in flight finishes first"`, `msg="concord stopped"`} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %s:\n%s", want, text)
		}
	}
}

// The credentials the sandboxes print are named as the connectors'
// settings are, and the base_url is the one a preset's settings.base_url
// takes: the API answers under it.
func TestSandboxesPrintCredentialsAsConnectorsTakeThem(t *testing.T) {
	for _, c := range []struct{ sandbox, path, header, secret string }{
		{"webshop", "/customers", "Authorization", "token"},
		{"erp", "/customers", "X-API-Key", "api_key"},
		{"webcrm", "/Auth/ApiLogin", "", "api_token"},
	} {
		t.Run(c.sandbox, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			root := rootCmd()
			var out, errs syncBuffer
			root.SetOut(&out)
			root.SetErr(&errs)
			root.SetArgs([]string{"sandbox", c.sandbox, "--listen", "127.0.0.1:0", "--print-credentials"})
			done := make(chan error, 1)
			go func() { done <- root.ExecuteContext(ctx) }()
			for !strings.Contains(out.String(), "\n") {
				select {
				case err := <-done:
					t.Fatalf("sandbox ended: %v\n%s", err, errs.String())
				case <-time.After(20 * time.Millisecond):
				}
			}
			var creds map[string]string
			if err := json.Unmarshal([]byte(out.String()), &creds); err != nil {
				t.Fatalf("credentials %q: %v", out.String(), err)
			}
			req, _ := http.NewRequest("GET", creds["base_url"]+c.path, nil)
			value := creds[c.secret]
			switch c.header {
			case "":
				// WebCRM: the token is exchanged at the login endpoint.
				req, _ = http.NewRequest("POST", creds["base_url"]+c.path, strings.NewReader("authCode="+value))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			case "Authorization":
				req.Header.Set(c.header, "Bearer "+value)
			default:
				req.Header.Set(c.header, value)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %s", req.URL, resp.Status)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("sandbox stopped with %v", err)
			}
		})
	}
}

// The demo run twice with the same --dir starts over: the sandboxes are new
// each time, so the stores of the first run are replaced, not reused.
func TestDemoTwiceInOneDir(t *testing.T) {
	if testing.Short() {
		t.Skip("the live demo takes a while; -short skips it")
	}
	dir := t.TempDir()
	for i := range 2 {
		out, err := run(t, "demo", "--skip-qa", "--dir", dir)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out)
		}
		if replaced := strings.Contains(out, "replacing the store of an earlier run"); replaced != (i == 1) {
			t.Errorf("run %d: replaced the store: %v", i+1, replaced)
		}
	}
}

// What a record is waiting for, or why it is not in another system, is
// said by sync --once and explain.
func TestSyncAndExplainSayWhyARecordIsNotElsewhere(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "shop.json"), []byte(`{
  "customers": [{"id": "1", "fields": {"number": "C1", "company": "Acme"}}],
  "contacts": [{"id": "7", "fields": {"mail": "ann@acme.example", "customer": "1"}}]}`), 0o644)
	file := filepath.Join(dir, "concord.yaml")
	os.WriteFile(file, []byte(`
systems:
  shop: {kind: memory, settings: {instance: cli-why-shop, seed_file: shop.json}}
  erp: {kind: memory, settings: {instance: cli-why-erp}}
mappings:
  - system: shop
    datatype: customers
    canonical: customer
    properties:
      - {field: number, property: code}
      - {field: company, property: name}
  - system: shop
    datatype: contacts
    canonical: contact
    properties:
      - {field: mail, property: email}
      - {field: customer, property: customer, type: reference, ref: customers}
  - system: erp
    datatype: Accounts
    canonical: customer
    insert: false
    merge: [[code]]
    properties:
      - {field: Code, property: code}
      - {field: Name, property: name}
  - system: erp
    datatype: Contacts
    canonical: contact
    properties:
      - {field: Email, property: email}
      - {field: Account, property: customer, type: reference, ref: Accounts}
`), 0o644)
	for i := range 2 {
		out, err := run(t, "sync", "--once", "-c", file)
		if err != nil {
			t.Fatalf("sync --once: %v\n%s", err, out)
		}
		want := "deferred 1× erp:Contacts: waiting for customer to be linked in erp"
		if i == 1 {
			want = "deferred: records wait for a record they refer to to be linked"
		}
		if !strings.Contains(out, "1 deferred") || !strings.Contains(out, want) {
			t.Errorf("sync --once %d lacks %q:\n%s", i+1, want, out)
		}
	}
	out, err := run(t, "explain", "shop", "customers", "1", "-c", file)
	if err != nil || !strings.Contains(out, "not in:\n  erp:Accounts: Concord only links records there (insert: false)") {
		t.Errorf("explain of the customer: %v\n%s", err, out)
	}
	out, err = run(t, "explain", "shop", "contacts", "7", "-c", file)
	if err != nil || !strings.Contains(out, "erp:Contacts: waiting") || !strings.Contains(out, "deferred  erp:Contacts") {
		t.Errorf("explain of the contact: %v\n%s", err, out)
	}
}
