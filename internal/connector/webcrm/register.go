package webcrm

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// Kind is the connector kind this package registers.
const Kind = "webcrm"

func init() {
	connector.Register(Kind, func(ctx context.Context, system string, settings map[string]any) (connector.Connector, error) {
		return Open(ctx, system, settings, Options{})
	})
	connector.RegisterSettingsCheck(Kind, func(system string, settings map[string]any) error {
		if _, err := ParseSettings(settings); err != nil {
			return fmt.Errorf("system %q (kind webcrm): %w", system, err)
		}
		return nil
	})
}

// Defaults of the settings.
const (
	DefaultBaseURL   = "https://api.webcrm.com"
	DefaultRateLimit = 250 // requests a minute per API token, the service's limit
	DefaultOverlap   = 14 * time.Hour
	MinOverlap       = time.Minute
	DefaultZone      = "Europe/Copenhagen"
	DefaultPageSize  = 1000
	DefaultTimeout   = time.Minute
)

// Config is a system's settings, decoded from its `settings:` block:
//
//	base_url:                  API root (default https://api.webcrm.com)
//	api_token:                 the API token (a GUID) to log in with, or
//	api_token_env:             the environment variable that holds it
//	rate_limit:                requests a minute the connector keeps under (default 250; 0: no pacing)
//	overlap:                   how far back each incremental read reaches before the
//	                           newest change already seen (default 14h, at least 1m)
//	time_zone:                 IANA zone WebCRM's timestamps are read in (default Europe/Copenhagen)
//	page_size:                 records per call, 1..1000 (default 1000)
//	timeout:                   per request (default 1m)
//	product_code_field:        the Products field presented as ProductCode (default ProductCustom1)
//	product_name_field:        the Products field presented as ProductName (default ProductCustom2)
//	quotation_line_code_field: the QuotationLines field presented as QuotationLineProductCode (default QuotationLineData1)
//	quotation_line_name_field: the QuotationLines field presented as QuotationLineProductName (default QuotationLineData2)
//	hook_secret:               the secret WebCRM hooks must carry (?secret=…) in their TargetUrl
//
// A custom field setting given as "" switches its virtual field off.
type Config struct {
	BaseURL                string
	APIToken               string
	RateLimit              int
	Overlap                time.Duration
	Location               *time.Location
	PageSize               int
	Timeout                time.Duration
	ProductCodeField       string
	ProductNameField       string
	QuotationLineCodeField string
	QuotationLineNameField string
	HookSecret             string
}

var settingKeys = []string{"api_token", "api_token_env", "base_url", "hook_secret", "overlap", "page_size",
	"product_code_field", "product_name_field", "quotation_line_code_field", "quotation_line_name_field",
	"rate_limit", "time_zone", "timeout"}

