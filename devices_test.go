package signoff_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/signoff/signoff"
)

// TestLogoutAll_I6 signs alice in on several devices, warms every access
// token in the verified-token cache, mints one more that is never cached, and
// logs out everywhere from one device: every credential of every device
// dies at once; bob's session is untouched; a new login works.
func TestLogoutAll_I6(t *testing.T) {
	t.Run("session", func(t *testing.T) {
		h := newHarness(t, signoff.ModeSession)
		devs := []*client{h.newClient(), h.newClient(), h.newClient()}
		for _, d := range devs {
			h.login(d, "alice", false)
			h.mustAuth(d, "before logout everywhere (cached)")
		}
		never := h.newClient()
		h.login(never, "alice", false) // never authenticated: not cached
		bob := h.newClient()
		h.login(bob, "bob", false)
		h.mustAuth(bob, "bob")
		olds := []*client{devs[0].clone(), devs[1].clone(), devs[2].clone(), never.clone()}

		rec := httptest.NewRecorder()
		n, err := h.m.LogoutAll(rec, devs[0].request(http.MethodPost, "/logout/all", ""))
		if err != nil {
			t.Fatalf("LogoutAll: %v", err)
		}
		if n != 4 {
			t.Errorf("LogoutAll revoked %d sessions, want 4", n)
		}
		checkClearSiteData(t, rec)
		if ck := setCookies(t, rec)["__Host-session"]; ck == nil || ck.MaxAge >= 0 {
			t.Error("LogoutAll did not delete this device's cookie")
		}
		for i, d := range olds {
			h.mustReject(d, "I6: device after logout everywhere #"+string(rune('0'+i)))
		}
		h.mustAuth(bob, "I6: another user's session after alice's logout everywhere")
		again := h.newClient()
		h.login(again, "alice", false)
		h.mustAuth(again, "a login after logout everywhere")
	})
	t.Run("jwt", func(t *testing.T) {
		h := newHarness(t, signoff.ModeJWT)
		browser, native1, native2 := h.newClient(), h.newClient(), h.newClient()
		h.login(browser, "alice", false)
		h.login(native1, "alice", true)
		h.login(native2, "alice", true)
		devs := []*client{browser, native1, native2}
		for _, d := range devs {
			h.mustAuth(d, "warm the token cache")
		}
		// An access token minted earlier but never verified on this instance.
		uncached := native2.clone()
		h.mustRefresh(uncached, "mint an access token that is never cached")
		bob := h.newClient()
		h.login(bob, "bob", true)
		h.mustAuth(bob, "bob")
		olds := []*client{browser.clone(), native1.clone(), native2.clone(), uncached.clone()}

		rec := httptest.NewRecorder()
		n, err := h.m.LogoutAll(rec, native1.request(http.MethodPost, "/logout/all", ""))
		if err != nil {
			t.Fatalf("LogoutAll: %v", err)
		}
		if n != 3 {
			t.Errorf("LogoutAll revoked %d sessions, want 3", n)
		}
		for _, d := range olds {
			h.mustReject(d, "I6: access token after logout everywhere")
		}
		for _, d := range olds {
			h.mustNotRefresh(d.clone(), "I6: refresh token after logout everywhere")
		}
		h.mustAuth(bob, "I6: bob's access token")
		h.mustRefresh(bob, "I6: bob's refresh token")
		again := h.newClient()
		h.login(again, "alice", true)
		h.mustAuth(again, "a login after logout everywhere")
		h.mustRefresh(again, "a refresh after logout everywhere")
	})
	t.Run("needs a credential", func(t *testing.T) {
		h := newHarness(t, signoff.ModeSession)
		rec := httptest.NewRecorder()
		if _, err := h.m.LogoutAll(rec, httptest.NewRequest(http.MethodPost, "/logout/all", nil)); signoff.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("LogoutAll with no credential: %v; want 401", err)
		}
		if len(rec.Header().Values("Set-Cookie")) != 0 {
			t.Error("a failed LogoutAll wrote Set-Cookie")
		}
	})
}

// TestRevokeUser_R6: an administrator's revoke of a user ends every session,
// including the access tokens already cached.
func TestRevokeUser_R6(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT)
	a, b := h.newClient(), h.newClient()
	h.login(a, "alice", false)
	h.login(b, "alice", true)
	h.mustAuth(a, "cached")
	h.mustAuth(b, "cached")
	n, err := h.m.RevokeUser(context.Background(), "alice")
	if err != nil || n != 2 {
		t.Fatalf("RevokeUser = %d, %v; want 2, nil", n, err)
	}
	h.mustReject(a, "R6: browser after admin revoke")
	h.mustReject(b, "R6: native after admin revoke")
	h.mustNotRefresh(a, "R6: browser refresh token")
	h.mustNotRefresh(b, "R6: native refresh token")
}

