package exactonline

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/pace"
)

// pacer keeps the connector's calls within Exact's budgets, as the
// X-RateLimit-* headers of the latest answers tell them: the minutely budget
// (a call waits for the window to reset rather than earn a 429), the daily
// budget (spread over what is left of the day once three quarters are used,
// and writes held back once only the read reserve is left, so that reads
// of changes keep going), and the hourly error block (an endpoint that
// failed too often within the hour gets no more calls, and a call that
// failed with a 4xx is not repeated for a while).
type pacer struct {
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error
	maxWait     time.Duration
	readReserve int // 0: 10% of the daily limit
	errorLimit  int

	mu       sync.Mutex
	saved    time.Time // when the budget was last written to the store
	savedAs  bool      // the writes-held flag it was written with
	inflight int
	minute   window
	day      window
	lastCall time.Time
	held     bool // writes are being held for the read reserve

	errs   map[string][]time.Time // endpoint → error answers in the last hour
	failed map[string]failure     // request fingerprint → remembered 4xx
}

type window struct {
	known     bool
	limit     int
	remaining int
	reset     time.Time
}

type failure struct {
	until time.Time
	err   error
}

// failureMemory is how long a call that failed with a 4xx is answered from
// memory instead of being sent again.
const failureMemory = 15 * time.Minute

func newPacer(now func() time.Time, sleep func(context.Context, time.Duration) error, s Settings) *pacer {
	return &pacer{now: now, sleep: sleep, maxWait: s.MaxWait, readReserve: s.ReadReserve, errorLimit: s.ErrorLimit,
		errs: map[string][]time.Time{}, failed: map[string]failure{}}
}

// errHeld is the temporary error of a call the pacer will not make now.
func errHeld(format string, args ...any) error {
	return connector.Temporary(fmt.Errorf("exactonline: "+format, args...))
}

// errBudget is the error of a call the day's budget does not allow now.
func errBudget(format string, args ...any) error {
	return connector.Throttled(fmt.Errorf("exactonline: "+format, args...))
}

// reserve waits until a call to endpoint may be made, and counts it as in
// flight; done must follow. write says whether the call changes data.
func (p *pacer) reserve(ctx context.Context, endpoint, fingerprint string, write bool) error {
	p.mu.Lock()
	for {
		now := p.now()
		if f, ok := p.failed[fingerprint]; ok {
			if now.Before(f.until) {
				p.mu.Unlock()
				return f.err
			}
			delete(p.failed, fingerprint)
		}
		if n := p.recentErrors(endpoint, now); n >= p.errorHold() {
			until := p.errs[endpoint][0].Add(time.Hour)
			p.mu.Unlock()
			return errHeld("%s answered %d errors within the hour; calls to it are held until %s so that Exact does not block the app for an hour (fix the failing call; `concord status` shows the dead letters)",
				endpoint, n, until.Format(time.TimeOnly))
		}
		wait := time.Duration(0)
		if p.day.known && now.Before(p.day.reset) {
			switch {
			case p.day.remaining <= 0:
				p.mu.Unlock()
				return errBudget("the day's budget of %d API calls is spent; calls resume at %s", p.day.limit, p.day.reset.Format(time.DateTime))
			case write && p.day.remaining <= p.dayReserve():
				p.held = true
				p.mu.Unlock()
				return errBudget("writes held: %d of the day's %d API calls are left until %s, kept for reading changes; writes resume then",
					p.day.remaining, p.day.limit, p.day.reset.Format(time.DateTime))
			case p.day.remaining < p.day.limit/4:
				// Spread what is left over the rest of the day.
				gap := p.day.reset.Sub(now) / time.Duration(p.day.remaining+1)
				wait = max(wait, p.lastCall.Add(gap).Sub(now))
			}
		}
		if p.minute.known && now.Before(p.minute.reset) && p.minute.remaining <= 0 {
			wait = max(wait, p.minute.reset.Sub(now)+50*time.Millisecond)
		}
		if wait <= 0 {
			break
		}
		if wait > p.maxWait {
			p.mu.Unlock()
			return errHeld("rate limit: the next call to %s may be made in %s, longer than max_wait %s", endpoint, wait.Round(time.Second), p.maxWait)
		}
		p.mu.Unlock()
		if err := p.sleep(ctx, wait); err != nil {
			return err
		}
		p.mu.Lock()
		if now := p.now(); p.minute.known && !now.Before(p.minute.reset) {
			// The window has rolled: its budget is whole again until an
			// answer says otherwise.
			p.minute.remaining, p.minute.reset = p.minute.limit, now.Add(time.Minute)
		}
	}
	if p.minute.known {
		p.minute.remaining--
	}
	if p.day.known {
		p.day.remaining--
	}
	p.inflight++
	p.lastCall = p.now()
	p.mu.Unlock()
	return nil
}

// done ends a call reserved with reserve: it reads the budget headers of the
// answer (h may be nil when none came) and counts an error answer.
func (p *pacer) done(endpoint string, status int, h http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	now := p.now()
	others := p.inflight // reserved but not yet counted by the server
	if l, r, reset, ok := rateHeaders(h, "X-RateLimit-Minutely-"); ok {
		p.minute = window{known: true, limit: l, remaining: r - others, reset: reset}
	}
	if l, r, reset, ok := rateHeaders(h, "X-RateLimit-"); ok {
		p.day = window{known: true, limit: l, remaining: r - others, reset: reset}
		if p.held && r > p.dayReserve() {
			p.held = false
		}
	}
	if status == 400 || status == 401 || status == 403 || status == 404 {
		p.errs[endpoint] = append(p.errs[endpoint], now)
	}
}

