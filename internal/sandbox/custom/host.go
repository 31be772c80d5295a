package custom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// HostConfig is what a reference system tells its Host: the options every
// system has, and hooks into its own API and data. The hooks are where
// the systems differ; the Host does the same for both.
type HostConfig struct {
	// Name names the system in errors and logs: "erp sandbox".
	Name string
	// Logger receives the Host's logs; nil means slog.Default().
	Logger *slog.Logger

	// The options of the system's Options with the same names.
	Now          func() time.Time // nil: time.Now
	Sleep        func(ctx context.Context, d time.Duration)
	Seed         int64
	Faults       Faults
	RateLimit    int
	BaseURL      string
	DataFile     string
	SaveInterval time.Duration // 0: one second

	// Prefix is where the API is ("/erp/"). A call under it passes the
	// gate, counted as "METHOD Prefix{name}" or "METHOD Prefix{name}/{id}",
	// with the credential Authenticate finds, and then goes to Route; any
	// other path is counted as "METHOD path" and answered by NotFound.
	Prefix       string
	Authenticate func(r *http.Request) (credential string, ok bool)
	Route        func(w http.ResponseWriter, r *http.Request, name, id string, hasID bool)
	NotFound     func(w http.ResponseWriter, r *http.Request)
	// Answers write the system's own bodies for what the gate refuses.
	Answers Answers

	// Lock guards the system's data and Journal, which numbers its
	// changes. Snapshot returns the data to save, with Lock held; rows
	// must be replaced, never changed in place, so that it may be encoded
	// under the lock.
	Lock     sync.Locker
	Journal  *Journal
	Snapshot func() any
	// Load reads DataFile when there is one (see LoadData).
	Load func(path string) error

	// Credential is where the system keeps the credential clients send
	// (its API key, its token). After Load, GivenCredential (the
	// option's) replaces it when not empty, and NewCredential makes one
	// when it is still empty.
	Credential      *string
	GivenCredential string
	NewCredential   func() string
	// SeedDemo asks for Demo, which fills an empty system with demo data,
	// to run after the credential is settled and before the first save.
	SeedDemo bool
	Demo     func() (bool, error)
	// Load, NewCredential and Demo run before NewHost returns, so they
	// must not use the Host.
}

// Host runs a reference system: its HTTP entry through the gate, its
// switches (faults, rate limit), its call counts, the base URL of its
// absolute links, and the saving of its data file, every SaveInterval and
// on Close. A system's Server embeds it, so that these are the Server's
// methods. It is safe for concurrent use.
type Host struct {
	cfg  HostConfig
	log  *slog.Logger
	gate *Gate

	baseMu sync.Mutex
	base   string

	saveMu    sync.Mutex
	saver     *Saver
	closeOnce sync.Once
	closeErr  error
}

// NewHost makes a Host: it sets the gate up, loads the data file, settles
// the credential, seeds the demo data and, with a data file, saves at
// once and starts saving changes.
func NewHost(cfg HostConfig) (*Host, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SaveInterval <= 0 {
		cfg.SaveInterval = time.Second
	}
	h := &Host{cfg: cfg, log: cfg.Logger, base: strings.TrimSuffix(cfg.BaseURL, "/")}
	h.gate = NewGate(cfg.Now, cfg.Sleep, cfg.Seed, cfg.Answers)
	h.gate.SetFaults(cfg.Faults)
	h.gate.SetRateLimit(cfg.RateLimit)
	if cfg.DataFile != "" && cfg.Load != nil {
		if err := cfg.Load(cfg.DataFile); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Name, err)
		}
	}
	if cfg.GivenCredential != "" {
		*cfg.Credential = cfg.GivenCredential
	}
	if *cfg.Credential == "" {
		*cfg.Credential = cfg.NewCredential()
		cfg.Journal.Touch()
	}
	if cfg.SeedDemo {
		if _, err := cfg.Demo(); err != nil {
			return nil, err
		}
	}
	if cfg.DataFile != "" {
		if err := h.Save(); err != nil {
			return nil, err
		}
		h.saver = StartSaver(cfg.SaveInterval, h.saveIfChanged)
	}
	return h, nil
}

// Handler is the system's HTTP API, under its prefix (/erp/, /api/v1/).
func (h *Host) Handler() http.Handler { return http.HandlerFunc(h.serveHTTP) }

func (h *Host) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(r.URL.Path, "/"), h.cfg.Prefix)
	if !ok || rest == "" {
		h.gate.Count(r.Method + " " + r.URL.Path)
		h.cfg.NotFound(w, r)
		return
	}
	name, id, hasID := strings.Cut(rest, "/")
	label := r.Method + " " + h.cfg.Prefix + name
	if hasID {
		label += "/{id}"
	}
	credential, ok := h.cfg.Authenticate(r)
	h.gate.Serve(w, r, label, credential, ok, func(w http.ResponseWriter, r *http.Request) {
		h.cfg.Route(w, r, name, id, hasID)
	})
}

