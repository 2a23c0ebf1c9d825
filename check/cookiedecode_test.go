package check

import (
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// Real cookie values, made with the frameworks themselves and test keys;
// they are test data, not secrets. Flask 2.2 and Django 3.2 are Debian's
// (python3-flask, python3-django):
//
//	app.session_interface.get_signing_serializer(app).dumps({...})
//	django.contrib.sessions.backends.signed_cookies.SessionStore().save()
//
// The gorilla values come from github.com/gorilla/sessions v1.4.0 and
// securecookie v1.1.2 in a throwaway module outside this one (no
// dependency here): a CookieStore session saved through an
// httptest.ResponseRecorder, and securecookie.New(hashKey, nil).Encode.
// The Rails ones from Debian's ruby-rails 6.1: ActiveSupport's
// MessageEncryptor (aes-256-gcm, the default cookie store) and
// MessageVerifier (cookies.signed), with keys from KeyGenerator as Rails
// derives them.
const (
	flaskEmail     = "eyJfdXNlcl9pZCI6IjEiLCJlbWFpbCI6ImFkYUBleGFtcGxlLnRlc3QiLCJfZnJlc2giOnRydWV9.aw5B0Q.T4uRUTRISAy4mPQZ0uUbDU-hzNs"
	flaskZlibEmail = ".eJyrViotTi1SslJKTEl0SK1IzC3ISdUrSS0uUdJRyssHMpSsopUqiARAPaNKR5WOKiVaaWwtAB_EjOg.aw5B0Q.3_0mB9VnURz-AHOigJ3z-Odoepc"
	// Flask-Login's session: a user ID, a flag and a hash; no email.
	flaskLogin = ".eJyrVoovLU4tis9MUbJSMjFS0lGKTytKLc5QsiopKk0F8sASiQMMlGoBhJg85g.aw5B0Q.yICGwQaEkqM5Xc7fX8XNEfSl0RE"
	// Another user's email: invited_by bob@….
	flaskOtherEmail = "eyJfdXNlcl9pZCI6IjciLCJpbnZpdGVkX2J5IjoiYm9iQGV4YW1wbGUub3JnIn0.aw5CmA.1xOTSWAdQzIZOYB_qdZfQisPWwg"
	// Twelve flash messages that greet the user by email.
	flaskFlashes = ".eJyt0rsKwkAQheFXGadegsZLNJVvIRLCMiZHI9k1wUlUEN9dCzs7mfbA-ar_yX5UXP255pwzduyPQbSBcl4UHKEqJ3zmHULVRdBBqtaR1LLFQ2IfkAzQYUL7bqRGbqApXXCn71ETLt1fzMyGSW2YuQ2zsGGWNszKhslsmLUNszHKzyrjn47L1xusdyw2.aw5CmA.FlQt8JqieXiZct1tS3ZF4B6WKB4"

	djangoZlibEmail = ".eJxNizkKgDAQAP-ydViwtRJ73xA2yaLRHJIDBPHvGkhhO8cNkmrZZM2cpDUwwgDizxTpg0MTZqewRtQxlGQVtgS7zbhEw27urQD2ZN33kKGJL_KnYyycCzwv-3EoYw:1xYElB:JEahZaMpX_W22_R1j3Srkc6xlGIP50khBZIkuy7Z33M"
	djangoUserID    = "eyJfYXV0aF91c2VyX2lkIjoiMSJ9:1xYElB:RT5b3OK0NhZN1kosmr2SgM4-Y748y1zdeKLRdgxodWg"

	// CookieStore, hash key only: session.Values gob-encoded.
	gorillaEmail  = "MTc5NjA5NjU0NnxEWDhFQVFMX2dBQUJFQUVRQUFCUV80QUFBZ1p6ZEhKcGJtY01Cd0FGWlcxaGFXd0djM1J5YVc1bkRCSUFFR0ZrWVVCbGVHRnRjR3hsTG5SbGMzUUdjM1J5YVc1bkRBOEFEV0YxZEdobGJuUnBZMkYwWldRRVltOXZiQUlDQUFFPXyaQdY5lKZ_yfdQeQMRiRWsXIFJ11TE43nC8gsgTkxhWQ=="
	gorillaFlags  = "MTc5NjA5NjU0NnxEWDhFQVFMX2dBQUJFQUVRQUFBX180QUFBZ1p6ZEhKcGJtY01Ed0FOWVhWMGFHVnVkR2xqWVhSbFpBUmliMjlzQWdJQUFRWnpkSEpwYm1jTUNRQUhkWE5sY2w5cFpBTnBiblFFQWdCVXyibC8BEbTff1usLoLnzb8E1Ft8DYvgEdyw5D9To1nXUA=="
	gorillaStruct = "MTc5NjA5NjU0NnxEWDhFQVFMX2dBQUJFQUVRQUFCQV80QUFBUVp6ZEhKcGJtY01CZ0FFZFhObGNnbHRZV2x1TG5WelpYTF9nUU1CQVFSMWMyVnlBZi1DQUFFQ0FRVkZiV0ZwYkFFTUFBRUNTVVFCQkFBQUFCal9naFVCRUdGa1lVQmxlR0Z0Y0d4bExuUmxjM1FCRGdBPXxJCCE-0TXvWje4LvkhyieYKCd_8qVMNjJ3NY9rMct__A=="
	// CookieStore with a block key: the same values, encrypted.
	gorillaEncrypted = "MTc5NjA5NjU0NnxtQUN6bnVFRkJuQjN5bzVYLU1Jcml5S2s4d0pMS2Q0LTZBV3FpTTFBbk5PR2FyMlhWOHExZ25yQ3Boc1NNb2RYS2t6Ulp4cWNXWWZwSWhnSXl4QUJPQUI0aDF5SllFNjJiZXg3SFFWM0RHUHN6ZFZZUUxiWmRGdl9WUFp1WnlXMTVYeWlmUlAxRk9nWkRheWJraG5GfJmAaErovifCa8aXPjaphGMyIUqe-gch_eNWo1nnSmME"
	gorillaJSON      = "MTc5NjA5NjU0NnxleUpsYldGcGJDSTZJbUZrWVVCbGVHRnRjR3hsTG5SbGMzUWlmUW89fDHEVZGicJ8NCNf7YAGPcHbmSs8qWIhlrI0sjmcKoSRN"
	// FilesystemStore: the cookie holds only the random session ID.
	gorillaIDOnly = "MTc5NjA5NjU0NnxOd3dBTkVWVU5WcERURWN5U0VGSU0xVlhNek5TV2taRVFsbFhOMGRXU1VOWlJraFJWall6VGxkSlFWZElVRnBWVlVaTE5GTldNbEU9fOhd2qODqp6HXaAuhIBEzONxfhUjOFNZ5ad2t1nG5wU7"

	railsEncrypted = "/nas1mRSM4PuVPaQaowkQyFK6jNd5bDVcJK5v7LYE7/blQxOxWDCAeETEUQTaBNff7kQUmwsU9LExPFYVz85HrduJJgHFB0v9O1fBtHVtJCxYytC2dtfF2Bhh1WtRT5ncyz6GGHgAxC+jRMmHz46Len2UDMzMP9+0yLF2oZVmgPW/IgHFsrAkA==--EnagwaR25iY+19cm--KjgL+p3KAwZ076fCM8XIMA=="
	railsSigned    = "eyJfcmFpbHMiOnsibWVzc2FnZSI6ImV5SjFjMlZ5WDJWdFlXbHNJam9pWVdSaFFHVjRZVzF3YkdVdWRHVnpkQ0o5IiwiZXhwIjpudWxsLCJwdXIiOiJjb29raWUucmVtZW1iZXIifX0=--9bba1c8197da370b58592cdc4bcd7bdabbbb47fa"

	// A JWT whose sub is the user; the signature is made up (unchecked).
	jwtEmail = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZGFAZXhhbXBsZS50ZXN0In0.c2lnbmF0dXJlLWlzLW5vdC1jaGVja2Vk"
)

// TestDecodeCookieFormats: each framework's signed value is recognized by
// name and its plaintext read; encrypted values yield nothing readable.
func TestDecodeCookieFormats(t *testing.T) {
	tests := []struct {
		name, value, format, contains string
	}{
		{"flask", flaskEmail, fmtFlask, "ada@example.test"},
		{"flask zlib", flaskZlibEmail, fmtFlaskZlib, "ada@example.test"},
		{"flask-login", flaskLogin, fmtFlaskZlib, `"_user_id":"42"`},
		{"django zlib", djangoZlibEmail, fmtDjangoZ, "ada@example.test"},
		{"django", djangoUserID, fmtDjango, `"_auth_user_id":"1"`},
		{"gorilla gob", gorillaEmail, fmtGorilla, "ada@example.test"},
		{"gorilla gob, a registered struct", gorillaStruct, fmtGorilla, "ada@example.test"},
		{"gorilla JSON", gorillaJSON, fmtGorilla, `{"email":"ada@example.test"}`},
		{"gorilla session ID", gorillaIDOnly, fmtGorilla, ""},
		{"rails signed", railsSigned, fmtRails, `{"user_email":"ada@example.test"}`},
		{"rails signed, escaped", url.QueryEscape(railsSigned), fmtRails, "ada@example.test"},
		{"jwt", jwtEmail, fmtJWT, `"sub":"ada@example.test"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var found bool
			for _, p := range decodeCookie(tt.value) {
				if p.format == tt.format && strings.Contains(string(p.text), tt.contains) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s plaintext containing %q among %v", tt.format, tt.contains, formats(decodeCookie(tt.value)))
			}
		})
	}
	for name, v := range map[string]string{
		"gorilla encrypted":        gorillaEncrypted,
		"rails encrypted":          railsEncrypted,
		"rails encrypted, escaped": url.QueryEscape(railsEncrypted),
	} {
		for _, p := range decodeCookie(v) {
			if p.signed || p.data != "" {
				t.Errorf("%s decoded as %s (%s)", name, p.format, p.data)
			}
		}
	}
}

func formats(pts []plaintext) []string {
	var out []string
	for _, p := range pts {
		out = append(out, p.format)
	}
	return out
}

// TestCookieFinding: what R20 says of each value: the format and what it
// carries, never the value or another person's email.
func TestCookieFinding(t *testing.T) {
	const user = "ada@example.test"
	signed := func(format, what string) string {
		return "is a " + format + ", signed not encrypted, and carries " + what
	}
	tests := []struct{ name, value, want string }{
		{"flask", flaskEmail, signed(fmtFlask, "the user's email "+user)},
		{"flask zlib", flaskZlibEmail, signed(fmtFlaskZlib, "the user's email "+user)},
		{"flask flashes", flaskFlashes, signed(fmtFlaskZlib, "the user's email "+user)},
		{"flask-login", flaskLogin, signed(fmtFlaskZlib, "JSON data, not an opaque ID")},
		{"flask, another email", flaskOtherEmail, signed(fmtFlask, "an email address")},
		{"django zlib", djangoZlibEmail, signed(fmtDjangoZ, "the user's email "+user)},
		{"django", djangoUserID, signed(fmtDjango, "JSON data, not an opaque ID")},
		{"gorilla", gorillaEmail, signed(fmtGorilla, "the user's email "+user)},
		{"gorilla flags", gorillaFlags, signed(fmtGorilla, "gob data, not an opaque ID")},
		{"gorilla struct", gorillaStruct, signed(fmtGorilla, "the user's email "+user)},
		{"gorilla JSON", gorillaJSON, signed(fmtGorilla, "the user's email "+user)},
		{"rails signed", url.QueryEscape(railsSigned), signed(fmtRails, "the user's email "+user)},
		{"jwt", jwtEmail, signed(fmtJWT, "the user's email "+user)},
		{"base64 JSON", base64.RawURLEncoding.EncodeToString([]byte(`{"uid":7}`)), "is base64 and carries JSON data, not an opaque ID"},
		{"base64, another email", base64.StdEncoding.EncodeToString([]byte("7|bob@example.org")), "is base64 and carries an email address"},
		{"escaped email", "ada%40example.test%7C7", "is URL-encoded and carries the user's email " + user},
		{"plain JSON", `{"uid":7}`, "carries JSON data, not an opaque ID"},
		{"gorilla encrypted", gorillaEncrypted, ""},
		{"gorilla session ID", gorillaIDOnly, ""},
		{"rails encrypted", url.QueryEscape(railsEncrypted), ""},
		{"express-session", "s%3AlQ5zXq0m3cGvJt9yK2bW8pN1rD4fH6sA.Zk2m9X7qv3LwR1tY5uB8nC0dE4gJ6hK2iO9pS3aF1xw", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cookieFinding(tt.value, user)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if strings.Contains(got, "bob") || (len(tt.value) >= 8 && strings.Contains(got, tt.value)) {
				t.Errorf("the finding gives away what it found: %q", got)
			}
		})
	}
	// A short user name is not looked for: it turns up by chance.
	if got := cookieFinding(base64.RawURLEncoding.EncodeToString([]byte("xxadaxx")), "ada"); got != "" {
		t.Errorf("a 3-letter user name was looked for: %q", got)
	}
}

// TestCookieFindingRandom: opaque random values, in every shape a site
// uses, and random data in the signed formats' envelopes (what an
// encrypted value looks like), are never flagged.
func TestCookieFindingRandom(t *testing.T) {
	random := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	b64 := base64.RawURLEncoding.EncodeToString
	shapes := map[string]func() string{
		"base64url 32":  func() string { return b64(random(32)) },
		"base64 16":     func() string { return base64.StdEncoding.EncodeToString(random(16)) },
		"base64 64":     func() string { return base64.StdEncoding.EncodeToString(random(64)) },
		"hex 32":        func() string { return hex.EncodeToString(random(32)) },
		"signed ID":     func() string { return b64(random(24)) + "." + b64(random(20)) },
		"dotted triple": func() string { return b64(random(40)) + "." + b64(random(4)) + "." + b64(random(20)) },
		"zlib-shaped":   func() string { return "." + b64(random(40)) + "." + b64(random(4)) + "." + b64(random(20)) },
		"gorilla-shaped": func() string {
			inner := base64.URLEncoding.EncodeToString(random(64))
			return base64.URLEncoding.EncodeToString([]byte(strconv.Itoa(1796096546) + "|" + inner + "|" + string(random(32))))
		},
		"rails-shaped": func() string {
			return url.QueryEscape(base64.StdEncoding.EncodeToString(random(96)) + "--" + base64.StdEncoding.EncodeToString(random(12)) + "--" + base64.StdEncoding.EncodeToString(random(16)))
		},
	}
	for name, mk := range shapes {
		for i := 0; i < 500; i++ {
			v := mk()
			if got := cookieFinding(v, "ada@example.test"); got != "" {
				t.Fatalf("%s: a random value %q: %s", name, v, got)
			}
		}
	}
}

// TestDecodeCookieBounds: a value over maxDecode is not decoded, and a
// compressed payload inflates to at most maxDecode bytes.
func TestDecodeCookieBounds(t *testing.T) {
	if pts := decodeCookie(strings.Repeat("A", maxDecode+1)); pts != nil {
		t.Errorf("a %d-byte value was decoded", maxDecode+1)
	}
	bomb := zlibBytes(t, []byte(`{"a":"`+strings.Repeat("x", 4*maxDecode)+`"}`))
	v := "." + base64.RawURLEncoding.EncodeToString(bomb) + ".aw5B0Q.sig"
	for _, p := range decodeCookie(v) {
		if len(p.text) > maxDecode {
			t.Errorf("%s inflated to %d bytes", p.format, len(p.text))
		}
	}
}

func zlibBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzCookie feeds R20's decoders whatever a site may set as a cookie
// value: nothing panics, and a finding names no email address but the
// user's.
func FuzzCookie(f *testing.F) {
	for _, v := range []string{flaskEmail, flaskZlibEmail, flaskOtherEmail, djangoZlibEmail, gorillaEmail, gorillaStruct,
		gorillaEncrypted, gorillaJSON, railsSigned, railsEncrypted, jwtEmail, "bob@example.org", "e30", ".eJwDAAAAAAE.a.b"} {
		f.Add(v)
	}
	const user = "ada@example.test"
	f.Fuzz(func(t *testing.T, v string) {
		got := cookieFinding(v, user)
		for _, m := range emailRE.FindAllString(got, -1) {
			if m != user {
				t.Fatalf("cookieFinding(%q) = %q names %q", v, got, m)
			}
		}
	})
}
