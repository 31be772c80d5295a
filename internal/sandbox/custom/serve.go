package custom

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Serve answers HTTP with h on ln until ctx is done, then stops accepting
// calls and lets those in flight finish (for at most five seconds).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(shutdown)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// BaseURL is the scheme and host absolute URLs in answers use: base when
// set, otherwise the request's own.
func BaseURL(base string, r *http.Request) string {
	if base != "" {
		return base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// NextURL is the request's own absolute URL with the query parameters in
// set replaced.
func NextURL(base string, r *http.Request, set map[string]string) string {
	q := r.URL.Query()
	for k, v := range set {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return BaseURL(base, r) + u.String()
}

// RNG returns a random source from seed, or a random one when seed is 0.
func RNG(seed int64, stream uint64) *rand.Rand {
	if seed == 0 {
		return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// NewUUID makes a version 4 UUID from rng.
func NewUUID(rng *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewSecret makes a credential of n random bytes in hex, from rng when
// seeded (repeatable runs) and from crypto/rand otherwise.
func NewSecret(seed int64, rng *rand.Rand, n int) string {
	b := make([]byte, n)
	if seed != 0 {
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
	} else {
		crand.Read(b)
	}
	return hex.EncodeToString(b)
}