// TestRevokeDevice_I6_R8: one device ends another; only that one dies. A
// session of another user is ErrNotFound and survives.
func TestRevokeDevice_I6_R8(t *testing.T) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			h := newHarness(t, mode)
			a, b, c := h.newClient(), h.newClient(), h.newClient()
			h.login(a, "alice", false)
			sb := h.login(b, "alice", true).Session
			h.login(c, "alice", false)
			bob := h.newClient()
			sbob := h.login(bob, "bob", false).Session
			for _, d := range []*client{a, b, c, bob} {
				h.mustAuth(d, "warm")
			}

			rec := httptest.NewRecorder()
			if err := h.m.RevokeDevice(rec, a.request(http.MethodDelete, "/sessions/"+sb.ID, ""), sb.ID); err != nil {
				t.Fatalf("RevokeDevice: %v", err)
			}
			if len(rec.Header().Values("Set-Cookie")) != 0 {
				t.Error("revoking another device cleared this one")
			}
			h.mustReject(b, "R8: the revoked device")
			if mode == signoff.ModeJWT {
				h.mustNotRefresh(b.clone(), "R8: the revoked device's refresh token")
			}
			h.mustAuth(a, "R8: the device that revoked")
			h.mustAuth(c, "R8: a third device")

			err := h.m.RevokeDevice(httptest.NewRecorder(), a.request(http.MethodDelete, "/sessions/"+sbob.ID, ""), sbob.ID)
			if !errors.Is(err, signoff.ErrNotFound) || signoff.StatusOf(err) != http.StatusNotFound {
				t.Fatalf("R8: revoking another user's session: %v; want ErrNotFound (404)", err)
			}
			h.mustAuth(bob, "R8: the other user's session survives")
			err = h.m.RevokeDevice(httptest.NewRecorder(), a.request(http.MethodDelete, "/sessions/ses_nope", ""), "ses_nope")
			if !errors.Is(err, signoff.ErrNotFound) {
				t.Fatalf("R8: revoking an unknown session: %v; want ErrNotFound", err)
			}

			// Revoking the session the request itself uses clears this device.
			sa, err := h.auth(a)
			if err != nil {
				t.Fatal(err)
			}
			old := a.clone()
			rec = httptest.NewRecorder()
			if err := h.m.RevokeDevice(rec, a.request(http.MethodDelete, "/sessions/"+sa.SessionID, ""), sa.SessionID); err != nil {
				t.Fatal(err)
			}
			if len(rec.Header().Values("Set-Cookie")) != 1 || rec.Header().Get("Clear-Site-Data") == "" {
				t.Error("revoking the current session did not clear this device")
			}
			h.mustReject(old, "R8: the device that revoked itself")
			h.mustAuth(c, "R8: a third device, still")
		})
	}
}

// TestSessionsList_R8: Sessions lists live sessions newest first and drops
// revoked ones.
func TestSessionsList_R8(t *testing.T) {
	h := newHarness(t, signoff.ModeSession)
	var ids []string
	var clients []*client
	for range 3 {
		c := h.newClient()
		ids = append(ids, h.login(c, "alice", false).Session.ID)
		clients = append(clients, c)
		h.clock.Advance(1e9)
	}
	if _, err := h.logout(clients[1]); err != nil {
		t.Fatal(err)
	}
	ss, err := h.m.Sessions(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || ss[0].ID != ids[2] || ss[1].ID != ids[0] {
		got := []string{}
		for _, s := range ss {
			got = append(got, s.ID)
		}
		t.Fatalf("Sessions = %v, want [%s %s]", got, ids[2], ids[0])
	}
	if err := h.m.RevokeSession(context.Background(), ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := h.m.RevokeSession(context.Background(), "ses_unknown"); err != nil {
		t.Fatalf("RevokeSession of an unknown ID: %v; want nil (idempotent)", err)
	}
	h.mustReject(clients[0], "admin RevokeSession")
	h.mustAuth(clients[2], "the remaining session")
}

// TestRevokeUserSettles_I1: a logout everywhere whose store write failed
// has told every instance to read the user through to the store; nothing
// will end that announcement, so each instance asks the store for the
// user's auth_version once the write can no longer land, and answers from
// memory again. Until then it keeps reading through.
func TestRevokeUserSettles_I1(t *testing.T) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			h := newHarness(t, mode, func(c *signoff.Config) { c.TouchInterval = 24 * time.Hour })
			a := h.newClient()
			h.login(a, "alice", true)
			h.mustAuth(a, "warm")
			storeCalls := func(why string) int64 {
				before := h.calls.Load()
				h.mustAuth(a, why)
				h.mustAuth(a, why)
				return h.calls.Load() - before
			}
			if n := storeCalls("from memory"); n != 0 {
				t.Fatalf("control: a warm credential cost %d store calls", n)
			}
			h.down.Store(true)
			if _, err := h.m.RevokeUser(context.Background(), "alice"); !errors.Is(err, signoff.ErrUnavailable) {
				t.Fatalf("RevokeUser with the store down = %v, want ErrUnavailable", err)
			}
			h.down.Store(false)
			if n := storeCalls("nothing was revoked; read through while it is pending"); n == 0 {
				t.Fatal("while a logout everywhere is pending, the user's credential was answered from memory")
			}
			h.clock.Advance(2 * time.Minute)
			h.mustAuth(a, "settles from the store")
			if n := storeCalls("settled: from memory again"); n != 0 {
				t.Fatalf("a logout everywhere that failed to write still costs %d store calls per two requests, 2 minutes on", n)
			}
		})
	}
}

