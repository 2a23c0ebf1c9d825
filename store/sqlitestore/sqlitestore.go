// Package sqlitestore is signoff's embedded store: one SQLite file, in WAL
// mode, written through a single connection and read through a small pool.
// It implements signoff.Store and signoff.UserStore, and its Bus carries
// revocations between processes that open the same file (signoff serve and
// the admin commands of the CLI).
//
// The schema is embedded and applied by Migrate, which signoff migrate and
// signoff serve call at start.
package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is a signoff.Store and signoff.UserStore on one SQLite file.
type Store struct {
	w    *sql.DB // one connection: SQLite has one writer at a time anyway
	r    *sql.DB // readers; WAL lets them run beside the writer
	path string
	dsn  string // without the writer's and the readers' own settings

	// corrupt is the first damage any read or write met. A damaged file
	// does not mend itself: from then on Ping reports it.
	corrupt atomic.Pointer[corruptError]
}

// ErrCorrupt is matched (errors.Is) by the error of a database file that
// SQLite finds damaged: by CheckIntegrity, by Open when the file is not a
// database at all, and by Ping once any operation has met the damage.
var ErrCorrupt = errors.New("sqlitestore: the database file is corrupted")

// corruptError is ErrCorrupt for one file, in one line that says what to do.
type corruptError struct{ path, detail string }

func (e *corruptError) Error() string {
	return fmt.Sprintf("sqlitestore: %s is corrupted (%s): stop every process that uses it and restore it from a backup; sqlite3's .recover command salvages what it can",
		e.path, e.detail)
}

func (e *corruptError) Is(target error) bool { return target == ErrCorrupt }

// isCorrupt reports whether err is SQLite finding a damaged file
// (SQLITE_CORRUPT and its extended codes) or a file that is not a database.
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB
}

// Open opens (creating if needed) the SQLite database at path. It does not
// change the schema: call Migrate.
//
// The file holds password hashes, emails and IP addresses: Open creates it
// 0600 whatever the umask, and SQLite gives the -wal and -shm files it
// creates beside it the database file's mode. An existing file that other
// users may read loses that access; its owner and group bits are kept.
func Open(path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlitestore: %q: want the path of a database file", path)
	}
	if err := private(path); err != nil {
		return nil, err
	}
	// synchronous(FULL): a committed logout survives a power cut, not only a
	// crash of the process.
	pragmas := "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	w, err := sql.Open("sqlite", dsn+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// Opening the writer first creates the file and switches it to WAL
	// before any reader connects.
	if err := w.Ping(); err != nil {
		w.Close()
		if isCorrupt(err) {
			return nil, &corruptError{path, err.Error()}
		}
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &Store{w: w, r: r, path: path, dsn: dsn}, nil
}

// CheckIntegrity runs SQLite's PRAGMA quick_check over the whole file and
// returns an ErrCorrupt error, in one line naming the file and the first
// problem, if any page or record is damaged. signoff serve, signoff migrate
// and the admin commands call it before they touch the schema; writing into
// a damaged B-tree spreads the damage.
//
// It reads every page: 70-100 ms for a 47 MB file of 100,000 sessions and
// 20,000 users on a busy 2-core machine (BenchmarkCheckIntegrity; PRAGMA
// integrity_check, which also compares every index with its table, took
// 0.4-1 s). It runs on a connection of its own, closed afterwards, so the
// pages it reads stay out of the serving connections' caches.
func (s *Store) CheckIntegrity(ctx context.Context) error {
	db, err := sql.Open("sqlite", s.dsn+"&_pragma=query_only(1)")
	if err != nil {
		return s.fail("check integrity", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, `PRAGMA quick_check`)
	if err != nil {
		return s.fail("check integrity", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return s.fail("check integrity", err)
		}
		for _, l := range strings.Split(line, "\n") {
			if l = strings.TrimSpace(l); l != "" && l != "ok" && !strings.HasPrefix(l, "***") {
				problems = append(problems, l)
			}
		}
	}
	// SQLite may stop part way with SQLITE_CORRUPT, after or instead of rows.
	if err := rows.Err(); err != nil {
		if !isCorrupt(err) {
			return s.fail("check integrity", err)
		}
		if len(problems) == 0 {
			problems = append(problems, err.Error())
		}
	}
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return s.damaged(problems[0])
	}
	return s.damaged(fmt.Sprintf("%s, and %d more problems", problems[0], len(problems)-1))
}

