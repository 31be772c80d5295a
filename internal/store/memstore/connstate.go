package memstore

import "context"

type stateKey struct{ system, key string }

type stateValue struct {
	value   string
	version int64
}

// GetState returns a connector's value and version (0 when none).
func (s *Store) GetState(ctx context.Context, system, key string) (string, int64, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return "", 0, err
	}
	defer unlock()
	v := s.state[stateKey{system, key}]
	return v.value, v.version, nil
}

// SwapState stores value if the stored version is still version.
func (s *Store) SwapState(ctx context.Context, system, key, value string, version int64) (int64, bool, error) {
	unlock, err := s.write(ctx)
	if err != nil {
		return 0, false, err
	}
	defer unlock()
	k := stateKey{system, key}
	if s.state[k].version != version {
		return 0, false, nil
	}
	if s.state == nil {
		s.state = map[stateKey]stateValue{}
	}
	s.state[k] = stateValue{value: value, version: version + 1}
	return version + 1, true, nil
}
