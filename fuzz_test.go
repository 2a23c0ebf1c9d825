package signoff_test

// Fuzz targets for the root package's parsers of client input: the Cookie
// header scanner behind CookieValue, and ReadJSON/DecodeJSON.
//
//	go test -run '^$' -fuzz FuzzCookieValue -fuzztime 10s .
//	go test -run '^$' -fuzz FuzzReadJSON -fuzztime 10s .

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/signoff/signoff"
)

const sessionCookieName = "__Host-session"

// cookieOutcome is what CookieValue answered, comparable with ==.
type cookieOutcome struct {
	val string
	err error
}

func cookieValueOf(lines []string) cookieOutcome {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header["Cookie"] = lines
	v, err := signoff.CookieValue(r, sessionCookieName)
	return cookieOutcome{v, err}
}

// decideCookie is the rule CookieValue documents, applied to the values of
// every cookie named exactly sessionCookieName, in any order: empty values
// do not count; one distinct value is the answer; several are ambiguous
// (R23); none is no credential. The second result is true when the values
// are too many for signoff to read them all (it stops at 8): then it may also
// refuse with ErrAmbiguousCredential rather than guess.
func decideCookie(vals []string) (cookieOutcome, bool) {
	var v string
	for _, x := range vals {
		switch {
		case x == "":
		case v == "":
			v = x
		case x != v:
			return cookieOutcome{"", signoff.ErrAmbiguousCredential}, len(vals) > 8
		}
	}
	if v == "" {
		return cookieOutcome{"", signoff.ErrNoCredential}, len(vals) > 8
	}
	return cookieOutcome{v, nil}, len(vals) > 8
}

func agreesWith(got, want cookieOutcome, overflow bool) bool {
	return got == want || overflow && got == cookieOutcome{"", signoff.ErrAmbiguousCredential}
}

// httpSpace is the whitespace a Cookie header may have around its pairs:
// RFC 6265bis §4.2.1 puts one SP after each ';', and net/http (textproto
// .TrimString) also drops HTAB, CR and LF. Nothing else.
const httpSpace = " \t\r\n"

// refCookie is the reference reading of Cookie headers: split each line at
// ';', trim httpSpace, keep the pairs whose name is exactly the cookie name
// (case-sensitive, R23), strip one pair of double quotes (RFC 6265 §4.1.1
// cookie-value).
func refCookie(lines []string) (cookieOutcome, bool) {
	var vals []string
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			name, val, ok := strings.Cut(strings.Trim(part, httpSpace), "=")
			if !ok || name != sessionCookieName {
				continue
			}
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			vals = append(vals, val)
		}
	}
	return decideCookie(vals)
}

// stdlibComparable reports whether net/http and the scanner must agree on
// lines: every pair either of them could take for the session cookie is
// name=value with no space before '=' and a value net/http accepts. The two
// differ on purpose elsewhere: net/http trims "name =v" and drops values with
// bytes outside cookie-octet, where signoff ignores the first and keeps the
// second (validToken rejects it later, so it can only make a request fail).
func stdlibComparable(lines []string) bool {
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ";") + 1
	}
	if n > 3000 { // net/http's httpcookiemaxnum: it returns no cookies at all
		return false
	}
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			p := strings.Trim(part, httpSpace)
			if p == "" {
				continue
			}
			name, val, ok := strings.Cut(p, "=")
			if name != sessionCookieName && strings.Trim(name, httpSpace) != sessionCookieName {
				continue
			}
			if !ok || name != strings.Trim(name, httpSpace) {
				return false
			}
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			for i := 0; i < len(val); i++ {
				if c := val[i]; c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' {
					return false
				}
			}
		}
	}
	return true
}

// reversedPairs returns every pair of lines in the opposite order, as one
// header line.
func reversedPairs(lines []string) string {
	var parts []string
	for _, line := range lines {
		parts = append(parts, strings.Split(line, ";")...)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ";")
}

