// Package playground runs the four reference systems Concord ships (the
// Custom Webshop, the Custom ERP and the emulators of Exact Online and
// WebCRM) in one process, each on its own local HTTP listener, and writes
// the configuration that connects Concord to them through the built-in
// presets. `concord demo` and `concord qa` use it; so do the tests of the
// presets.
package playground

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/concordsync/concord/internal/sandbox/erp"
	"github.com/concordsync/concord/internal/sandbox/exactonline"
	"github.com/concordsync/concord/internal/sandbox/webcrm"
	"github.com/concordsync/concord/internal/sandbox/webshop"
)

// The systems, by the name of their preset (and of the system in the
// configuration Config writes).
const (
	Webshop = "customwebshop"
	ERP     = "customerp"
	Exact   = "exactonline"
	WebCRM  = "webcrm"
)

// Systems lists every system the playground runs.
var Systems = []string{Webshop, Exact, WebCRM, ERP}

// Options shape a playground.
type Options struct {
	// Addrs gives a listen address per system ("127.0.0.1:8083"); a system
	// without one listens on a free port of 127.0.0.1.
	Addrs map[string]string
	// Only starts just these systems (all when empty).
	Only []string
	// SeedDemo fills the webshop and the ERP with their small demo data.
	SeedDemo bool
	// Logger receives the sandboxes' logs; nil discards them.
	Logger *slog.Logger
}

// Playground is a set of running reference systems.
type Playground struct {
	Webshop *webshop.Server
	ERP     *erp.Server
	Exact   *exactonline.Server
	WebCRM  *webcrm.Server

	urls     map[string]string
	settings map[string]map[string]any
	servers  []*http.Server
	closers  []io.Closer
}

// Start starts the systems. Close stops them.
func Start(opts Options) (pg *Playground, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	pg = &Playground{urls: map[string]string{}, settings: map[string]map[string]any{}}
	defer func() {
		if err != nil {
			pg.Close()
			pg = nil
		}
	}()
	want := func(s string) bool { return len(opts.Only) == 0 || slices.Contains(opts.Only, s) }

	// The sandboxes run without their call limits, and the connectors are
	// told not to pace themselves: the demo and QA make in minutes the calls
	// a real installation spreads over hours.
	if want(Webshop) {
		srv, err := webshop.New(webshop.Options{SeedDemo: opts.SeedDemo, Logger: log.With("system", Webshop)})
		if err != nil {
			return nil, fmt.Errorf("webshop: %w", err)
		}
		pg.Webshop = srv
		pg.closers = append(pg.closers, srv)
		base, err := pg.serve(opts.Addrs[Webshop], srv.Handler())
		if err != nil {
			return nil, fmt.Errorf("webshop: %w", err)
		}
		srv.SetBaseURL(base)
		c := srv.Credentials(base)
		pg.urls[Webshop] = base + "/api/v1"
		pg.settings[Webshop] = map[string]any{"base_url": base + "/api/v1", "auth": map[string]any{"type": "bearer", "token": c.Token}, "rate_limit": 0}
	}
	if want(ERP) {
		srv, err := erp.New(erp.Options{SeedDemo: opts.SeedDemo, Logger: log.With("system", ERP)})
		if err != nil {
			return nil, fmt.Errorf("erp: %w", err)
		}
		pg.ERP = srv
		pg.closers = append(pg.closers, srv)
		base, err := pg.serve(opts.Addrs[ERP], srv.Handler())
		if err != nil {
			return nil, fmt.Errorf("erp: %w", err)
		}
		srv.SetBaseURL(base)
		c := srv.Credentials(base)
		pg.urls[ERP] = base + "/erp"
		pg.settings[ERP] = map[string]any{"base_url": base + "/erp", "auth": map[string]any{"type": "api_key", "header": "X-API-Key", "api_key": c.APIKey}, "rate_limit": 0}
	}
	if want(Exact) {
		// No call budgets: the demo and QA make thousands of calls in
		// minutes, which the real service spreads over days.
		srv, err := exactonline.New(exactonline.Options{Logger: log.With("system", Exact)})
		if err != nil {
			return nil, fmt.Errorf("exactonline: %w", err)
		}
		pg.Exact = srv
		pg.closers = append(pg.closers, srv)
		base, err := pg.serve(opts.Addrs[Exact], srv.Handler())
		if err != nil {
			return nil, fmt.Errorf("exactonline: %w", err)
		}
		srv.SetBaseURL(base)
		c := srv.IssueCredentials()
		pg.urls[Exact] = base + "/api/v1"
		pg.settings[Exact] = map[string]any{
			"base_url": base, "division": c.Division, "client_id": c.ClientID,
			"client_secret": c.ClientSecret, "refresh_token": c.RefreshToken,
			"webhook_secret": c.WebhookSecret,
		}
	}
	if want(WebCRM) {
		srv := webcrm.New(webcrm.Options{Logger: log.With("system", WebCRM)})
		pg.WebCRM = srv
		pg.closers = append(pg.closers, srv)
		base, err := pg.serve(opts.Addrs[WebCRM], srv.Handler())
		if err != nil {
			return nil, fmt.Errorf("webcrm: %w", err)
		}
		c := srv.Credentials(base)
		pg.urls[WebCRM] = base
		pg.settings[WebCRM] = map[string]any{"base_url": base, "api_token": c.AuthCode, "rate_limit": 0}
	}
	return pg, nil
}

