package check

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"io"
	"net/url"
	"regexp"
	"strings"
)

// Seeing through cookie values (R20): a cookie that is signed but not
// encrypted is readable by anyone who holds it. Flask's default session,
// Django's signed_cookies backend, gorilla/sessions' CookieStore without a
// block key, Rails' signed cookies and a JWT kept in a cookie all put the
// session's data, often the user's email, in the browser in plain sight.

// plaintext is what a cookie value says in one format it decodes as.
type plaintext struct {
	format string // "Flask session (itsdangerous)"
	// signed is true for a format that signs its data without encrypting
	// it: the server vouches for it, and anyone can read it.
	signed bool
	text   []byte
	// data names the structured data text is ("JSON data", "gob data"),
	// or is "" for a plain string such as a random session ID.
	data string
}

// Formats decodeCookie recognizes, as plaintext.format names them.
const (
	fmtFlask     = "Flask session (itsdangerous)"
	fmtFlaskZlib = "Flask session, zlib-compressed"
	fmtDjango    = "Django session (signed_cookies)"
	fmtDjangoZ   = "Django session (signed_cookies), zlib-compressed"
	fmtGorilla   = "gorilla securecookie"
	fmtRails     = "Rails cookie (cookies.signed)"
	fmtJWT       = "JWT"
	fmtB64JSON   = "base64 JSON"
	fmtB64       = "base64"
	fmtURL       = "URL-encoded"
	fmtRaw       = "the value itself"
)

// maxDecode bounds both a cookie value decodeCookie looks into and what a
// compressed payload may inflate to, so that a zip bomb, or a site that
// sets a huge cookie, costs at most this much. A browser keeps no cookie
// over 4096 bytes anyway (R19).
const maxDecode = 64 << 10

// decodeCookie returns what a cookie value decodes to in every format it
// recognizes, the most specific first: the signed formats and a JWT, then
// base64, the URL-unescaped value and last the value itself. Each format
// is tried on the value as it is and URL-unescaped (Rails escapes its
// cookies). An encrypted value (Rails' default cookie store, a gorilla
// securecookie with a block key, a JWE) decodes to nothing readable.
func decodeCookie(v string) []plaintext {
	if len(v) > maxDecode {
		return nil
	}
	forms := []string{v}
	if u, err := url.QueryUnescape(v); err == nil && u != v {
		forms = append(forms, u)
	}
	var out []plaintext
	for _, s := range forms {
		out = append(out, decodeJWT(s)...)
		out = append(out, decodeItsdangerous(s, ".", fmtFlask, fmtFlaskZlib)...)
		out = append(out, decodeItsdangerous(s, ":", fmtDjango, fmtDjangoZ)...)
		out = append(out, decodeGorilla(s)...)
		out = append(out, decodeRails(s)...)
	}
	for _, s := range forms {
		out = append(out, decodeBase64(s)...)
	}
	if len(forms) > 1 {
		out = append(out, plaintext{format: fmtURL, text: []byte(forms[1]), data: jsonKind([]byte(forms[1]))})
	}
	return append(out, plaintext{format: fmtRaw, text: []byte(v), data: jsonKind([]byte(v))})
}

// jsonKind is "JSON data" for a JSON object or array, else "".
func jsonKind(b []byte) string {
	t := bytes.TrimSpace(b)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t) {
		return "JSON data"
	}
	return ""
}

// decodeJWT reads a JWS's claims.
func decodeJWT(s string) []plaintext {
	if _, claims, ok := jwtParts(s); ok {
		b, _ := json.Marshal(claims)
		return []plaintext{{format: fmtJWT, signed: true, text: b, data: "JSON data"}}
	}
	return nil
}

// decodeItsdangerous reads the signed values of itsdangerous (Flask's
// session: payload.timestamp.signature) and of Django's signing module
// (payload:timestamp:signature): the payload is unpadded base64url of
// JSON, zlib-compressed when the value starts with ".". A value without a
// timestamp (payload.signature) is read too.
func decodeItsdangerous(s, sep, name, zname string) []plaintext {
	compressed := strings.HasPrefix(s, ".")
	if compressed {
		s, name = s[1:], zname
	}
	parts := strings.Split(s, sep)
	if len(parts) != 2 && len(parts) != 3 {
		return nil
	}
	for _, p := range parts[1:] {
		if p == "" || strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return nil
		}
	}
	if len(parts) == 3 && len(parts[1]) > 12 { // a timestamp: a few bytes of base64, or base62
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil
	}
	if compressed {
		if b, err = inflate(b); err != nil {
			return nil
		}
	}
	if !json.Valid(b) {
		return nil
	}
	return []plaintext{{format: name, signed: true, text: b, data: jsonKind(b)}}
}

// inflate decompresses zlib data, up to maxDecode bytes.
func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(io.LimitReader(zr, maxDecode))
}

