package exactonline

import (
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// DefaultBaseURL is the Dutch Exact Online host; other countries use their
// own (https://start.exactonline.be, .de, .co.uk, …).
const DefaultBaseURL = "https://start.exactonline.nl"

// Settings are what a system of kind exactonline configures:
//
//	base_url:          Exact Online host (default https://start.exactonline.nl)
//	division:          the division (administration) number; read from current/Me once when absent
//	client_id:         the app's client id (required)
//	client_secret:     the app's client secret, or
//	client_secret_env: the name of the environment variable holding it
//	redirect_uri:      the app's registered redirect URI (for `concord auth exactonline`)
//	refresh_token:     a refresh token to start from, used only while Concord's store holds none
//	webhook_secret:    the app's webhook secret (or webhook_secret_env), to verify notifications
//	fields:            per datatype, extra properties to read beyond the built-in ones
//	                   ({Accounts: [Classification1]})
//	max_wait:          the longest a call waits for the rate limit before failing as temporary (default 90s)
//	read_reserve:      calls of the daily budget kept for reads; writes wait below it (default 10% of the limit)
//	error_limit:       errors (400/401/403/404) per endpoint and hour Exact tolerates before blocking (default 10)
//	timeout:           timeout of one HTTP call (default 60s)
//	time_zone:         the zone Exact's times are in (default Europe/Amsterdam)
//	currency:          the division's currency, which an item's default sales price is in (default EUR)
type Settings struct {
	BaseURL       string
	Division      int
	ClientID      string
	ClientSecret  string
	RedirectURI   string
	RefreshToken  string
	WebhookSecret string
	Fields        map[string][]string
	MaxWait       time.Duration
	ReadReserve   int // 0: 10% of the daily limit
	ErrorLimit    int
	Timeout       time.Duration
	Location      *time.Location
	Currency      string
}

var settingKeys = []string{
	"base_url", "client_id", "client_secret", "client_secret_env", "currency", "division", "error_limit", "fields",
	"max_wait", "read_reserve", "redirect_uri", "refresh_token", "time_zone", "timeout",
	"webhook_secret", "webhook_secret_env",
}

// ParseSettings checks and decodes a system's settings block. Errors name
// the setting and what is expected.
func ParseSettings(system string, settings map[string]any) (Settings, error) {
	fail := func(format string, args ...any) (Settings, error) {
		return Settings{}, fmt.Errorf("system %q (kind exactonline): "+format, append([]any{system}, args...)...)
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(settingKeys, k) {
			return fail("unknown setting %q (known settings: %s)", k, strings.Join(settingKeys, ", "))
		}
	}
	var s Settings
	var err error
	str := func(key string) string {
		if err != nil {
			return ""
		}
		v, ok := settings[key]
		if !ok || v == nil {
			return ""
		}
		x, ok := v.(string)
		if !ok {
			err = fmt.Errorf("setting %s: want a string, got %v", key, v)
		}
		return strings.TrimSpace(x)
	}
	num := func(key string) int {
		if err != nil {
			return 0
		}
		v, ok := settings[key]
		if !ok || v == nil {
			return 0
		}
		n, ok := wholeNumber(v)
		if !ok || n < 0 {
			err = fmt.Errorf("setting %s: want a whole number of at least 0, got %v", key, v)
		}
		return n
	}
	dur := func(key string, def time.Duration) time.Duration {
		text := str(key)
		if err != nil || text == "" {
			return def
		}
		d, perr := time.ParseDuration(text)
		if perr != nil || d < 0 {
			err = fmt.Errorf("setting %s: want a duration such as \"90s\", got %q", key, text)
		}
		return d
	}
	secret := func(key string) string {
		v, env := str(key), str(key+"_env")
		if err != nil {
			return ""
		}
		switch {
		case v != "" && env != "":
			err = fmt.Errorf("settings %s and %s_env: give one of them", key, key)
		case env != "":
			v = strings.TrimSpace(os.Getenv(env))
			if v == "" {
				err = fmt.Errorf("setting %s_env: the environment variable %s is empty or not set", key, env)
			}
		}
		return v
	}

	s.BaseURL = strings.TrimSuffix(str("base_url"), "/")
	if s.BaseURL == "" {
		s.BaseURL = DefaultBaseURL
	}
	s.Division = num("division")
	s.ClientID = str("client_id")
	s.ClientSecret = secret("client_secret")
	s.RedirectURI = str("redirect_uri")
	s.RefreshToken = str("refresh_token")
	s.WebhookSecret = secret("webhook_secret")
	s.MaxWait = dur("max_wait", 90*time.Second)
	s.ReadReserve = num("read_reserve")
	s.ErrorLimit = num("error_limit")
	if s.ErrorLimit == 0 {
		s.ErrorLimit = 10
	}
	s.Timeout = dur("timeout", 60*time.Second)
	s.Currency = strings.ToUpper(str("currency"))
	if s.Currency == "" {
		s.Currency = "EUR"
	}
	zone := str("time_zone")
	if err != nil {
		return fail("%v", err)
	}
	if zone == "" {
		zone = "Europe/Amsterdam"
	}
	if s.Location, err = time.LoadLocation(zone); err != nil {
		return fail("setting time_zone: %v", err)
	}
	if u, perr := url.Parse(s.BaseURL); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fail("setting base_url: want a scheme and host such as %s, got %q", DefaultBaseURL, s.BaseURL)
	}
	if s.RedirectURI != "" {
		if u, perr := url.Parse(s.RedirectURI); perr != nil || !u.IsAbs() {
			return fail("setting redirect_uri: want an absolute URL such as http://localhost:8765/callback, got %q", s.RedirectURI)
		}
	}
	if s.ClientID == "" {
		return fail("setting client_id is required: the client id of your app in the Exact Online App Center")
	}
	if s.ClientSecret == "" {
		return fail("setting client_secret (or client_secret_env, the name of an environment variable) is required")
	}
	if v, ok := settings["fields"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return fail("setting fields: want a map of datatype to a list of property names, got %v", v)
		}
		s.Fields = map[string][]string{}
		for dt, list := range m {
			if datatypeByName(dt) == nil {
				return fail("setting fields: unknown datatype %q (datatypes: %s)", dt, strings.Join(datatypeNames(), ", "))
			}
			items, ok := list.([]any)
			if !ok {
				return fail("setting fields.%s: want a list of property names, got %v", dt, list)
			}
			for _, it := range items {
				name, ok := it.(string)
				if !ok || !validName(name) {
					return fail("setting fields.%s: %v is not a property name", dt, it)
				}
				s.Fields[dt] = append(s.Fields[dt], name)
			}
		}
	}
	return s, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func wholeNumber(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), n <= math.MaxInt32 && n >= math.MinInt32
	case uint64:
		return int(n), n <= math.MaxInt32
	case float64:
		return int(n), n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32
	}
	return 0, false
}

func (s Settings) tokenURL() string { return s.BaseURL + "/api/oauth2/token" }
func (s Settings) authURL() string  { return s.BaseURL + "/api/oauth2/auth" }
