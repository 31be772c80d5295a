package sqlconn

import (
	"encoding/json"
	"log/slog"
	"math"
	"strconv"
	"testing"
	"time"
)

// Cursors and page tokens come back from the store and the engine: any
// text either parses or is refused, never a panic, and what the connector
// writes reads back the same.
func FuzzCursorsAndTokens(f *testing.F) {
	at := time.Date(2024, 1, 2, 9, 11, 12, 345678000, time.UTC)
	f.Add(updatedCursor(at))
	f.Add(changesCursor(42, at))
	f.Add(pageToken{Start: at, Updated: "2024-01-02 09:11:12.345", ID: "17", Low: 3, Cap: 9}.encode())
	f.Add("c:12:")
	f.Add("u:not a time")
	c := &Conn{log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, s string) {
		if ts, ok := c.updatedFrom(s); ok && updatedCursor(ts) != s {
			if again, ok := c.updatedFrom(updatedCursor(ts)); !ok || !again.Equal(ts) {
				t.Fatalf("cursor %q reads as %v, which does not read back", s, ts)
			}
		}
		if seq, ts, ok := c.changesFrom(s); ok {
			if seq2, ts2, ok := c.changesFrom(changesCursor(seq, ts)); !ok || seq2 != seq || !ts2.Equal(ts) {
				t.Fatalf("cursor %q reads as %d, %v, which does not read back", s, seq, ts)
			}
		}
		if tok, err := decodeToken(s); err == nil {
			if again, err := decodeToken(tok.encode()); err != nil || again != tok {
				t.Fatalf("token %q reads as %+v, which does not read back: %+v, %v", s, tok, again, err)
			}
		}
	})
}

// Decimal text as a database writes it is presented without losing a
// digit: a float64 only where it formats back to the same decimal.
func FuzzDecimalValue(f *testing.F) {
	for _, s := range []string{"12.50", "0.10", "-0.30", "007", "99999999999999.99", "1234567890.1234567891", "1e5", ".5", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !decimalText.MatchString(s) {
			return
		}
		switch v := decimalValue(s).(type) {
		case float64:
			if math.IsInf(v, 0) || strconv.FormatFloat(v, 'f', -1, 64) != canonicalDecimal(s) {
				t.Fatalf("%q presented as %v, which is another decimal", s, v)
			}
		case json.Number:
			if string(v) != s {
				t.Fatalf("%q presented as %q", s, v)
			}
		default:
			t.Fatalf("%q presented as %T", s, v)
		}
	})
}