// decodeGorilla reads a gorilla/securecookie value: base64url of
// "date|value|mac", where value is base64url of the serialized data (gob
// by default, or JSON), encrypted only when the codec has a block key. An
// encrypted value decodes to nothing.
func decodeGorilla(s string) []plaintext {
	outer, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	parts := bytes.SplitN(outer, []byte("|"), 3)
	if len(parts) != 3 || len(parts[0]) == 0 || len(parts[0]) > 19 || len(parts[2]) < 16 ||
		len(bytes.Trim(parts[0], "0123456789")) != 0 {
		return nil
	}
	inner, err := base64.URLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		return nil
	}
	if k := jsonKind(inner); k != "" {
		return []plaintext{{format: fmtGorilla, signed: true, text: inner, data: k}}
	}
	if text, data, ok := readGob(inner); ok {
		return []plaintext{{format: fmtGorilla, signed: true, text: text, data: data}}
	}
	return nil
}

// readGob tells whether b is a gob stream: a plain string or byte slice
// (a session ID, as gorilla's FilesystemStore keeps in its cookie), whose
// text it returns, or a map or a value of a registered type (a
// CookieStore's session.Values), whose raw bytes it returns as "gob data":
// the strings in them are readable as they are.
func readGob(b []byte) (text []byte, data string, ok bool) {
	var str string
	if gob.NewDecoder(bytes.NewReader(b)).Decode(&str) == nil {
		return []byte(str), "", true
	}
	var raw []byte
	if gob.NewDecoder(bytes.NewReader(b)).Decode(&raw) == nil {
		return raw, "", true
	}
	var m map[any]any
	err := gob.NewDecoder(bytes.NewReader(b)).Decode(&m)
	if err == nil || strings.Contains(err.Error(), "not registered for interface") {
		return b, "gob data", true
	}
	var sm map[string]any
	if gob.NewDecoder(bytes.NewReader(b)).Decode(&sm) == nil {
		return b, "gob data", true
	}
	return nil, "", false
}

// decodeRails reads a Rails signed cookie: base64 data "--" a hex digest.
// Since Rails 5.2 the data is JSON that wraps the value, itself base64, in
// {"_rails":{"message":…}}; older cookies hold JSON or Ruby Marshal data
// directly. Rails' encrypted cookies (data--iv--tag) decode to nothing.
func decodeRails(s string) []plaintext {
	data, digest, ok := strings.Cut(s, "--")
	if !ok || strings.Contains(digest, "--") || len(digest) < 40 || strings.Trim(digest, "0123456789abcdef") != "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil
	}
	var out []plaintext
	switch {
	case jsonKind(b) != "":
		out = append(out, plaintext{format: fmtRails, signed: true, text: b, data: "JSON data"})
		var env struct {
			Rails struct {
				Message string `json:"message"`
			} `json:"_rails"`
		}
		if json.Unmarshal(b, &env) == nil && env.Rails.Message != "" {
			if m, err := base64.StdEncoding.DecodeString(env.Rails.Message); err == nil {
				out = append(out, plaintext{format: fmtRails, signed: true, text: m, data: jsonKind(m)})
			}
		}
	case bytes.HasPrefix(b, []byte{4, 8}):
		out = append(out, plaintext{format: fmtRails, signed: true, text: b, data: "Ruby Marshal data"})
	}
	return out
}

// decodeBase64 reads s as base64 in its four variants.
func decodeBase64(s string) []plaintext {
	var out []plaintext
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.RawStdEncoding} {
		b, err := enc.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			continue
		}
		if k := jsonKind(b); k != "" {
			out = append(out, plaintext{format: fmtB64JSON, text: b, data: k})
		} else {
			out = append(out, plaintext{format: fmtB64, text: b})
		}
	}
	return out
}

// emailRE matches an email address.
var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)

// cookieFinding says what the most telling plaintext of a cookie value
// gives away, as the rest of a sentence that begins with the cookie's
// name ("is a Flask session (itsdangerous), signed not encrypted, and
// carries the user's email ada@example.test"), or "" for an opaque value.
// In order: user (Config.User, case-insensitive, when it has at least 5
// characters: shorter ones turn up in random bytes), any other email
// address, which it never prints, and structured data; the most specific
// format first within each. The value itself is never part of it.
func cookieFinding(v, user string) string {
	pts := decodeCookie(v)
	low := []byte(strings.ToLower(user))
	for _, p := range pts {
		if len(low) >= 5 && bytes.Contains(bytes.ToLower(p.text), low) {
			what := "name"
			if strings.Contains(user, "@") {
				what = "email"
			}
			return p.says("the user's " + what + " " + user)
		}
	}
	for _, p := range pts {
		if emailRE.Match(p.text) {
			return p.says("an email address")
		}
	}
	for _, p := range pts {
		if p.data != "" {
			return p.says(p.data + ", not an opaque ID")
		}
	}
	return ""
}

// says completes the sentence about a cookie whose plaintext p carries
// what.
func (p plaintext) says(what string) string {
	switch {
	case p.format == fmtRaw:
		return "carries " + what
	case p.signed:
		return "is a " + p.format + ", signed not encrypted, and carries " + what
	case p.format == fmtB64JSON || p.format == fmtB64:
		return "is base64 and carries " + what
	}
	return "is " + p.format + " and carries " + what
}
