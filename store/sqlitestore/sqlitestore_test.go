package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/logbus"
	"github.com/signoff/signoff/logbus/logbustest"
	"github.com/signoff/signoff/store/sqlitestore"
	"github.com/signoff/signoff/store/storetest"
)

var ctx = context.Background()

// open opens and migrates a store on path, closed when the test ends.
func open(t testing.TB, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) signoff.Store {
		return open(t, filepath.Join(t.TempDir(), "signoff.db"))
	})
}

func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != 0 {
		t.Fatalf("a new file: SchemaVersion = %d, %v; want 0", v, err)
	}
	n, err := s.Migrate(ctx)
	if err != nil || n != sqlitestore.LatestVersion() || n == 0 {
		t.Fatalf("first Migrate applied %d, %v; want %d", n, err, sqlitestore.LatestVersion())
	}
	if n, err := s.Migrate(ctx); err != nil || n != 0 {
		t.Fatalf("second Migrate applied %d, %v; want 0", n, err)
	}
	if v, _ := s.SchemaVersion(ctx); v != sqlitestore.LatestVersion() {
		t.Fatalf("SchemaVersion = %d, want %d", v, sqlitestore.LatestVersion())
	}
	// The familiar shape of the schema, column by column.
	for table, cols := range map[string][]string{
		"refresh_tokens": {"jti", "session_id", "token_hash", "issued_at", "expires_at", "revoked_at", "replaced_by_jti"},
		"users":          {"id", "email", "password_hash", "auth_version", "created_at"},
		"sessions":       {"id", "user_id", "token_hash", "expires_at", "revoked_at", "last_seen_at"},
	} {
		for _, c := range cols {
			var found int
			err := sqlitestore.QueryRowForTest(s, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, table, c).Scan(&found)
			if err != nil || found != 1 {
				t.Errorf("%s.%s: found %d, %v", table, c, found, err)
			}
		}
	}
	var mode string
	if err := sqlitestore.QueryRowForTest(s, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.db")
	s := open(t, path)
	if err := sqlitestore.ExecForTest(s, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err == nil {
		t.Fatal("Migrate on a database from a newer build: want an error")
	}
}

func TestOpenRejects(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if s, err := sqlitestore.Open(p); err == nil {
			s.Close()
			t.Errorf("Open(%q): want an error", p)
		}
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "ro"), 0o500); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 { // root writes anywhere
		if s, err := sqlitestore.Open(filepath.Join(dir, "ro", "x.db")); err == nil {
			s.Close()
			t.Error("Open in a read-only directory: want an error")
		}
	}
}

// A path with characters that mean something in a URL still names the file.
func TestOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a b?c#d%e.db")
	open(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database file is not where asked: %v", err)
	}
}

// The same file opened twice stands for two processes: signoff serve and an
// admin command, or two serve instances.
func twoHandles(t *testing.T) (*sqlitestore.Store, *sqlitestore.Store) {
	path := filepath.Join(t.TempDir(), "shared.db")
	return open(t, path), open(t, path)
}

func fastBus(s *sqlitestore.Store, id string) *logbus.Bus {
	return s.NewBus(logbus.Options{InstanceID: id, Poll: 10 * time.Millisecond, Lease: 500 * time.Millisecond, AckTimeout: 3 * time.Second})
}

// The bus protocol between processes: each handle opens the file again.
func TestBusConformance(t *testing.T) {
	logbustest.Run(t, func(t *testing.T) func() logbus.Log {
		path := filepath.Join(t.TempDir(), "bus.db")
		open(t, path)
		return func() logbus.Log { return sqlitestore.BusLog(open(t, path)) }
	})
}

