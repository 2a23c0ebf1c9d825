package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
)

// traefik is what Traefik's ForwardAuth sends /verify about the request it
// holds (its documentation: X-Forwarded-Method, -Proto, -Host, -Uri, -For),
// for a browser navigating to https://app.example.com/docs?x=1&y=a+b.
var traefik = []string{
	"X-Forwarded-Method", "GET", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "app.example.com",
	"X-Forwarded-Uri", "/docs?x=1&y=a+b", "X-Forwarded-For", "192.0.2.7",
}

const traefikWanted = "https://app.example.com/docs?x=1&y=a+b"

// GET /verify?redirect, for a proxy that hands /verify's refusal to the
// client as it is (Traefik): a browser without a live credential is sent to
// sign-in with rd= the whole address it asked for, URL-encoded; an API
// client keeps the 401; without ?redirect nothing changes.
func TestVerifyRedirect(t *testing.T) {
	html := []string{"Accept", "text/html,application/xhtml+xml"}
	for _, c := range []struct {
		signin, want string
	}{
		{"", "/signin"},
		{"https://auth.example.com/", "https://auth.example.com/"},
		{"/login-page?theme=dark", "/login-page?theme=dark"},
	} {
		t.Run(c.want, func(t *testing.T) {
			bothModes(t, func(t *testing.T, mode signoff.Mode) {
				e := newEnv(t, mode, func(cfg *server.Config) { cfg.SigninURL = c.signin })
				signinOf := func(what string, r *response) {
					t.Helper()
					expect(t, what, r, http.StatusFound)
					loc := r.h.Get("Location")
					u, err := url.Parse(loc)
					if err != nil || !strings.HasPrefix(loc, c.want) || u.Query().Get("rd") != traefikWanted {
						t.Fatalf("%s: Location %q, want %s with rd=%s", what, loc, c.want, traefikWanted)
					}
					if len(r.body) != 0 {
						t.Fatalf("%s: a body with the redirect: %q", what, r.body)
					}
				}
				signinOf("a browser without a credential", e.noFollow("GET", "/verify?redirect", nil, append(html, traefik...)...))
				expect(t, "without ?redirect", e.noFollow("GET", "/verify", nil, append(html, traefik...)...), http.StatusUnauthorized)
				expect(t, "an API client", e.noFollow("GET", "/verify?redirect", nil, append([]string{"Accept", "application/json"}, traefik...)...), http.StatusUnauthorized)
				r := e.noFollow("GET", "/verify?redirect", nil, append([]string{"Authorization", "Bearer not-a-token"}, append(html, traefik...)...)...)
				expect(t, "a bearer client", r, http.StatusUnauthorized)
				if mode == signoff.ModeJWT && r.h.Get("WWW-Authenticate") == "" {
					t.Fatal("the bearer client's 401 has no WWW-Authenticate")
				}

				// Signed in: 200 with the identity; signed out: the old
				// credential is sent to sign-in again.
				cl := e.client()
				cl.login(e.newUser())
				cred := []string{"Cookie", credName(mode) + "=" + cl.cookie(credName(mode))}
				if mode == signoff.ModeJWT {
					cred = []string{"Authorization", "Bearer " + cl.at}
				}
				r = e.noFollow("GET", "/verify?redirect", nil, append(append(cred, html...), traefik...)...)
				if expect(t, "a live credential", r, http.StatusOK); !strings.HasPrefix(r.h.Get("X-Auth-User"), "usr_") {
					t.Fatalf("no X-Auth-User: %v", r.h)
				}
				expect(t, "logout", cl.do("POST", "/logout", nil), http.StatusOK)
				r = e.noFollow("GET", "/verify?redirect", nil, append(append(cred, html...), traefik...)...)
				if mode == signoff.ModeJWT {
					expect(t, "the old bearer token", r, http.StatusUnauthorized)
				} else {
					signinOf("the old cookie", r)
				}
			})
		})
	}
}

// Without X-Forwarded-* (nginx names the URI X-Original-URI), rd is built
// from Host and X-Original-URI; with neither URI header, the root.
func TestVerifyRedirectAddress(t *testing.T) {
	e := newEnv(t, signoff.ModeSession)
	for uri, want := range map[string]string{"/a/b?c=d&e=f": "http://app.test/a/b?c=d&e=f", "": "http://app.test/", "evil.test/x": "http://app.test/"} {
		r := e.noFollow("GET", "/verify?redirect", nil, "Host", "app.test", "Accept", "text/html", "X-Original-URI", uri)
		expect(t, "redirect", r, http.StatusFound)
		u, _ := url.Parse(r.h.Get("Location"))
		if u.Path != "/signin" || u.Query().Get("rd") != want {
			t.Errorf("X-Original-URI %q: Location %q, want /signin?rd=%s", uri, r.h.Get("Location"), want)
		}
	}
}

func TestParseSigninURL(t *testing.T) {
	for _, ok := range []string{"", "/signin", "/a?b=c", "https://auth.example.com/", "http://127.0.0.1:8080/"} {
		if got, err := server.ParseSigninURL(ok); err != nil || got != ok {
			t.Errorf("ParseSigninURL(%q) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"auth.example.com", "//evil.test/", "javascript:alert(1)", "https://u:p@auth.example.com/", "/signin#x", "/\\evil.test", "https:///x", "/a b"} {
		if _, err := server.ParseSigninURL(bad); err == nil {
			t.Errorf("ParseSigninURL(%q) accepted it", bad)
		}
	}
}