// TestLogoutOthers_R7: one device ends every other session of its user and
// stays signed in; the old credentials of the others (cookie, access token,
// refresh token) are refused, each end is reported to
// Hooks.SessionRevoked, and another user is untouched. RevokeOthers with no
// session to keep ends them all.
func TestLogoutOthers_R7(t *testing.T) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			var mu sync.Mutex
			var reported []signoff.Event
			h := newHarness(t, mode, func(c *signoff.Config) {
				c.Hooks.SessionRevoked = func(e signoff.Event) {
					mu.Lock()
					reported = append(reported, e)
					mu.Unlock()
				}
			})
			a, b, c := h.newClient(), h.newClient(), h.newClient()
			sa := h.login(a, "alice", false).Session
			h.login(b, "alice", mode == signoff.ModeJWT) // native in jwt mode: its refresh token in the body
			h.login(c, "alice", false)
			bob := h.newClient()
			h.login(bob, "bob", false)
			for _, d := range []*client{a, b, c, bob} {
				h.mustAuth(d, "warm")
			}
			oldB, oldC := b.clone(), c.clone()

			rec := httptest.NewRecorder()
			n, err := h.m.LogoutOthers(rec, a.request(http.MethodPost, "/logout/others", ""))
			if err != nil || n != 2 {
				t.Fatalf("LogoutOthers = %d, %v; want 2, nil", n, err)
			}
			if len(rec.Header().Values("Set-Cookie")) != 0 || rec.Header().Get("Clear-Site-Data") != "" {
				t.Error("LogoutOthers cleared this device")
			}
			h.mustReject(oldB, "R7: another device's old credential")
			h.mustReject(oldC, "R7: a third device's old credential")
			if mode == signoff.ModeJWT {
				h.mustNotRefresh(oldB.clone(), "R7: another device's old native refresh token")
				h.mustNotRefresh(oldC.clone(), "R7: a third device's old refresh cookie")
			}
			if p := h.mustAuth(a, "R7: the device that signed the others out"); p.SessionID != sa.ID {
				t.Fatalf("this device is now session %s, want %s", p.SessionID, sa.ID)
			}
			if mode == signoff.ModeJWT {
				h.mustRefresh(a, "R7: this device's refresh token")
				h.mustAuth(a, "R7: this device's new access token")
			}
			h.mustAuth(bob, "another user's session")
			mu.Lock()
			if len(reported) != 2 {
				t.Errorf("Hooks.SessionRevoked told %d times, want 2", len(reported))
			}
			for _, e := range reported {
				if e.UserID != "alice" || e.SessionID == sa.ID || e.SessionID == "" || e.Admin {
					t.Errorf("Hooks.SessionRevoked told %+v", e)
				}
			}
			mu.Unlock()

			// Nothing else to end: 0, and this device still works.
			if n, err := h.m.LogoutOthers(httptest.NewRecorder(), a.request(http.MethodPost, "/logout/others", "")); err != nil || n != 0 {
				t.Fatalf("a second LogoutOthers = %d, %v; want 0, nil", n, err)
			}
			h.mustAuth(a, "after a second LogoutOthers")

			// RevokeOthers keeping nothing ends this one too.
			old := a.clone()
			if n, err := h.m.RevokeOthers(context.Background(), "alice", ""); err != nil || n != 1 {
				t.Fatalf("RevokeOthers keeping none = %d, %v; want 1, nil", n, err)
			}
			h.mustReject(old, "RevokeOthers keeping none")
			h.mustAuth(bob, "another user's session, still")
		})
	}
	t.Run("needs a credential", func(t *testing.T) {
		h := newHarness(t, signoff.ModeSession)
		if _, err := h.m.LogoutOthers(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/logout/others", nil)); signoff.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("LogoutOthers with no credential: %v; want 401", err)
		}
	})
	t.Run("store down", func(t *testing.T) {
		h := newHarness(t, signoff.ModeSession)
		a, b := h.newClient(), h.newClient()
		h.login(a, "alice", false)
		h.login(b, "alice", false)
		h.down.Store(true)
		if _, err := h.m.RevokeOthers(context.Background(), "alice", ""); signoff.StatusOf(err) != http.StatusServiceUnavailable {
			t.Errorf("RevokeOthers with the store down: %v; want 503", err)
		}
		h.down.Store(false)
		h.mustAuth(b, "I11: nothing was revoked by the failed call")
	})
}
