package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/httpx"
)

// verify is forward-auth for nginx auth_request, Caddy forward_auth and
// Traefik ForwardAuth: 200 with X-Auth-User, X-Auth-Email and
// X-Auth-Session; 401; 403 for a forwarded unsafe request from another
// origin (Manager.CheckForwarded); 503 when the store does not answer.
//
// With ?redirect (Traefik, which hands /verify's refusal to the client as
// it is), a browser without a live credential gets 302 to the sign-in page
// instead of 401, with rd= the address it asked for. An API client keeps
// the 401. docs/forward-auth.md says what each proxy must send.
//
// The 200 is read by the proxy alone: it carries the X-Auth-* headers and
// Cache-Control: no-store, and no body. The other answers may reach the
// browser, so they carry the security headers and Vary.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	refuse := func() http.Header {
		securityHeaders(h)
		h["Cache-Control"] = httpx.NoStore
		h["Vary"] = varyCredential
		return h
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		refuse()
		httpx.Allow(w, r, http.MethodGet)
		return
	}
	if err := s.mgr.CheckForwarded(r); err != nil {
		refuse()
		signoff.WriteError(w, err)
		return
	}
	p, err := s.mgr.Authenticate(r)
	if err != nil {
		refuse()
		if signoff.StatusOf(err) == http.StatusUnauthorized && r.URL.Query().Has("redirect") && isBrowser(r) {
			h.Set("Location", signinLocation(s.cfg.SigninURL, r))
			w.WriteHeader(http.StatusFound)
			return
		}
		s.mgr.WriteAuthError(w, err)
		return
	}
	email, err := s.email(r, p.UserID)
	if err != nil {
		refuse()
		s.mgr.WriteAuthError(w, unavailableErr(err))
		return
	}
	vals := &[3]string{p.UserID, email, p.SessionID} // one allocation for the three
	h["Cache-Control"] = httpx.NoStore
	h["X-Auth-User"] = vals[0:1:1]
	h["X-Auth-Email"] = vals[1:2:2]
	h["X-Auth-Session"] = vals[2:3:3]
	h["Content-Length"] = httpx.ContentLength(0)
	w.WriteHeader(http.StatusOK)
}

// verifyPath is the forward-auth route.
const verifyPath = "/verify"

var varyCredential = []string{"Cookie, Authorization"}

// isBrowser tells a browser's navigation from an API client the way the
// documented proxy configurations do: it accepts HTML and sends no
// Authorization header.
func isBrowser(r *http.Request) bool {
	return r.Header.Get("Authorization") == "" && strings.Contains(strings.ToLower(r.Header.Get("Accept")), "text/html")
}

// DefaultSigninURL is where /verify?redirect sends a browser when
// Config.SigninURL is empty: the same-host layout's sign-in page.
const DefaultSigninURL = "/signin"

// signinLocation is signin with rd= the address the proxy was asked for:
// X-Forwarded-Proto, X-Forwarded-Host (else Host) and X-Forwarded-Uri (else
// X-Original-URI), as the proxy sent them. They are not trusted for more:
// the sign-in page follows rd only where GET /return allows (R32).
func signinLocation(signin string, r *http.Request) string {
	if signin == "" {
		signin = DefaultSigninURL
	}
	proto := strings.ToLower(firstValue(r.Header.Get("X-Forwarded-Proto")))
	if proto != "http" && proto != "https" {
		proto = "http"
		if r.TLS != nil {
			proto = "https"
		}
	}
	host := firstValue(r.Header.Get("X-Forwarded-Host"))
	if host == "" {
		host = r.Host
	}
	uri := r.Header.Get("X-Forwarded-Uri")
	if uri == "" {
		uri = r.Header.Get("X-Original-URI")
	}
	if !strings.HasPrefix(uri, "/") {
		uri = "/"
	}
	sep := "?"
	if strings.Contains(signin, "?") {
		sep = "&"
	}
	return signin + sep + "rd=" + url.QueryEscape(proto+"://"+host+uri)
}

// firstValue is the first of a comma-separated header value, trimmed.
func firstValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

// ParseSigninURL checks --signin-url: a path on the proxy's host ("/signin")
// or an absolute http or https URL (https://auth.example.com/), with no
// user name or fragment. "" stays "" (DefaultSigninURL).
func ParseSigninURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	bad := func(why string) error {
		return fmt.Errorf("%q is not a sign-in address: %s (want a path like /signin or a URL like https://auth.example.com/)", s, why)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || strings.ContainsFunc(s, func(c rune) bool { return c == '\\' || c <= ' ' || c == 0x7f }):
		return "", bad("it does not parse")
	case u.User != nil || u.Fragment != "" || strings.Contains(s, "#"):
		return "", bad("it has a user name or a fragment")
	case strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
		return s, nil
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return "", bad("it is neither a path nor an http or https URL")
	}
	return s, nil
}
