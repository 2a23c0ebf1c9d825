package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/signoff/signoff/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations returns the embedded steps, by version.
func loadMigrations() ([]migrations.Step, error) {
	ms, err := migrations.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return ms, nil
}

// LatestVersion is the schema version this build's migrations lead to.
func LatestVersion() int { return migrations.Latest(migrationFiles, "migrations") }

// Migrate applies every embedded migration the database lacks, each in its
// own transaction, and returns how many it applied. A database written by a
// newer build (a version this one does not know) is an error: running old
// code on it could drop revocations it does not understand.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return 0, s.fail("migrate", err)
	}
	cur, err := s.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	if latest := ms[len(ms)-1].Version; cur > latest {
		return 0, fmt.Errorf("sqlitestore: %s is at schema version %d, newer than this build's %d", s.path, cur, latest)
	}
	applied := 0
	for _, m := range ms {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var done int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&done); err != nil || done > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, time.Now().UnixMicro()); err != nil {
				return err
			}
			applied++
			return nil
		})
		if err != nil {
			return applied, s.fail("migrate", err)
		}
	}
	return applied, nil
}

// SchemaVersion returns the highest migration applied: 0 for a new file.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var exists int
	err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&exists)
	if err != nil || exists == 0 {
		return 0, s.fail("schema version", err)
	}
	var v sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, s.fail("schema version", err)
	}
	return int(v.Int64), nil
}