// damaged records that the file is damaged, and returns the error that says so.
func (s *Store) damaged(detail string) error {
	s.corrupt.CompareAndSwap(nil, &corruptError{s.path, detail})
	return s.corrupt.Load()
}

// private creates the database file 0600 if there is none, before SQLite
// would create it 0644. SQLite creates the -wal and -shm files with the
// database file's mode (unix VFS robustOpen fchmods them to it, beating the
// umask; TestFilesAre0600 checks this driver does), so they follow.
//
// An existing file, and a -wal or -shm file left by a crash or a running
// process, loses the other users' bits: world access to password hashes is
// never wanted. Group bits are kept, because a group (a backup agent's) is
// a deliberate choice that tightening would silently break; a mode is
// never loosened. A file that others may read and whose mode cannot be
// changed (another owner) is an error, as a readable jwt key file is.
func private(path string) error {
	if runtime.GOOS == "windows" {
		return nil // no Unix modes; the directory's ACL decides
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		// A umask such as 0177 takes bits away from 0600 too.
		return errors.Join(f.Chmod(0o600), f.Close())
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: %w", err)
		}
		if m := st.Mode().Perm(); m&0o007 != 0 {
			if err := os.Chmod(p, m&^0o007); err != nil {
				return fmt.Errorf("sqlitestore: %s is open to other users (mode %v) and its mode cannot be changed (%v): chmod o-rwx it", p, m, err)
			}
		}
	}
	return nil
}

// Path is the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

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

// fail wraps a system error with the store's name and what it was doing,
// and records damage to the file for Ping. Nothing it wraps carries a
// credential: queries bind hashes, never secrets.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if isCorrupt(err) {
		s.damaged(op + ": " + err.Error())
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE) on the writer.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Times are stored as unix microseconds; the zero time.Time is NULL.

func us(t time.Time) int64 { return t.UnixMicro() }

func nullUS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullUS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromUS(v.Int64)
}

func nullHash(h signoff.Hash) any {
	if h.IsZero() {
		return nil
	}
	return h[:]
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

type scanner interface{ Scan(...any) error }

const sessionCols = `id, user_id, token_hash, auth_version, created_at, last_seen_at, expires_at, revoked_at, user_agent, ip`

func scanSession(row scanner) (*signoff.Session, error) {
	var (
		x                      signoff.Session
		hash                   []byte
		created, seen, expires int64
		revoked                sql.NullInt64
	)
	err := row.Scan(&x.ID, &x.UserID, &hash, &x.AuthVersion, &created, &seen, &expires, &revoked, &x.UserAgent, &x.IP)
	if err != nil {
		return nil, err
	}
	copy(x.TokenHash[:], hash)
	x.CreatedAt, x.LastSeenAt, x.ExpiresAt, x.RevokedAt = fromUS(created), fromUS(seen), fromUS(expires), fromNullUS(revoked)
	return &x, nil
}

const tokenCols = `jti, session_id, token_hash, issued_at, expires_at, revoked_at, replaced_by_jti`

func scanToken(row scanner) (*signoff.RefreshToken, error) {
	var (
		t               signoff.RefreshToken
		hash            []byte
		issued, expires int64
		revoked         sql.NullInt64
		replaced        sql.NullString
	)
	if err := row.Scan(&t.JTI, &t.SessionID, &hash, &issued, &expires, &revoked, &replaced); err != nil {
		return nil, err
	}
	copy(t.Hash[:], hash)
	t.IssuedAt, t.ExpiresAt, t.RevokedAt, t.ReplacedBy = fromUS(issued), fromUS(expires), fromNullUS(revoked), replaced.String
	return &t, nil
}

// CreateSession implements signoff.Store.
func (s *Store) CreateSession(ctx context.Context, sess *signoff.Session, rt *signoff.RefreshToken) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var av int64
		err := tx.QueryRowContext(ctx, `SELECT auth_version FROM users WHERE id = ?`, sess.UserID).Scan(&av)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.ID, sess.UserID, nullHash(sess.TokenHash), av, us(sess.CreatedAt), us(sess.LastSeenAt), us(sess.ExpiresAt),
			nullUS(sess.RevokedAt), sess.UserAgent, sess.IP)
		if err != nil {
			return err
		}
		if rt != nil {
			if err := insertToken(ctx, tx, rt, sess.ID, rt.ExpiresAt); err != nil {
				return err
			}
		}
		sess.AuthVersion = av
		return nil
	})
	return s.fail("create session", err)
}

