package signoff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Require is middleware that lets a request through only with a valid
// credential, and puts its Principal in the request context (PrincipalFrom).
// Every response it guards gets Cache-Control: no-store and Vary: Cookie
// (I8). In session mode, where the cookie is an ambient credential, unsafe
// methods must also pass the cross-origin check (I3). Otherwise it answers
// 401 (with WWW-Authenticate: Bearer in jwt mode, RFC 6750 §3), 403, or 503
// when the store cannot answer.
func (m *Manager) Require(next http.Handler) http.Handler {
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
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
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
// request is a 403 *RequestError whose detail says why, and what ends in
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
	return &RequestError{Status: http.StatusForbidden, Detail: detail}
}

// Forward-auth proxies name the method of the request they ask about in one
// of these headers: Traefik ForwardAuth and Caddy forward_auth send
// X-Forwarded-Method, nginx auth_request sends what its configuration says,
// by convention X-Original-Method.
var forwardedMethodHeaders = []string{"X-Forwarded-Method", "X-Original-Method"}

// CheckForwarded applies the cross-origin rule of unsafe requests (I3) to the
// request a forward-auth proxy (nginx auth_request, Traefik ForwardAuth, Caddy
// forward_auth) asks about with r. In session mode, when X-Forwarded-Method
// or X-Original-Method names an unsafe method (either one is enough, so a
// safe value the client put in the other cannot hide the method the proxy
// names), that request is judged as
// Require would judge it: by the Sec-Fetch-Site and Origin the browser sent
// (which the proxy passes on), Origin compared with the first X-Forwarded-Host
// or, without one, r's Host. A cross-origin one is a 403 *RequestError.
// Safe or absent forwarded methods, and jwt mode (whose bearer token no
// cross-site page can make a browser send), are never refused. See R28, R29.
func (m *Manager) CheckForwarded(r *http.Request) error {
	if m.cfg.Mode != ModeSession {
		return nil
	}
	method := ""
	for _, h := range forwardedMethodHeaders {
		if v := r.Header.Get(h); v != "" && !safeMethod(v) {
			method = v
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

// allow answers 405 with an Allow header unless r's method is one of
// methods. HEAD is allowed wherever GET is.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
	}
	allowed := methods[0]
	for _, m := range methods[1:] {
		allowed += ", " + m
	}
	w.Header().Set("Allow", allowed)
	WriteProblem(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use "+allowed)
	return false
}

// RequestError is a malformed request: its Status is 400, 413 or 415.
type RequestError struct {
	Status int
	Detail string
	// RetryAfter, when positive, is sent as Retry-After (whole seconds,
	// rounded up): with Status 429 it tells the client when to come back.
	RetryAfter time.Duration
}

func (e *RequestError) Error() string { return "signoff: bad request: " + e.Detail }

// MaxBodyBytes bounds a JSON request body.
const MaxBodyBytes = 64 << 10

// ReadJSON decodes r's body into v. The body must be one JSON value with
// Content-Type application/json (415 otherwise: simple content types are
// what a cross-site form can send, R30), at most MaxBodyBytes (413), with no
// unknown fields and nothing after it (400). When optional is true, a request
// with no body at all is accepted and leaves v as it is.
func ReadJSON(r *http.Request, v any, optional bool) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if optional && (r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0) {
			return nil
		}
		return &RequestError{Status: http.StatusUnsupportedMediaType, Detail: "the body must be application/json"}
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &RequestError{Status: http.StatusUnsupportedMediaType, Detail: "the body must be application/json, not " + truncate(ct, 64)}
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return &RequestError{Status: http.StatusBadRequest, Detail: "could not read the body"}
	}
	if len(b) > MaxBodyBytes {
		return &RequestError{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes)}
	}
	if len(b) == 0 && optional {
		return nil
	}
	return DecodeJSON(b, v)
}

