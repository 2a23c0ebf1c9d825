package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations returns the embedded steps, by version.
func loadMigrations() ([]migrations.Step, error) {
	ms, err := migrations.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return ms, nil
}

// LatestVersion is the schema version this build's migrations lead to.
func LatestVersion() int { return migrations.Latest(migrationFiles, "migrations") }

// migrateLock is the statement every migration transaction begins with. The
// transaction-scoped advisory lock serialises Migrate across processes (three
// instances starting at once apply each step once); its key is derived from
// the schema migrated, so deployments in other schemas of one database do
// not wait for each other.
const migrateLock = `SELECT pg_advisory_xact_lock(hashtextextended('signoff/migrate/' || coalesce(current_schema(), ''), 0))`

// Migrate applies every embedded migration the database lacks, each in its
// own transaction under an advisory lock, and returns how many it applied.
// It is safe to call from several processes at once. A database written by a
// newer build (a version this one does not know) is an error: running old
// code on it could drop revocations it does not understand.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	latest := ms[len(ms)-1].Version
	applied := 0
	for _, m := range ms {
		did, err := s.migrateOne(ctx, m, latest)
		if err != nil {
			return applied, err
		}
		if did {
			applied++
		}
	}
	return applied, nil
}

// migrateOne applies m in a transaction unless it is applied already.
func (s *Store) migrateOne(ctx context.Context, m migrations.Step, latest int) (applied bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Each statement below runs after the lock is held, so under READ
		// COMMITTED it sees whatever the previous holder committed.
		if _, err := tx.Exec(ctx, migrateLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var cur int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
			return err
		}
		if cur > latest {
			return errNewer{cur, latest}
		}
		var done bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&done)
		if err != nil || done {
			return err
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return err
		}
		applied = true
		return nil
	})
	var newer errNewer
	if errors.As(err, &newer) {
		return false, newer
	}
	return applied, fail("migrate", err)
}

// errNewer is the refusal of a database from a newer build.
type errNewer struct{ cur, latest int }

func (e errNewer) Error() string {
	return fmt.Sprintf("pgstore: the database is at schema version %d, newer than this build's %d", e.cur, e.latest)
}

// SchemaVersion returns the highest migration applied: 0 for a schema
// Migrate never ran on.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fail("schema version", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fail("schema version", err)
	}
	return v, nil
}
