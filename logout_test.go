package signoff_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/signoff/signoff"
)

// checkDeletion asserts that rec deletes the cookie that login set: the same
// name, Path, Domain, Secure, HttpOnly, SameSite and Partitioned, an empty
// value, Max-Age=0 and an Expires in the past (I2, R21, R22).
func checkDeletion(t *testing.T, h *harness, login *http.Cookie, rec *httptest.ResponseRecorder) {
	t.Helper()
	raw := rawSetCookie(t, rec, login.Name)
	if !strings.Contains(raw, "Max-Age=0") {
		t.Errorf("R22: deletion of %s lacks Max-Age=0: %q", login.Name, raw)
	}
	del := setCookies(t, rec)[login.Name]
	if del.Value != "" {
		t.Errorf("R22: deletion of %s carries a value (%s)", login.Name, fp(del.Value))
	}
	if del.Expires.IsZero() || !del.Expires.Before(h.clock.Now()) {
		t.Errorf("R22: deletion of %s: Expires %v is not in the past: %q", login.Name, del.Expires, raw)
	}
	if del.Path != login.Path || del.Domain != login.Domain || del.Secure != login.Secure ||
		del.HttpOnly != login.HttpOnly || del.SameSite != login.SameSite || del.Partitioned != login.Partitioned {
		t.Errorf("R21: deletion attributes differ from the login cookie's:\n login  Path=%q Domain=%q Secure=%v HttpOnly=%v SameSite=%v Partitioned=%v\n delete Path=%q Domain=%q Secure=%v HttpOnly=%v SameSite=%v Partitioned=%v",
			login.Path, login.Domain, login.Secure, login.HttpOnly, login.SameSite, login.Partitioned,
			del.Path, del.Domain, del.Secure, del.HttpOnly, del.SameSite, del.Partitioned)
	}
}

// checkClearSiteData asserts the logout's Clear-Site-Data header, with quoted
// directives (R26), and Cache-Control: no-store (R25).
func checkClearSiteData(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if got, want := rec.Header().Get("Clear-Site-Data"), `"cache", "cookies", "storage"`; got != want {
		t.Errorf("R26: Clear-Site-Data = %q, want %q", got, want)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("R25: logout Cache-Control = %q, want no-store", got)
	}
}

// loginCookie returns the cookie name that login set, parsed.
func loginCookie(t *testing.T, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	ck := setCookies(t, rec)[name]
	if ck == nil {
		t.Fatalf("login set no %s cookie", name)
	}
	raw := rawSetCookie(t, rec, name)
	// R15–R18: the login cookie itself is right; checkDeletion compares
	// against it, so a wrong login cookie must not pass unnoticed.
	for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age="} {
		if !strings.Contains(raw, attr) {
			t.Errorf("R16/R17/R18: login cookie %s lacks %s", name, attr)
		}
	}
	if strings.Contains(strings.ToLower(raw), "domain=") {
		t.Errorf("R16: __Host- cookie %s has a Domain", name)
	}
	return ck
}

