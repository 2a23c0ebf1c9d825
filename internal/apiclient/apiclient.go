// Package apiclient is a small client of signoff serve's JSON API for the
// programs that drive running instances from outside: the multi-instance
// tests of cmd/signoff and bench/cmd/multi. It builds the requests that
// present a credential, reads the credential a login answer carries, and
// keeps tokens out of anything printed.
package apiclient

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/signoff/signoff"
)

// Cred is what a client holds after login: a session cookie, or an access
// and a refresh token (jwt mode, native client). The zero Cred presents
// nothing. Print none of it.
type Cred struct {
	Cookie       string // NAME=VALUE, as a Cookie header carries it
	AccessToken  string
	RefreshToken string
}

// String prints what c holds as fingerprints, never the raw values, so a
// Cred in a test failure or a log line gives nothing away.
func (c Cred) String() string {
	var parts []string
	for _, v := range []struct{ name, raw string }{{"cookie", c.Cookie}, {"access_token", c.AccessToken}, {"refresh_token", c.RefreshToken}} {
		if v.raw != "" {
			parts = append(parts, v.name+"="+signoff.NewSecret(v.raw).Fingerprint())
		}
	}
	return "Cred{" + strings.Join(parts, " ") + "}"
}

// GoString is String, for %#v.
func (c Cred) GoString() string { return c.String() }

// RefreshBody is the JSON body that presents the refresh token to /refresh
// and /logout, or "" when c has none.
func (c Cred) RefreshBody() string {
	if c.RefreshToken == "" {
		return ""
	}
	return `{"refresh_token":"` + c.RefreshToken + `"}`
}

// Header is the request header line that presents c: its access token if it
// has one, else its cookie.
func (c Cred) Header() string {
	if c.AccessToken != "" {
		return "Authorization: Bearer " + c.AccessToken
	}
	return "Cookie: " + c.Cookie
}

// NewRequest returns a request to url that presents c (its cookie and its
// access token, whichever it has) and sends body, when not empty, as JSON.
func NewRequest(ctx context.Context, method, url string, c Cred, body string) (*http.Request, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Cookie != "" {
		req.Header.Set("Cookie", c.Cookie)
	}
	if c.AccessToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.AccessToken)
	}
	return req, nil
}

// LoginBody is the body of POST /login for email and password. With native
// set the client asks for its tokens in the answer (jwt mode's native
// clients) instead of a cookie.
func LoginBody(email, password string, native bool) string {
	body := `{"email":"` + email + `","password":"` + password + `"`
	if native {
		body += `,"client":"native"`
	}
	return body + "}"
}

// FromLogin reads the credential a successful POST /login answered with:
// the __Host-session cookie of its header h, the tokens of its body. ok is
// false when the answer carried neither a cookie nor an access token.
func FromLogin(h http.Header, body []byte) (c Cred, ok bool) {
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == "__Host-session" {
			c.Cookie = ck.Name + "=" + ck.Value
		}
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	json.Unmarshal(body, &tok)
	c.AccessToken, c.RefreshToken = tok.AccessToken, tok.RefreshToken
	return c, c.Cookie != "" || c.AccessToken != ""
}

// RedactBody keeps a response printable: in a JSON object, the values of
// access_token and refresh_token become "…". Anything else is returned as
// it is.
func RedactBody(b []byte) string {
	var m map[string]any
	if json.Unmarshal(b, &m) == nil {
		for _, k := range []string{"access_token", "refresh_token"} {
			if _, ok := m[k]; ok {
				m[k] = "…"
			}
		}
		b, _ = json.Marshal(m)
	}
	return string(b)
}
