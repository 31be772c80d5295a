package connector

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
)

// Factory opens a connector for one configured system. settings is the
// system's kind-specific configuration block, already decoded from YAML.
type Factory func(ctx context.Context, system string, settings map[string]any) (Connector, error)

// SettingsCheck checks a system's settings block as the kind's Factory
// would, without opening anything: no connection, no call, no file written.
// It is how `concord validate` finds a wrong setting or a missing
// credential before a sync does.
type SettingsCheck func(system string, settings map[string]any) error

var (
	mu     sync.RWMutex
	kinds  = map[string]Factory{}
	checks = map[string]SettingsCheck{}
)

// RegisterSettingsCheck adds the settings check of a registered kind.
func RegisterSettingsCheck(kind string, c SettingsCheck) {
	mu.Lock()
	defer mu.Unlock()
	checks[kind] = c
}

// CheckSettings checks a system's settings with its kind's SettingsCheck;
// a kind without one (or unknown) passes.
func CheckSettings(kind, system string, settings map[string]any) error {
	mu.RLock()
	c := checks[kind]
	mu.RUnlock()
	if c == nil {
		return nil
	}
	return c(system, settings)
}

// Register makes a connector kind available. It panics on a duplicate kind,
// which is a programming error.
func Register(kind string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := kinds[kind]; dup {
		panic("connector: kind registered twice: " + kind)
	}
	kinds[kind] = f
}

// Open opens a connector of the given kind.
func Open(ctx context.Context, kind, system string, settings map[string]any) (Connector, error) {
	mu.RLock()
	f, ok := kinds[kind]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("system %q: unknown connector kind %q (known kinds: %v)", system, kind, Kinds())
	}
	return f(ctx, system, settings)
}

// Kinds lists the registered kinds, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type baseDirKey struct{}

// WithBaseDir returns a context carrying the folder relative paths in
// connector settings are resolved against (the configuration file's).
func WithBaseDir(ctx context.Context, dir string) context.Context {
	return context.WithValue(ctx, baseDirKey{}, dir)
}

// ResolvePath makes a path from a connector's settings absolute against the
// base folder in ctx, if any.
func ResolvePath(ctx context.Context, path string) string {
	dir, _ := ctx.Value(baseDirKey{}).(string)
	if path == "" || dir == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}