// throttled notes a 429: the window it names is spent until its reset; a
// Retry-After (the hourly block) holds the endpoint.
func (p *pacer) throttled(endpoint string, h http.Header) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	wait := time.Duration(0)
	if d, ok := pace.RetryAfter(h, now); ok && d > 0 {
		wait = d
		// Blocked for the hour: make the endpoint look spent.
		for len(p.errs[endpoint]) < p.errorHold() {
			p.errs[endpoint] = append(p.errs[endpoint], now.Add(wait-time.Hour))
		}
	}
	if p.minute.known && p.minute.remaining <= 0 && now.Before(p.minute.reset) {
		wait = max(wait, p.minute.reset.Sub(now)+50*time.Millisecond)
	}
	if p.day.known && p.day.remaining <= 0 && now.Before(p.day.reset) {
		wait = max(wait, p.day.reset.Sub(now))
	}
	if wait == 0 {
		wait = 2 * time.Second // a 429 without headers: back off a little
	}
	return wait
}

// remember keeps a 4xx answer to a call so that the same call is not sent
// again soon.
func (p *pacer) remember(fingerprint string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failed[fingerprint] = failure{until: p.now().Add(failureMemory), err: err}
}

func (p *pacer) recentErrors(endpoint string, now time.Time) int {
	ts := p.errs[endpoint]
	cut := 0
	for cut < len(ts) && !ts[cut].After(now.Add(-time.Hour)) {
		cut++
	}
	if cut > 0 {
		ts = ts[cut:]
		if len(ts) == 0 {
			delete(p.errs, endpoint)
		} else {
			p.errs[endpoint] = ts
		}
	}
	return len(ts)
}

// errorHold is the number of errors within an hour after which an endpoint
// gets no more calls: two short of Exact's limit, which keeps room for
// what another worker may cause.
func (p *pacer) errorHold() int { return max(1, p.errorLimit-2) }

func (p *pacer) dayReserve() int {
	if p.readReserve > 0 {
		return p.readReserve
	}
	return max(1, p.day.limit/10)
}

// Budget is the daily API budget as the latest answers told it: calls
// remaining and the limit (both 0 while unknown), when it resets, and
// whether writes are being held back for reads.
func (p *pacer) budget() (remaining, limit int, reset time.Time, writesHeld bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.day.known {
		return 0, 0, time.Time{}, false
	}
	return max(0, p.day.remaining), p.day.limit, p.day.reset, p.held
}

// rateHeaders reads one family of X-RateLimit headers.
func rateHeaders(h http.Header, prefix string) (limit, remaining int, reset time.Time, ok bool) {
	if h == nil {
		return 0, 0, time.Time{}, false
	}
	l, err1 := strconv.Atoi(h.Get(prefix + "Limit"))
	r, err2 := strconv.Atoi(h.Get(prefix + "Remaining"))
	ms, err3 := strconv.ParseInt(h.Get(prefix+"Reset"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, time.Time{}, false
	}
	return l, r, time.UnixMilli(ms), true
}

// BudgetState is the daily budget as the connector last saw it, kept in
// Concord's store so that another process (`concord status`) can show it.
type BudgetState struct {
	Remaining  int       `json:"remaining"`
	Limit      int       `json:"limit"`
	Reset      time.Time `json:"reset"`
	WritesHeld bool      `json:"writes_held"`
	At         time.Time `json:"at"` // when it was seen
}

// budgetKey is where BudgetState is kept.
const budgetKey = "budget"

// budgetSaveInterval bounds how often the budget is written to the store;
// a change of the writes-held flag is written at once.
const budgetSaveInterval = time.Minute

// dueSave returns the budget to store now, if it is time to.
func (p *pacer) dueSave() (BudgetState, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if !p.day.known || (p.held == p.savedAs && now.Sub(p.saved) < budgetSaveInterval && !now.Before(p.saved)) {
		return BudgetState{}, false
	}
	p.saved, p.savedAs = now, p.held
	return BudgetState{Remaining: max(0, p.day.remaining), Limit: p.day.limit, Reset: p.day.reset, WritesHeld: p.held, At: now}, true
}

// saveBudget writes the budget to the store when it is due; a failure only
// delays it.
func (c *Conn) saveBudget(ctx context.Context) {
	b, ok := c.pacer.dueSave()
	if !ok {
		return
	}
	raw, _ := json.Marshal(b)
	_, ver, err := c.state.GetState(ctx, c.system, budgetKey)
	if err == nil {
		c.state.SwapState(ctx, c.system, budgetKey, string(raw), ver)
	}
	// The line `concord status` shows: only when the day's budget runs low.
	note, ver, err := c.state.GetState(ctx, c.system, connector.StatusKey)
	if want := b.Note(); err == nil && want != note {
		c.state.SwapState(ctx, c.system, connector.StatusKey, want, ver)
	}
}

// Note is what `concord status` says of the budget: nothing while more
// than a quarter of the day's calls is left.
func (b BudgetState) Note() string {
	if b.Limit <= 0 || (!b.WritesHeld && b.Remaining*4 > b.Limit) {
		return ""
	}
	s := fmt.Sprintf("Exact Online daily API budget: %d of %d calls left until %s", b.Remaining, b.Limit, b.Reset.Local().Format("2006-01-02 15:04"))
	if b.WritesHeld {
		s += "; writes are held back so that reads of changes go first"
	}
	return s
}

// StoredBudget reads the budget a connector of system last kept in st;
// ok is false when none is kept (no answer with budget headers yet).
func StoredBudget(ctx context.Context, st connector.State, system string) (b BudgetState, ok bool, err error) {
	raw, _, err := st.GetState(ctx, system, budgetKey)
	if err != nil || raw == "" {
		return BudgetState{}, false, err
	}
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		return BudgetState{}, false, fmt.Errorf("exactonline system %q: stored budget: %w", system, err)
	}
	return b, true, nil
}
