package signoff_test

// Test harness shared by the root package's tests: a fake clock, a Manager on
// a memstore with an injectable outage, and a small browser-like client that
// keeps cookies and tokens between requests.
//
// Rule for every test here: a raw credential never reaches test output. Print
// fp(raw) or Secret.Fingerprint() instead.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/internal/syncbuf"
	"github.com/signoff/signoff/store/memstore"
	"github.com/signoff/signoff/store/storetest"
)

// t0 is where every fake clock starts: whole seconds, because JWT times are
// whole seconds.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is the injected Config.Now. Tests move it; nothing sleeps.
type fakeClock = signoff.FakeClock

func newClock() *fakeClock { return signoff.NewFakeClock(t0) }

// fp names a raw credential in test output without revealing it.
func fp(raw string) string { return signoff.NewSecret(raw).Fingerprint() }

var errStoreDown = errors.New("memstore: injected outage")

// harness is one Manager on one memstore, with a fake clock, an outage
// switch, and a log that is checked for raw credentials when the test ends.
type harness struct {
	t     testing.TB
	m     *signoff.Manager
	store *storetest.FaultStore
	clock *fakeClock
	down  atomic.Bool  // while set, every store call fails
	calls atomic.Int64 // store calls made
	logs  *syncbuf.Buffer

	mu      sync.Mutex
	secrets map[string]bool // every raw credential the test has handled
}

// newHarness starts a Manager in mode. opts may change the Config before New.
func newHarness(t testing.TB, mode signoff.Mode, opts ...func(*signoff.Config)) *harness {
	t.Helper()
	h := &harness{t: t, clock: newClock(), logs: &syncbuf.Buffer{}, secrets: map[string]bool{}}
	// Fault is set once, before the Manager's goroutines start; the switch
	// itself is atomic.
	h.store = &storetest.FaultStore{Store: memstore.New(), Fault: func(string) error {
		h.calls.Add(1)
		if h.down.Load() {
			return errStoreDown
		}
		return nil
	}}
	cfg := signoff.Config{
		Mode:   mode,
		Store:  h.store,
		Now:    h.clock.Now,
		Logger: slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := signoff.New(cfg)
	if err != nil {
		t.Fatalf("signoff.New: %v", err)
	}
	h.m = m
	// Cleanups run last-registered first: Close, then the log scan.
	t.Cleanup(h.checkLogs)
	t.Cleanup(func() { m.Close() })
	return h
}

// remember records a raw credential so that checkLogs can look for it.
func (h *harness) remember(raw string) {
	if raw == "" {
		return
	}
	h.mu.Lock()
	h.secrets[raw] = true
	h.mu.Unlock()
}

// checkLogs fails the test if any raw credential the test handled appears in
// the Manager's log (I9, R50).
func (h *harness) checkLogs() {
	logs := h.logs.String()
	h.mu.Lock()
	defer h.mu.Unlock()
	for raw := range h.secrets {
		if strings.Contains(logs, raw) {
			h.t.Errorf("R50: the Manager's log contains the raw credential %s", fp(raw))
		}
		// The signature of a JWT is the part that cannot be recomputed.
		if i := strings.LastIndexByte(raw, '.'); i >= 0 && len(raw)-i > 20 && strings.Contains(logs, raw[i+1:]) {
			h.t.Errorf("R50: the Manager's log contains the signature of access token %s", fp(raw))
		}
	}
}

// client is one device: a browser (cookie jar) or a native app (tokens held
// in memory). Copy it with clone to keep its old credentials for a replay.
type client struct {
	h   *harness
	jar map[string]string // cookie name → value
	at  string            // access token (jwt mode), sent as Bearer
	rt  signoff.Secret    // refresh token of a native client
}

// rotate puts a new Ed25519 key first in the Manager's key set, keeping the
// old one, as a key rotation does, and returns the new key.
func (h *harness) rotate() *accesstoken.Key {
	h.t.Helper()
	k2, err := accesstoken.GenerateKey(accesstoken.EdDSA, h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	rotated, err := h.m.Keys().Rotate(k2, 2)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.m.SetKeys(rotated); err != nil {
		h.t.Fatal(err)
	}
	return k2
}

func (h *harness) newClient() *client { return &client{h: h, jar: map[string]string{}} }

func (c *client) clone() *client {
	d := *c
	d.jar = maps.Clone(c.jar)
	return &d
}

// request builds a request that carries the client's credentials.
func (c *client) request(method, target, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if len(c.jar) > 0 {
		var parts []string
		for _, name := range slices.Sorted(maps.Keys(c.jar)) {
			parts = append(parts, name+"="+c.jar[name])
		}
		r.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	if c.at != "" {
		r.Header.Set("Authorization", "Bearer "+c.at)
	}
	return r
}

// absorb applies a response's Set-Cookie headers to the jar, as a browser
// would: a deletion (Max-Age=0) removes the cookie.
func (c *client) absorb(rec *httptest.ResponseRecorder) {
	for _, line := range rec.Result().Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			c.h.t.Fatalf("unparsable Set-Cookie (%v)", err)
		}
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.jar, ck.Name)
			continue
		}
		c.h.remember(ck.Value)
		c.jar[ck.Name] = ck.Value
	}
}

// cookieHeader turns a recorder's Set-Cookie headers into the Cookie header
// a browser would send with the next request. Deletions are left out.
func cookieHeader(rec *httptest.ResponseRecorder) string {
	var parts []string
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			continue
		}
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

