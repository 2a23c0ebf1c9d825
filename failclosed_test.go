package signoff_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff"
)

// TestStoreOutage_I11_R52: while the store cannot answer, a cold credential
// gets ErrUnavailable (503, never 200), Logout fails and writes no
// Set-Cookie at all (R38: the client keeps its state and retries), and after
// recovery nothing revoked before comes back.
func TestStoreOutage_I11_R52(t *testing.T) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			h := newHarness(t, mode)
			revoked, cold, victim := h.newClient(), h.newClient(), h.newClient()
			h.login(revoked, "alice", false)
			h.mustAuth(revoked, "warm, then revoked")
			oldRevoked := revoked.clone()
			if _, err := h.logout(revoked); err != nil {
				t.Fatal(err)
			}
			h.login(cold, "alice", false)  // never authenticated: nothing cached
			h.login(victim, "alice", true) // will try to log out during the outage

			h.down.Store(true)

			_, err := h.auth(cold)
			if !errors.Is(err, signoff.ErrUnavailable) || signoff.StatusOf(err) != http.StatusServiceUnavailable {
				t.Fatalf("I11: Authenticate on a cold cache during the outage: %v (status %d); want ErrUnavailable (503)", err, signoff.StatusOf(err))
			}
			// Through the middleware: 503 with Retry-After, never 200.
			rec := httptest.NewRecorder()
			h.m.Require(okHandler()).ServeHTTP(rec, cold.request(http.MethodGet, "/api/me", ""))
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("I11: Require during the outage: %d (Retry-After %q); want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
			}
			if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
				t.Fatalf("I11: Require's 503 touched the cookies of a session that may be alive: %d Set-Cookie", len(sc))
			}
			rec = httptest.NewRecorder()
			h.m.Optional(okHandler()).ServeHTTP(rec, cold.request(http.MethodGet, "/api/me", ""))
			if rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("I11: Optional during the outage: %d; want 503", rec.Code)
			}
			if _, err := h.auth(oldRevoked); err == nil {
				t.Fatal("I11: a revoked credential was accepted during the outage")
			}

			// Logout fails and changes nothing on the client.
			rec, err = h.logout(victim.clone())
			if !errors.Is(err, signoff.ErrUnavailable) {
				t.Fatalf("I11/R38: Logout during the outage: %v; want ErrUnavailable", err)
			}
			if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
				t.Fatalf("I11/R38: a failed Logout wrote %d Set-Cookie headers; want none", len(sc))
			}
			if rec.Header().Get("Clear-Site-Data") != "" {
				t.Fatal("I11/R38: a failed Logout sent Clear-Site-Data")
			}
			// Through the handler: 503 and still no deletion.
			rec = httptest.NewRecorder()
			h.m.LogoutHandler().ServeHTTP(rec, victim.request(http.MethodPost, "/logout", `{"refresh_token":"`+victim.rt.Reveal()+`"}`))
			if rec.Code != http.StatusServiceUnavailable || len(rec.Header().Values("Set-Cookie")) != 0 {
				t.Fatalf("I11/R38: LogoutHandler during the outage: %d with %d Set-Cookie; want 503 and none",
					rec.Code, len(rec.Header().Values("Set-Cookie")))
			}
			// Login and logout everywhere fail too.
			if _, _, err := h.tryLogin(h.newClient(), "alice", false); !errors.Is(err, signoff.ErrUnavailable) {
				t.Fatalf("Login during the outage: %v; want ErrUnavailable", err)
			}
			if mode == signoff.ModeJWT {
				if _, _, err := h.refresh(victim.clone()); !errors.Is(err, signoff.ErrUnavailable) {
					t.Fatalf("Refresh during the outage: %v; want ErrUnavailable", err)
				}
			}

			h.down.Store(false)

			h.mustReject(oldRevoked, "I11/R52: a credential revoked before the outage, after recovery")
			if mode == signoff.ModeJWT {
				h.mustNotRefresh(oldRevoked, "I11/R52: a refresh token revoked before the outage")
			}
			h.mustAuth(cold, "after recovery")
			h.mustAuth(victim, "the failed logout changed nothing")
			old := victim.clone()
			if _, err := h.logout(victim); err != nil {
				t.Fatalf("retried Logout after recovery: %v", err)
			}
			h.mustReject(old, "the retried logout took effect")
		})
	}
}

// TestBusPublishFailure_I1: a revocation the bus cannot confirm is an error:
// logout answers 503 and deletes nothing, and the store revocation holds.
func TestBusPublishFailure_I1(t *testing.T) {
	var failing atomic.Bool
	bus := &funcBus{PublishFunc: func(context.Context, signoff.Revocation) error {
		if failing.Load() {
			return errors.New("bus: no acknowledgement")
		}
		return nil
	}}
	h := newHarness(t, signoff.ModeSession, func(c *signoff.Config) { c.Bus = bus })
	c := h.newClient()
	h.login(c, "alice", false)
	failing.Store(true)
	rec, err := h.logout(c.clone())
	if !errors.Is(err, signoff.ErrUnavailable) || len(rec.Header().Values("Set-Cookie")) != 0 {
		t.Fatalf("Logout with a failing bus: %v, %d Set-Cookie; want ErrUnavailable and none", err, len(rec.Header().Values("Set-Cookie")))
	}
	// Nothing reached the store: the logout did not happen, and the client,
	// which kept its cookie, retries it.
	h.mustAuth(c, "the session whose logout failed")
	failing.Store(false)
	if _, err := h.logout(c.clone()); err != nil {
		t.Fatalf("the retried logout: %v", err)
	}
	h.mustReject(c, "the session after the retried logout")
}

// failRevoke is a store whose RevokeSession fails on demand.
type failRevoke struct {
	signoff.Store
	fail atomic.Bool
}

func (f *failRevoke) RevokeSession(ctx context.Context, id string, at time.Time) error {
	if f.fail.Load() {
		return errStoreDown
	}
	return f.Store.RevokeSession(ctx, id, at)
}

// A revocation that reached the bus but not the store (the store fails
// between the two steps) is refused by every instance that applied it, and
// the client's retry completes it; the store can never be revoked while an
// instance still trusts its memory (the order that broke I1).
func TestStoreFailsAfterPublish_I1(t *testing.T) {
	var fr *failRevoke
	h := newHarness(t, signoff.ModeSession, func(c *signoff.Config) {
		fr = &failRevoke{Store: c.Store}
		c.Store = fr
	})
	c := h.newClient()
	h.login(c, "alice", false)
	p := h.mustAuth(c, "warm")
	fr.fail.Store(true)
	if _, err := h.logout(c.clone()); !errors.Is(err, signoff.ErrUnavailable) {
		t.Fatalf("logout with the store failing after the publish: %v; want ErrUnavailable", err)
	}
	fr.fail.Store(false)
	h.mustReject(c, "a session whose revocation was published, store write failed")
	if _, err := h.logout(c.clone()); err != nil {
		t.Fatalf("the retried logout: %v", err)
	}
	h.mustReject(c, "after the retry")
	if _, err := h.store.Session(context.Background(), p.SessionID, h.clock.Now()); !errors.Is(err, signoff.ErrNotFound) {
		t.Fatalf("the store after the retried logout: %v; want the session revoked", err)
	}
}
