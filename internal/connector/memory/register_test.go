package memory_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
)

// fresh names a shared instance for this test only and drops it when the
// test ends.
func fresh(t *testing.T, suffix string) string {
	name := t.Name() + suffix
	memory.ForgetInstance(name)
	t.Cleanup(func() { memory.ForgetInstance(name) })
	return name
}

func TestOpenReachesTheSharedInstance(t *testing.T) {
	ctx := context.Background()
	shop, sharedName := fresh(t, "-shop"), fresh(t, "-shared")
	if !slices.Contains(connector.Kinds(), memory.Kind) {
		t.Fatalf("kind %q not registered: %v", memory.Kind, connector.Kinds())
	}
	c, err := connector.Open(ctx, "memory", shop, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c != memory.Instance(shop) {
		t.Fatal("a system without an instance setting is not the instance of its own name")
	}

	shared := memory.NewInstance(sharedName, memory.Options{IDPrefix: "S-"})
	a, err := connector.Open(ctx, "memory", "a", map[string]any{"instance": sharedName})
	if err != nil {
		t.Fatal(err)
	}
	b, err := connector.Open(ctx, "memory", "b", map[string]any{"instance": sharedName, "page_size": 1})
	if err != nil {
		t.Fatal(err)
	}
	if a != connector.Connector(shared) || b != connector.Connector(shared) {
		t.Fatal("two systems naming one instance reach different systems")
	}
	if r, _ := a.Insert(ctx, customers, customer(1)); r.ID != "S-1" {
		t.Fatalf("an existing instance lost its options: id %q", r.ID)
	}
}

func TestOpenSettings(t *testing.T) {
	ctx := context.Background()
	c, err := connector.Open(ctx, "memory", fresh(t, ""), map[string]any{
		"page_size": 2, "id_prefix": "W-", "time_granularity": "1s",
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c.Insert(ctx, customers, customer(i))
	}
	p, err := c.List(ctx, customers, connector.ListRequest{Full: true})
	if err != nil || !reflect.DeepEqual(ids(p.Records), []string{"W-1", "W-2"}) || p.NextPageToken == "" {
		t.Fatalf("first page with page_size 2: %+v, %v", p, err)
	}
	if m := p.Records[0].Modified; m.Nanosecond() != 0 {
		t.Fatalf("modified %v not truncated to the second", m)
	}

	for _, tc := range []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{"pagesize": 10}, `unknown setting "pagesize"`},
		{map[string]any{"page_size": "ten"}, "page_size"},
		{map[string]any{"page_size": 0}, "page_size"},
		{map[string]any{"instance": 3}, "instance"},
		{map[string]any{"time_granularity": "soon"}, "time_granularity"},
		{map[string]any{"seed_file": filepath.Join(t.TempDir(), "missing.json")}, "missing.json"},
	} {
		broken := fresh(t, "-broken")
		_, err := connector.Open(ctx, "memory", broken, tc.settings)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), strconv.Quote(broken)) {
			t.Errorf("open with %v: error %v, want one naming the system and %s", tc.settings, err, tc.want)
		}
	}
}

func TestSeedFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seed.json")
	seed := `{
		"Customers": [
			{"id": "2", "fields": {"name": "Acme", "credit": 10}},
			{"fields": {"name": "Bolt"}}
		],
		"Products": [{"id": "P-1", "fields": {"code": "X1"}}]
	}`
	if err := os.WriteFile(path, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	settings := map[string]any{"seed_file": path}
	name := fresh(t, "")
	c, err := connector.Open(ctx, "memory", name, settings)
	if err != nil {
		t.Fatal(err)
	}
	sys := memory.Instance(name)
	sys.Edit(customers, "2", connector.Fields{"name": "Acme BV"})
	if _, err := connector.Open(ctx, "memory", name, settings); err != nil {
		t.Fatal(err)
	}
	got := sys.Records(customers)
	if len(got) != 2 || got[0].ID != "1" || got[0].Fields["name"] != "Bolt" || got[1].ID != "2" || got[1].Fields["name"] != "Acme BV" {
		t.Fatalf("customers after opening twice: %+v", got)
	}
	if r, _ := c.Insert(ctx, customers, customer(3)); r.ID != "3" {
		t.Fatalf("new id %q collides with or skips seeded ones, want 3", r.ID)
	}
	if p, ok := sys.Lookup("Products", "P-1"); !ok || p.Fields["code"] != "X1" {
		t.Fatalf("seeded product: %+v", p)
	}

	if err := os.WriteFile(path, []byte(`{"Customers": [{"id": "1", "feilds": {}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := connector.Open(ctx, "memory", fresh(t, "-bad"), settings); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("malformed seed file: error %v, want one naming %s", err, path)
	}
}