func (pg *Playground) serve(addr string, h http.Handler) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	pg.servers = append(pg.servers, srv)
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed at Close
	return "http://" + ln.Addr().String(), nil
}

// URL is where a system's API is served.
func (pg *Playground) URL(system string) string { return pg.urls[system] }

// Settings are the connector settings that reach a system: its base URL
// and credentials, to lay over the preset's.
func (pg *Playground) Settings(system string) map[string]any { return pg.settings[system] }

// Config writes a configuration that connects the given systems (all the
// playground runs when none are given) through their presets, with the
// store at storePath ("" leaves the default). extra is appended verbatim
// (more mappings, overrides).
func (pg *Playground) Config(storePath string, systems ...string) []byte {
	if len(systems) == 0 {
		for _, s := range Systems {
			if pg.settings[s] != nil {
				systems = append(systems, s)
			}
		}
	}
	type system struct {
		Preset   string         `yaml:"preset"`
		Schedule string         `yaml:"schedule,omitempty"`
		Settings map[string]any `yaml:"settings"`
	}
	doc := struct {
		Store   map[string]string `yaml:"store,omitempty"`
		Systems map[string]system `yaml:"systems"`
	}{Systems: map[string]system{}}
	if storePath != "" {
		doc.Store = map[string]string{"path": storePath}
	}
	for _, s := range systems {
		doc.Systems[s] = system{Preset: s, Settings: pg.settings[s]}
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		panic(err) // plain maps and strings always marshal
	}
	return append([]byte("# Written by Concord for its local reference systems.\n"), b...)
}

// URLs lists "system url" lines, sorted, for printing.
func (pg *Playground) URLs() []string {
	var out []string
	for s, u := range pg.urls {
		out = append(out, s+" "+u)
	}
	sort.Strings(out)
	return out
}

// Close stops the listeners and the systems.
func (pg *Playground) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, s := range pg.servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range pg.closers {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Hint says how to call a system's API by hand (the header to send).
func (pg *Playground) Hint(system string) string {
	s := pg.settings[system]
	switch system {
	case Webshop:
		return fmt.Sprintf("Authorization: Bearer %v", s["auth"].(map[string]any)["token"])
	case ERP:
		return fmt.Sprintf("X-API-Key: %v", s["auth"].(map[string]any)["api_key"])
	case WebCRM:
		return fmt.Sprintf("POST %s/Auth/ApiLogin with authCode=%v, then Authorization: Bearer <AccessToken>", pg.urls[WebCRM], s["api_token"])
	case Exact:
		return fmt.Sprintf("OAuth2 at %s/api/oauth2/token (client %v, refresh token in the configuration)", strings.TrimSuffix(pg.urls[Exact], "/api/v1"), s["client_id"])
	}
	return ""
}