// FuzzCookieValue feeds arbitrary Cookie headers (one or two lines) to
// CookieValue and to a session-mode Manager holding one live session. In the
// inputs, GOOD stands for that session's cookie value and JUNK for a
// well-formed value no session has. Properties:
//
//  1. It never panics, and answers a non-empty value, ErrNoCredential or
//     ErrAmbiguousCredential: nothing else.
//  2. R23: the order of the pairs never changes the answer.
//  3. Authenticate agrees: it succeeds exactly when CookieValue answers the
//     live session's value, and otherwise fails with CookieValue's error or
//     a 401.
//  4. The answer is the reference reading (refCookie) of the headers.
//  5. Where net/http's (*Request).Cookies must read the same pairs, the rule
//     applied to what it reads gives the same answer.
func FuzzCookieValue(f *testing.F) {
	h := newHarness(f, signoff.ModeSession)
	c := h.newClient()
	h.login(c, "alice", false)
	good := c.jar[sessionCookieName]
	junk := strings.Repeat("J", 43)
	expand := strings.NewReplacer("GOOD", good, "JUNK", junk)
	hide := strings.NewReplacer(good, "GOOD") // no raw credential in test output
	show := func(lines []string) string { return hide.Replace(strings.Join(lines, "\n")) }

	nine := strings.TrimSuffix(strings.Repeat("__Host-session=GOOD; ", 9), "; ")
	for _, seed := range [][2]string{
		{"", ""},
		{"__Host-session=GOOD", ""},
		{"__Host-session=GOOD; __Host-session=JUNK", ""},
		{"__Host-session=JUNK; __Host-session=GOOD", ""},
		{"__Host-session=GOOD; other=1; __Host-session=GOOD", ""},
		{"__Host-session=GOOD", "__Host-session=JUNK"},
		{"__Host-session=JUNK", "__Host-session=GOOD"},
		{`__Host-session="GOOD"`, ""},
		{`__Host-session="GOOD; x="`, ""},
		{"__HOST-session=GOOD", ""},
		{"__host-session=GOOD; __Host-session=", ""},
		{"__Host-session=; __Host-session=GOOD", ""},
		{"__Host-session", "__Host-session=GOOD"},
		{" ;; ;\t__Host-session=GOOD ;", ""},
		{"__Host-session =GOOD", ""},
		{"__Host-session= GOOD", ""},
		{"=GOOD; a=1; b=2", ""},
		{"__Host-session=GOOD\x00", ""},
		{"__Host-session=GOOD\\", "x=y"},
		{nine, ""},
		{nine[len("__Host-session=GOOD; "):], ""},
		{"__Host-session=GOOD", "\u2000__Host-session=JUNK"}, // the known bug
	} {
		f.Add(seed[0], seed[1])
	}

	f.Fuzz(func(t *testing.T, line1, line2 string) {
		lines := []string{expand.Replace(line1)}
		if line2 != "" {
			lines = append(lines, expand.Replace(line2))
		}
		got := cookieValueOf(lines)

		// 1. A closed set of answers.
		switch {
		case got.err == nil && got.val == "":
			t.Fatalf("CookieValue(%q) returned an empty value and no error", show(lines))
		case got.err != nil && got.err != signoff.ErrNoCredential && got.err != signoff.ErrAmbiguousCredential:
			t.Fatalf("CookieValue(%q) returned %v; want only ErrNoCredential or ErrAmbiguousCredential", show(lines), got.err)
		}

		// 2. R23: order never decides.
		rev := []string{reversedPairs(lines)}
		if back := cookieValueOf(rev); back != got {
			t.Fatalf("R23: CookieValue(%q) = %q, %v but the same pairs reversed, %q, give %q, %v",
				show(lines), hide.Replace(got.val), got.err, show(rev), hide.Replace(back.val), back.err)
		}

		// 3. The Manager reads the cookie the same way.
		r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		r.Header["Cookie"] = lines
		p, err := h.m.Authenticate(r)
		switch {
		case err == nil && (got.err != nil || got.val != good):
			t.Fatalf("Authenticate(%q) succeeded, but CookieValue says %q, %v", show(lines), hide.Replace(got.val), got.err)
		case err == nil && p.UserID != "alice":
			t.Fatalf("Authenticate(%q) = user %q; want alice", show(lines), p.UserID)
		case err != nil && got.err == nil && got.val == good:
			t.Fatalf("Authenticate(%q) failed (%v), but CookieValue answers the live session's value", show(lines), err)
		case err != nil && got.err != nil && !errors.Is(err, got.err):
			t.Fatalf("Authenticate(%q) = %v; want CookieValue's %v", show(lines), err, got.err)
		case err != nil && signoff.StatusOf(err) != http.StatusUnauthorized:
			t.Fatalf("Authenticate(%q) = %v (status %d); want a 401", show(lines), err, signoff.StatusOf(err))
		}

		// 4. The reference reading.
		if want, overflow := refCookie(lines); !agreesWith(got, want, overflow) {
			t.Fatalf("CookieValue(%q) = %q, %v; the reference reading gives %q, %v",
				show(lines), hide.Replace(got.val), got.err, hide.Replace(want.val), want.err)
		}

		// 5. net/http, where it must read the same pairs.
		if !stdlibComparable(lines) {
			return
		}
		var vals []string
		for _, ck := range r.Cookies() {
			if ck.Name == sessionCookieName {
				vals = append(vals, ck.Value)
			}
		}
		if want, overflow := decideCookie(vals); !agreesWith(got, want, overflow) {
			t.Fatalf("CookieValue(%q) = %q, %v; net/http reads %d cookies named %s, which give %q, %v",
				show(lines), hide.Replace(got.val), got.err, len(vals), sessionCookieName, hide.Replace(want.val), want.err)
		}
	})
}

