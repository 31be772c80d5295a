package exactonline

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// Tokens. Exact's access tokens live ten minutes; a refresh before about
// 570 s is refused (TooEarlyToRefreshTokens); every refresh returns a new
// refresh token and voids the old one. So the tokens live in Concord's store
// (connector.State), shared by every worker and process of the system, and
// one of them refreshes at a time: it takes a lease in the stored value by
// compare-and-swap, refreshes, and stores the new tokens before it uses the
// new access token. The others keep using the current access token while
// it is valid, and otherwise wait for the new one and read it.

// stateKey is the key of the token state in connector.State.
const stateKey = "oauth"

// divisionKey is where the division read from current/Me is kept.
const divisionKey = "division"

const (
	// refreshMargin: an access token is refreshed this long before it
	// expires (at 575 s of a 600 s token), never earlier than Exact allows.
	refreshMargin = 25 * time.Second
	// leaseTTL bounds a refresh; a lease older than this is taken over.
	leaseTTL = 30 * time.Second
	// leasePoll is how often a worker waiting for another's refresh looks
	// at the store again.
	leasePoll = 250 * time.Millisecond
)

// tokenState is the stored value.
type tokenState struct {
	AccessToken  string    `json:"access_token,omitempty"`
	Issued       time.Time `json:"issued,omitzero"`
	Expires      time.Time `json:"expires,omitzero"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	LeaseOwner   string    `json:"lease_owner,omitempty"`
	LeaseUntil   time.Time `json:"lease_until,omitzero"`
	// Refused holds Exact's answer when it refused the refresh token:
	// nobody can refresh until the user authorizes again.
	Refused string `json:"refused,omitempty"`
	// Seed is a digest of the refresh_token setting once it has been used,
	// so that a used seed is not tried again (a new one is).
	Seed string `json:"seed,omitempty"`
}

func seedDigest(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:8])
}

func (t tokenState) due(now time.Time) bool {
	return t.AccessToken == "" || !now.Before(t.Expires.Add(-refreshMargin))
}

func (t tokenState) valid(now time.Time) bool {
	return t.AccessToken != "" && now.Before(t.Expires.Add(-2*time.Second))
}

// tokenSource hands out access tokens for one system.
type tokenSource struct {
	system string
	s      Settings
	state  connector.State
	http   *http.Client
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	owner  string // this connector's lease name

	mu      sync.Mutex // one refresh attempt per process at a time
	cur     tokenState // the tokens last read or made
	refused string     // an access token the API refused (401)
	// refreshes counts the refreshes this source made (tests read it).
	refreshes int
}

func newOwner() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ErrAuthorize marks a failure only the user can fix by authorizing again.
var ErrAuthorize = errors.New("authorization needed")

func (ts *tokenSource) needAuth(reason string) error {
	// Temporary, so that the engine keeps the records waiting instead of
	// parking them as rejected while the user authorizes again.
	return connector.Temporary(fmt.Errorf("exactonline system %q: %s; run `concord auth exactonline --system %s` to authorize Concord: %w",
		ts.system, reason, ts.system, ErrAuthorize))
}

// load reads the stored tokens; when none are stored it seeds them with
// the refresh_token setting.
func (ts *tokenSource) load(ctx context.Context) (tokenState, int64, error) {
	for {
		raw, ver, err := ts.state.GetState(ctx, ts.system, stateKey)
		if err != nil {
			return tokenState{}, 0, connector.Temporary(fmt.Errorf("exactonline: read tokens from the store: %w", err))
		}
		var st tokenState
		if raw != "" {
			if err := json.Unmarshal([]byte(raw), &st); err != nil {
				return tokenState{}, 0, fmt.Errorf("exactonline system %q: the stored tokens are unreadable (%v); run `concord auth exactonline --system %s`", ts.system, err, ts.system)
			}
		}
		if st.RefreshToken != "" || ts.s.RefreshToken == "" || st.Seed == seedDigest(ts.s.RefreshToken) {
			return st, ver, nil
		}
		st = tokenState{RefreshToken: ts.s.RefreshToken, Seed: seedDigest(ts.s.RefreshToken)}
		if _, _, err := ts.swap(ctx, st, ver); err != nil {
			return tokenState{}, 0, err
		}
	}
}

func (ts *tokenSource) swap(ctx context.Context, st tokenState, ver int64) (int64, bool, error) {
	b, _ := json.Marshal(st)
	nv, ok, err := ts.state.SwapState(ctx, ts.system, stateKey, string(b), ver)
	if err != nil {
		return 0, false, connector.Temporary(fmt.Errorf("exactonline: store tokens: %w", err))
	}
	return nv, ok, nil
}

// token returns an access token to use now.
func (ts *tokenSource) token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if now := ts.now(); !ts.cur.due(now) && ts.cur.AccessToken != ts.refused {
		return ts.cur.AccessToken, nil
	}
	tooEarly := 0
	// refusedAfterTakeover is a refresh token Exact refused after this
	// worker took over an expired lease: the previous holder may have used
	// it after all and be about to store its successor.
	refusedAfterTakeover, waitedFrom := "", time.Time{}
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		now := ts.now()
		st, ver, err := ts.load(ctx)
		if err != nil {
			return "", err
		}
		usable := st.AccessToken != ts.refused
		if usable && !st.due(now) {
			ts.cur = st
			return st.AccessToken, nil
		}
		if st.RefreshToken == "" {
			if st.Refused != "" {
				return "", ts.needAuth("Exact refused the stored refresh token (" + st.Refused + ")")
			}
			return "", ts.needAuth("no tokens are stored for it yet")
		}
		if st.LeaseOwner != "" && st.LeaseOwner != ts.owner && now.Before(st.LeaseUntil) {
			// Another worker is refreshing: use the current token while it
			// lasts, or wait for the new one.
			if usable && st.valid(now) {
				ts.cur = st
				return st.AccessToken, nil
			}
			if err := ts.sleep(ctx, leasePoll); err != nil {
				return "", err
			}
			continue
		}
		if refusedAfterTakeover != "" && st.RefreshToken == refusedAfterTakeover {
			if now.Sub(waitedFrom) < leaseTTL {
				if err := ts.sleep(ctx, leasePoll); err != nil {
					return "", err
				}
				continue
			}
			// Nobody stored a successor: the token is dead after all.
			lease := st
			ts.release(ctx, lease, ver, "Old refresh token used")
			return "", ts.needAuth("Exact refused the refresh token")
		}
		tookOver := st.LeaseOwner != "" && st.LeaseOwner != ts.owner
		lease := st
		lease.LeaseOwner, lease.LeaseUntil = ts.owner, now.Add(leaseTTL)
		leaseVer, ok, err := ts.swap(ctx, lease, ver)
		if err != nil {
			return "", err
		}
		if !ok {
			continue // changed under us: read again
		}
		fresh, err := ts.refresh(ctx, st.RefreshToken)
		if err != nil {
			var re *refreshError
			if errors.As(err, &re) && re.tooEarly {
				// Exact says the current token is too young to refresh:
				// our idea of its age is off. Use it while it is valid,
				// else wait a little and try again.
				ts.release(ctx, lease, leaseVer, "")
				if usable && st.valid(now) {
					ts.cur = st
					return st.AccessToken, nil
				}
				if tooEarly++; tooEarly > 8 {
					return "", connector.Temporary(fmt.Errorf("exactonline system %q: Exact keeps refusing to refresh the access token as too early", ts.system))
				}
				if err := ts.sleep(ctx, 5*time.Second); err != nil {
					return "", err
				}
				continue
			}
			if errors.As(err, &re) && re.client {
				ts.release(ctx, lease, leaseVer, "")
				return "", connector.Temporary(fmt.Errorf("exactonline system %q: Exact refused the app's credentials (%s): check the settings client_id and client_secret", ts.system, re.desc))
			}
			if errors.As(err, &re) && re.dead {
				cur, _, lerr := ts.load(ctx)
				if lerr != nil {
					return "", lerr
				}
				if cur.RefreshToken != st.RefreshToken {
					continue // another worker stored a successor meanwhile
				}
				if tookOver || cur.LeaseOwner != ts.owner {
					// Another worker held the lease before or after this
					// one: it may have used the token and be about to
					// store the successor. Wait for it before giving up.
					ts.release(ctx, lease, leaseVer, "")
					refusedAfterTakeover, waitedFrom = st.RefreshToken, ts.now()
					continue
				}
				ts.release(ctx, lease, leaseVer, re.desc)
				return "", ts.needAuth("Exact refused the refresh token (" + re.desc + ")")
			}
			ts.release(ctx, lease, leaseVer, "")
			return "", err
		}
		ts.refreshes++
		fresh.Seed = st.Seed
		// The old refresh token is void now: the new one must be stored
		// before anything else, whatever happened to the lease meanwhile.
		ts.cur = fresh
		if err := ts.persist(ctx, fresh, leaseVer); err != nil {
			return "", err
		}
		return fresh.AccessToken, nil
	}
}

// persist stores freshly refreshed tokens. The refresh voided the old
// refresh token, so this insists: over a changed version (a lease taken over
// meanwhile) and over passing store errors.
func (ts *tokenSource) persist(ctx context.Context, fresh tokenState, ver int64) error {
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		_, ok, err := ts.swap(ctx, fresh, ver)
		if err == nil && ok {
			return nil
		}
		if err != nil {
			lastErr = err
			if err := ts.sleep(ctx, time.Second); err != nil {
				return err
			}
		}
		_, v, err := ts.state.GetState(ctx, ts.system, stateKey)
		if err != nil {
			lastErr = err
			continue
		}
		ver = v
	}
	return fmt.Errorf("exactonline system %q: the refreshed tokens could not be stored (%v); the previous refresh token is void, so run `concord auth exactonline --system %s` if this persists", ts.system, lastErr, ts.system)
}

// release gives a lease up, noting a refused refresh token if there is one.
func (ts *tokenSource) release(ctx context.Context, lease tokenState, ver int64, refused string) {
	lease.LeaseOwner, lease.LeaseUntil = "", time.Time{}
	if refused != "" {
		lease.AccessToken, lease.RefreshToken, lease.Refused = "", "", refused
	}
	ts.swap(ctx, lease, ver) // a failed release expires with the lease
}

// unauthorized notes that the API refused access token tok (401): the next
// token call refreshes even if the token looks valid.
func (ts *tokenSource) unauthorized(tok string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.refused = tok
	if ts.cur.AccessToken == tok {
		ts.cur = tokenState{}
	}
}

type refreshError struct {
	status   int
	code     string
	desc     string
	tooEarly bool
	dead     bool // the refresh token is void: authorize again
	client   bool // the client id or secret is wrong
}

func (e *refreshError) Error() string {
	return fmt.Sprintf("exactonline: token endpoint answered %d %s: %s", e.status, e.code, e.desc)
}

// tokenReply is the token endpoint's answer; expires_in comes as a string.
type tokenReply struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
}

func (ts *tokenSource) refresh(ctx context.Context, refreshToken string) (tokenState, error) {
	// The call ends before the lease does, so that nobody takes a lease
	// over while its holder may still get an answer.
	ctx, cancel := context.WithTimeout(ctx, leaseTTL-5*time.Second)
	defer cancel()
	return postToken(ctx, ts.http, ts.s, ts.now, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

// postToken calls the token endpoint with form (plus the client's id and
// secret) and returns the tokens.
func postToken(ctx context.Context, hc *http.Client, s Settings, now func() time.Time, form url.Values) (tokenState, error) {
	form.Set("client_id", s.ClientID)
	form.Set("client_secret", s.ClientSecret)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.tokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return tokenState{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return tokenState{}, ctx.Err()
		}
		return tokenState{}, connector.Temporary(fmt.Errorf("exactonline: token endpoint: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tokenState{}, connector.Temporary(fmt.Errorf("exactonline: token endpoint: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
			Desc  string `json:"error_description"`
		}
		json.Unmarshal(body, &e)
		re := &refreshError{status: resp.StatusCode, code: e.Error, desc: e.Desc}
		if re.desc == "" {
			re.desc = strings.TrimSpace(string(body))
		}
		switch {
		case strings.EqualFold(resp.Header.Get("Reason"), "TooEarlyToRefreshTokens") ||
			strings.Contains(re.desc, "not expired"):
			re.tooEarly = true
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return tokenState{}, connector.Temporary(re)
		case e.Error == "invalid_grant":
			re.dead = true
		case e.Error == "invalid_client" || resp.StatusCode == http.StatusUnauthorized:
			// The app's credentials, not the tokens: keep the tokens.
			re.client = true
		}
		return tokenState{}, re
	}
	var tr tokenReply
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" || tr.RefreshToken == "" {
		return tokenState{}, connector.Temporary(fmt.Errorf("exactonline: the token endpoint's answer has no tokens"))
	}
	// Dated when the answer arrived: Exact dated the token somewhere during
	// the call, so this errs towards refreshing later (never too early),
	// and the 25 s margin before expiry covers the call's duration.
	issued := now()
	life := 600 * time.Second
	if n, err := int64Of(json.Number(strings.Trim(string(tr.ExpiresIn), `"`))); err == nil && n > 0 {
		life = time.Duration(n) * time.Second
	}
	return tokenState{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, Issued: issued, Expires: issued.Add(life)}, nil
}

// storeTokens writes tokens (from an authorization) into st, replacing
// whatever is stored, lease included.
func storeTokens(ctx context.Context, st connector.State, system string, t tokenState) error {
	for range 100 {
		raw, ver, err := st.GetState(ctx, system, stateKey)
		if err != nil {
			return err
		}
		var old tokenState
		if json.Unmarshal([]byte(raw), &old) == nil {
			t.Seed = old.Seed
		}
		b, _ := json.Marshal(t)
		if _, ok, err := st.SwapState(ctx, system, stateKey, string(b), ver); err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("exactonline: could not store the tokens: the stored value keeps changing")
}
