package runner

import (
	"context"
	"os"
	"path/filepath"
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