// jsonTarget is a body a route might take: a login.
type jsonTarget struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Remember bool   `json:"remember"`
}

// untouched is what ReadJSON's target holds before the call.
var untouched = jsonTarget{Email: "untouched@example.com"}

// strictDecode is the reference for a body ReadJSON must accept: exactly one
// JSON value (json.Valid), which is null (the target is left as it is) or an
// object whose every key names a field (encoding/json matches names as
// bytes.EqualFold does) with a value of the field's type. It returns what the
// target must then hold.
func strictDecode(body []byte) (jsonTarget, bool) {
	v := untouched
	if !json.Valid(body) {
		return v, false
	}
	var obj map[string]json.RawMessage
	if t := bytes.TrimLeft(body, httpSpace); len(t) == 0 || t[0] != '{' || json.Unmarshal(body, &obj) != nil {
		return v, false // valid JSON, not an object
	}
	for k := range obj {
		if !strings.EqualFold(k, "email") && !strings.EqualFold(k, "password") && !strings.EqualFold(k, "remember") {
			return v, false
		}
	}
	if json.Unmarshal(body, &v) != nil {
		return untouched, false
	}
	return v, true
}

// canary stands in for a password: PW in a fuzzed body becomes it.
const canary = "canary-Pw-7Qx2Zk9"

