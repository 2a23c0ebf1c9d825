package logbustest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/logbus"
	"github.com/signoff/signoff/store/memstore"
)

var errInjected = errors.New("injected: the bus lost its connection")

// afterWrite is one instance's handle on the log that fails every append
// made once its store has written a logout everywhere: the publish that
// follows the store write is lost, as in a failover or a dropped
// connection.
type afterWrite struct {
	logbus.Log
	written *atomic.Bool
}

func (l afterWrite) Append(ctx context.Context, origin string, r signoff.Revocation) (int64, error) {
	if l.written.Load() {
		return 0, errInjected
	}
	return l.Log.Append(ctx, origin, r)
}

// faultyStore records when RevokeUserSessions has committed, and can fail
// it before it writes; it counts the session reads a request can make.
type faultyStore struct {
	signoff.Store
	written atomic.Bool
	fail    atomic.Bool
	reads   atomic.Int64
}

func (s *faultyStore) SessionByToken(ctx context.Context, h signoff.Hash, now time.Time) (*signoff.Session, error) {
	s.reads.Add(1)
	return s.Store.SessionByToken(ctx, h, now)
}

func (s *faultyStore) Session(ctx context.Context, id string, now time.Time) (*signoff.Session, error) {
	s.reads.Add(1)
	return s.Store.Session(ctx, id, now)
}

func (s *faultyStore) RevokeUserSessions(ctx context.Context, userID string, at time.Time) (int, int64, error) {
	if s.fail.Load() {
		return 0, 0, errInjected
	}
	n, av, err := s.Store.RevokeUserSessions(ctx, userID, at)
	if err == nil {
		s.written.Store(true)
	}
	return n, av, err
}

// Device is one signed-in device: what it presents.
type Device struct {
	cookies []*http.Cookie
	bearer  string
}

// SignIn signs user in on m, as a browser would.
func SignIn(t *testing.T, m *signoff.Manager, user string) Device {
	t.Helper()
	rec := httptest.NewRecorder()
	res, err := m.Login(rec, httptest.NewRequest("POST", "https://app.test/login", nil), user, signoff.LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := Device{cookies: rec.Result().Cookies()}
	if res.Tokens != nil {
		d.bearer = res.Tokens.AccessToken.Reveal()
	}
	return d
}

// Request is a request from the device, with everything it presents.
func (d Device) Request(method string) *http.Request {
	r := httptest.NewRequest(method, "https://app.test/api", nil)
	for _, c := range d.cookies {
		r.AddCookie(c)
	}
	if d.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+d.bearer)
	}
	return r
}

type cluster struct {
	store *faultyStore
	ms    []*signoff.Manager
}

// newCluster starts three Managers on one store, each on its own handle on
// the log; with lose, the first one's appends fail once its store has
// written.
func newCluster(t *testing.T, open func() logbus.Log, mode signoff.Mode, tag string, lose bool) *cluster {
	c := &cluster{store: &faultyStore{Store: memstore.New()}}
	logs := []logbus.Log{open(), open(), open()}
	if lose {
		logs[0] = afterWrite{Log: logs[0], written: &c.store.written}
	}
	c.ms = Managers(t, mode, c.store, logs, func(i int) logbus.Options {
		opt := Options(string(rune('A'+i)) + tag + mode.String())
		opt.AckTimeout = 10 * time.Second // a loaded machine is not the fault under test
		return opt
	})
	return c
}

func (c *cluster) login(t *testing.T, on int, user string) Device {
	t.Helper()
	return SignIn(t, c.ms[on], user)
}

// accepted lists the instances that accept d.
func (c *cluster) accepted(d Device) []int {
	var out []int
	for i, m := range c.ms {
		if _, err := m.Authenticate(d.Request("GET")); err == nil {
			out = append(out, i)
		}
	}
	return out
}