// TestLogoutSession_I1_R4 logs out in session mode and replays the old
// cookie: it must be rejected. A second logout with that dead cookie still
// answers with the deletion (I4, R36).
func TestLogoutSession_I1_R4(t *testing.T) {
	h := newHarness(t, signoff.ModeSession)
	c := h.newClient()
	_, rec, err := h.tryLogin(c, "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	login := loginCookie(t, rec, "__Host-session")
	if login.MaxAge <= 0 || login.MaxAge > int(signoff.DefaultAbsoluteLifetime.Seconds()) {
		t.Errorf("R20: login Max-Age = %d, want within (0, absolute lifetime]", login.MaxAge)
	}
	h.mustAuth(c, "before logout")
	old := c.clone()

	out, err := h.logout(c)
	if err != nil {
		t.Fatalf("Logout: %v", err)
	}
	checkDeletion(t, h, login, out)
	checkClearSiteData(t, out)
	if _, ok := c.jar["__Host-session"]; ok {
		t.Error("the browser still holds the session cookie after the deletion")
	}

	h.mustReject(old, "I1/R4: old session cookie after logout")
	h.clock.Advance(1)
	h.mustReject(old, "I1/R4: old session cookie after logout, again (cache)")

	// I4/R36: the same now-dead cookie, logged out again: 200 and the
	// deletion, never an error.
	again, err := h.logout(old.clone())
	if err != nil {
		t.Fatalf("I4/R36: second Logout with a dead cookie: %v; want success", err)
	}
	checkDeletion(t, h, login, again)
	checkClearSiteData(t, again)

	// I4: garbage and no cookie at all.
	for _, cookie := range []string{"__Host-session=garbage", "__Host-session=" + strings.Repeat("A", 43), ""} {
		r := httptest.NewRequest(http.MethodPost, "/logout", nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		if err := h.m.Logout(rec, r); err != nil {
			t.Fatalf("I4: Logout with cookie %q: %v", cookie, err)
		}
		checkDeletion(t, h, login, rec)
		checkClearSiteData(t, rec)
	}
}

// TestLogoutJWTBrowser_I1_R4_R5: in jwt mode a browser holds the refresh
// token in __Host-refresh and an access token. After logout both are dead,
// the access token at once (R5), whether or not it was cached.
func TestLogoutJWTBrowser_I1_R4_R5(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT)
	c := h.newClient()
	_, rec, err := h.tryLogin(c, "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	login := loginCookie(t, rec, "__Host-refresh")
	if c.jar["__Host-refresh"] == "" || c.at == "" {
		t.Fatal("jwt browser login gave no refresh cookie or no access token")
	}
	h.mustAuth(c, "before logout (warms the token cache)")
	earlier := c.clone() // AT1, cached; RT1, about to be spent
	h.mustRefresh(c, "rotate once before logout")
	old := c.clone() // AT2, never authenticated so never cached; RT2

	out, err := h.logout(c)
	if err != nil {
		t.Fatalf("Logout: %v", err)
	}
	checkDeletion(t, h, login, out)
	checkClearSiteData(t, out)

	h.mustReject(old, "R5: old access token (uncached) after logout")
	h.mustReject(earlier, "R5: the access token minted at login (cached) after logout")
	h.mustNotRefresh(old, "R4: old refresh cookie after logout")
	h.mustNotRefresh(earlier, "R4: the spent refresh token after logout")

	again, err := h.logout(old.clone())
	if err != nil {
		t.Fatalf("I4/R36: second Logout: %v", err)
	}
	checkDeletion(t, h, login, again)
	checkClearSiteData(t, again)
}

// TestLogoutJWTNative_I1_R4_R5: a native client sends its refresh token in
// the body and nothing else; the access token dies with the session.
func TestLogoutJWTNative_I1_R4_R5(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT)
	c := h.newClient()
	h.login(c, "alice", true)
	if c.rt.IsZero() || len(c.jar) != 0 {
		t.Fatalf("native login: refresh token in body %v, cookies %d; want a token and no cookie", !c.rt.IsZero(), len(c.jar))
	}
	h.mustAuth(c, "before logout")
	old := c.clone()

	onlyRT := c.clone()
	onlyRT.at = "" // the logout request carries the refresh token only
	out, err := h.logout(onlyRT)
	if err != nil {
		t.Fatalf("Logout: %v", err)
	}
	checkClearSiteData(t, out)

	h.mustReject(old, "R5: access token after a native logout by refresh token")
	h.mustNotRefresh(old, "R4: native refresh token (body) after logout")

	if _, err := h.logout(old.clone()); err != nil {
		t.Fatalf("I4/R36: second native Logout: %v", err)
	}
}

// TestLogoutByAccessTokenOnly_R37: a logout that carries only the access
// token revokes its session, refresh token included.
func TestLogoutByAccessTokenOnly_R37(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT)
	c := h.newClient()
	h.login(c, "alice", true)
	old := c.clone()
	onlyAT := c.clone()
	onlyAT.rt = signoff.Secret{}
	if _, err := h.logout(onlyAT); err != nil {
		t.Fatal(err)
	}
	h.mustReject(old, "R37: access token")
	h.mustNotRefresh(old, "R37: refresh token of the session the access token named")
}

// TestLogoutOnlyThisDevice_I6: logout ends this device's session, no other.
func TestLogoutOnlyThisDevice_I6(t *testing.T) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			h := newHarness(t, mode)
			a, b := h.newClient(), h.newClient()
			h.login(a, "alice", false)
			h.login(b, "alice", false)
			old := a.clone()
			if _, err := h.logout(a); err != nil {
				t.Fatal(err)
			}
			h.mustReject(old, "device A after its logout")
			h.mustAuth(b, "device B after A's logout")
			if mode == signoff.ModeJWT {
				h.mustRefresh(b, "device B's refresh token after A's logout")
			}
		})
	}
}
