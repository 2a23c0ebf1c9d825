package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/signoff/signoff"
)

// LoadKeys returns the sealed jwt key set kept in the store and its version,
// or signoff.ErrNotFound when there is none.
func (s *Store) LoadKeys(ctx context.Context) ([]byte, int64, error) {
	var (
		sealed  []byte
		version int64
	)
	err := s.w.QueryRowContext(ctx, `SELECT sealed, version FROM signoff_keys WHERE id = 1`).Scan(&sealed, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, signoff.ErrNotFound
	}
	if err != nil {
		return nil, 0, s.fail("load keys", err)
	}
	return sealed, version, nil
}

// SaveKeys stores sealed as the key set's next version if the stored
// version is still prev (0: there is none yet). It returns the new version,
// or 0 when another process changed the keys first.
func (s *Store) SaveKeys(ctx context.Context, sealed []byte, prev int64) (int64, error) {
	now := time.Now().UnixMicro()
	var res sql.Result
	var err error
	if prev == 0 {
		res, err = s.w.ExecContext(ctx, `INSERT INTO signoff_keys (id, version, sealed, updated_at) VALUES (1, 1, ?, ?) ON CONFLICT (id) DO NOTHING`, sealed, now)
	} else {
		res, err = s.w.ExecContext(ctx, `UPDATE signoff_keys SET version = version + 1, sealed = ?, updated_at = ? WHERE id = 1 AND version = ?`, sealed, now, prev)
	}
	if err != nil {
		return 0, s.fail("save keys", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, nil
	}
	return prev + 1, nil
}
