package rest_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/qa"
)

// The QA checklists of the example files pass both ways, orders with their
// nested lines included: each section's record is created once on the
// other side (with its one line), edits on either side arrive, and nothing
// is duplicated.
func TestQAChecklistsOfTheExampleFiles(t *testing.T) {
	t.Parallel()
	h := newHub(t, nil)
	h.restart()
	h.clock.mu.Lock()
	h.clock.step = 300 * time.Millisecond
	h.clock.mu.Unlock()
	conns := map[string]connector.Connector{"webshop": h.shopConn, "erp": h.erpConn}
	for _, dir := range [][2]string{{"webshop", "erp"}, {"erp", "webshop"}} {
		var progress bytes.Buffer
		rep, err := qa.Run(context.Background(), qa.Env{Engine: h.eng, Store: h.st, Connectors: func(s string) connector.Connector { return conns[s] }},
			qa.Options{Source: dir[0], Target: dir[1], Pause: time.Millisecond, Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		rep.Print(&out)
		lines := false
		for _, c := range rep.Checks {
			lines = lines || (c.Item == "lines" && c.OK)
		}
		if rep.Failed() != 0 || len(rep.Sections) != 3 || !lines {
			t.Errorf("%s to %s: %d sections, %d failed, the order's line checked: %v:\n%s\n%s", dir[0], dir[1], len(rep.Sections), rep.Failed(), lines, out.String(), progress.String())
		}
	}
}
