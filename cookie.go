package signoff

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// CookieSpec defines a cookie once, so that the code that sets it and the code
// that deletes it cannot disagree (invariant I2). A deletion that names
// another Path or Domain than the cookie it means to delete creates a second
// cookie and leaves the first in place; browsers also ignore the deletion of a
// __Host- cookie that lacks Secure or Path=/ (RFC 6265bis §4.1.3.2, §5.7).
//
// The zero SameSite means Lax.
type CookieSpec struct {
	Name        string
	Path        string // "/" when empty
	Domain      string // empty: host-only, required for __Host- names
	Secure      bool
	HttpOnly    bool
	SameSite    http.SameSite
	Partitioned bool
}

// DefaultSessionCookie is the session-mode cookie: __Host-session, Secure,
// HttpOnly, SameSite=Lax, Path=/, no Domain. Chromium and curl treat
// http://localhost and 127.0.0.1 as secure, so it works in development too.
var DefaultSessionCookie = CookieSpec{Name: "__Host-session", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}

// DefaultRefreshCookie is the jwt-mode refresh-token cookie for browsers.
var DefaultRefreshCookie = CookieSpec{Name: "__Host-refresh", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}

// Validate reports a spec that a browser would refuse or that breaks a rule
// signoff relies on.
func (c CookieSpec) Validate() error {
	if c.Name == "" || strings.ContainsAny(c.Name, " \t\r\n;,=\"") {
		return errors.New("signoff: cookie name is empty or has a separator")
	}
	path := c.path()
	switch {
	case strings.HasPrefix(c.Name, "__Host-") && (!c.Secure || path != "/" || c.Domain != ""):
		return errors.New("signoff: a __Host- cookie needs Secure, Path=/ and no Domain (RFC 6265bis §4.1.3.2)")
	case strings.HasPrefix(c.Name, "__Secure-") && !c.Secure:
		return errors.New("signoff: a __Secure- cookie needs Secure (RFC 6265bis §4.1.3.1)")
	case c.SameSite == http.SameSiteNoneMode && !c.Secure:
		return errors.New("signoff: SameSite=None needs Secure")
	case c.Partitioned && !c.Secure:
		return errors.New("signoff: Partitioned needs Secure")
	}
	return nil
}

func (c CookieSpec) path() string {
	if c.Path == "" {
		return "/"
	}
	return c.Path
}

func (c CookieSpec) cookie(value string) *http.Cookie {
	ss := c.SameSite
	if ss == 0 || ss == http.SameSiteDefaultMode {
		ss = http.SameSiteLaxMode
	}
	return &http.Cookie{
		Name: c.Name, Value: value, Path: c.path(), Domain: c.Domain,
		Secure: c.Secure, HttpOnly: c.HttpOnly, SameSite: ss, Partitioned: c.Partitioned,
	}
}

// Set writes a Set-Cookie header that stores value until expires. Max-Age is
// never longer than the credential is valid for on the server (R20); the
// server enforces its own limits whatever the browser keeps (I10).
func (c CookieSpec) Set(w http.ResponseWriter, value string, expires, now time.Time) {
	ck := c.cookie(value)
	secs := int(expires.Sub(now) / time.Second)
	if secs < 1 {
		secs = 1
	}
	ck.MaxAge = secs
	addSetCookie(w, ck)
}

// Delete writes the deletion for the cookie Set writes: the same name, Path,
// Domain, Secure, HttpOnly, SameSite and Partitioned, an empty value,
// Max-Age=0 and an Expires in the past (RFC 6265bis §5.6.2, R21, R22).
func (c CookieSpec) Delete(w http.ResponseWriter) {
	ck := c.cookie("")
	ck.MaxAge = -1 // net/http writes Max-Age=0
	ck.Expires = time.Unix(0, 0)
	addSetCookie(w, ck)
}

func addSetCookie(w http.ResponseWriter, ck *http.Cookie) {
	if v := ck.String(); v != "" {
		w.Header().Add("Set-Cookie", v)
	}
}
