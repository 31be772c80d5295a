package memstore_test

import (
	"testing"

	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/memstore"
	"github.com/concordsync/concord/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}
