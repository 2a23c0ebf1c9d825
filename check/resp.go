package check

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// One request the checker sends (call) and what came back (resp).

// call is one request to make.
type call struct {
	step   string
	inst   string // "A" (default) or "B"
	method string
	path   string
	// cookies are sent as one Cookie header; rawCookie, if set, is sent
	// instead, described by cookieNote.
	cookies    []nv
	rawCookie  string
	cookieNote string
	bearer     string
	header     [][2]string
	body       []byte
	ctype      string
	bodyNote   []string // how to describe the body in Sent
	story      bool
	// site marks a request the site's own pages would make (sign-in,
	// sign-out, refresh): it carries the site's CSRF token. The probes
	// that play another site leave it false.
	site bool
}

// resp is what came back.
type resp struct {
	status  int
	header  http.Header
	body    []byte
	cookies []*http.Cookie // parsed Set-Cookie lines, in order
	json    map[string]any
	err     error
	seq     int
	pw      string // the password, kept out of what the site says back
}

func (r *resp) ok() bool { return r.err == nil && r.status >= 200 && r.status < 300 }

// done reports whether a state-changing request (logout, logout
// everywhere, ending a device) was carried out: 2xx, or a redirect, as
// classic form sites answer. The replays decide whether it really was.
func (r *resp) done() bool { return r.err == nil && r.status >= 200 && r.status < 400 }

// setCookie returns the last Set-Cookie for name, or nil.
func (r *resp) setCookie(name string) *http.Cookie {
	var out *http.Cookie
	for _, ck := range r.cookies {
		if ck.Name == name {
			out = ck
		}
	}
	return out
}

// str returns a top-level string field of a JSON body.
func (r *resp) str(field string) string {
	if r.json == nil {
		return ""
	}
	s, _ := r.json[field].(string)
	return s
}

// problem returns the problem+json detail (or title) of an error answer.
func (r *resp) problem() string {
	for _, f := range []string{"detail", "title", "error_description", "error", "message"} {
		if s := r.str(f); s != "" {
			return r.hidePassword(s)
		}
	}
	return ""
}

// hidePassword replaces the password in text the site sent back. Only
// there: replacing it in the checker's own words would show where a short
// password like "password" sits in them.
func (r *resp) hidePassword(s string) string {
	if r.pw == "" {
		return s
	}
	return strings.ReplaceAll(s, r.pw, "(password)")
}

// describe says what an answer was, in a few words: "401", "302 to /login",
// "error: connection refused".
func (r *resp) describe() string {
	if r.err != nil {
		return "error: " + r.hidePassword(cleanErr(r.err))
	}
	s := strconv.Itoa(r.status)
	if loc := r.header.Get("Location"); loc != "" && r.status >= 300 && r.status < 400 {
		s += " to " + redactQuery(loc)
	}
	return s
}

// isDeletion reports whether a Set-Cookie removes the cookie: an empty
// value, or an expiry now or in the past.
func isDeletion(ck *http.Cookie) bool {
	return ck.Value == "" || ck.MaxAge < 0 || (!ck.Expires.IsZero() && ck.Expires.Before(time.Now()))
}
