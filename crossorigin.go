package signoff

import (
	"net/http"
	"strings"
)

func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// crossOriginOK applies http.CrossOriginProtection and answers 403 itself.
func (m *Manager) crossOriginOK(w http.ResponseWriter, r *http.Request) bool {
	if err := m.crossOrigin(r, ""); err != nil {
		WriteError(w, err)
		return false
	}
	return true
}

// crossOrigin applies http.CrossOriginProtection to r: a cross-origin unsafe
// request is a 403 *StatusError whose detail says why, and what ends in
// "(how)" when how is not empty.
func (m *Manager) crossOrigin(r *http.Request, how string) error {
	err := m.cop.Check(r)
	if err == nil {
		return nil
	}
	detail := "cross-origin request refused: " + err.Error()
	if how != "" {
		detail += " (" + how + ")"
	}
	return &StatusError{Status: http.StatusForbidden, Detail: detail}
}

// Forward-auth proxies name the method of the request they ask about in one
// of these headers: Traefik ForwardAuth and Caddy forward_auth send
// X-Forwarded-Method, nginx auth_request sends what its configuration says,
// by convention X-Original-Method.
// Their names are canonical: they are looked up in the map as they are,
// without canonicalizing them on every request.
var forwardedMethodHeaders = []string{"X-Forwarded-Method", "X-Original-Method"}

// CheckForwarded applies the cross-origin rule of unsafe requests (I3) to the
// request a forward-auth proxy (nginx auth_request, Traefik ForwardAuth, Caddy
// forward_auth) asks about with r. In session mode, when X-Forwarded-Method
// or X-Original-Method names an unsafe method (either one is enough, so a
// safe value the client put in the other cannot hide the method the proxy
// names), that request is judged as
// Require would judge it: by the Sec-Fetch-Site and Origin the browser sent
// (which the proxy passes on), Origin compared with the first X-Forwarded-Host
// or, without one, r's Host. A cross-origin one is a 403 *StatusError.
// Safe or absent forwarded methods, and jwt mode (whose bearer token no
// cross-site page can make a browser send), are never refused. See R28, R29.
func (m *Manager) CheckForwarded(r *http.Request) error {
	if m.cfg.Mode != ModeSession {
		return nil
	}
	method := ""
	for _, h := range forwardedMethodHeaders {
		if v := r.Header[h]; len(v) > 0 && v[0] != "" && !safeMethod(v[0]) {
			method = v[0]
			break
		}
	}
	if method == "" {
		return nil
	}
	f := *r
	f.Method = method
	if xfh, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ","); strings.TrimSpace(xfh) != "" {
		f.Host = strings.TrimSpace(xfh)
	}
	return m.crossOrigin(&f, "forwarded "+method+" to "+f.Host)
}

// Protect wraps h with the Manager's cross-origin protection, for unsafe
// routes of your own that rely on the session cookie, such as a login form
// (login CSRF).
func (m *Manager) Protect(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) || m.crossOriginOK(w, r) {
			h.ServeHTTP(w, r)
		}
	})
}
