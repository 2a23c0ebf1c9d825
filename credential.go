package signoff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/httpx"
)

// bearer returns the token of the request's one Authorization: Bearer header
// (RFC 6750 §2.1). Tokens in the URL or the body are never read.
func bearer(r *http.Request) (string, error) {
	vals := r.Header["Authorization"]
	switch {
	case len(vals) == 0:
		return "", ErrNoCredential
	case len(vals) > 1:
		return "", ErrAmbiguousCredential
	}
	v := vals[0]
	if len(v) < 7 || !strings.EqualFold(v[:7], "Bearer ") {
		return "", fmt.Errorf("%w: Authorization is not a Bearer token", ErrInvalidCredential)
	}
	tok := strings.TrimSpace(v[7:])
	if tok == "" {
		return "", fmt.Errorf("%w: empty Bearer token", ErrInvalidCredential)
	}
	return tok, nil
}

// refreshBody is the optional body of /logout and /refresh: native clients
// send their refresh token in it.
type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

// readRefreshBody reads the optional {"refresh_token": "..."} body.
func readRefreshBody(r *http.Request) (Secret, error) {
	b, err := httpx.ReadBody(r, true)
	if err != nil || b == nil {
		return Secret{}, err
	}
	if tok, ok := plainRefreshBody(b); ok {
		return NewSecret(tok), nil
	}
	var rb refreshBody
	if err := httpx.DecodeJSON(b, &rb); err != nil {
		return Secret{}, err
	}
	return NewSecret(rb.RefreshToken), nil
}

// plainRefreshBody reads, without encoding/json, the body that native
// clients send on every refresh: {"refresh_token":"…"}, no space inside,
// a well-formed token (validToken), JSON whitespace after. Any other body
// is not its to judge (ok false): DecodeJSON reads it, and reads the same
// token from one it accepts.
func plainRefreshBody(b []byte) (tok string, ok bool) {
	const head, tail = `{"refresh_token":"`, `"}`
	b = bytes.TrimRight(b, " \t\r\n")
	if len(b) < len(head)+len(tail) || string(b[:len(head)]) != head || string(b[len(b)-len(tail):]) != tail {
		return "", false
	}
	tok = string(b[len(head) : len(b)-len(tail)])
	return tok, validToken(tok)
}

// maxCookieValues bounds how many same-named cookies a request may carry
// before signoff stops reading and calls the credential ambiguous.
const maxCookieValues = 8

// cookieValues appends to dst the values of every cookie named exactly name
// (case-sensitive, so "__HOST-session" is not "__Host-session") in the
// request's Cookie headers, in order. It does not allocate while dst has room.
// It stops at maxCookieValues values and reports whether there were more.
func cookieValues(dst []string, h http.Header, name string) (vals []string, overflow bool) {
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			if i := strings.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				part, line = line, ""
			}
			// Only HTTP whitespace, as browsers and net/http trim: a name
			// padded with U+2000 or \v is another cookie, one that a
			// sibling domain may set, and must not pass for a __Host- one.
			part = strings.Trim(part, " \t\r\n")
			eq := strings.IndexByte(part, '=')
			if eq < 0 || part[:eq] != name {
				continue
			}
			val := part[eq+1:]
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			if len(dst) == maxCookieValues {
				return dst, true
			}
			dst = append(dst, val)
		}
	}
	return dst, false
}

// CookieValue returns the one value of the cookie named name. It returns
// ErrNoCredential when there is none or it is empty, and
// ErrAmbiguousCredential when several cookies carry that name with different
// values: then no order of the duplicates can decide the outcome (R23).
func CookieValue(r *http.Request, name string) (string, error) {
	var buf [maxCookieValues]string
	vals, overflow := cookieValues(buf[:0], r.Header, name)
	if overflow {
		return "", ErrAmbiguousCredential
	}
	var v string
	for _, x := range vals {
		switch {
		case x == "":
		case v == "":
			v = x
		case x != v:
			return "", ErrAmbiguousCredential
		}
	}
	if v == "" {
		return "", ErrNoCredential
	}
	return v, nil
}

// target is a session a request's credentials name.
type target struct {
	id, user string
	until    time.Time
}

// presented returns the sessions named by every credential r carries, valid
// or not: each session-cookie value (session mode), or each refresh-cookie
// value, extra refresh token and verified access token (jwt mode). Unknown
// and malformed values are skipped; only a store failure is an error.
func (m *Manager) presented(ctx context.Context, r *http.Request, extra []Secret) ([]target, error) {
	var out []target
	add := func(t target) {
		for _, o := range out {
			if o.id == t.id {
				return
			}
		}
		out = append(out, t)
	}
	now := m.now()
	var buf [maxCookieValues]string
	if m.cfg.Mode == ModeSession {
		vals, _ := cookieValues(buf[:0], r.Header, m.cfg.SessionCookie.Name)
		for _, v := range vals {
			if !validToken(v) {
				continue
			}
			s, err := m.store.SessionByToken(ctx, HashString(v), now)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, unavailable("read session", err)
			}
			add(target{s.ID, s.UserID, s.ExpiresAt})
		}
		return out, nil
	}
	vals, _ := cookieValues(buf[:0], r.Header, m.cfg.RefreshCookie.Name)
	toks := extra
	for _, v := range vals {
		toks = append(toks, NewSecret(v))
	}
	for _, t := range toks {
		if !validToken(t.Reveal()) {
			continue
		}
		rt, err := m.store.RefreshToken(ctx, t.Hash())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, unavailable("read refresh token", err)
		}
		// The token names its session; the session names the user, for the
		// audit log and the revocation. A session already ended is revoked
		// again all the same: that changes nothing.
		tg := target{id: rt.SessionID}
		switch s, err := m.store.Session(ctx, rt.SessionID, now); {
		case err == nil:
			tg.user, tg.until = s.UserID, s.ExpiresAt
		case !errors.Is(err, ErrNotFound):
			return nil, unavailable("read session", err)
		}
		add(tg)
	}
	if tok, err := bearer(r); err == nil {
		if cl, err := m.codec.Verify(tok); err == nil {
			add(target{cl.SessionID, cl.Subject, cl.ExpiresAt})
		}
	}
	return out, nil
}
