package exactonline

import (
	"net/http"
	"strconv"
	"time"
)

// limits is the gateway's bookkeeping: call budgets per app and division,
// token calls per app and day, and the hourly error block. All of it is
// guarded by Server.mu.
type limits struct {
	loc        *time.Location
	minutely   int
	daily      int
	tokenDaily int
	errorLimit int

	usage  map[usageKey]*usage
	tokens map[string]*window // token endpoint calls by client id
	errs   map[errKey]*errState
}

type usageKey struct {
	clientID string
	division int
}

// usage holds the two windows of one app and division. The minute window
// opens with the first call after the previous one closed and lasts 60
// seconds; the day window is the calendar day in Dutch time.
type usage struct {
	minute window
	day    window
}

type window struct {
	start time.Time
	end   time.Time
	count int
}

// roll opens a new window when the current one has closed.
func (w *window) roll(now time.Time, open func(time.Time) (time.Time, time.Time)) {
	if w.end.IsZero() || !now.Before(w.end) {
		w.start, w.end = open(now)
		w.count = 0
	}
}

type errKey struct {
	clientID string
	division int
	endpoint string // lower case
}

type errState struct {
	times        []time.Time // error responses within the last hour
	blockedUntil time.Time
}

func (l *limits) init(opts Options) {
	l.loc = opts.Location
	l.minutely, l.daily = opts.MinutelyLimit, opts.DailyLimit
	l.tokenDaily, l.errorLimit = opts.TokenDailyLimit, opts.ErrorLimit
	l.usage = map[usageKey]*usage{}
	l.tokens = map[string]*window{}
	l.errs = map[errKey]*errState{}
}

func minuteWindow(now time.Time) (time.Time, time.Time) { return now, now.Add(time.Minute) }

func (l *limits) dayWindow(now time.Time) (time.Time, time.Time) {
	y, m, d := now.In(l.loc).Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, l.loc)
	return start, start.AddDate(0, 0, 1)
}

func (l *limits) get(k usageKey, now time.Time) *usage {
	u := l.usage[k]
	if u == nil {
		u = &usage{}
		l.usage[k] = u
	}
	u.minute.roll(now, minuteWindow)
	u.day.roll(now, l.dayWindow)
	return u
}

// consume counts one call against k's budgets. It returns the rate-limit
// headers to send and whether the call may go ahead. A call refused for the
// minute carries only the minutely headers, as Exact's do; one refused for
// the day carries all six.
func (l *limits) consume(k usageKey, now time.Time) (http.Header, bool) {
	u := l.get(k, now)
	if l.daily > 0 && u.day.count >= l.daily {
		return l.render(u, true, true), false
	}
	if l.minutely > 0 && u.minute.count >= l.minutely {
		return l.render(u, false, true), false
	}
	u.minute.count++
	u.day.count++
	return l.render(u, true, true), true
}

// headers are k's current rate-limit headers, counting nothing.
func (l *limits) headers(k usageKey, now time.Time) http.Header {
	return l.render(l.get(k, now), true, true)
}

// render writes the X-RateLimit headers; a limit that is off (0) has none.
func (l *limits) render(u *usage, daily, minutely bool) http.Header {
	h := http.Header{}
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	if daily && l.daily > 0 {
		h.Set("X-RateLimit-Limit", strconv.Itoa(l.daily))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, l.daily-u.day.count)))
		h.Set("X-RateLimit-Reset", ms(u.day.end))
	}
	if minutely && l.minutely > 0 {
		h.Set("X-RateLimit-Minutely-Limit", strconv.Itoa(l.minutely))
		h.Set("X-RateLimit-Minutely-Remaining", strconv.Itoa(max(0, l.minutely-u.minute.count)))
		h.Set("X-RateLimit-Minutely-Reset", ms(u.minute.end))
	}
	return h
}

// tokenCall counts one token endpoint call of clientID; false when the
// app's daily token budget is spent.
func (l *limits) tokenCall(clientID string, now time.Time) bool {
	w := l.tokens[clientID]
	if w == nil {
		w = &window{}
		l.tokens[clientID] = w
	}
	w.roll(now, l.dayWindow)
	if l.tokenDaily > 0 && w.count >= l.tokenDaily {
		return false
	}
	w.count++
	return true
}

// noteError counts an error response for k; the one that takes the count
// within the last hour past the limit blocks k for an hour.
func (l *limits) noteError(k errKey, now time.Time) {
	if l.errorLimit <= 0 {
		return
	}
	e := l.errs[k]
	if e == nil {
		e = &errState{}
		l.errs[k] = e
	}
	cut := 0
	for cut < len(e.times) && !e.times[cut].After(now.Add(-time.Hour)) {
		cut++
	}
	e.times = append(e.times[cut:], now)
	if len(e.times) > l.errorLimit {
		e.blockedUntil = now.Add(time.Hour)
		e.times = nil
	}
}

// blocked says whether k is blocked at now, and until when.
func (l *limits) blocked(k errKey, now time.Time) (time.Time, bool) {
	e := l.errs[k]
	if e == nil || !now.Before(e.blockedUntil) {
		return time.Time{}, false
	}
	return e.blockedUntil, true
}
