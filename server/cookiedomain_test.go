package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
)

func TestParseCookieDomain(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"example.com":       "example.com",
		".Example.COM":      "example.com",
		" apps.example.com": "apps.example.com",
		"a-b.example.test":  "a-b.example.test",
	} {
		if got, err := server.ParseCookieDomain(in); err != nil || got != want {
			t.Errorf("ParseCookieDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"localhost":                       "one label",
		".":                               "one label",
		"127.0.0.1":                       "IP address",
		"[::1]":                           "IP address",
		"https://example.com":             "not a host name",
		"example.com:8080":                "not a host name",
		"example.com/":                    "not a host name",
		"-x.example.com":                  "not a host name",
		"a..example.com":                  "not a host name",
		"ex ample.com":                    "not a host name",
		strings.Repeat("a.", 127) + "com": "253",
	} {
		_, err := server.ParseCookieDomain(in)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseCookieDomain(%q): %v, want an error saying %q", in, err, why)
		}
	}
}

// With a cookie domain, the browser's credential is a __Secure- cookie with
// that Domain, deleted with the same attributes (I2), and the old one is
// refused after logout; without it, the __Host- default stays.
func TestCookieDomain(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode, func(c *server.Config) { c.CookieDomain = ".Example.test" })
		name := strings.Replace(credName(mode), "__Host-", "__Secure-", 1)
		c := e.client()
		r := c.login(e.newUser())
		set := r.setCookie(name)
		for _, attr := range []string{"Domain=example.test", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(set, "; "+attr) {
				t.Fatalf("Set-Cookie %s lacks %s: %q", name, attr, cookieAttrs(set))
			}
		}
		if r.setCookie(credName(mode)) != "" {
			t.Fatalf("a %s cookie as well as %s", credName(mode), name)
		}
		// The client's jar keeps no Domain=example.test cookie for
		// 127.0.0.1: send it by hand, as a browser on a host under
		// example.test would.
		old := cookieOf(r, name)
		hdr := []string{"Cookie", old, "Origin", e.URL}
		if c.at != "" {
			hdr = append(hdr, "Authorization", "Bearer "+c.at)
		}
		r = e.raw("POST", "/logout", nil, hdr...)
		expect(t, "logout", r, http.StatusOK)
		del := r.setCookie(name)
		if !strings.Contains(del, "; Domain=example.test") || !strings.Contains(del, "Max-Age=0") {
			t.Fatalf("the deletion does not name the cookie's Domain: %q", cookieAttrs(del))
		}
		if mode == signoff.ModeSession {
			expect(t, "the old cookie after logout", e.raw("GET", "/api/me", nil, "Cookie", old), http.StatusUnauthorized)
		} else {
			expect(t, "the old refresh cookie after logout", e.raw("POST", "/refresh", nil, "Cookie", old, "Origin", e.URL), http.StatusUnauthorized)
		}
	})
}

// cookieAttrs is a Set-Cookie line without its value, for messages.
func cookieAttrs(line string) string {
	name, rest, _ := strings.Cut(line, "=")
	_, attrs, _ := strings.Cut(rest, ";")
	return name + "=…;" + attrs
}
