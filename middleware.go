package signoff

import (
	"errors"
	"net/http"
)

// Require is middleware that lets a request through only with a valid
// credential, and puts its Principal in the request context (PrincipalFrom).
// Every response it guards gets Cache-Control: no-store and Vary: Cookie
// (I8). In session mode, where the cookie is an ambient credential, unsafe
// methods must also pass the cross-origin check (I3). Otherwise it answers
// 401 (with WWW-Authenticate: Bearer in jwt mode, RFC 6750 §3), 403, or 503
// when the store cannot answer.
func (m *Manager) Require(next http.Handler) http.Handler {
	return m.RequireFunc(func(w http.ResponseWriter, r *http.Request, p *Principal) {
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// RequireFunc is Require for a handler that takes the principal as an
// argument: the request is passed on as it came, without a copy that
// carries the principal in its context (two allocations less per request).
func (m *Manager) RequireFunc(next func(http.ResponseWriter, *http.Request, *Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.guard(w, r) {
			return
		}
		p, err := m.Authenticate(r)
		if err != nil {
			m.forgetDeadCookie(w, err)
			m.WriteAuthError(w, err)
			return
		}
		next(w, r, p)
	})
}

// forgetDeadCookie deletes the session cookie when a request presented one
// and was refused with 401 (revoked, expired, unknown): a browser should not
// keep a credential the server will never take again, whoever ended it.
// Never on 503: the session may be alive.
func (m *Manager) forgetDeadCookie(w http.ResponseWriter, err error) {
	if m.cfg.Mode == ModeSession && StatusOf(err) == http.StatusUnauthorized && !errors.Is(err, ErrNoCredential) {
		m.cfg.SessionCookie.Delete(w)
	}
}

// Optional is middleware like Require that lets requests without a valid
// credential through with no Principal in the context. A store that cannot
// answer still gets 503: signoff does not guess.
func (m *Manager) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.guard(w, r) {
			return
		}
		p, err := m.Authenticate(r)
		switch {
		case err == nil:
			r = r.WithContext(WithPrincipal(r.Context(), p))
		case errors.Is(err, ErrUnavailable):
			m.WriteAuthError(w, err)
			return
		default:
			m.forgetDeadCookie(w, err)
		}
		next.ServeHTTP(w, r)
	})
}

// guard sets the headers of an authenticated response and, in session mode,
// applies the cross-origin check to unsafe methods.
func (m *Manager) guard(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h["Cache-Control"] = noStore
	h["Vary"] = m.vary
	if m.cfg.Mode == ModeSession && !safeMethod(r.Method) {
		return m.crossOriginOK(w, r)
	}
	return true
}

// WriteAuthError answers a failed authentication: 401 for a missing or bad
// credential, 503 when the store cannot answer. In jwt mode a 401 carries
// WWW-Authenticate: Bearer, with error="invalid_token" when a token was
// presented (RFC 6750 §3.1, R40).
func (m *Manager) WriteAuthError(w http.ResponseWriter, err error) {
	h := w.Header()
	h["Vary"] = m.vary
	if m.cfg.Mode == ModeJWT && StatusOf(err) == http.StatusUnauthorized {
		if errors.Is(err, ErrNoCredential) {
			h.Set("WWW-Authenticate", `Bearer realm="signoff"`)
		} else {
			h.Set("WWW-Authenticate", `Bearer realm="signoff", error="invalid_token"`)
		}
	}
	WriteError(w, err)
}
