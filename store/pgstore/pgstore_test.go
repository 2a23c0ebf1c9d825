package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/testenv"
	"github.com/signoff/signoff/store/pgstore"
	"github.com/signoff/signoff/store/storetest"
)

var ctx = context.Background()

// base is a clock reading with whole seconds, as in storetest.
var base = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// dsn is the test database, or the test is skipped.
func dsn(t *testing.T) string {
	t.Helper()
	v := os.Getenv("SIGNOFF_TEST_POSTGRES")
	if v == "" {
		testenv.Skip(t, "PostgreSQL store tests", "set SIGNOFF_TEST_POSTGRES to a PostgreSQL URL, like postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return v
}

func rnd(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// freshSchema creates an empty schema, dropped with everything in it when
// the test ends, and returns its name.
func freshSchema(t *testing.T) string {
	t.Helper()
	url := dsn(t)
	name := rnd("signoff_t_")
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Error(err)
		}
	})
	return name
}

// poolOn opens a pool of up to maxConns connections whose search_path is
// schema, closed when the test ends (before the schema is dropped).
func poolOn(t *testing.T, schema string, maxConns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// storeOn returns a migrated store on schema with a pool of its own: one
// instance of signoff serve.
func storeOn(t *testing.T, schema string, maxConns int32) *pgstore.Store {
	t.Helper()
	s := pgstore.New(poolOn(t, schema, maxConns))
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func newStore(t *testing.T) *pgstore.Store { return storeOn(t, freshSchema(t), 8) }

func TestConformance(t *testing.T) {
	dsn(t) // skip once, not in every check
	storetest.Run(t, func(t *testing.T) signoff.Store { return newStore(t) })
}

func TestOpen(t *testing.T) {
	url := dsn(t)
	s, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	// The pool answers; the store's Ping also needs the schema, which this
	// database's public schema may lack (TestPingReadsTheData).
	if err := s.Pool().Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Pool() == nil || s.Pool().Config().MaxConns < 8 {
		t.Fatalf("Pool() = %v; want a pool of at least 8 connections", s.Pool())
	}
	s.Close()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping after Close: want an error")
	}

	// A store on a pool it did not open leaves the pool open.
	pool := poolOn(t, "public", 2)
	pgstore.New(pool).Close()
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("Close closed a pool the store does not own: %v", err)
	}

	for _, bad := range []string{
		"postgres://u:sekrit@127.0.0.1:1/x?sslmode=disable&connect_timeout=1",
		"postgres://u:sekrit@[::1/x",
		"host=127.0.0.1 port=notaport password=sekrit",
	} {
		s, err := pgstore.Open(ctx, bad)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%q): want an error", bad)
		}
		if strings.Contains(err.Error(), "sekrit") {
			t.Fatalf("Open's error shows the password: %v", err)
		}
	}
}

