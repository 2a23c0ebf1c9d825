package signoff

import (
	"net/http"

	"github.com/signoff/signoff/internal/httpx"
)

// The Manager's handlers are the HTTP face of its flows: each admits the
// request (method, cross-origin rule, body) and calls one flow. The JSON
// helpers after them are the ones they answer with, for the handlers of
// yours that sit beside them (a login form, a registration) and should take
// and answer requests the same way.

// LogoutHandler serves POST /logout: Logout, then 200 {"ok":true}. GET and
// HEAD get 405 with Allow: POST (I3, R27); a cross-site request gets 403 and
// changes nothing (R28, R29). A native client may send {"refresh_token": …}.
func (m *Manager) LogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := m.refreshPost(w, r)
		if !ok {
			return
		}
		if err := m.Logout(w, r, tok); err != nil {
			WriteError(w, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

// LogoutAllHandler serves POST /logout/all: LogoutAll, then 200
// {"ok":true,"revoked":N}.
func (m *Manager) LogoutAllHandler() http.Handler { return m.revokedHandler(m.LogoutAll) }

// LogoutOthersHandler serves POST /logout/others: LogoutOthers, which ends
// every other session of the caller and keeps this one, then 200
// {"ok":true,"revoked":N}.
func (m *Manager) LogoutOthersHandler() http.Handler { return m.revokedHandler(m.LogoutOthers) }

// revokedHandler serves a POST that ends sessions of the caller through
// flow and answers 200 {"ok":true,"revoked":N}. GET and HEAD get 405 with
// Allow: POST; a cross-site request gets 403 and changes nothing; the body,
// if any, is an empty JSON object; a missing or dead credential gets 401.
func (m *Manager) revokedHandler(flow func(http.ResponseWriter, *http.Request) (int, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !httpx.Allow(w, r, http.MethodPost) || !m.crossOriginOK(w, r) {
			return
		}
		if err := httpx.ReadJSON(r, &struct{}{}, true); err != nil {
			WriteError(w, err)
			return
		}
		n, err := flow(w, r)
		if err != nil {
			m.WriteAuthError(w, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, struct {
			OK      bool `json:"ok"`
			Revoked int  `json:"revoked"`
		}{true, n})
	})
}

// RefreshHandler serves POST /refresh (jwt mode): Refresh, then 200 with a
// TokenResponse. A browser's refresh cookie that fails is deleted.
func (m *Manager) RefreshHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := m.refreshPost(w, r)
		if !ok {
			return
		}
		t, err := m.Refresh(w, r, tok)
		if err != nil {
			if tok.IsZero() && StatusOf(err) == http.StatusUnauthorized {
				m.cfg.RefreshCookie.Delete(w)
			}
			WriteError(w, err)
			return
		}
		resp := t.Response(m.now())
		httpx.WriteEncoded(w, http.StatusOK, resp.appendJSON(make([]byte, 0, len(resp.AccessToken)+len(resp.RefreshToken)+96)))
	})
}

// SessionsHandler serves GET /sessions: the caller's live sessions, the
// current one marked.
func (m *Manager) SessionsHandler() http.Handler {
	return m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !httpx.Allow(w, r, http.MethodGet) {
			return
		}
		p := PrincipalFrom(r.Context())
		ss, err := m.Sessions(r.Context(), p.UserID)
		if err != nil {
			WriteError(w, err)
			return
		}
		out := make([]SessionInfo, len(ss))
		for i, s := range ss {
			out[i] = s.Info(s.ID == p.SessionID)
		}
		httpx.WriteJSON(w, http.StatusOK, map[string][]SessionInfo{"sessions": out})
	}))
}

// RevokeDeviceHandler serves DELETE /sessions/{id}: RevokeDevice, which
// ends one session of the caller's own (R8), then 204.
func (m *Manager) RevokeDeviceHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !httpx.Allow(w, r, http.MethodDelete) || !m.crossOriginOK(w, r) {
			return
		}
		if err := m.RevokeDevice(w, r, r.PathValue("id")); err != nil {
			m.WriteAuthError(w, err)
			return
		}
		w.Header()["Cache-Control"] = noStore
		w.WriteHeader(http.StatusNoContent)
	})
}

// refreshPost admits a POST that may carry {"refresh_token": …} (logout
// and refresh): 405 for another method, 403 cross-site, 4xx for a bad body.
// It reports whether the request may go on, with the body's token if any.
func (m *Manager) refreshPost(w http.ResponseWriter, r *http.Request) (Secret, bool) {
	if !httpx.Allow(w, r, http.MethodPost) || !m.crossOriginOK(w, r) {
		return Secret{}, false
	}
	tok, err := readRefreshBody(r)
	if err != nil {
		WriteError(w, err)
		return Secret{}, false
	}
	return tok, true
}

// MaxBodyBytes bounds a JSON request body read by ReadJSON.
const MaxBodyBytes = httpx.MaxBodyBytes

// Problem is an RFC 9457 problem detail, the body of every error answer.
type Problem = httpx.Problem

// ReadJSON decodes r's body into v. The body must be one JSON value with
// Content-Type application/json (415 otherwise: simple content types are
// what a cross-site form can send, R30), at most MaxBodyBytes (413), with no
// unknown fields and nothing after it (400); each failure is a *StatusError.
// When optional is true, a request with no body at all is accepted and
// leaves v as it is.
func ReadJSON(r *http.Request, v any, optional bool) error { return httpx.ReadJSON(r, v, optional) }

// DecodeJSON decodes exactly one JSON value with no unknown fields. Its errors
// (*StatusError, 400) name the problem but never echo the input, which may
// hold a password.
func DecodeJSON(b []byte, v any) error { return httpx.DecodeJSON(b, v) }

// WriteJSON answers with v as JSON and Cache-Control: no-store.
func WriteJSON(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, v) }

// WriteProblem answers with an RFC 9457 problem+json body and Cache-Control:
// no-store.
func WriteProblem(w http.ResponseWriter, status int, detail string) {
	httpx.WriteProblem(w, status, detail)
}
