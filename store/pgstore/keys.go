package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff"
)

// LoadKeys returns the sealed jwt key set kept in the store and its version,
// or signoff.ErrNotFound when there is none.
func (s *Store) LoadKeys(ctx context.Context) ([]byte, int64, error) {
	var (
		sealed  []byte
		version int64
	)
	err := s.pool.QueryRow(ctx, `SELECT sealed, version FROM signoff_keys WHERE id = 1`).Scan(&sealed, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, signoff.ErrNotFound
	}
	return sealed, version, err
}

// SaveKeys stores sealed as the key set's next version if the stored
// version is still prev (0: there is none yet). It returns the new version,
// or 0 when another process changed the keys first.
func (s *Store) SaveKeys(ctx context.Context, sealed []byte, prev int64) (int64, error) {
	q := `UPDATE signoff_keys SET version = version + 1, sealed = $1, updated_at = now() WHERE id = 1 AND version = $2`
	if prev == 0 {
		q = `INSERT INTO signoff_keys (id, version, sealed) VALUES (1, 1, $1) ON CONFLICT (id) DO NOTHING`
	}
	args := []any{sealed}
	if prev != 0 {
		args = append(args, prev)
	}
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil || tag.RowsAffected() == 0 {
		return 0, err
	}
	return prev + 1, nil
}
