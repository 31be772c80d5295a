package webcrm

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// The parsers of what comes from outside (cursors and page tokens the
// store hands back, hook notifications, WebCRM's timestamps) never panic,
// and what they accept round-trips.

func FuzzCursor(f *testing.F) {
	for _, s := range []string{"", `{"t":"2024-03-05T10:00:00","d":3,"n":"ab"}`, `{"t":"bad"}`, `[]`, `{"t":"2024-13-45T99:00:00"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCursor(s)
		if err != nil {
			return
		}
		again, err := parseCursor(c.String())
		if err != nil || again != c {
			t.Fatalf("cursor %q: %+v does not round-trip (%+v, %v)", s, c, again, err)
		}
	})
}

func FuzzPageToken(f *testing.F) {
	for _, s := range []string{`{"l":"x","m":"q","t":"2024-03-05T10:00:00","i":4,"x":"2024-03-05T10:00:00"}`, `{"l":"x","m":"f","p":3}`, `{"m":"z"}`, `nope`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := parsePageToken(s)
		if err != nil {
			if !errors.Is(err, connector.ErrRejected) {
				t.Fatalf("page token %q: %v is not ErrRejected", s, err)
			}
			return
		}
		if _, err := parsePageToken(tok.String()); err != nil {
			t.Fatalf("page token %q does not round-trip: %v", s, err)
		}
	})
}

func FuzzHookPayload(f *testing.F) {
	for _, s := range []string{`{"EventType":"Delete","EntityType":"Organisation","Id":4}`, `{"id":"12"}`, `{"Id":1.5}`, `[]`, `null`, `{"Id":1e30}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseHookPayload([]byte(s))
		if err == nil && p.ID < 0 && !strings.Contains(s, "-") {
			t.Fatalf("payload %q: negative id %d", s, p.ID)
		}
	})
}

func FuzzWireTime(f *testing.F) {
	for _, s := range []string{"2024-03-05T10:00:00", "0001-01-01T00:00:00", "2024-03-05T10:00:00.5", "x"} {
		f.Add(s, int64(time.Hour))
	}
	f.Fuzz(func(t *testing.T, s string, d int64) {
		out, err := wireTimeAdd(s, time.Duration(d))
		if err != nil {
			return
		}
		if _, err := wireTimeAdd(out, 0); err != nil {
			t.Fatalf("%q moved by %v gives %q, which does not parse: %v", s, time.Duration(d), out, err)
		}
	})
}

func FuzzPresent(f *testing.F) {
	f.Add(`{"OrganisationId":3,"OrganisationName":"A","OrganisationOwner":0,"OrganisationUpdatedAt":"2024-03-05T10:00:00","OrganisationCreatedAt":"0001-01-01T00:00:00","X":{"y":[1,2]}}`)
	f.Add(`{"OrganisationId":"3"}`)
	f.Add(`{"OrganisationId":-1}`)
	conn := New(context.Background(), "crm", Config{APIToken: "t", BaseURL: "http://x", Location: time.UTC, ProductCodeField: "ProductCustom1"}, Options{})
	e := lookupEntity(Organisations)
	f.Fuzz(func(t *testing.T, s string) {
		obj, err := decodeObject([]byte(s))
		if err != nil {
			return
		}
		w, err := conn.present(e, obj)
		if err != nil {
			return
		}
		if w.rec.ID == "" || connector.Hash(w.rec.Fields) != w.rawHash {
			t.Fatalf("%q: presented %+v", s, w)
		}
	})
}

func TestClassify(t *testing.T) {
	for status, want := range map[int]error{
		400: connector.ErrRejected, 404: connector.ErrNotFound, 405: connector.ErrNotSupported, 409: connector.ErrConflict, 422: connector.ErrRejected,
	} {
		if err := classify(&apiError{Status: status, Message: "m"}); !errors.Is(err, want) || connector.IsTemporary(err) {
			t.Errorf("%d: %v, want %v", status, err, want)
		}
	}
	for _, status := range []int{401, 408, 429, 500, 502, 503, 504} {
		err := classify(&apiError{Status: status})
		if !connector.IsTemporary(err) {
			t.Errorf("%d: %v is not Temporary", status, err)
		}
		if want := status == 502 || status == 503 || status == 504; connector.IsUnavailable(err) != want {
			t.Errorf("%d: unavailable %v, want %v", status, connector.IsUnavailable(err), want)
		}
	}
	h := http.Header{}
	if d := retryAfter(h, []byte(`{"RetryAfterSeconds":14}`)); d != 14*time.Second {
		t.Errorf("retry after from the body: %v", d)
	}
	h.Set("Retry-After", "3")
	if d := retryAfter(h, []byte(`{"RetryAfterSeconds":14}`)); d != 3*time.Second {
		t.Errorf("retry after from the header: %v", d)
	}
}