func insertToken(ctx context.Context, tx *sql.Tx, t *signoff.RefreshToken, sessionID string, expires time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.JTI, sessionID, t.Hash[:], us(t.IssuedAt), us(expires), nullUS(t.RevokedAt), nullString(t.ReplacedBy))
	return err
}

// live is the SQL form of signoff.Session.Live.
const live = `revoked_at IS NULL AND expires_at > ?`

func (s *Store) oneSession(ctx context.Context, where string, key any, now time.Time) (*signoff.Session, error) {
	x, err := scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE `+where+` = ? AND `+live, key, us(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, signoff.ErrNotFound
	}
	return x, s.fail("read session", err)
}

// SessionByToken implements signoff.Store.
func (s *Store) SessionByToken(ctx context.Context, h signoff.Hash, now time.Time) (*signoff.Session, error) {
	if h.IsZero() {
		return nil, signoff.ErrNotFound
	}
	return s.oneSession(ctx, "token_hash", h[:], now)
}

// Session implements signoff.Store.
func (s *Store) Session(ctx context.Context, id string, now time.Time) (*signoff.Session, error) {
	return s.oneSession(ctx, "id", id, now)
}

// ListSessions implements signoff.Store.
func (s *Store) ListSessions(ctx context.Context, userID string, now time.Time) ([]*signoff.Session, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = ? AND `+live+`
		ORDER BY created_at DESC, id`, userID, us(now))
	if err != nil {
		return nil, s.fail("list sessions", err)
	}
	defer rows.Close()
	out := []*signoff.Session{}
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, s.fail("list sessions", err)
		}
		out = append(out, x)
	}
	return out, s.fail("list sessions", rows.Err())
}

// TouchSession implements signoff.Store.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND revoked_at IS NULL AND last_seen_at < ?`,
		us(at), id, us(at))
	return s.fail("touch session", err)
}

