package exactonline

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/sandbox/exactonline"
)

func amsterdam(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDatesPresentTheSameInEveryVariant(t *testing.T) {
	loc := amsterdam(t)
	// 2026-03-10 10:30 in Amsterdam (CET, +0100) is 09:30 UTC.
	wallMS := time.Date(2026, 3, 10, 10, 30, 0, 0, time.UTC).UnixMilli()
	utcMS := time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC).UnixMilli()
	midnightWall := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC).UnixMilli()
	midnightUTC := time.Date(2026, 3, 9, 23, 0, 0, 0, time.UTC).UnixMilli()
	tests := []struct {
		in   string
		k    kind
		want string
	}{
		{"/Date(" + itoa64(wallMS) + ")/", kDateTime, "2026-03-10T09:30:00Z"},
		{"/Date(" + itoa64(utcMS) + "+0100)/", kDateTime, "2026-03-10T09:30:00Z"},
		{"/Date(" + itoa64(midnightWall) + ")/", kDate, "2026-03-10T00:00:00Z"},
		{"/Date(" + itoa64(midnightUTC) + "+0100)/", kDate, "2026-03-10T00:00:00Z"},
		{"/Date(-62135596800000)/", kDate, "0001-01-01T00:00:00Z"},
		{"2026-03-10", kDate, "2026-03-10"}, // not a /Date/: as it came
	}
	for _, tc := range tests {
		got, _ := presentDate(tc.in, tc.k, loc)
		if got != tc.want {
			t.Errorf("presentDate(%q, %v) = %q, want %q", tc.in, tc.k, got, tc.want)
		}
	}
}

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestDatesWriteAsDutchWallClock(t *testing.T) {
	loc := amsterdam(t)
	tests := []struct {
		in   any
		k    kind
		want any
	}{
		{"2026-03-10", kDate, "2026-03-10T00:00:00"},
		{"2026-03-10T00:00:00Z", kDate, "2026-03-10T00:00:00"},
		{"2026-07-01T12:00:00Z", kDateTime, "2026-07-01T14:00:00"}, // CEST
		{"2026-03-10T09:30:00+01:00", kDateTime, "2026-03-10T09:30:00"},
		{"2026-03-10T09:30:00", kDateTime, "2026-03-10T09:30:00"}, // no zone: Dutch already
		{time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC), kDateTime, "2026-01-05T09:00:00"},
		{nil, kDate, nil},
		{"", kDate, nil},
	}
	for _, tc := range tests {
		got, err := wireDate(tc.in, tc.k, loc)
		if err != nil || got != tc.want {
			t.Errorf("wireDate(%v, %v) = %v, %v; want %v", tc.in, tc.k, got, err, tc.want)
		}
	}
	if _, err := wireDate("tomorrow", kDate, loc); err == nil {
		t.Error("wireDate accepted a non-date")
	}
}

// A date written through the connector reads back as the same date, and a
// time as the same instant, whatever form the sandbox writes dates in.
func TestDatesRoundTripThroughTheSandbox(t *testing.T) {
	for _, offset := range []bool{false, true} {
		e := newEnv(t, exactonline.Options{DateOffsetSuffix: offset, TimestampAsString: offset, KeyedReadShape: map[bool]string{false: "array", true: "results"}[offset]})
		c := e.open()
		acc, err := c.Insert(t.Context(), "Accounts", connector.Fields{"Name": "Dates"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Insert(t.Context(), "Contacts", connector.Fields{"Account": acc.ID, "LastName": "Jansen", "BirthDate": "1990-06-15"})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Fields["BirthDate"]; got != "1990-06-15T00:00:00Z" {
			t.Errorf("offset %v: BirthDate as inserted = %v", offset, got)
		}
		if r.Modified != e.clock.Now() {
			t.Errorf("offset %v: Modified = %v, want the sandbox's now %v", offset, r.Modified, e.clock.Now())
		}
		got, err := c.Get(t.Context(), "Contacts", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if connector.Hash(got.Fields) != connector.Hash(r.Fields) {
			t.Errorf("offset %v: Get differs from the inserted record:\n%v\n%v", offset, got.Fields, r.Fields)
		}
		p, err := c.List(t.Context(), "Contacts", connector.ListRequest{Full: true})
		if err != nil || len(p.Records) != 1 {
			t.Fatalf("offset %v: list: %v %v", offset, p.Records, err)
		}
		if connector.Hash(p.Records[0].Fields) != connector.Hash(r.Fields) {
			t.Errorf("offset %v: the listed record differs from the inserted one:\n%v\n%v", offset, p.Records[0].Fields, r.Fields)
		}
		if _, ok := p.Records[0].Fields["Timestamp"]; ok {
			t.Errorf("offset %v: the sync Timestamp is presented as a field", offset)
		}
	}
}

func FuzzParseWCFDate(f *testing.F) {
	for _, s := range []string{"/Date(1392224884577)/", "/Date(1392224884577+0100)/", "/Date(-1-0000)/", "/Date()/", "/Date(1+01)/"} {
		f.Add(s)
	}
	loc := amsterdam(f)
	f.Fuzz(func(t *testing.T, s string) {
		wall, instant, ok := parseWCFDate(s, loc)
		if !ok {
			return
		}
		if wall.Location() != time.UTC || instant.Location() != time.UTC {
			t.Fatalf("%q: times not in UTC: %v %v", s, wall, instant)
		}
		if d := wall.Sub(instant); d < -15*time.Hour || d > 15*time.Hour {
			t.Fatalf("%q: wall clock %v is %v from the instant %v", s, wall, d, instant)
		}
	})
}
