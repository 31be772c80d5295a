package custom

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

// toy is the smallest system a Host can run: one credential and a
// counter, kept in a data file.
type toy struct {
	mu      sync.Mutex
	journal Journal
	key     string
	n       int
}

type toyFile struct {
	Version int    `json:"version"`
	Key     string `json:"key"`
	N       int    `json:"n"`
}

func openToy(t *testing.T, file, given string, demo bool) (*toy, *Host) {
	t.Helper()
	s := &toy{}
	h, err := NewHost(HostConfig{
		Name: "toy sandbox", Logger: slog.New(slog.DiscardHandler), Seed: 1, DataFile: file,
		Prefix: "/toy/",
		Authenticate: func(r *http.Request) (string, bool) {
			k := r.Header.Get("Key")
			return k, k == s.key
		},
		Route: func(w http.ResponseWriter, _ *http.Request, name, id string, _ bool) {
			w.Header().Set("Got", name+"|"+id)
		},
		NotFound: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) },
		Answers: Answers{
			Unauthorized:    func(w http.ResponseWriter) { w.WriteHeader(401) },
			TooManyRequests: func(w http.ResponseWriter, _, _ int) { w.WriteHeader(429) },
			ServerError:     func(w http.ResponseWriter, status int) { w.WriteHeader(status) },
		},
		Lock: &s.mu, Journal: &s.journal,
		Snapshot: func() any { return toyFile{Version: 1, Key: s.key, N: s.n} },
		Load: func(path string) error {
			var f toyFile
			if found, err := LoadData(path, &f, &f.Version, 1); !found {
				return err
			}
			s.key, s.n = f.Key, f.N
			return nil
		},
		SeedDemo: demo, Demo: func() (bool, error) { s.n++; s.journal.Next(); return true, nil },
		Credential: &s.key, GivenCredential: given, NewCredential: func() string { return "new" },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, h
}

func TestHostRoutesThroughTheGateAndCountsEveryCall(t *testing.T) {
	s, h := openToy(t, "", "", false)
	if s.key != "new" {
		t.Fatalf("credential %q, want a new one", s.key)
	}
	call := func(path, key string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Key", key)
		h.Handler().ServeHTTP(w, r)
		return w
	}
	if w := call("/toy/items/7/", "new"); w.Code != 200 || w.Header().Get("Got") != "items|7" {
		t.Errorf("GET /toy/items/7/: %d %q", w.Code, w.Header().Get("Got"))
	}
	if w := call("/toy/items", "wrong"); w.Code != 401 {
		t.Errorf("wrong key: %d", w.Code)
	}
	if w := call("/elsewhere", "new"); w.Code != 404 {
		t.Errorf("outside the prefix: %d", w.Code)
	}
	want := map[string]int{"GET /toy/items/{id}": 1, "GET /toy/items": 1, "GET /elsewhere": 1}
	if got := h.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestHostKeepsTheCredentialAndDataAcrossARestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "toy.json")
	s, h := openToy(t, file, "", true)
	if s.key != "new" || s.n != 1 {
		t.Fatalf("first start: key %q, n %d", s.key, s.n)
	}
	s.mu.Lock()
	s.n = 5
	s.journal.Next()
	s.mu.Unlock()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	s, h = openToy(t, file, "", false)
	if s.key != "new" || s.n != 5 {
		t.Errorf("after a restart: key %q, n %d", s.key, s.n)
	}
	h.Close()
	s, h = openToy(t, file, "given", false)
	defer h.Close()
	if s.key != "given" {
		t.Errorf("the option's credential lost to the file's: %q", s.key)
	}
}