// revoke revokes one session and its refresh tokens inside tx.
func revoke(ctx context.Context, tx *sql.Tx, id string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, us(at), id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL`, us(at), id)
	return err
}

// RevokeSession implements signoff.Store.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return s.fail("revoke session", s.tx(ctx, func(tx *sql.Tx) error { return revoke(ctx, tx, id, at) }))
}

// RevokeUserSessions implements signoff.Store.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, int64, error) {
	var (
		n  int
		av int64
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Tokens first, while their sessions are still live.
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE revoked_at IS NULL
			AND session_id IN (SELECT id FROM sessions WHERE user_id = ? AND `+live+`)`, us(at), userID, us(at)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND `+live, us(at), userID, us(at))
		if err != nil {
			return err
		}
		revoked, err := res.RowsAffected()
		if err != nil {
			return err
		}
		n = int(revoked)
		// A user the store has never seen gets a row with no email: it
		// carries the auth_version of an application's own user.
		return tx.QueryRowContext(ctx, `INSERT INTO users (id, auth_version, created_at) VALUES (?, 1, ?)
			ON CONFLICT (id) DO UPDATE SET auth_version = auth_version + 1
			RETURNING auth_version`, userID, us(at)).Scan(&av)
	})
	if err != nil {
		return 0, 0, s.fail("revoke user sessions", err)
	}
	return n, av, nil
}

// AuthVersion implements signoff.Store.
func (s *Store) AuthVersion(ctx context.Context, userID string) (int64, error) {
	var av int64
	err := s.r.QueryRowContext(ctx, `SELECT auth_version FROM users WHERE id = ?`, userID).Scan(&av)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return av, s.fail("auth version", err)
}

// RefreshToken implements signoff.Store.
func (s *Store) RefreshToken(ctx context.Context, h signoff.Hash) (*signoff.RefreshToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM refresh_tokens WHERE token_hash = ?`, h[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, signoff.ErrNotFound
	}
	return t, s.fail("read refresh token", err)
}

