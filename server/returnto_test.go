package server_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
)

var allowedOrigins = []string{"https://app.example.com", "http://127.0.0.1:8080"}

// R32: only an allowlisted origin, or a path on this server, is followed.
func TestReturnTo(t *testing.T) {
	for _, c := range []struct {
		name, rd, want string
	}{
		{"allowed origin", "https://app.example.com/dash?tab=1#x", "https://app.example.com/dash?tab=1#x"},
		{"allowed origin, bare", "https://app.example.com", "https://app.example.com"},
		{"allowed origin, default port written", "https://app.example.com:443/a", "https://app.example.com:443/a"},
		{"allowed origin, upper case", "HTTPS://APP.example.COM/a", "https://APP.example.COM/a"},
		{"allowed loopback origin with port", "http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"},
		{"path on this server", "/account?x=1", "/account?x=1"},
		{"root path", "/", "/"},
		{"other origin", "https://evil.test/", ""},
		{"sibling subdomain", "https://evil.app.example.com/", ""},
		{"suffix trick", "https://app.example.com.evil.test/", ""},
		{"scheme mismatch", "http://app.example.com/", ""},
		{"port mismatch", "http://127.0.0.1:8081/", ""},
		{"port mismatch on an allowed host", "https://app.example.com:8443/", ""},
		{"userinfo trick", "https://app.example.com@evil.test/", ""},
		{"userinfo on the allowed host", "https://user:pw@app.example.com/", ""},
		{"protocol-relative", "//evil.test", ""},
		{"protocol-relative to an allowed host", "//app.example.com/", ""},
		{"backslash", `/\evil.test`, ""},
		{"backslashes", `\\evil.test`, ""},
		{"backslash after the origin", `https://app.example.com\@evil.test`, ""},
		{"tab in the path", "/\t/evil.test", ""},
		{"newline", "/a\nb", ""},
		{"javascript:", "javascript:alert(1)", ""},
		{"JavaScript: with a path", "JavaScript://app.example.com/%0aalert(1)", ""},
		{"data:", "data:text/html,<script>alert(1)</script>", ""},
		{"relative path", "account", ""},
		{"dot path", "./account", ""},
		{"empty", "", ""},
		{"too long", "/" + strings.Repeat("a", 4096), ""},
	} {
		got, ok := server.ReturnTo(allowedOrigins, c.rd)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%s: ReturnTo(%q) = %q, %v; want %q", c.name, c.rd, got, ok, c.want)
		}
	}
	if got, ok := server.ReturnTo(nil, "https://app.example.com/"); ok || got != "" {
		t.Errorf("with no allowed origins, an absolute URL: %q, %v", got, ok)
	}
	if got, ok := server.ReturnTo(nil, "/account"); !ok || got != "/account" {
		t.Errorf("with no allowed origins, a path: %q, %v", got, ok)
	}
}

// --return-to's origins: normalized, and anything else refused in one line
// that says what is wrong.
func TestParseReturnTo(t *testing.T) {
	got, err := server.ParseReturnTo(" https://App.Example.com/ , http://127.0.0.1:8080,https://x.test:443,http://[::1]:80,")
	want := []string{"https://app.example.com", "http://127.0.0.1:8080", "https://x.test", "http://[::1]"}
	if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("ParseReturnTo = %q, %v; want %q", got, err, want)
	}
	if got, err := server.ParseReturnTo(""); err != nil || len(got) != 0 {
		t.Fatalf("ParseReturnTo(\"\") = %q, %v", got, err)
	}
	for bad, why := range map[string]string{
		"https://app.example.com/path":  "path",
		"https://app.example.com/?q=1":  "query",
		"https://app.example.com/#frag": "fragment",
		"ftp://app.example.com":         "scheme",
		"app.example.com":               "scheme",
		"javascript:alert(1)":           "scheme",
		"https://u@app.example.com":     "user name",
		"https://":                      "no host",
		"https://app.example.com:99999": "port",
	} {
		_, err := server.ParseReturnTo("https://ok.test," + bad)
		if err == nil || !strings.Contains(err.Error(), why) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseReturnTo(%q): %v; want one line naming %q", bad, err, why)
		}
	}
}

// GET /return tells the page where it may go: the allowed address, or "".
func TestReturnRoute(t *testing.T) {
	e := newEnv(t, signoff.ModeSession, func(c *server.Config) { c.ReturnTo = []string{"https://App.example.com/"} })
	for rd, want := range map[string]string{
		"https://app.example.com/dash":         "https://app.example.com/dash",
		"/account":                             "/account",
		"https://evil.test/":                   "",
		"https://app.example.com@evil.test/":   "",
		"//evil.test":                          "",
		`/\evil.test`:                          "",
		"javascript:alert(document.cookie)//x": "",
	} {
		r := e.raw("GET", "/return?rd="+url.QueryEscape(rd), nil)
		expect(t, "GET /return for "+rd, r, 200)
		if got := r.str(t, "return"); got != want {
			t.Errorf("GET /return?rd=%s: return %q, want %q", rd, got, want)
		}
		if got := r.h.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET /return: Cache-Control %q", got)
		}
	}
	r := e.raw("GET", "/return", nil)
	if got, ok := r.json(t)["return"]; r.status != 200 || !ok || got != "" {
		t.Fatalf("GET /return with no rd: %d %s", r.status, r.text())
	}
	expect(t, "POST /return", e.raw("POST", "/return", nil), 405)
}

// New refuses a Config.ReturnTo entry that is not an origin.
func TestNewRefusesABadReturnTo(t *testing.T) {
	_, err := server.New(context.Background(), server.Config{
		Store:    "sqlite:" + t.TempDir() + "/x.db",
		ReturnTo: []string{"https://app.example.com/account"},
	})
	if err == nil || !strings.Contains(err.Error(), "not an origin") {
		t.Fatalf("New with a path in ReturnTo: %v", err)
	}
}