func TestMigrate(t *testing.T) {
	schema := freshSchema(t)
	s := pgstore.New(poolOn(t, schema, 2))
	if v, err := s.SchemaVersion(ctx); err != nil || v != 0 {
		t.Fatalf("a new schema: SchemaVersion = %d, %v; want 0", v, err)
	}
	n, err := s.Migrate(ctx)
	if err != nil || n == 0 || n != pgstore.LatestVersion() {
		t.Fatalf("first Migrate applied %d, %v; want %d", n, err, pgstore.LatestVersion())
	}
	if n, err := s.Migrate(ctx); err != nil || n != 0 {
		t.Fatalf("second Migrate applied %d, %v; want 0", n, err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != pgstore.LatestVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, pgstore.LatestVersion())
	}
	// The shape of the schema, column by column, in the migrated schema.
	for table, cols := range map[string]map[string]string{
		"users": {"id": "text", "email": "text", "password_hash": "text", "auth_version": "bigint",
			"created_at": "timestamp with time zone"},
		"sessions": {"id": "text", "user_id": "text", "token_hash": "bytea", "auth_version": "bigint",
			"created_at": "timestamp with time zone", "last_seen_at": "timestamp with time zone",
			"expires_at": "timestamp with time zone", "revoked_at": "timestamp with time zone",
			"user_agent": "text", "ip": "text"},
		"refresh_tokens": {"jti": "text", "session_id": "text", "token_hash": "bytea",
			"issued_at": "timestamp with time zone", "expires_at": "timestamp with time zone",
			"revoked_at": "timestamp with time zone", "replaced_by_jti": "text"},
		"revocations": {"seq": "bigint", "origin": "text", "session_id": "text", "user_id": "text",
			"auth_version": "bigint", "until_at": "timestamp with time zone", "published_at": "timestamp with time zone"},
		"instances": {"id": "text", "applied_seq": "bigint", "heartbeat_at": "timestamp with time zone"},
	} {
		for col, typ := range cols {
			var got string
			err := s.Pool().QueryRow(ctx, `SELECT data_type FROM information_schema.columns
				WHERE table_schema = $1 AND table_name = $2 AND column_name = $3`, schema, table, col).Scan(&got)
			if err != nil || got != typ {
				t.Errorf("%s.%s: type %q, %v; want %s", table, col, got, err, typ)
			}
		}
	}
	for _, idx := range []string{"sessions_by_user", "refresh_tokens_by_session", "users_email_key",
		"sessions_token_hash_key", "refresh_tokens_token_hash_key"} {
		var found bool
		err := s.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = $2)`,
			schema, idx).Scan(&found)
		if err != nil || !found {
			t.Errorf("index %s: found %v, %v", idx, found, err)
		}
	}
}

// Three instances starting at once on one database apply each migration
// once, and none fails.
func TestMigrateConcurrent(t *testing.T) {
	for range 5 {
		schema := freshSchema(t)
		const n = 3
		stores := make([]*pgstore.Store, n)
		for i := range stores {
			stores[i] = pgstore.New(poolOn(t, schema, 2))
		}
		applied := make([]int, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() {
				<-start
				applied[i], errs[i] = s.Migrate(ctx)
			})
		}
		close(start)
		wg.Wait()
		total := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("instance %d: Migrate: %v", i, errs[i])
			}
			total += applied[i]
		}
		if total != pgstore.LatestVersion() {
			t.Fatalf("the instances applied %v migrations in all; want %d", applied, pgstore.LatestVersion())
		}
		var rows int
		if err := stores[0].Pool().QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != pgstore.LatestVersion() {
			t.Fatalf("schema_migrations holds %d rows, %v", rows, err)
		}
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	s := newStore(t)
	if _, err := s.Pool().Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')`); err != nil {
		t.Fatal(err)
	}
	n, err := s.Migrate(ctx)
	if err == nil || n != 0 || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("Migrate on a schema from a newer build = %d, %v; want an error naming version 9999", n, err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != 9999 {
		t.Fatalf("SchemaVersion = %d, %v; want 9999", v, err)
	}
}

