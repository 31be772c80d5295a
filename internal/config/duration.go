package config

import (
	"fmt"
	"time"

	"github.com/invopop/jsonschema"
	"go.yaml.in/yaml/v3"
)

// durationPattern is the shape time.ParseDuration accepts, minus the sign:
// a negative interval is never meaningful in a configuration. Putting it in
// the schema lets editors flag "5 minutes" before Concord ever runs; the
// semantic pass still calls time.ParseDuration, which also catches overflow.
const durationPattern = `^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

// durationPhrase is how messages and the reference describe a duration.
const durationPhrase = "a duration such as 30s, 5m or 1h30m"

// JSONSchema describes Duration as the string users write, not as the
// struct Go sees.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Title:       "duration",
		Pattern:     durationPattern,
		Description: "A Go duration: a number with a unit (ns, us, ms, s, m, h), e.g. 30s, 5m, 1h30m.",
		Examples:    []any{"30s", "5m", "1h30m"},
	}
}

// UnmarshalYAML reads a duration string. A bad value is reported as a
// *yaml.TypeError so that decoding carries on with the rest of the document
// instead of stopping at the first bad field.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := parseDuration(s)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back in the form it is read, which also
// makes YAML and JSON output round-trip.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}

// UnmarshalText reads a duration string (used by encoding/json).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("expected %s, got %q", durationPhrase, s)
	}
	if v < 0 {
		return 0, fmt.Errorf("expected a positive duration, got %q", s)
	}
	return v, nil
}