// A bus whose store fails stops being Fresh within its lease.
func TestBusFreshnessFollowsPolls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	s := open(t, path)
	bus := fastBus(s, "F")
	defer bus.Close()
	if err := bus.Subscribe(func(signoff.Revocation) {}); err != nil {
		t.Fatal(err)
	}
	if !bus.Fresh() {
		t.Fatal("just subscribed: want Fresh")
	}
	s.Close() // every poll now fails
	deadline := time.Now().Add(5 * time.Second)
	for bus.Fresh() {
		if time.Now().After(deadline) {
			t.Fatal("the bus stayed Fresh with its store closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// End to end through two Managers on one file: a logout on one instance is
// final on the other when the response leaves (I1), though the other had
// the session in its memory.
func TestTwoInstancesLogout_I1(t *testing.T) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			a, b := twoHandles(t)
			keys := sqlitestore.KeysForTest(t)
			mgr := func(s *sqlitestore.Store, id string) *signoff.Manager {
				bus := fastBus(s, id)
				t.Cleanup(func() { bus.Close() })
				m, err := signoff.New(signoff.Config{Mode: mode, Store: s, Bus: bus, Keys: keys, RefreshKey: []byte("0123456789abcdef0123456789abcdef")})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { m.Close() })
				return m
			}
			ma, mb := mgr(a, "A"), mgr(b, "B")
			rec := httptest.NewRecorder()
			res, err := ma.Login(rec, httptest.NewRequest("POST", "https://app.test/login", nil), "usr_1", signoff.LoginOptions{})
			if err != nil {
				t.Fatal(err)
			}
			req := func() *http.Request {
				r := httptest.NewRequest("GET", "https://app.test/me", nil)
				for _, c := range rec.Result().Cookies() {
					r.AddCookie(c)
				}
				if res.Tokens != nil {
					r.Header.Set("Authorization", "Bearer "+res.Tokens.AccessToken.Reveal())
				}
				return r
			}
			// Both instances authenticate (and so cache) the credential.
			for _, m := range []*signoff.Manager{ma, mb} {
				if _, err := m.Authenticate(req()); err != nil {
					t.Fatalf("before logout: %v", err)
				}
			}
			lr := req()
			lr.Method = "POST"
			if err := ma.Logout(httptest.NewRecorder(), lr); err != nil {
				t.Fatal(err)
			}
			for name, m := range map[string]*signoff.Manager{"A": ma, "B": mb} {
				if _, err := m.Authenticate(req()); !errors.Is(err, signoff.ErrInvalidCredential) && !errors.Is(err, signoff.ErrSessionRevoked) {
					t.Errorf("instance %s after logout on A: the old credential got %v; want it rejected", name, err)
				}
			}
		})
	}
}

// Logout everywhere writes one row, the user's, however many sessions and
// refresh-token families the user has, and counts them from the index
// alone (the plan reads no table row).
func TestRevokeUserWritesOneRow(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "signoff.db"))
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	user := "usr_many"
	for i := range 200 {
		x := &signoff.Session{ID: fmt.Sprintf("ses_%d", i), UserID: user, CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
		var rt *signoff.RefreshToken
		if i%2 == 0 {
			x.TokenHash = signoff.HashString(fmt.Sprintf("cookie %d", i))
		} else {
			rt = &signoff.RefreshToken{JTI: fmt.Sprintf("rt_%d", i), Hash: signoff.HashString(fmt.Sprintf("refresh %d", i)), IssuedAt: base, ExpiresAt: base.Add(time.Hour)}
		}
		if err := s.CreateSession(ctx, x, rt); err != nil {
			t.Fatal(err)
		}
	}
	changes := func() (n int64) {
		t.Helper()
		if err := sqlitestore.QueryRowForTest(s, `SELECT total_changes()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := changes()
	n, av, err := s.RevokeUserSessions(ctx, user, base.Add(time.Minute))
	if err != nil || n != 200 || av != 1 {
		t.Fatalf("RevokeUserSessions = (%d, %d, %v), want (200, 1, nil)", n, av, err)
	}
	if got := changes() - before; got != 1 {
		t.Fatalf("RevokeUserSessions of 200 sessions changed %d rows, want 1 (the user's auth_version)", got)
	}
	plan, err := sqlitestore.PlanForTest(s, sqlitestore.CountLive, user, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "COVERING INDEX sessions_live_by_user") {
		t.Fatalf("the count reads table rows:\n%s", plan)
	}
}
