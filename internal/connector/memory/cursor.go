package memory

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// noCursor is the position before every record: the empty cursor.
const noCursor = math.MinInt64

// formatCursor encodes a Modified (unix nanoseconds) as a cursor string:
// RFC 3339 with nanoseconds in UTC, readable in the store and the CLI.
func formatCursor(mod int64) string {
	if mod == noCursor {
		return ""
	}
	return time.Unix(0, mod).UTC().Format(time.RFC3339Nano)
}

func parseCursor(c string) (int64, error) {
	if c == "" {
		return noCursor, nil
	}
	t, err := time.Parse(time.RFC3339Nano, c)
	if err != nil {
		return 0, fmt.Errorf("cursor %q is not an RFC 3339 time: %w", c, err)
	}
	return t.UnixNano(), nil
}

// pageToken continues a listing strictly after the last record returned.
//
// For an incremental listing, after is that record's (Modified, ID) and
// ceiling is the system's time when the listing began: page cursors never
// pass it, so a record written while the listing is under way (which gets
// Modified >= ceiling but may sort before the token) is re-emitted by the
// next listing instead of lost. For a full listing, after.id is the last id
// and ceiling is the cursor every page of the listing reports.
type pageToken struct {
	full    bool
	after   stamp
	ceiling int64
}

func (p pageToken) String() string {
	kind := "i"
	if p.full {
		kind = "f"
	}
	raw := kind + ":" + strconv.FormatInt(p.after.mod, 10) + ":" + strconv.FormatInt(p.ceiling, 10) + ":" + p.after.id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func parsePageToken(s string, full bool) (pageToken, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return pageToken{}, fmt.Errorf("page token %q is not one this system issued", s)
	}
	parts := strings.SplitN(string(raw), ":", 4)
	if len(parts) != 4 || (parts[0] != "i" && parts[0] != "f") {
		return pageToken{}, fmt.Errorf("page token %q is not one this system issued", s)
	}
	p := pageToken{full: parts[0] == "f", after: stamp{id: parts[3]}}
	if p.full != full {
		return pageToken{}, fmt.Errorf("page token %q belongs to another kind of listing (full=%v)", s, p.full)
	}
	if p.after.mod, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return pageToken{}, fmt.Errorf("page token %q is not one this system issued", s)
	}
	if p.ceiling, err = strconv.ParseInt(parts[2], 10, 64); err != nil {
		return pageToken{}, fmt.Errorf("page token %q is not one this system issued", s)
	}
	return p, nil
}
