package signoff_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff/signoff"
)

// TestRefreshRotates_I5_R33_R34 covers one family: rotation on every use, a
// grace retry that returns the same child, and reuse after the grace window
// that kills the family, newest refresh token and its access token included.
func TestRefreshRotates_I5_R33_R34(t *testing.T) {
	for _, native := range []bool{true, false} {
		name := map[bool]string{true: "native", false: "browser"}[native]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, signoff.ModeJWT)
			c := h.newClient()
			h.login(c, "alice", native)
			gen0 := c.clone()
			h.mustRefresh(c, "first rotation")
			gen1 := c.clone()
			if rtOf(gen0) == rtOf(gen1) {
				t.Fatal("R33: refresh returned the same refresh token")
			}
			if gen0.at == gen1.at {
				t.Fatal("refresh returned the same access token")
			}
			h.mustAuth(gen1, "the new access token")
			h.mustAuth(gen0, "the earlier access token lives until its exp (the session is live)")

			// R34b: a retry of the immediate parent inside the grace window
			// gets the very same child.
			h.clock.Advance(5 * time.Second)
			retry := gen0.clone()
			h.mustRefresh(retry, "R34b: grace retry of the parent")
			if got, want := rtOf(retry), rtOf(gen1); got != want {
				t.Fatalf("R34b: grace retry got refresh token %s, want the same child %s", fp(got), fp(want))
			}
			h.mustAuth(retry, "access token of the grace retry")

			// R34: after the grace window the parent is reuse: the family dies.
			h.clock.Advance(6 * time.Second) // 11 s after the parent was spent
			reuse := gen0.clone()
			_, _, err := h.refresh(reuse)
			if !errors.Is(err, signoff.ErrRefreshReused) || signoff.StatusOf(err) != http.StatusUnauthorized {
				t.Fatalf("R34: reuse after grace: %v; want ErrRefreshReused (401)", err)
			}
			h.mustNotRefresh(gen1, "R34: the newest refresh token after reuse of its parent")
			h.mustReject(gen1, "R34: the newest access token after reuse")
			h.mustReject(retry, "R34: the grace retry's access token after reuse")
			h.mustReject(gen0, "R34: the first access token after reuse")
			if !strings.Contains(h.logs.String(), "refresh.reuse_detected") {
				t.Error("I5: no refresh.reuse_detected event in the log")
			}
		})
	}
}

// rtOf returns the raw refresh token a client holds, for comparison only.
func rtOf(c *client) string {
	if !c.rt.IsZero() {
		return c.rt.Reveal()
	}
	return c.jar["__Host-refresh"]
}

// TestConcurrentRefreshSameChild_R34b: 100 refreshes with the same refresh
// token at once all succeed with the same child, and every access token they
// got works.
func TestConcurrentRefreshSameChild_R34b(t *testing.T) {
	for _, native := range []bool{true, false} {
		name := map[bool]string{true: "native", false: "browser"}[native]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, signoff.ModeJWT)
			c := h.newClient()
			h.login(c, "alice", native)
			parent := c.clone()

			const n = 100
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				mu    sync.Mutex
				kids  = map[string]int{} // fingerprint → count
				ats   []string
				errs  []error
			)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					rec := httptest.NewRecorder()
					r := parent.request(http.MethodPost, "/refresh", "")
					r.Header.Del("Authorization")
					tok, err := h.m.Refresh(rec, r, parent.rt)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
						return
					}
					var child string
					if native {
						child = tok.RefreshToken.Reveal()
					} else {
						child = setCookies(t, rec)["__Host-refresh"].Value
					}
					h.remember(child)
					h.remember(tok.AccessToken.Reveal())
					kids[fp(child)]++
					ats = append(ats, tok.AccessToken.Reveal())
				}()
			}
			close(start)
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("R34b: %d of %d concurrent refreshes failed; first: %v", len(errs), n, errs[0])
			}
			if len(kids) != 1 {
				t.Fatalf("R34b: concurrent refreshes got %d different children %v; want one", len(kids), kids)
			}
			for k := range kids {
				if k == fp(rtOf(parent)) {
					t.Fatal("R34b: the child is the parent")
				}
			}
			for i, at := range ats {
				if _, err := h.auth(&client{h: h, at: at}); err != nil {
					t.Fatalf("access token %d of the concurrent refreshes: %v", i, err)
				}
			}
		})
	}
}

// TestGrandparentReuse_R34b: a refresh token two generations back revokes
// the family, inside the grace window or later.
func TestGrandparentReuse_R34b(t *testing.T) {
	for _, wait := range []time.Duration{0, time.Second, time.Hour} {
		t.Run(wait.String(), func(t *testing.T) {
			h := newHarness(t, signoff.ModeJWT, func(c *signoff.Config) { c.IdleTimeout = 2 * time.Hour })
			c := h.newClient()
			h.login(c, "alice", true)
			gen0 := c.clone()
			h.mustRefresh(c, "RT0 → RT1")
			h.mustRefresh(c, "RT1 → RT2")
			h.mustAuth(c, "AT2 (cached)")
			current := c.clone()
			h.clock.Advance(wait)

			_, _, err := h.refresh(gen0.clone())
			if !errors.Is(err, signoff.ErrRefreshReused) {
				t.Fatalf("R34b: grandparent replay: %v; want ErrRefreshReused", err)
			}
			h.mustNotRefresh(current, "R34b: the current refresh token after the grandparent's replay")
			h.mustReject(current, "R34b: the current access token after the grandparent's replay")
		})
	}
}

// TestRefreshInSessionMode: Refresh does not exist in session mode.
func TestRefreshInSessionMode(t *testing.T) {
	h := newHarness(t, signoff.ModeSession)
	_, err := h.m.Refresh(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/refresh", nil), signoff.NewSecret(randomToken()))
	if !errors.Is(err, signoff.ErrWrongMode) {
		t.Fatalf("Refresh in session mode: %v; want ErrWrongMode", err)
	}
}

// TestRefreshGarbage: unknown, malformed and empty refresh tokens are 401s
// that change nothing.
func TestRefreshGarbage(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT)
	c := h.newClient()
	h.login(c, "alice", true)
	for _, raw := range []string{randomToken(), "short", strings.Repeat("x", 500), "a.b.c"} {
		h.remember(raw)
		_, err := h.m.Refresh(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/refresh", nil), signoff.NewSecret(raw))
		if signoff.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("Refresh with garbage %s: %v; want 401", fp(raw), err)
		}
	}
	_, err := h.m.Refresh(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/refresh", nil), signoff.Secret{})
	if !errors.Is(err, signoff.ErrNoCredential) {
		t.Errorf("Refresh with nothing: %v; want ErrNoCredential", err)
	}
	h.mustRefresh(c, "the real refresh token still works")
}