// family creates a jwt-mode session of user u with its first refresh token.
func family(t *testing.T, s signoff.Store, u string) (*signoff.Session, *signoff.RefreshToken) {
	t.Helper()
	sess := &signoff.Session{ID: rnd("ses_"), UserID: u, CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	rt := &signoff.RefreshToken{JTI: rnd("rt_"), Hash: signoff.HashString(rnd("rt")), IssuedAt: base, ExpiresAt: base.Add(30 * time.Minute)}
	if err := s.CreateSession(ctx, sess, rt); err != nil {
		t.Fatal(err)
	}
	return sess, rt
}

func sameToken(a, b *signoff.RefreshToken) bool {
	return a.JTI == b.JTI && a.SessionID == b.SessionID && a.Hash == b.Hash && a.IssuedAt.Equal(b.IssuedAt) &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.RevokedAt.Equal(b.RevokedAt) && a.ReplacedBy == b.ReplacedBy
}

func newChild(at time.Time) *signoff.RefreshToken {
	return &signoff.RefreshToken{JTI: rnd("rt_"), Hash: signoff.HashString(rnd("rt")), IssuedAt: at, ExpiresAt: at.Add(30 * time.Minute)}
}

// instances returns k stores on one fresh schema, each with a pool of its
// own: k instances of signoff serve sharing a database.
func instances(t *testing.T, k int, conns int32) []*pgstore.Store {
	schema := freshSchema(t)
	out := make([]*pgstore.Store, k)
	for i := range out {
		out[i] = storeOn(t, schema, conns)
	}
	return out
}

// familySize counts the session's refresh tokens, and those that would
// still rotate: unspent, unrevoked, their session live (not revoked, not
// below its user's auth_version).
func familySize(t *testing.T, s *pgstore.Store, sessionID string) (all, live int) {
	t.Helper()
	err := s.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE t.revoked_at IS NULL AND s.revoked_at IS NULL
			AND s.auth_version >= coalesce((SELECT auth_version FROM users WHERE id = s.user_id), 0))
		FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.session_id = $1`, sessionID).Scan(&all, &live)
	if err != nil {
		t.Fatal(err)
	}
	return all, live
}

// Fifty calls on five instances rotate one parent with the same child (one
// client retrying, several tabs): one rotates, every other one is a grace
// retry that gets the same child, and only one child is stored.
func TestRotationUnderContention(t *testing.T) {
	stores := instances(t, 5, 10)
	for round := range 10 {
		sess, rt := family(t, stores[0], rnd("usr_"))
		at := base.Add(time.Minute + 123456789*time.Nanosecond) // not on a microsecond
		c := newChild(at)
		const n = 50
		results := make([]*signoff.Rotation, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				mine := *c
				<-start
				results[i], errs[i] = stores[i%len(stores)].RotateRefreshToken(ctx, rt.Hash, &mine, 10*time.Second)
			})
		}
		close(start)
		wg.Wait()
		var winner *signoff.RefreshToken
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d, call %d: %v", round, i, errs[i])
			}
			if !results[i].Retry {
				if winner != nil {
					t.Fatalf("round %d: two calls rotated", round)
				}
				winner = results[i].Child
			}
		}
		if winner == nil {
			t.Fatalf("round %d: no call rotated", round)
		}
		for i := range n {
			if got := results[i].Child; !sameToken(got, winner) {
				t.Fatalf("round %d, call %d: child %+v, want the winner's %+v", round, i, *got, *winner)
			}
			if results[i].Session.ID != sess.ID {
				t.Fatalf("round %d, call %d: session %s", round, i, results[i].Session.ID)
			}
		}
		stored, err := stores[1].RefreshToken(ctx, c.Hash)
		if err != nil || !sameToken(stored, winner) {
			t.Fatalf("round %d: the stored child %+v, %v; want %+v", round, stored, err, *winner)
		}
		if all, _ := familySize(t, stores[0], sess.ID); all != 2 {
			t.Fatalf("round %d: the family holds %d tokens; want the parent and one child", round, all)
		}
	}
}

// Fifty clients with different children race for one parent: one rotates,
// the others are reuse (a sibling is never stored).
func TestRotationRaceOfSiblings(t *testing.T) {
	stores := instances(t, 5, 10)
	for round := range 5 {
		sess, rt := family(t, stores[0], rnd("usr_"))
		at := base.Add(time.Minute)
		const n = 50
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c := newChild(at)
				<-start
				_, errs[i] = stores[i%len(stores)].RotateRefreshToken(ctx, rt.Hash, c, 10*time.Second)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			var re *signoff.ReuseError
			switch {
			case err == nil:
				wins++
			case errors.As(err, &re) && re.SessionID == sess.ID && re.UserID == sess.UserID:
			default:
				t.Fatalf("round %d, call %d: %v; want success or a *ReuseError", round, i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d calls rotated; want 1", round, wins)
		}
		if all, _ := familySize(t, stores[0], sess.ID); all != 2 {
			t.Fatalf("round %d: the family holds %d tokens; want 2", round, all)
		}
	}
}

// A logout racing a chain of refreshes on another instance leaves no
// refresh token of the family unrevoked: a child stored by a rotation that
// held the session's lock is revoked with the rest.
func TestRevokeLeavesNoLiveToken(t *testing.T) {
	stores := instances(t, 2, 4)
	for round := range 40 {
		sess, rt := family(t, stores[0], rnd("usr_"))
		at := base.Add(time.Minute)
		var wg sync.WaitGroup
		wg.Go(func() {
			parent := rt.Hash
			for i := range 20 {
				c := newChild(at.Add(time.Duration(i) * time.Millisecond))
				if _, err := stores[1].RotateRefreshToken(ctx, parent, c, 10*time.Second); err != nil {
					return
				}
				parent = c.Hash
			}
		})
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		revokeErr := make(chan error, 1)
		wg.Go(func() {
			if round%2 == 0 {
				revokeErr <- stores[0].RevokeSession(ctx, sess.ID, at)
			} else {
				_, _, err := stores[0].RevokeUserSessions(ctx, sess.UserID, at)
				revokeErr <- err
			}
		})
		wg.Wait()
		if err := <-revokeErr; err != nil {
			t.Fatal(err)
		}
		if all, live := familySize(t, stores[0], sess.ID); live != 0 {
			t.Fatalf("round %d: %d of the family's %d tokens are unrevoked after logout", round, live, all)
		}
	}
}

// A sign-in racing a logout everywhere of the same user, on another
// instance, either is revoked by it or carries the new auth_version.
func TestCreateRacesRevokeUser(t *testing.T) {
	stores := instances(t, 2, 4)
	for round := range 40 {
		u := rnd("usr_")
		if round%2 == 1 { // a user the store has seen before
			if _, _, err := stores[0].RevokeUserSessions(ctx, u, base); err != nil {
				t.Fatal(err)
			}
		}
		sess := &signoff.Session{ID: rnd("ses_"), UserID: u, TokenHash: signoff.HashString(rnd("tok")),
			CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
		var (
			wg                sync.WaitGroup
			createErr, revErr error
			av                int64
		)
		wg.Go(func() { createErr = stores[1].CreateSession(ctx, sess, nil) })
		wg.Go(func() { _, av, revErr = stores[0].RevokeUserSessions(ctx, u, base.Add(time.Second)) })
		wg.Wait()
		if createErr != nil || revErr != nil {
			t.Fatal(createErr, revErr)
		}
		got, err := stores[0].Session(ctx, sess.ID, base.Add(2*time.Second))
		switch {
		case errors.Is(err, signoff.ErrNotFound): // revoked by the logout
		case err != nil:
			t.Fatal(err)
		case got.AuthVersion != av || sess.AuthVersion != av:
			t.Fatalf("round %d: a session survived logout everywhere at auth_version %d (stored %d); the user's is %d",
				round, sess.AuthVersion, got.AuthVersion, av)
		}
	}
}

// Times are kept to the microsecond, and what a call returns is what a
// later read returns.
func TestMicroseconds(t *testing.T) {
	s := newStore(t)
	odd := base.Add(1234567891 * time.Nanosecond)
	sess := &signoff.Session{ID: rnd("ses_"), UserID: rnd("usr_"), CreatedAt: odd, LastSeenAt: odd, ExpiresAt: odd.Add(time.Hour)}
	rt := &signoff.RefreshToken{JTI: rnd("rt_"), Hash: signoff.HashString(rnd("rt")), IssuedAt: odd, ExpiresAt: odd.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess, rt); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, sess.ID, odd)
	if err != nil {
		t.Fatal(err)
	}
	if want := odd.Truncate(time.Microsecond); !got.CreatedAt.Equal(want) || !got.ExpiresAt.Equal(want.Add(time.Hour)) {
		t.Fatalf("CreatedAt %v, ExpiresAt %v; want %v and an hour later", got.CreatedAt, got.ExpiresAt, want)
	}
	at := odd.Add(time.Minute + 999*time.Nanosecond)
	c := newChild(at)
	c.ExpiresAt = at.Add(2 * time.Hour) // capped at the session's
	rot, err := s.RotateRefreshToken(ctx, rt.Hash, c, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.RefreshToken(ctx, c.Hash)
	if err != nil || !sameToken(stored, rot.Child) {
		t.Fatalf("stored child %+v, %v; the rotation returned %+v", stored, err, *rot.Child)
	}
	if !rot.Child.ExpiresAt.Equal(got.ExpiresAt) {
		t.Fatalf("child ExpiresAt %v, want the session's %v", rot.Child.ExpiresAt, got.ExpiresAt)
	}
	again, err := s.Session(ctx, sess.ID, at)
	if err != nil || again.ID != rot.Session.ID || !again.LastSeenAt.Equal(rot.Session.LastSeenAt) ||
		!again.LastSeenAt.Equal(at.Truncate(time.Microsecond)) || !again.ExpiresAt.Equal(rot.Session.ExpiresAt) {
		t.Fatalf("session after rotation %+v, %v; the rotation returned %+v", again, err, *rot.Session)
	}
	// The grace window ends at the spending instant plus grace, to the
	// nanosecond, as in memstore.
	late := *c
	late.IssuedAt = at.Truncate(time.Microsecond).Add(10*time.Second + time.Nanosecond)
	if _, err := s.RotateRefreshToken(ctx, rt.Hash, &late, 10*time.Second); !errors.Is(err, signoff.ErrRefreshReused) {
		t.Fatalf("a retry 1ns after the window: %v; want reuse", err)
	}
}

// Errors name what failed, never a hash: PostgreSQL's Detail, which quotes
// the duplicate key, is dropped.
func TestErrorsCarryNoHash(t *testing.T) {
	s := newStore(t)
	a := &signoff.Session{ID: rnd("ses_"), UserID: rnd("usr_"), TokenHash: signoff.HashString(rnd("tok")),
		CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateSession(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	b := *a
	b.ID = rnd("ses_")
	err := s.CreateSession(ctx, &b, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "pgstore: create session: ") {
		t.Fatalf("a duplicate token hash: %v", err)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Fatalf("want the unique violation in the chain, got %v", err)
	}
	hexHash := a.TokenHash.Hex()
	if pe.Detail != "" || strings.Contains(err.Error(), hexHash) || strings.Contains(err.Error(), hexHash[:12]) {
		t.Fatalf("the error carries the hash: %q / detail %q", err.Error(), pe.Detail)
	}
}

// The rows CreateSession and RevokeUserSessions keep for users without an
// account are not accounts; registration turns one into an account keeping
// its auth_version; of concurrent registrations of one email one wins.
func TestUsers(t *testing.T) {
	s := newStore(t)
	u := rnd("usr_")
	sess := &signoff.Session{ID: rnd("ses_"), UserID: u, TokenHash: signoff.HashString(rnd("tok")),
		CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByID(ctx, u); !errors.Is(err, signoff.ErrNotFound) {
		t.Fatalf("UserByID of a user who only signed in through the library: %v; want ErrNotFound", err)
	}
	if _, _, err := s.RevokeUserSessions(ctx, u, base); err != nil {
		t.Fatal(err)
	}
	email := rnd("e") + "@example.test"
	if err := s.CreateUser(ctx, &signoff.User{ID: u, Email: email, PasswordHash: "h", CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByEmail(ctx, email)
	if err != nil || got.ID != u || got.AuthVersion != 1 || got.PasswordHash != "h" {
		t.Fatalf("UserByEmail = %+v, %v; want %s at auth_version 1", got, err, u)
	}
	err = s.CreateUser(ctx, &signoff.User{ID: u, Email: rnd("e") + "@example.test", CreatedAt: base})
	if err == nil || errors.Is(err, signoff.ErrEmailTaken) {
		t.Fatalf("a second account with the same ID and a free email: %v; want a system error", err)
	}
	if err := s.CreateUser(ctx, &signoff.User{ID: u, Email: email, CreatedAt: base}); !errors.Is(err, signoff.ErrEmailTaken) {
		t.Fatalf("the same account again: %v; want ErrEmailTaken", err)
	}

	email = rnd("race") + "@example.test"
	const n = 20
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.CreateUser(ctx, &signoff.User{ID: rnd("usr_"), Email: email, PasswordHash: "x", CreatedAt: base})
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, signoff.ErrEmailTaken):
			t.Fatalf("a concurrent registration: %v; want nil or ErrEmailTaken", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent registrations of one email succeeded; want 1", won)
	}
}

// Ping reads the data, not only the connection: a schema whose tables are
// gone (the wrong search_path, a botched restore) is not ready.
func TestPingReadsTheData(t *testing.T) {
	schema := freshSchema(t)
	s := storeOn(t, schema, 2)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := poolOn(t, schema, 1).Exec(ctx, `DROP TABLE refresh_tokens`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping with the refresh_tokens table dropped: nil, want an error")
	}
}

// Logout everywhere writes one row, the user's, however many sessions and
// refresh-token families the user has: no session's or token's row gets a
// new version (its ctid would move), none is marked revoked. Its count is
// planned on sessions_live_by_user, also with the tables' statistics never
// gathered (autovacuum off on them), as after a burst of sign-ins. With
// the code before (which revoked each session's and token's row) this saw
// 2,000 rows rewritten.
func TestRevokeUserWritesOneRow(t *testing.T) {
	s := storeOn(t, freshSchema(t), 2)
	pool := s.Pool()
	for _, table := range []string{"sessions", "refresh_tokens"} {
		if _, err := pool.Exec(ctx, `ALTER TABLE `+table+` SET (autovacuum_enabled = false)`); err != nil {
			t.Fatal(err)
		}
	}
	u, exp := rnd("usr_"), base.Add(time.Hour)
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (id, user_id, auth_version, created_at, last_seen_at, expires_at)
		SELECT 'ses_' || i, $1, 0, $2, $2, $3 FROM generate_series(1, 1000) i`, u, base, exp); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO refresh_tokens (jti, session_id, token_hash, issued_at, expires_at)
		SELECT 'rt_' || i, 'ses_' || i, sha256(i::text::bytea), $1, $2 FROM generate_series(1, 1000) i`, base, exp); err != nil {
		t.Fatal(err)
	}
	rows := func() (places string) {
		t.Helper()
		err := pool.QueryRow(ctx, `SELECT
			(SELECT string_agg(ctid::text || coalesce(revoked_at::text, ''), ',' ORDER BY id) FROM sessions WHERE user_id = $1) ||
			(SELECT string_agg(t.ctid::text || coalesce(t.revoked_at::text, ''), ',' ORDER BY jti) FROM refresh_tokens t
				JOIN sessions s ON s.id = t.session_id WHERE s.user_id = $1)`, u).Scan(&places)
		if err != nil {
			t.Fatal(err)
		}
		return places
	}
	before := rows()
	n, av, err := s.RevokeUserSessions(ctx, u, base.Add(time.Minute))
	if err != nil || n != 1000 || av != 1 {
		t.Fatalf("RevokeUserSessions = (%d, %d, %v), want (1000, 1, nil)", n, av, err)
	}
	if rows() != before {
		t.Fatal("RevokeUserSessions rewrote session or refresh-token rows; it should write only the user's")
	}
	plan := explain(t, pool, pgstore.CountLive, u, base)
	if !strings.Contains(plan, "sessions_live_by_user") || strings.Contains(plan, "Seq Scan on sessions") {
		t.Fatalf("the count of a logout everywhere does not read sessions_live_by_user:\n%s", plan)
	}
}

// explain returns the plan PostgreSQL makes for q.
func explain(t *testing.T, pool *pgxpool.Pool, q string, args ...any) string {
	t.Helper()
	rows, err := pool.Query(ctx, `EXPLAIN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}
