package signoff_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

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
	failing.Store(false)
	// The store already holds the revocation; the cold cache reads it.
	h.mustReject(c, "the session whose revocation reached the store")
}

// TestBusFreshness: the Manager trusts its memory only while the bus is
// fresh. A session revoked in the store directly, behind the Manager's and
// the bus's back, is still accepted from a warm cache while the bus claims
// to be fresh (why the bus must deliver every revocation), and rejected on
// the very next request once the bus is not fresh (reads go to the store).
func TestBusFreshness(t *testing.T) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Run("never fresh", func(t *testing.T) {
				bus := &funcBus{FreshFunc: func() bool { return false }}
				h := newHarness(t, mode, func(c *signoff.Config) { c.Bus = bus })
				c := h.newClient()
				s := h.login(c, "alice", false).Session
				for range 3 {
					h.mustAuth(c, "non-fresh bus: each request reads the store")
				}
				if err := h.store.RevokeSession(context.Background(), s.ID, h.clock.Now()); err != nil {
					t.Fatal(err)
				}
				h.mustReject(c, "non-fresh bus: a session revoked in the store directly")
			})
			t.Run("fresh, then not", func(t *testing.T) {
				var fresh atomic.Bool
				fresh.Store(true)
				bus := &funcBus{FreshFunc: fresh.Load}
				h := newHarness(t, mode, func(c *signoff.Config) { c.Bus = bus })
				c := h.newClient()
				s := h.login(c, "alice", false).Session
				h.mustAuth(c, "warm the cache")
				if err := h.store.RevokeSession(context.Background(), s.ID, h.clock.Now()); err != nil {
					t.Fatal(err)
				}
				// Documents the hazard: a fresh bus that missed a revocation
				// lets a warm cache answer for a dead session.
				h.mustAuth(c, "fresh bus, warm cache, revoked behind the bus's back (expected to pass)")
				fresh.Store(false)
				h.mustReject(c, "the bus lost freshness: the store is read and says revoked")
				fresh.Store(true)
				h.mustReject(c, "freshness back: the revocation learnt from the store stays")
			})
		})
	}
}

// TestBusFreshnessReadsThrough proves the non-fresh Manager asks the store on
// every request: with the store down, a credential that a fresh Manager
// would answer from memory gets 503.
func TestBusFreshnessReadsThrough(t *testing.T) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			var fresh atomic.Bool
			fresh.Store(true)
			h := newHarness(t, mode, func(c *signoff.Config) { c.Bus = &funcBus{FreshFunc: fresh.Load} })
			c := h.newClient()
			h.login(c, "alice", false)
			h.mustAuth(c, "warm the cache")
			h.down.Store(true)
			h.mustAuth(c, "fresh bus: answered from memory with the store down")
			fresh.Store(false)
			if _, err := h.auth(c); !errors.Is(err, signoff.ErrUnavailable) {
				t.Fatalf("non-fresh bus with the store down: %v; want ErrUnavailable (the store is read)", err)
			}
			h.down.Store(false)
			h.mustAuth(c, "non-fresh bus, store back")
		})
	}
}

// A token first seen while the bus is not fresh is verified once and
// remembered, but every request still asks the store: a revocation the bus
// never delivered (here: written to the store behind the Manager's back) is
// seen at once, and stays seen when the bus is fresh again.
func TestTokenFirstSeenWhileNotFresh(t *testing.T) {
	var fresh atomic.Bool
	h := newHarness(t, signoff.ModeJWT, func(c *signoff.Config) { c.Bus = &funcBus{FreshFunc: fresh.Load} })
	c := h.newClient()
	h.login(c, "alice", true)
	p := h.mustAuth(c, "first sight, bus not fresh")
	h.mustAuth(c, "again, bus not fresh")
	if err := h.store.RevokeSession(context.Background(), p.SessionID, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.auth(c); err == nil {
		t.Fatal("a session revoked in the store was accepted while the bus was not fresh")
	}
	fresh.Store(true)
	if _, err := h.auth(c); err == nil {
		t.Fatal("a session revoked in the store was accepted once the bus was fresh again")
	}
}