// ParseSettings reads a system's settings block.
func ParseSettings(settings map[string]any) (Config, error) {
	cfg := Config{
		BaseURL:                DefaultBaseURL,
		RateLimit:              DefaultRateLimit,
		Overlap:                DefaultOverlap,
		PageSize:               DefaultPageSize,
		Timeout:                DefaultTimeout,
		ProductCodeField:       "ProductCustom1",
		ProductNameField:       "ProductCustom2",
		QuotationLineCodeField: "QuotationLineData1",
		QuotationLineNameField: "QuotationLineData2",
	}
	for key := range settings {
		if !slices.Contains(settingKeys, key) {
			return cfg, fmt.Errorf("unknown setting %q (known settings: %s)", key, strings.Join(settingKeys, ", "))
		}
	}
	var err error
	str := func(key string, dst *string) {
		if err != nil {
			return
		}
		v, ok := settings[key]
		if !ok {
			return
		}
		s, isStr := v.(string)
		if !isStr && v != nil {
			err = fmt.Errorf("setting %s: want a text, got %v", key, v)
			return
		}
		*dst = strings.TrimSpace(s)
	}
	var tokenEnv, overlap, zone, timeout string
	str("base_url", &cfg.BaseURL)
	str("api_token", &cfg.APIToken)
	str("api_token_env", &tokenEnv)
	str("overlap", &overlap)
	str("time_zone", &zone)
	str("timeout", &timeout)
	str("hook_secret", &cfg.HookSecret)
	str("product_code_field", &cfg.ProductCodeField)
	str("product_name_field", &cfg.ProductNameField)
	str("quotation_line_code_field", &cfg.QuotationLineCodeField)
	str("quotation_line_name_field", &cfg.QuotationLineNameField)
	if err != nil {
		return cfg, err
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if !strings.HasPrefix(cfg.BaseURL, "http://") && !strings.HasPrefix(cfg.BaseURL, "https://") {
		return cfg, fmt.Errorf("setting base_url: want an http or https URL, got %q", cfg.BaseURL)
	}
	switch {
	case cfg.APIToken != "" && tokenEnv != "":
		return cfg, fmt.Errorf("settings api_token and api_token_env: give one of them")
	case tokenEnv != "":
		cfg.APIToken = strings.TrimSpace(os.Getenv(tokenEnv))
		if cfg.APIToken == "" {
			return cfg, fmt.Errorf("setting api_token_env: the environment variable %s is empty or not set", tokenEnv)
		}
	case cfg.APIToken == "":
		return cfg, fmt.Errorf("setting api_token (or api_token_env): the WebCRM API token is required (WebCRM: Settings, API)")
	}
	if v, ok := settings["rate_limit"]; ok {
		n, whole := wholeNumber(v)
		if !whole || n < 0 {
			return cfg, fmt.Errorf("setting rate_limit: want the requests a minute (a whole number, 0 for no pacing), got %v", v)
		}
		cfg.RateLimit = n
	}
	if v, ok := settings["page_size"]; ok {
		n, whole := wholeNumber(v)
		if !whole || n < 1 || n > 1000 {
			return cfg, fmt.Errorf("setting page_size: want a whole number from 1 to 1000, got %v", v)
		}
		cfg.PageSize = n
	}
	if overlap != "" {
		d, perr := time.ParseDuration(overlap)
		if perr != nil || d < MinOverlap {
			return cfg, fmt.Errorf("setting overlap: want a duration of at least %v such as \"14h\", got %q", MinOverlap, overlap)
		}
		cfg.Overlap = d
	}
	if timeout != "" {
		d, perr := time.ParseDuration(timeout)
		if perr != nil || d <= 0 {
			return cfg, fmt.Errorf("setting timeout: want a positive duration such as \"30s\", got %q", timeout)
		}
		cfg.Timeout = d
	}
	if zone == "" {
		zone = DefaultZone
	}
	if cfg.Location, err = time.LoadLocation(zone); err != nil {
		return cfg, fmt.Errorf("setting time_zone: %q is not an IANA time zone such as Europe/Copenhagen", zone)
	}
	for _, c := range []struct {
		key    string
		val    *string
		entity string
	}{
		{"product_code_field", &cfg.ProductCodeField, Products},
		{"product_name_field", &cfg.ProductNameField, Products},
		{"quotation_line_code_field", &cfg.QuotationLineCodeField, QuotationLines},
		{"quotation_line_name_field", &cfg.QuotationLineNameField, QuotationLines},
	} {
		if *c.val == "" {
			continue
		}
		e := lookupEntity(c.entity)
		f := e.field(*c.val)
		if f == nil || f.kind != kText || f.readOnly {
			return cfg, fmt.Errorf("setting %s: %q is not a text field of %s (e.g. %sCustom1)", c.key, *c.val, c.entity, e.table)
		}
		*c.val = f.name // the service's spelling
	}
	if cfg.ProductCodeField != "" && cfg.ProductCodeField == cfg.ProductNameField {
		return cfg, fmt.Errorf("settings product_code_field and product_name_field: both name %s", cfg.ProductCodeField)
	}
	if cfg.QuotationLineCodeField != "" && cfg.QuotationLineCodeField == cfg.QuotationLineNameField {
		return cfg, fmt.Errorf("settings quotation_line_code_field and quotation_line_name_field: both name %s", cfg.QuotationLineCodeField)
	}
	return cfg, nil
}

func wholeNumber(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), n >= math.MinInt32 && n <= math.MaxInt32
	case uint64:
		return int(n), n <= math.MaxInt32
	case float64:
		return int(n), n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32
	}
	return 0, false
}