// RotateRefreshToken implements signoff.Store. The whole decision runs in
// one BEGIN IMMEDIATE transaction on the single writer, so concurrent
// rotations of one parent are serialised and exactly one of them spends it.
func (s *Store) RotateRefreshToken(ctx context.Context, parent signoff.Hash, child *signoff.RefreshToken, grace time.Duration) (*signoff.Rotation, error) {
	var out *signoff.Rotation
	var outcome error // ErrNotFound or *ReuseError: decided, not failed
	now := child.IssuedAt
	err := s.tx(ctx, func(tx *sql.Tx) error {
		p, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM refresh_tokens WHERE token_hash = ?`, parent[:]))
		if errors.Is(err, sql.ErrNoRows) {
			outcome = signoff.ErrNotFound
			return nil
		}
		if err != nil {
			return err
		}
		sess, err := scanSession(tx.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ? AND `+live, p.SessionID, us(now)))
		if errors.Is(err, sql.ErrNoRows) {
			outcome = signoff.ErrNotFound
			return nil
		}
		if err != nil {
			return err
		}
		if p.ReplacedBy != "" || !p.RevokedAt.IsZero() {
			if p.ReplacedBy == child.JTI && !now.After(p.RevokedAt.Add(grace)) {
				c, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM refresh_tokens WHERE jti = ?`, p.ReplacedBy))
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				if err == nil && c.RevokedAt.IsZero() && c.ReplacedBy == "" {
					out = &signoff.Rotation{Session: sess, Child: c, Retry: true}
					return nil
				}
			}
			outcome = &signoff.ReuseError{SessionID: sess.ID, UserID: sess.UserID}
			return nil
		}
		if !now.Before(p.ExpiresAt) {
			outcome = signoff.ErrNotFound
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ?, replaced_by_jti = ? WHERE jti = ?`,
			us(now), child.JTI, p.JTI); err != nil {
			return err
		}
		exp := child.ExpiresAt
		if exp.After(sess.ExpiresAt) {
			exp = sess.ExpiresAt
		}
		c := *child
		c.SessionID, c.ExpiresAt, c.RevokedAt, c.ReplacedBy = sess.ID, fromUS(us(exp)), time.Time{}, ""
		c.IssuedAt = fromUS(us(c.IssuedAt))
		if err := insertToken(ctx, tx, &c, sess.ID, exp); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`,
			us(now), sess.ID, us(now)); err != nil {
			return err
		}
		if now.After(sess.LastSeenAt) {
			sess.LastSeenAt = fromUS(us(now))
		}
		out = &signoff.Rotation{Session: sess, Child: &c}
		return nil
	})
	if err != nil {
		return nil, s.fail("rotate refresh token", err)
	}
	if outcome != nil {
		return nil, outcome
	}
	return out, nil
}

// pingQuery is the read Ping makes, a few pages in all: each lookup of the
// hot path (a user by email, a session and a refresh token by hash) for a
// random key that matches nothing, and the newest row of each table. The
// random key takes successive probes down to different leaves of each
// index.
const pingQuery = `SELECT
	(SELECT count(*) FROM users WHERE email = ?1) +
	(SELECT count(*) FROM sessions WHERE token_hash = ?2) +
	(SELECT count(*) FROM refresh_tokens WHERE token_hash = ?2) +
	(SELECT count(*) FROM (SELECT length(password_hash) FROM users ORDER BY rowid DESC LIMIT 1)) +
	(SELECT count(*) FROM (SELECT length(ip) FROM sessions ORDER BY rowid DESC LIMIT 1)) +
	(SELECT count(*) FROM (SELECT length(token_hash) FROM refresh_tokens ORDER BY rowid DESC LIMIT 1))`

// Ping implements signoff.Store. It reads the data, not only the
// connection: the lookups the hot path makes, through the reader pool, then
// checks the writer. A file found damaged by any operation of this Store,
// Ping's own reads included, makes every later Ping fail with ErrCorrupt:
// the damage does not go away, and a page no probe happens to read is still
// one a sign-in will. Ping does not read the whole file: CheckIntegrity does.
func (s *Store) Ping(ctx context.Context) error {
	if c := s.corrupt.Load(); c != nil {
		return c
	}
	var key [32]byte
	rand.Read(key[:])
	var n int
	err := s.r.QueryRowContext(ctx, pingQuery, fmt.Sprintf("%x@ping.invalid", key[:8]), key[:]).Scan(&n)
	if err == nil {
		err = s.w.PingContext(ctx)
	}
	if err = s.fail("ping", err); err != nil {
		if c := s.corrupt.Load(); c != nil {
			return c
		}
	}
	return err
}

// CreateUser implements signoff.UserStore. A row that already carries the
// user's auth_version (a user logged out everywhere before the account was
// created) becomes the account and keeps that auth_version.
func (s *Store) CreateUser(ctx context.Context, u *signoff.User) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE email = ?`, u.Email).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return signoff.ErrEmailTaken
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, auth_version, created_at) VALUES (?, ?, ?, 0, ?)
			ON CONFLICT (id) DO UPDATE SET email = excluded.email, password_hash = excluded.password_hash, created_at = excluded.created_at
			WHERE users.email IS NULL`, u.ID, u.Email, u.PasswordHash, us(u.CreatedAt))
		if err != nil {
			if isUnique(err) {
				return signoff.ErrEmailTaken
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, errors.New("duplicate user ID"))
		}
		return nil
	})
	if errors.Is(err, signoff.ErrEmailTaken) {
		return signoff.ErrEmailTaken
	}
	return s.fail("create user", err)
}

const userCols = `id, email, password_hash, auth_version, created_at`

func (s *Store) oneUser(ctx context.Context, col string, key string) (*signoff.User, error) {
	var (
		u       signoff.User
		created int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+col+` = ? AND email IS NOT NULL`, key).
		Scan(&u.ID, &u.Email, &u.PasswordHash, &u.AuthVersion, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, signoff.ErrNotFound
	}
	if err != nil {
		return nil, s.fail("read user", err)
	}
	u.CreatedAt = fromUS(created)
	return &u, nil
}

// UserByEmail implements signoff.UserStore.
func (s *Store) UserByEmail(ctx context.Context, email string) (*signoff.User, error) {
	return s.oneUser(ctx, "email", email)
}

// UserByID implements signoff.UserStore.
func (s *Store) UserByID(ctx context.Context, id string) (*signoff.User, error) {
	return s.oneUser(ctx, "id", id)
}

var (
	_ signoff.Store     = (*Store)(nil)
	_ signoff.UserStore = (*Store)(nil)
)
