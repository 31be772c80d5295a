package exactonline

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// Authorization walks a user through Exact's OAuth2 authorization code
// flow and stores the tokens where the connector finds them. The CLI's
// `concord auth exactonline` runs it.
type Authorization struct {
	system string
	s      Settings
	http   *http.Client
	now    func() time.Time
}

// NewAuthorization prepares the flow for one configured system; its
// settings must name the redirect URI registered for the app.
func NewAuthorization(system string, settings map[string]any, hc *http.Client) (*Authorization, error) {
	s, err := ParseSettings(system, settings)
	if err != nil {
		return nil, err
	}
	if s.RedirectURI == "" {
		return nil, fmt.Errorf("system %q (kind exactonline): setting redirect_uri is required to authorize: the redirect URI registered for your app in the Exact Online App Center, e.g. http://localhost:8765/callback", system)
	}
	if hc == nil {
		hc = &http.Client{Timeout: s.Timeout}
	}
	return &Authorization{system: system, s: s, http: hc, now: time.Now}, nil
}

// URL is the page the user opens to log in and consent.
func (a *Authorization) URL(state string) string {
	q := url.Values{"client_id": {a.s.ClientID}, "redirect_uri": {a.s.RedirectURI}, "response_type": {"code"}, "state": {state}}
	return a.s.authURL() + "?" + q.Encode()
}

// Exchange trades an authorization code for tokens and stores them in st,
// replacing what was stored.
func (a *Authorization) Exchange(ctx context.Context, st connector.State, code string) error {
	t, err := postToken(ctx, a.http, a.s, a.now, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.s.RedirectURI}})
	if err != nil {
		return fmt.Errorf("exchange the authorization code: %w", err)
	}
	if err := storeTokens(ctx, st, a.system, t); err != nil {
		return fmt.Errorf("store the tokens: %w", err)
	}
	return nil
}

// AuthorizeOptions shape Run.
type AuthorizeOptions struct {
	// Out receives the instructions (the URL to open).
	Out io.Writer
	// In, when set, is read for the code (or the whole redirected URL)
	// instead of listening on the redirect URI: for a machine whose
	// browser cannot reach it.
	In io.Reader
	// Ready, when set, is called with the authorization URL once Concord
	// listens for the redirect (tests play the browser with it).
	Ready func(authURL string)
}

// Run does the whole flow: it prints the URL, waits for the redirect with
// the code (listening on the redirect URI's host and port), exchanges the
// code, stores the tokens in st and checks them by reading the division.
func (a *Authorization) Run(ctx context.Context, st connector.State, o AuthorizeOptions) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	b := make([]byte, 16)
	rand.Read(b)
	state := hex.EncodeToString(b)
	authURL := a.URL(state)

	var code string
	var err error
	if o.In != nil {
		fmt.Fprintf(o.Out, "Open this page, log in to Exact Online and allow access:\n\n  %s\n\nThen paste the code (or the whole address the browser was sent to) here: ", authURL)
		code, err = readCode(o.In, state)
	} else {
		code, err = a.listen(ctx, state, func() {
			fmt.Fprintf(o.Out, "Open this page, log in to Exact Online and allow access:\n\n  %s\n\nWaiting for Exact to send the browser back to %s …\n", authURL, a.s.RedirectURI)
			if o.Ready != nil {
				o.Ready(authURL)
			}
		})
	}
	if err != nil {
		return err
	}
	if err := a.Exchange(ctx, st, code); err != nil {
		return err
	}
	c := newConn(ctx, a.system, a.s, Options{HTTPClient: a.http, State: st, Now: a.now})
	div, err := c.division(ctx)
	if err != nil {
		return fmt.Errorf("the tokens are stored, but the first call with them failed: %w", err)
	}
	fmt.Fprintf(o.Out, "Concord is authorized for system %q (division %d); the tokens are in Concord's store.\n", a.system, div)
	return nil
}

// readCode reads a code, or a redirected URL holding one, from in.
func readCode(in io.Reader, state string) (string, error) {
	line, err := bufio.NewReader(in).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "" {
		if err == nil {
			err = errors.New("no code given")
		}
		return "", fmt.Errorf("read the authorization code: %w", err)
	}
	if u, perr := url.Parse(line); perr == nil && u.RawQuery != "" {
		q := u.Query()
		if e := q.Get("error"); e != "" {
			return "", fmt.Errorf("Exact Online refused the authorization: %s %s", e, q.Get("error_description"))
		}
		if s := q.Get("state"); s != "" && s != state {
			return "", errors.New("the address is from another authorization attempt (state differs): start again")
		}
		if c := q.Get("code"); c != "" {
			return c, nil
		}
	}
	return line, nil
}

// listen serves the redirect URI until the browser arrives with a code.
func (a *Authorization) listen(ctx context.Context, state string, ready func()) (string, error) {
	ru, err := url.Parse(a.s.RedirectURI)
	if err != nil {
		return "", err
	}
	if ru.Scheme != "http" {
		return "", fmt.Errorf("redirect_uri %s is not http: Concord cannot receive it itself; use --paste to paste the code", a.s.RedirectURI)
	}
	port := ru.Port()
	if port == "" {
		port = "80"
	}
	host := net.JoinHostPort(ru.Hostname(), port)
	ln, err := net.Listen("tcp", host)
	if err != nil {
		return "", fmt.Errorf("listen on %s for the redirect (%v): free the port, or use --paste to paste the code", host, err)
	}
	type result struct {
		code string
		err  error
	}
	got := make(chan result, 1)
	path := ru.Path
	if path == "" {
		path = "/"
	}
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res result
		switch {
		case q.Get("state") != state:
			http.Error(w, "This is not the authorization Concord is waiting for (state differs).", http.StatusBadRequest)
			return
		case q.Get("error") != "":
			res.err = fmt.Errorf("Exact Online refused the authorization: %s %s", q.Get("error"), q.Get("error_description"))
		case q.Get("code") == "":
			res.err = errors.New("Exact Online sent the browser back without a code")
		default:
			res.code = q.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if res.err != nil {
			fmt.Fprintf(w, "<h1>Concord was not authorized</h1><p>%s</p>", html.EscapeString(res.err.Error()))
		} else {
			fmt.Fprint(w, "<h1>Concord is authorized</h1><p>You can close this window and go back to the terminal.</p>")
		}
		select {
		case got <- res:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-served
	}()
	ready()
	select {
	case r := <-got:
		return r.code, r.err
	case <-ctx.Done():
		return "", fmt.Errorf("no redirect from Exact Online arrived: %w", ctx.Err())
	}
}
