package server

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/signoff/signoff"
)

// The cookie domain (--cookie-domain) lets one sign-in serve sibling hosts:
// signoff on auth.example.com, the app on app.example.com, both behind a
// forward-auth proxy. A __Host- cookie cannot carry a Domain (RFC 6265bis
// §4.1.3.2), so such cookies are named __Secure-: every host under the
// domain receives them, and any host under it can set one of the same name
// (R23 refuses a request that carries two). docs/forward-auth.md says what
// that costs.

// ParseCookieDomain checks a cookie domain: a host name of two labels or
// more (example.com, apps.example.com), without scheme, port, path or IP
// address. A leading "." is dropped, as browsers drop it. It returns the
// domain in lower case; "" stays "" (host-only cookies, the default).
func ParseCookieDomain(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	d := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "."))
	bad := func(why string) error {
		return fmt.Errorf("%q is not a cookie domain: %s (want a domain that covers signoff's host and the app's, like example.com)", s, why)
	}
	if net.ParseIP(strings.Trim(d, "[]")) != nil {
		return "", bad("an IP address cannot be shared by sibling hosts")
	}
	if len(d) > 253 {
		return "", bad("it is longer than 253 bytes")
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", bad("browsers refuse a Domain of one label")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.ContainsFunc(l, func(c rune) bool {
			return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')
		}) {
			return "", bad("it is not a host name (letters, digits and inner hyphens, between dots)")
		}
	}
	return d, nil
}

// cookieSpecs returns the session-mode and jwt-mode cookies for a checked
// cookie domain: the host-only __Host- defaults when it is empty, else the
// same cookies named __Secure- with that Domain.
func cookieSpecs(domain string) (session, refresh signoff.CookieSpec) {
	if domain == "" {
		return signoff.DefaultSessionCookie, signoff.DefaultRefreshCookie
	}
	shared := func(name string) signoff.CookieSpec {
		return signoff.CookieSpec{Name: name, Path: "/", Domain: domain, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	}
	return shared("__Secure-session"), shared("__Secure-refresh")
}
