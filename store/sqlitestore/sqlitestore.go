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
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signoff/signoff"
)

// Store is a signoff.Store and signoff.UserStore on one SQLite file.
type Store struct {
	w    *sql.DB // one connection: SQLite has one writer at a time anyway
	r    *sql.DB // readers; WAL lets them run beside the writer
	path string
	dsn  string // without the writer's and the readers' own settings

	stmtMu sync.Mutex
	stmts  map[preparedKey]*sql.Stmt // prepared (on first use) by prepared

	// corrupt is the first damage any read or write met. A damaged file
	// does not mend itself: from then on Ping reports it.
	corrupt atomic.Pointer[corruptError]
}

var (
	_ signoff.Store          = (*Store)(nil)
	_ signoff.UserStore      = (*Store)(nil)
	_ signoff.SessionDeleter = (*Store)(nil)
)

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
	s.stmtMu.Lock()
	for k, st := range s.stmts {
		st.Close()
		delete(s.stmts, k)
	}
	s.stmtMu.Unlock()
	return errors.Join(s.r.Close(), s.w.Close())
}

// preparedKey names a statement prepared by prepared: on the writer or
// on the readers.
type preparedKey struct {
	writer bool
	query  string
}

// prepared returns query prepared on the writer (writer) or on the reader
// pool, preparing it on first use and keeping it until Close: for the
// statements a process runs on a clock whatever its traffic (the
// revocation bus's poll and heartbeat), where SQLite's parse and plan were
// over half of each run, and for refresh rotations. Never call it inside a
// transaction on the writer, which has one connection.
func (s *Store) prepared(ctx context.Context, writer bool, query string) (*sql.Stmt, error) {
	k := preparedKey{writer, query}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[k]; ok {
		return st, nil
	}
	db := s.r
	if writer {
		db = s.w
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[preparedKey]*sql.Stmt{}
	}
	s.stmts[k] = st
	return st, nil
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
