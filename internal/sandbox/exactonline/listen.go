package exactonline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ListenAndServe runs a Server on addr until ctx ends, then shuts the
// listener down, closes the Server (writing its data) and returns. ready,
// when not nil, is called once the listener is bound, with the base URL.
func ListenAndServe(ctx context.Context, addr string, opts Options, ready func(srv *Server, baseURL string)) error {
	srv, err := New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		srv.Close()
		return fmt.Errorf("exactonline sandbox: listen on %s: %w", addr, err)
	}
	base := "http://" + ln.Addr().String()
	if opts.BaseURL == "" {
		srv.SetBaseURL(base)
	} else {
		base = opts.BaseURL
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	srv.log.Info("Exact Online sandbox listening", "url", base, "division", srv.Division(), "data", opts.DataFile)
	if ready != nil {
		ready(srv, base)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutErr := hs.Shutdown(shutdownCtx)
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	closeErr := srv.Close()
	srv.log.Info("Exact Online sandbox stopped", "data", opts.DataFile)
	return errors.Join(serveErr, shutErr, closeErr)
}
