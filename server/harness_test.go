package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/servetest"
	"github.com/signoff/signoff/internal/syncbuf"
	"github.com/signoff/signoff/server"
)

// env is a real signoff serve on 127.0.0.1:0 over a fresh SQLite file.
type env struct {
	t    *testing.T
	URL  string
	host string
	cfg  server.Config
	srv  *server.Server
	logs *syncbuf.Buffer
}

// testArgon2 is cheaper than OWASP's parameters, for tests that sign in
// many times; tests of the password rules themselves use OWASPParams.
var testArgon2 = server.Argon2Params{Memory: 1024, Time: 1, Threads: 1}

func newEnv(t *testing.T, mode signoff.Mode, mods ...func(*server.Config)) *env {
	t.Helper()
	logs := &syncbuf.Buffer{}
	cfg := server.Config{
		Store:        "sqlite:" + filepath.Join(t.TempDir(), "signoff.db"),
		Mode:         mode,
		RateLimitSet: true, // off: these tests sign in often
		Argon2:       testArgon2,
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mods {
		m(&cfg)
	}
	return startEnv(t, cfg, logs)
}

func startEnv(t *testing.T, cfg server.Config, logs *syncbuf.Buffer) *env {
	t.Helper()
	srv, host := servetest.Start(t, cfg)
	return &env{t: t, URL: "http://" + host, host: host, cfg: cfg, srv: srv, logs: logs}
}

// response is a finished exchange.
type response struct {
	status int
	h      http.Header
	body   []byte
}

func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %s", r.status, r.text())
	}
	return m
}

func (r *response) str(t *testing.T, key string) string {
	t.Helper()
	v, _ := r.json(t)[key].(string)
	return v
}

// setCookie returns the Set-Cookie line for name, or "".
func (r *response) setCookie(name string) string {
	for _, l := range r.h.Values("Set-Cookie") {
		if strings.HasPrefix(l, name+"=") {
			return l
		}
	}
	return ""
}

// client is a browser-like client: a cookie jar, and in jwt mode the access
// token it got last.
type client struct {
	e   *env
	hc  *http.Client
	jar *cookiejar.Jar
	at  string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, jar: jar, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request with the jar's cookies, the client's access token (if
// any) and hdr, which is a list of name, value pairs. A non-nil body is sent
// as JSON.
func (c *client) do(method, path string, body any, hdr ...string) *response {
	c.e.t.Helper()
	if c.at != "" {
		hdr = append([]string{"Authorization", "Bearer " + c.at}, hdr...)
	}
	return c.e.send(c.hc, method, path, body, hdr...)
}

// raw sends a request with no jar: only what hdr says.
func (e *env) raw(method, path string, body any, hdr ...string) *response {
	e.t.Helper()
	return e.send(&http.Client{Timeout: 20 * time.Second}, method, path, body, hdr...)
}

func (e *env) send(hc *http.Client, method, path string, body any, hdr ...string) *response {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
		ct = "application/json"
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{status: res.StatusCode, h: res.Header, body: b}
}

// cookie returns the jar's value of the named cookie.
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.e.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

const password = "correct horse battery staple"

var userSeq struct {
	sync.Mutex
	n int
}

// newUser registers a fresh user and returns its email.
func (e *env) newUser() string {
	e.t.Helper()
	userSeq.Lock()
	userSeq.n++
	email := "user" + strings.Repeat("x", userSeq.n%3) + "-" + time.Now().Format("150405.000000000") + "@example.test"
	userSeq.Unlock()
	r := e.raw("POST", "/register", map[string]string{"email": email, "password": password})
	if r.status != http.StatusAccepted {
		e.t.Fatalf("register: %d %s", r.status, r.text())
	}
	return email
}

// login signs c in; in jwt mode it keeps the access token.
func (c *client) login(email string) *response {
	c.e.t.Helper()
	r := c.do("POST", "/login", map[string]string{"email": email, "password": password})
	if r.status != http.StatusOK {
		c.e.t.Fatalf("login: %d %s", r.status, r.text())
	}
	c.at = r.str(c.e.t, "access_token")
	return r
}

func expect(t *testing.T, what string, r *response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.text())
	}
}

func bothModes(t *testing.T, fn func(t *testing.T, mode signoff.Mode)) {
	for _, m := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(m.String(), func(t *testing.T) { fn(t, m) })
	}
}

// credName is the cookie that carries a browser's credential in mode.
func credName(mode signoff.Mode) string {
	if mode == signoff.ModeJWT {
		return "__Host-refresh"
	}
	return "__Host-session"
}

// fp fingerprints a raw credential for a test message.
func fp(raw string) string { return signoff.NewSecret(raw).Fingerprint() }

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func withClock(c *fakeClock) func(*server.Config) {
	return func(cfg *server.Config) { cfg.Now = c.now }
}

// Patterns of raw credentials: JWTs and 256-bit base64url secrets.
var (
	jwtPattern    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)
	secretPattern = regexp.MustCompile(`[A-Za-z0-9_-]{43}`)
)

// text is the body as a test may print it: every credential in it replaced
// by its fingerprint.
func (r *response) text() string {
	s := jwtPattern.ReplaceAllStringFunc(string(r.body), fp)
	return secretPattern.ReplaceAllStringFunc(s, fp)
}