// Close stops periodic saving and writes the data file one last time.
// Calling it again returns the first result.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		if h.saver != nil {
			h.saver.Stop()
		}
		h.closeErr = h.Save()
	})
	return h.closeErr
}

// SetBaseURL sets the scheme and host of the absolute URLs in answers
// (Location headers, next links).
func (h *Host) SetBaseURL(u string) {
	h.baseMu.Lock()
	defer h.baseMu.Unlock()
	h.base = strings.TrimSuffix(u, "/")
}

// BaseURL returns the scheme and host of the absolute URLs in answers;
// empty means each request's own (see the function BaseURL).
func (h *Host) BaseURL() string {
	h.baseMu.Lock()
	defer h.baseMu.Unlock()
	return h.base
}

// SetFaults replaces the faults in force; the zero Faults turns them off.
func (h *Host) SetFaults(f Faults) { h.gate.SetFaults(f) }

// Faults returns the faults in force.
func (h *Host) Faults() Faults { return h.gate.Faults() }

// SetRateLimit sets the calls a credential may make in a minute; 0: no
// limit.
func (h *Host) SetRateLimit(n int) { h.gate.SetRateLimit(n) }

// RateLimit returns the calls a credential may make in a minute; 0: no
// limit.
func (h *Host) RateLimit() int { return h.gate.RateLimit() }

// Calls counts the requests received by method and route:
// "GET /erp/customers", "PATCH /api/v1/orders/{id}". Refused (401, 429)
// and faulted requests count too.
func (h *Host) Calls() map[string]int { return h.gate.Calls() }

// ResetCalls sets every call count back to zero.
func (h *Host) ResetCalls() { h.gate.ResetCalls() }

// Save writes the data file now. Without a data file it does nothing.
func (h *Host) Save() error {
	if h.cfg.DataFile == "" {
		return nil
	}
	h.saveMu.Lock()
	defer h.saveMu.Unlock()
	h.cfg.Lock.Lock()
	snap := h.cfg.Snapshot()
	h.cfg.Journal.dirty = false
	err := SaveJSON(h.cfg.DataFile, snap) // rows are replaced, never changed in place: safe to encode under the lock
	if err != nil {
		h.cfg.Journal.dirty = true
	}
	h.cfg.Lock.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", h.cfg.Name, err)
	}
	return nil
}

func (h *Host) saveIfChanged() {
	h.cfg.Lock.Lock()
	dirty := h.cfg.Journal.dirty
	h.cfg.Lock.Unlock()
	if dirty {
		if err := h.Save(); err != nil {
			h.log.Error("saving the data file failed", "file", h.cfg.DataFile, "err", err)
		}
	}
}

// hosted is a system's Server: one that embeds *Host.
type hosted interface{ host() *Host }

func (h *Host) host() *Host { return h }

// ListenAndServe makes a system with open and serves it on addr until ctx
// ends, then closes it (writing its data). ready, when not nil, is called
// once the listener is bound, with the system and its base URL.
func ListenAndServe[S hosted](ctx context.Context, addr string, open func() (S, error), ready func(srv S, baseURL string)) error {
	srv, err := open()
	if err != nil {
		return err
	}
	h := srv.host()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w; choose another address, e.g. --listen 127.0.0.1:0", h.cfg.Name, addr, errors.Join(err, h.Close()))
	}
	base := "http://" + ln.Addr().String()
	if h.cfg.BaseURL == "" {
		h.SetBaseURL(base)
	} else {
		base = h.cfg.BaseURL
	}
	h.log.Info(h.cfg.Name+" listening; stop with Ctrl-C", "url", base, "data", dataName(h.cfg.DataFile), "rate_limit", h.cfg.RateLimit)
	if ready != nil {
		ready(srv, base)
	}
	err = Serve(ctx, ln, h.Handler(), h.log)
	if err != nil {
		err = fmt.Errorf("%s: %w", h.cfg.Name, err)
	}
	err = errors.Join(err, h.Close())
	h.log.Info(h.cfg.Name + " stopped")
	return err
}

func dataName(f string) string {
	if f == "" {
		return "(in memory)"
	}
	return f
}

// Journal numbers a system's writes, one change sequence for the whole
// system, and knows whether any is still to be saved. The system's lock
// guards it.
type Journal struct {
	seq   int64
	dirty bool
}

// Next numbers a write and marks the data as to be saved.
func (j *Journal) Next() int64 {
	j.seq++
	j.dirty = true
	return j.seq
}

// Seq is the number of the last write.
func (j *Journal) Seq() int64 { return j.seq }

// Touch marks the data as to be saved without a write (a new credential).
func (j *Journal) Touch() { j.dirty = true }

// Restore sets the number of the last write, as a data file holds it.
func (j *Journal) Restore(seq int64) { j.seq = seq }