// login signs user in on c. native selects LoginOptions.Native (jwt mode).
func (h *harness) login(c *client, user string, native bool) *signoff.LoginResult {
	h.t.Helper()
	res, rec, err := h.tryLogin(c, user, native)
	if err != nil {
		h.t.Fatalf("Login(%s): %v", user, err)
	}
	_ = rec
	return res
}

func (h *harness) tryLogin(c *client, user string, native bool) (*signoff.LoginResult, *httptest.ResponseRecorder, error) {
	rec := httptest.NewRecorder()
	res, err := h.m.Login(rec, c.request(http.MethodPost, "/login", ""), user, signoff.LoginOptions{Native: native})
	if err != nil {
		return nil, rec, err
	}
	c.absorb(rec)
	if res.Tokens != nil {
		c.at = res.Tokens.AccessToken.Reveal()
		h.remember(c.at)
		if native {
			c.rt = res.Tokens.RefreshToken
			h.remember(c.rt.Reveal())
		}
	}
	return res, rec, nil
}

// auth authenticates a request from c.
func (h *harness) auth(c *client) (*signoff.Principal, error) {
	return h.m.Authenticate(c.request(http.MethodGet, "/api/me", ""))
}

func (h *harness) mustAuth(c *client, why string) *signoff.Principal {
	h.t.Helper()
	p, err := h.auth(c)
	if err != nil {
		h.t.Fatalf("%s: Authenticate: %v; want success", why, err)
	}
	return p
}

// mustReject asserts that c's credential is refused with a 401.
func (h *harness) mustReject(c *client, why string) {
	h.t.Helper()
	p, err := h.auth(c)
	if err == nil {
		h.t.Fatalf("%s: Authenticate accepted the credential (session %s); want it rejected", why, p.SessionID)
	}
	if got := signoff.StatusOf(err); got != http.StatusUnauthorized {
		h.t.Fatalf("%s: Authenticate: %v (status %d); want 401", why, err, got)
	}
}

// refresh runs Refresh for c: with its native refresh token if it has one,
// else with its refresh cookie. On success c holds the new tokens.
func (h *harness) refresh(c *client) (*signoff.Tokens, *httptest.ResponseRecorder, error) {
	rec := httptest.NewRecorder()
	r := c.request(http.MethodPost, "/refresh", "")
	r.Header.Del("Authorization")
	t, err := h.m.Refresh(rec, r, c.rt)
	if err != nil {
		return nil, rec, err
	}
	c.absorb(rec)
	c.at = t.AccessToken.Reveal()
	h.remember(c.at)
	if !c.rt.IsZero() {
		c.rt = t.RefreshToken
		h.remember(c.rt.Reveal())
	}
	return t, rec, nil
}

func (h *harness) mustRefresh(c *client, why string) *signoff.Tokens {
	h.t.Helper()
	t, _, err := h.refresh(c)
	if err != nil {
		h.t.Fatalf("%s: Refresh: %v; want success", why, err)
	}
	return t
}

// mustNotRefresh asserts that c's refresh token is refused with a 401.
func (h *harness) mustNotRefresh(c *client, why string) error {
	h.t.Helper()
	t, _, err := h.refresh(c)
	if err == nil {
		h.t.Fatalf("%s: Refresh succeeded (new access token %s); want it rejected", why, t.AccessToken)
	}
	if got := signoff.StatusOf(err); got != http.StatusUnauthorized {
		h.t.Fatalf("%s: Refresh: %v (status %d); want 401", why, err, got)
	}
	return err
}

// logout runs Logout for c, sending its native refresh token as the body
// would. c's jar takes the deletions.
func (h *harness) logout(c *client) (*httptest.ResponseRecorder, error) {
	rec := httptest.NewRecorder()
	var extra []signoff.Secret
	if !c.rt.IsZero() {
		extra = append(extra, c.rt)
	}
	err := h.m.Logout(rec, c.request(http.MethodPost, "/logout", ""), extra...)
	if err == nil {
		c.absorb(rec)
	}
	return rec, err
}

// funcBus is a Bus made of function fields around a LocalBus: set FreshFunc
// or PublishFunc to change one behaviour.
type funcBus struct {
	local       signoff.LocalBus
	FreshFunc   func() bool
	PublishFunc func(context.Context, signoff.Revocation) error
}

func (b *funcBus) Publish(ctx context.Context, r signoff.Revocation) error {
	if b.PublishFunc != nil {
		if err := b.PublishFunc(ctx, r); err != nil {
			return err
		}
	}
	return b.local.Publish(ctx, r)
}

func (b *funcBus) Subscribe(apply func(signoff.Revocation)) error { return b.local.Subscribe(apply) }

func (b *funcBus) Fresh() bool {
	if b.FreshFunc != nil {
		return b.FreshFunc()
	}
	return true
}

// setCookies returns the parsed Set-Cookie headers of rec, by name.
func setCookies(t testing.TB, rec *httptest.ResponseRecorder) map[string]*http.Cookie {
	t.Helper()
	out := map[string]*http.Cookie{}
	for _, line := range rec.Result().Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("unparsable Set-Cookie (%v)", err)
		}
		out[ck.Name] = ck
	}
	return out
}

// rawSetCookie returns the one Set-Cookie line for name.
func rawSetCookie(t testing.TB, rec *httptest.ResponseRecorder, name string) string {
	t.Helper()
	var found []string
	for _, line := range rec.Result().Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			found = append(found, line)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one Set-Cookie for %s, got %d", name, len(found))
	}
	return found[0]
}

// okHandler answers 200 "ok" and nothing else.
func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
}