// FuzzReadJSON feeds arbitrary bodies and Content-Types to ReadJSON (and so
// DecodeJSON). Properties:
//
//  1. It never panics. Every error is a *StatusError with status 400, 413
//     or 415, which StatusOf and WriteError answer as such, as problem+json.
//  2. The outcome is exactly the documented one: 415 without Content-Type
//     application/json (R30: text/plain, form and multipart bodies never get
//     through); 413 over MaxBodyBytes; an absent body accepted only when
//     optional; success only for a body strictDecode accepts, with the same
//     result; 400 for anything else. A refused Content-Type or size leaves
//     the target as it was.
//  3. An error's detail is short and never holds a value from the body (a
//     password): only a field name or the Content-Type may be echoed.
func FuzzReadJSON(f *testing.F) {
	big := append(bytes.Repeat([]byte(" "), signoff.MaxBodyBytes), "{}"...)
	for _, seed := range []struct {
		ct       string
		body     string
		optional bool
	}{
		{"application/json", `{"email":"a@example.com","password":"PW"}`, false},
		{"application/json; charset=utf-8", `{"email":"a@example.com","password":"PW","remember":true}`, false},
		{"Application/JSON", `{"EMAIL":"a@example.com","Password":"PW"}`, false},
		{"application/json", `{"email":"a","email":"b"}`, false},
		{"application/json", `{"email":"PW","extra":1}`, false},
		{"application/json", `{"PW":1}`, false},
		{"application/json", `{"email":1,"password":"PW"}`, false},
		{"application/json", `{"remember":"PW"}`, false},
		{"application/json", `{"email":null}`, false},
		{"application/json", `null`, false},
		{"application/json", `[{"email":"a"}]`, false},
		{"application/json", `"PW"`, false},
		{"application/json", `{"email":"a"} {"email":"b"}`, false},
		{"application/json", `{"password":"PW"`, false},
		{"application/json", `{"password":"PW"}}`, false}, // the known bug
		{"application/json", "\xef\xbb\xbf{}", false},
		{"application/json", "", false},
		{"application/json", "", true},
		{"", "", true},
		{"", "", false},
		{"", `{"password":"PW"}`, true},
		{"text/plain", `{"password":"PW"}`, false},
		{"text/plain; charset=utf-8", `{}`, true},
		{"application/x-www-form-urlencoded", "email=a&password=PW", false},
		{"multipart/form-data; boundary=x", "--x\r\n\r\nPW\r\n--x--", false},
		{"application/jsonx", `{}`, false},
		{"\xff", `{}`, false},
		{"application/json;;", `{}`, false},
		{"application/json", string(big), false},
	} {
		f.Add(seed.ct, []byte(seed.body), seed.optional)
	}

	mask := strings.NewReplacer(canary, "PW") // no password, even a fake one, in test output
	f.Fuzz(func(t *testing.T, ct string, body []byte, optional bool) {
		body = bytes.ReplaceAll(body, []byte("PW"), []byte(canary))
		r := httptest.NewRequest(http.MethodPost, "/login", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		v := untouched
		err := signoff.ReadJSON(r, &v, optional)

		// 1. Errors are request errors, answered as 4xx problem+json.
		status := http.StatusOK
		if err != nil {
			var re *signoff.StatusError
			if !errors.As(err, &re) {
				t.Fatalf("ReadJSON(%q, %d bytes) = %T %v; want a *StatusError", ct, len(body), err, err)
			}
			status = re.Status
			if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge && status != http.StatusUnsupportedMediaType {
				t.Fatalf("ReadJSON(%q, %d bytes): status %d; want 400, 413 or 415", ct, len(body), status)
			}
			if got := signoff.StatusOf(err); got != status {
				t.Fatalf("StatusOf(%v) = %d; want the StatusError's %d", err, got, status)
			}
			rec := httptest.NewRecorder()
			signoff.WriteError(rec, err)
			var p signoff.Problem
			var detail string // as JSON carries it: invalid UTF-8 becomes U+FFFD
			b, _ := json.Marshal(re.Detail)
			json.Unmarshal(b, &detail)
			if rec.Code != status || rec.Header().Get("Content-Type") != "application/problem+json" ||
				json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Status != status || p.Detail != detail {
				t.Fatalf("WriteError(%v) answered %d %q %q; want %d problem+json with the detail", err, rec.Code, rec.Header().Get("Content-Type"), rec.Body, status)
			}
			// 3. No value from the body in the detail.
			if len(re.Detail) > 128 {
				t.Fatalf("ReadJSON(%q, %d bytes): a %d-byte detail; details are short and never echo the body", ct, len(body), len(re.Detail))
			}
			if strings.Contains(re.Detail, canary) && !strings.HasPrefix(re.Detail, "unknown field ") && !strings.HasPrefix(re.Detail, "the body must be application/json") {
				t.Fatalf("ReadJSON(%q, %d bytes): the detail %q echoes a value from the body", ct, len(body), mask.Replace(re.Detail))
			}
		}

		// 2. The documented outcome.
		mt, _, perr := mime.ParseMediaType(ct)
		want, wantV := http.StatusOK, untouched
		switch {
		case ct == "" && optional && len(body) == 0:
		case ct == "", perr != nil, mt != "application/json":
			want = http.StatusUnsupportedMediaType
		case len(body) > signoff.MaxBodyBytes:
			want = http.StatusRequestEntityTooLarge
		case len(body) == 0 && optional:
		default:
			var ok bool
			if wantV, ok = strictDecode(body); !ok {
				want = http.StatusBadRequest
			}
		}
		lct := strings.ToLower(strings.TrimSpace(ct))
		for _, simple := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"} {
			if strings.HasPrefix(lct, simple) && status != http.StatusUnsupportedMediaType {
				t.Fatalf("R30: ReadJSON with Content-Type %q: status %d (%v); want 415", ct, status, err)
			}
		}
		if status != want {
			t.Fatalf("ReadJSON(Content-Type %q, body %q, optional %v) = status %d (%v); want %d",
				ct, mask.Replace(string(body)), optional, status, err, want)
		}
		if (err == nil || status != http.StatusBadRequest) && v != wantV {
			t.Fatalf("ReadJSON(%q, %q) left the target as %s; want %s", ct, mask.Replace(string(body)),
				mask.Replace(fmt.Sprintf("%+v", v)), mask.Replace(fmt.Sprintf("%+v", wantV)))
		}
	})
}