// DecodeJSON decodes exactly one JSON value with no unknown fields. Its errors
// name the problem but never echo the input, which may hold a password.
func DecodeJSON(b []byte, v any) error {
	if t := bytes.TrimLeft(b, jsonSpace); len(t) > 0 && t[0] != '{' {
		return &RequestError{Status: http.StatusBadRequest, Detail: "the body is not the JSON object this route takes"}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return &RequestError{Status: http.StatusBadRequest, Detail: fmt.Sprintf("the body is not valid JSON (at byte %d)", syn.Offset)}
		case errors.As(err, &typ):
			return &RequestError{Status: http.StatusBadRequest, Detail: fmt.Sprintf("field %q must be a %s", typ.Field, typ.Type)}
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return &RequestError{Status: http.StatusBadRequest, Detail: "the body is empty or cut short"}
		}
		if f, ok := unknownField(err); ok {
			return &RequestError{Status: http.StatusBadRequest, Detail: fmt.Sprintf("unknown field %s", truncate(f, 64))}
		}
		return &RequestError{Status: http.StatusBadRequest, Detail: "the body is not the JSON object this route takes"}
	}
	// Not dec.More(): it is false before a stray '}' or ']'.
	if len(bytes.TrimLeft(b[dec.InputOffset():], jsonSpace)) > 0 {
		return &RequestError{Status: http.StatusBadRequest, Detail: "the body has data after the JSON value"}
	}
	return nil
}

// jsonSpace is JSON's insignificant whitespace (RFC 8259 §2).
const jsonSpace = " \t\r\n"

// unknownField extracts the field name from encoding/json's "json: unknown
// field \"x\"" error, the one error it has no type for.
func unknownField(err error) (string, bool) {
	const p = "json: unknown field "
	s := err.Error()
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

// refreshBody is the optional body of /logout and /refresh: native clients
// send their refresh token in it.
type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

// readRefreshBody reads the optional {"refresh_token": "..."} body.
func readRefreshBody(r *http.Request) (Secret, error) {
	var b refreshBody
	if err := ReadJSON(r, &b, true); err != nil {
		return Secret{}, err
	}
	return NewSecret(b.RefreshToken), nil
}

// refreshPost admits a POST that may carry {"refresh_token": …} (logout
// and refresh): 405 for another method, 403 cross-site, 4xx for a bad body.
// It reports whether the request may go on, with the body's token if any.
func (m *Manager) refreshPost(w http.ResponseWriter, r *http.Request) (Secret, bool) {
	if !allow(w, r, http.MethodPost) || !m.crossOriginOK(w, r) {
		return Secret{}, false
	}
	tok, err := readRefreshBody(r)
	if err != nil {
		WriteError(w, err)
		return Secret{}, false
	}
	return tok, true
}

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
		WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

// LogoutAllHandler serves POST /logout/all: LogoutAll, then 200
// {"ok":true,"revoked":N}.
func (m *Manager) LogoutAllHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allow(w, r, http.MethodPost) || !m.crossOriginOK(w, r) {
			return
		}
		if err := ReadJSON(r, &struct{}{}, true); err != nil {
			WriteError(w, err)
			return
		}
		n, err := m.LogoutAll(w, r)
		if err != nil {
			m.WriteAuthError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, struct {
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
		WriteJSON(w, http.StatusOK, t.Response(m.now()))
	})
}

// SessionInfo is a session as its user sees it in a device list.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent,omitempty"`
	IP         string    `json:"ip,omitempty"`
	Current    bool      `json:"current"`
}

// Info returns the device-list view of s.
func (s *Session) Info(current bool) SessionInfo {
	return SessionInfo{ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(),
		UserAgent: s.UserAgent, IP: s.IP, Current: current}
}

// SessionsHandler serves GET /sessions: the caller's live sessions, the
// current one marked.
func (m *Manager) SessionsHandler() http.Handler {
	return m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allow(w, r, http.MethodGet) {
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
		WriteJSON(w, http.StatusOK, map[string][]SessionInfo{"sessions": out})
	}))
}

// RevokeSessionHandler serves DELETE /sessions/{id}: RevokeDevice, then 204.
func (m *Manager) RevokeSessionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allow(w, r, http.MethodDelete) || !m.crossOriginOK(w, r) {
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