// Logout everywhere that fails half-way must strand nothing. When the
// publish that follows the store write is lost, the store already says
// revoked: no instance may keep serving the user's sessions from memory,
// and the answer is a success, since the logout did happen everywhere.
// When the store write itself fails, nothing changed: every instance
// still accepts the sessions, and a retry on any instance ends them.
func testLogoutEverywhereHalfWay(t *testing.T, open func() logbus.Log) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run("publish lost after the store write/"+mode.String(), func(t *testing.T) {
			// Users of their own: the log outlives this subtest's store.
			user, bystander := "usr_lost_"+mode.String(), "usr_bystander_"+mode.String()
			c := newCluster(t, open, mode, "lost", true)
			devs := []Device{c.login(t, 0, user), c.login(t, 1, user), c.login(t, 2, user)}
			other := c.login(t, 1, bystander)
			for _, d := range append(devs, other) { // every instance has every session in memory
				if got := c.accepted(d); len(got) != 3 {
					t.Fatalf("before: accepted on %v, want all three", got)
				}
			}
			_, err := c.ms[0].RevokeUser(ctx, user)
			if !c.store.written.Load() {
				t.Fatal("the store write did not happen")
			}
			for i, d := range devs {
				if got := c.accepted(d); len(got) != 0 {
					t.Errorf("device %d of the user is still accepted on instances %v after the store revoked it (RevokeUser: %v)", i, got, err)
				}
			}
			if err != nil {
				t.Errorf("RevokeUser = %v; the revocation is in the store and every instance honours it: want success", err)
			}
			if got := c.accepted(other); len(got) != 3 {
				t.Errorf("another user's session is accepted on %v, want all three", got)
			}
			c.store.written.Store(false) // the bus is back
			again := c.login(t, 2, user)
			if got := c.accepted(again); len(got) != 3 {
				t.Errorf("a new sign-in after it is accepted on %v, want all three", got)
			}
			// The new auth_version is published by itself, so instances
			// answer the user's new sessions from memory again.
			_, watch := Subscribe(t, open(), Options("watch"+mode.String()))
			eventually(t, "the new auth_version is published after the bus is back", func() bool {
				return watch.Saw(func(r signoff.Revocation) bool { return r.UserID == user && r.AuthVersion > 0 })
			})
			eventually(t, "every instance answers the user's new sign-in from memory again", func() bool {
				c.accepted(again) // fills memory where it may
				before := c.store.reads.Load()
				return len(c.accepted(again)) == 3 && c.store.reads.Load() == before
			})
		})
		t.Run("store write fails/"+mode.String(), func(t *testing.T) {
			user := "usr_fail_" + mode.String()
			c := newCluster(t, open, mode, "fail", false)
			devs := []Device{c.login(t, 0, user), c.login(t, 1, user)}
			for _, d := range devs {
				c.accepted(d)
			}
			c.store.fail.Store(true)
			if _, err := c.ms[0].RevokeUser(ctx, user); !errors.Is(err, signoff.ErrUnavailable) {
				t.Fatalf("RevokeUser with the store failing = %v, want ErrUnavailable", err)
			}
			for i, d := range devs { // nothing was revoked: the client keeps its state and retries
				if got := c.accepted(d); len(got) != 3 {
					t.Fatalf("device %d is accepted on %v after a logout everywhere that wrote nothing, want all three", i, got)
				}
			}
			c.store.fail.Store(false)
			for retryOn := range c.ms { // the retry may land anywhere
				rec := httptest.NewRecorder()
				if _, err := c.ms[retryOn].LogoutAll(rec, devs[retryOn%2].Request("POST")); err != nil {
					t.Fatalf("the retry on instance %d: %v", retryOn, err)
				}
				for i, d := range devs {
					if got := c.accepted(d); len(got) != 0 {
						t.Fatalf("after the retry on instance %d, device %d is accepted on %v", retryOn, i, got)
					}
				}
				devs = []Device{c.login(t, retryOn, user), c.login(t, (retryOn+1)%3, user)}
				for _, d := range devs {
					c.accepted(d)
				}
			}
		})
	}
}
