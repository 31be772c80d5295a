package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const sqlGetState = `SELECT value, version FROM connector_state WHERE system = ? AND key = ?`

// GetState returns a connector's value and version (0 when none).
func (s *Store) GetState(ctx context.Context, system, key string) (string, int64, error) {
	st, err := s.readStmt(ctx, sqlGetState)
	if err != nil {
		return "", 0, fmt.Errorf("get state %s %s: %w", system, key, err)
	}
	var v string
	var ver int64
	switch err := st.QueryRowContext(ctx, system, key).Scan(&v, &ver); {
	case errors.Is(err, sql.ErrNoRows):
		return "", 0, nil
	case err != nil:
		return "", 0, fmt.Errorf("get state %s %s: %w", system, key, err)
	}
	return v, ver, nil
}

// SwapState stores value if the stored version is still version. The
// check and the write are one statement on the single writer connection,
// and other processes on the same database are serialised by SQLite's
// write lock, so two workers can never both succeed from one version.
func (s *Store) SwapState(ctx context.Context, system, key, value string, version int64) (int64, bool, error) {
	var res sql.Result
	var err error
	now := time.Now().UnixNano()
	if version == 0 {
		res, err = s.w.ExecContext(ctx, `INSERT INTO connector_state (system, key, value, version, updated)
			VALUES (?, ?, ?, 1, ?) ON CONFLICT (system, key) DO NOTHING`, system, key, value, now)
	} else {
		res, err = s.w.ExecContext(ctx, `UPDATE connector_state SET value = ?, version = version + 1, updated = ?
			WHERE system = ? AND key = ? AND version = ?`, value, now, system, key, version)
	}
	if err != nil {
		return 0, false, fmt.Errorf("swap state %s %s: %w", system, key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, false, fmt.Errorf("swap state %s %s: %w", system, key, err)
	}
	if n != 1 {
		return 0, false, nil
	}
	return version + 1, true, nil
}
