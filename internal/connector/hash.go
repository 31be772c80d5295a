package connector

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"sort"
	"strconv"
)

// Hash returns the content hash of a record's fields: a stable digest of the
// fields with keys sorted, independent of map order. Two records with equal
// content hash are the same version; the engine never treats them as a
// change. Modification times are not part of the hash on purpose: the echo
// of our own write must hash like what we wrote.
func Hash(f Fields) string {
	buf := make([]byte, 0, 256)
	buf = appendCanonical(buf, f)
	sum := sha256.Sum256(buf)
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// appendCanonical writes v in a canonical JSON-like form.
func appendCanonical(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return strconv.AppendQuote(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.AppendInt(b, int64(x), 10)
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case float32:
		return appendCanonical(b, float64(x))
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return appendCanonical(b, f)
		}
		return append(b, x...)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonical(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, k)
			b = append(b, ':')
			b = appendCanonical(b, x[k])
		}
		return append(b, '}')
	default:
		j, err := json.Marshal(x)
		if err != nil {
			return strconv.AppendQuote(b, "!unhashable")
		}
		return append(b, j...)
	}
}
