package exactonline

import (
	"fmt"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/connectortest"
)

// The conformance suite against the sandbox, over HTTP. Records are more
// than a sync page (1000 rows), so that listings cross page boundaries.
// Every subtest gets a sandbox of its own, so that its listings hold only
// its own records.
func TestConformanceAccounts(t *testing.T) {
	t.Parallel()
	var e *env
	connectortest.Run(t, connectortest.Harness{
		Open: func(t *testing.T) connector.Connector {
			e = newEnv(t, sandboxOpts())
			return e.open()
		},
		Datatype: "Accounts",
		NewFields: func(i int) connector.Fields {
			return connector.Fields{"Name": fmt.Sprintf("Conformance %d", i), "City": "Delft", "Email": fmt.Sprintf("c%d@example.com", i)}
		},
		Change: func(f connector.Fields) connector.Fields {
			city, _ := f["City"].(string)
			return connector.Fields{"City": city + "+"}
		},
		UserEdit: func(t *testing.T, id string, fields connector.Fields) {
			f := connector.CloneFields(fields)
			f["ID"] = id
			if _, err := e.sb.Put("Accounts", f); err != nil {
				t.Fatal(err)
			}
		},
		Tick:                  func(t *testing.T) { e.clock.Advance(2 * time.Second) },
		CanDelete:             true,
		IncrementalTombstones: true,
		Records:               conformanceRecords(),
		MissingID:             "0b5e7a52-1c1e-4d5f-9a39-3f0e8c6c7d11",
	})
}

func TestConformanceItems(t *testing.T) {
	t.Parallel()
	var e *env
	connectortest.Run(t, connectortest.Harness{
		Open: func(t *testing.T) connector.Connector {
			e = newEnv(t, sandboxOpts())
			return e.open()
		},
		Datatype: "Items",
		NewFields: func(i int) connector.Fields {
			return connector.Fields{"Code": fmt.Sprintf("CT%05d", i), "Description": fmt.Sprintf("Item %d", i), "StartDate": "2026-03-01T00:00:00Z"}
		},
		Change: func(f connector.Fields) connector.Fields {
			d, _ := f["Description"].(string)
			return connector.Fields{"Description": d + "+"}
		},
		UserEdit: func(t *testing.T, id string, fields connector.Fields) {
			f := connector.CloneFields(fields)
			f["ID"] = id
			if _, err := e.sb.Put("Items", f); err != nil {
				t.Fatal(err)
			}
		},
		Tick:                  func(t *testing.T) { e.clock.Advance(2 * time.Second) },
		CanDelete:             true,
		IncrementalTombstones: true,
		Records:               conformanceRecords(),
		MissingID:             "0b5e7a52-1c1e-4d5f-9a39-3f0e8c6c7d12",
	})
}

// conformanceRecords crosses the 1000-row sync page. Under the race
// detector (and -short) the suite keeps to one page, which takes seconds
// instead of half a minute; TestListingCrossesPages covers paging there.
func conformanceRecords() int {
	if testing.Short() || raceEnabled {
		return 100
	}
	return 1100
}
