package runner

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
	"github.com/concordsync/concord/internal/engine"
)

func TestRunSyncsOnScheduleAndStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "concord.yaml")
	os.WriteFile(path, []byte(`
systems:
  a: {kind: memory, settings: {instance: runner-test-a}, schedule: 20ms}
  b: {kind: memory, settings: {instance: runner-test-b}, schedule: 20ms}
mappings:
  - {system: a, datatype: customers, canonical: customer, merge: [[code]], properties: [{field: code, property: code}]}
  - {system: b, datatype: customers, canonical: customer, merge: [[code]], properties: [{field: code, property: code}]}
`), 0o644)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := memory.Instance("runner-test-a"), memory.Instance("runner-test-b")
	defer memory.ForgetInstance("runner-test-a")
	defer memory.ForgetInstance("runner-test-b")
	r, err := Open(context.Background(), cfg, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	a.Create("customers", connector.Fields{"code": "C1"})
	deadline := time.Now().Add(10 * time.Second)
	for b.Count("customers") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if b.Count("customers") != 1 {
		t.Fatal("run did not sync a record created while it was running")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after its context was cancelled")
	}
}

// notifying is a memory system that sends webhooks: a POST naming a
// datatype in its body (the secret "s3cret" in a header) says it changed.
type notifying struct{ *memory.System }

func (n notifying) WebhookHandler(changed func(datatype string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Secret") != "s3cret" {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		b, _ := io.ReadAll(r.Body)
		changed(string(b))
	})
}

func init() {
	connector.Register("notifying-memory", func(ctx context.Context, system string, settings map[string]any) (connector.Connector, error) {
		c, err := connector.Open(ctx, memory.Kind, system, settings)
		if err != nil {
			return nil, err
		}
		return notifying{c.(*memory.System)}, nil
	})
}

func TestWebhookMakesTheDatatypeDueAtOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "concord.yaml")
	os.WriteFile(path, []byte(`
systems:
  a: {kind: notifying-memory, settings: {instance: runner-hook-a}, schedule: 1h}
  b: {kind: memory, settings: {instance: runner-hook-b}, schedule: 1h}
mappings:
  - {system: a, datatype: customers, canonical: customer, merge: [[code]], properties: [{field: code, property: code}]}
  - {system: b, datatype: customers, canonical: customer, merge: [[code]], properties: [{field: code, property: code}]}
`), 0o644)
	cfg, err := config.LoadWith(path, config.Options{Kinds: connector.Kinds()})
	if err != nil {
		t.Fatal(err)
	}
	a, b := memory.Instance("runner-hook-a"), memory.Instance("runner-hook-b")
	defer memory.ForgetInstance("runner-hook-a")
	defer memory.ForgetInstance("runner-hook-b")
	r, err := Open(context.Background(), cfg, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	// The first cycle runs at once; after it, nothing is due for an hour.
	waitFor(t, func() bool { c, _ := r.Store.GetCursor(ctx, "a", "customers"); return c.Gen > 0 })
	a.Create("customers", connector.Fields{"code": "C1"})

	post := func(secret string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/a", strings.NewReader("customers"))
		req.Header.Set("X-Secret", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("wrong"); code != http.StatusUnauthorized {
		t.Fatalf("a bad signature got %d, want 401", code)
	}
	time.Sleep(50 * time.Millisecond)
	if b.Count("customers") != 0 {
		t.Fatal("a rejected notification triggered a read")
	}
	if code := post("s3cret"); code != http.StatusOK {
		t.Fatalf("a good notification got %d", code)
	}
	waitFor(t, func() bool { return b.Count("customers") == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
