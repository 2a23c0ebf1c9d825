package bench

// BenchmarkAuth measures one authenticated GET through each library's
// middleware to a trivial handler that reads the user ID and writes "ok".
// See README.md for what is and is not comparable, and how to run it.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/jwtauth/v5"
	jwt "github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/sessions"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
	"github.com/signoff/signoff/store/memstore"
)

// userID is the user every benchmark signs in.
const userID = "usr_alice"

// Issuer and audience of the bare-JWT benchmarks: the same checks signoff's
// jwt mode makes.
const (
	issuer   = "signoff"
	audience = "signoff"
)

var okBody = []byte("ok")

// reply is the end of every handler: 200 and two bytes if the middleware
// handed over the right user, 500 otherwise, so that a benchmark that stops
// authenticating fails instead of getting faster.
func reply(w http.ResponseWriter, uid string) {
	if uid != userID {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(okBody)
}

// discardWriter is a reusable ResponseWriter that keeps only the status. Its
// header map is cleared, not reallocated, between requests: what a
// middleware adds to it costs what it would cost on a real response, while
// the map itself (which net/http allocates for every library alike) is not
// counted.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

// A subject is one library set up and signed in: h is the middleware around
// its handler and r a request carrying the credential that sign-in issued.
type subject struct {
	name string
	// setup returns the handler and the request. It is called once per
	// benchmark run; cleanups go through b.Cleanup.
	setup func(tb testing.TB) (http.Handler, *http.Request)
}

var subjects = []subject{
	{"BareNetHTTP", bare},
	{"signoff/session/memstore", signoffSession(memStore)},
	{"signoff/session/sqlitestore", signoffSession(sqliteStore)},
	{"signoff/jwt", signoffJWT},
	{"scs", scsMemstore},
	{"gorilla-sessions", gorillaCookieStore},
	{"golang-jwt-only", golangJWT},
	{"jwtauth", chiJWTAuth},
}

// BenchmarkAuth runs every subject from GOMAXPROCS goroutines. Run it with
// -cpu 1,2: at -cpu 1 RunParallel uses one goroutine, which is the
// single-goroutine figure.
func BenchmarkAuth(b *testing.B) {
	for _, s := range subjects {
		b.Run(s.name, func(b *testing.B) {
			h, r := s.setup(b)
			warm(b, h, r)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{h: http.Header{}}
				var req http.Request
				for pb.Next() {
					// A fresh shallow copy of the request each time, as
					// net/http hands every handler its own: some
					// middleware (gorilla's registry) writes to *r.
					req = *r
					clear(w.h)
					w.status = 0
					h.ServeHTTP(w, &req)
				}
				if w.status != 0 && w.status != http.StatusOK {
					b.Errorf("status %d; want 200", w.status)
				}
			})
		})
	}
}

// TestSubjects checks, without timing anything, that every subject answers
// 200 to its signed-in request and refuses the same request without the
// credential.
func TestSubjects(t *testing.T) {
	for _, s := range subjects {
		t.Run(s.name, func(t *testing.T) {
			h, r := s.setup(t)
			for range 3 {
				w := &discardWriter{h: http.Header{}}
				req := *r
				h.ServeHTTP(w, &req)
				if w.status != http.StatusOK {
					t.Fatalf("status %d; want 200", w.status)
				}
			}
			if s.name == "BareNetHTTP" {
				return
			}
			anon := httptest.NewRequest(http.MethodGet, "/api/me", nil)
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, anon)
			if w.status == http.StatusOK {
				t.Fatalf("no credential: status 200; want a refusal")
			}
		})
	}
}

// TestHarnessAllocs checks that the harness itself allocates nothing: the
// bare handler, served the way BenchmarkAuth serves it, makes no allocation.
func TestHarnessAllocs(t *testing.T) {
	h, r := bare(nil)
	w := &discardWriter{h: http.Header{}}
	var req http.Request
	n := testing.AllocsPerRun(1000, func() {
		req = *r
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, &req)
	})
	if n != 0 {
		t.Fatalf("harness allocates %v times per request; want 0", n)
	}
}

// warm sends the request once, so that caches are filled and a broken setup
// fails before timing starts.
func warm(b *testing.B, h http.Handler, r *http.Request) {
	b.Helper()
	for range 2 {
		w := &discardWriter{h: http.Header{}}
		req := *r
		h.ServeHTTP(w, &req)
		if w.status != http.StatusOK {
			b.Fatalf("warm-up: status %d; want 200", w.status)
		}
	}
}

func newGet() *http.Request { return httptest.NewRequest(http.MethodGet, "/api/me", nil) }

// cookieHeader turns the Set-Cookie headers of a login response into the
// Cookie header a browser would send back.
func cookieHeader(tb testing.TB, rec *httptest.ResponseRecorder) string {
	tb.Helper()
	var parts []string
	for _, c := range rec.Result().Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if len(parts) == 0 {
		tb.Fatal("login set no cookie")
	}
	return strings.Join(parts, "; ")
}

// ---- BareNetHTTP ----

// bare is the trivial handler alone: no authentication, no user ID to read.
// It is the baseline of the ratios.
func bare(testing.TB) (http.Handler, *http.Request) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, userID)
	}), newGet()
}

// ---- signoff ----

func memStore(testing.TB) (signoff.Store, signoff.Bus) { return memstore.New(), nil }

// sqliteStore is the store signoff serve runs on by default, with its
// cross-process Bus, opened as the server opens it.
func sqliteStore(b testing.TB) (signoff.Store, signoff.Bus) {
	b.Helper()
	be, err := server.OpenBackend(context.Background(), server.Stores{Store: "sqlite:" + filepath.Join(b.TempDir(), "signoff.db")}, server.BackendOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	return be.Sessions, be.Bus
}

func newManager(b testing.TB, mode signoff.Mode, st signoff.Store, bus signoff.Bus) *signoff.Manager {
	b.Helper()
	m, err := signoff.New(signoff.Config{
		Mode:   mode,
		Store:  st,
		Bus:    bus,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

func signoffHandler(m *signoff.Manager) http.Handler {
	return m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, signoff.PrincipalFrom(r.Context()).UserID)
	}))
}

// signoffSession is Require in session mode, with the cookie of a real Login.
func signoffSession(store func(testing.TB) (signoff.Store, signoff.Bus)) func(testing.TB) (http.Handler, *http.Request) {
	return func(b testing.TB) (http.Handler, *http.Request) {
		st, bus := store(b)
		m := newManager(b, signoff.ModeSession, st, bus)
		rec := httptest.NewRecorder()
		if _, err := m.Login(rec, httptest.NewRequest(http.MethodPost, "/login", nil), userID, signoff.LoginOptions{}); err != nil {
			b.Fatal(err)
		}
		r := newGet()
		r.Header.Set("Cookie", cookieHeader(b, rec))
		return signoffHandler(m), r
	}
}

// signoffJWT is Require in jwt mode, with the access token of a real Login
// on a memstore.
func signoffJWT(b testing.TB) (http.Handler, *http.Request) {
	m := newManager(b, signoff.ModeJWT, memstore.New(), nil)
	res, err := m.Login(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login", nil), userID, signoff.LoginOptions{Native: true})
	if err != nil {
		b.Fatal(err)
	}
	r := newGet()
	r.Header.Set("Authorization", "Bearer "+res.Tokens.AccessToken.Reveal())
	return signoffHandler(m), r
}

// ---- alexedwards/scs ----

// scsMemstore is scs's LoadAndSave with its default in-memory store. Each
// request finds the session in the store and gob-decodes it; with the
// default IdleTimeout of 0 an unmodified session is not saved back.
func scsMemstore(b testing.TB) (http.Handler, *http.Request) {
	sm := scs.New()
	login := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			b.Fatal(err)
		}
		sm.Put(r.Context(), "userID", userID)
		w.Write(okBody)
	}))
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/login", nil))
	r := newGet()
	r.Header.Set("Cookie", cookieHeader(b, rec))
	return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, sm.GetString(r.Context(), "userID"))
	})), r
}

// ---- gorilla/sessions ----

type ctxKey struct{}

// gorillaCookieStore is a hand-written middleware on gorilla/sessions'
// CookieStore with a signing key only (the README's setup): the session is
// the signed cookie itself. Nothing is held on the server, so nothing can
// be revoked: a copy of the cookie works until its MaxAge (30 days by
// default), whatever logout does.
func gorillaCookieStore(b testing.TB) (http.Handler, *http.Request) {
	key := make([]byte, 32)
	rand.Read(key)
	store := sessions.NewCookieStore(key)
	const name = "session"

	login := httptest.NewRequest(http.MethodPost, "/login", nil)
	rec := httptest.NewRecorder()
	s, _ := store.Get(login, name)
	s.Values["user_id"] = userID
	if err := s.Save(login, rec); err != nil {
		b.Fatal(err)
	}
	r := newGet()
	r.Header.Set("Cookie", cookieHeader(b, rec))

	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uid, _ := r.Context().Value(ctxKey{}).(string)
		reply(w, uid)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, name)
		uid, ok := s.Values["user_id"].(string)
		if err != nil || !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, uid)))
	}), r
}

// ---- JWT without revocation ----

func ed25519Key(b testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return pub, priv
}

// bearerToken returns the token of an Authorization: Bearer header, or "".
func bearerToken(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "Bearer ") {
		return ""
	}
	return v[7:]
}

type jwtClaims struct {
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

// golangJWT is what many applications do: a hand-written middleware that
// parses and verifies an Ed25519 access token with golang-jwt on every
// request, checks alg, iss, aud and exp, and trusts it. There is no
// revocation check at all: a token stays good until exp after logout. The
// claims are the ones signoff puts in its tokens.
func golangJWT(b testing.TB) (http.Handler, *http.Request) {
	pub, priv := ed25519Key(b)
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwtClaims{
		SessionID: "ses_0123456789abcdef",
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: issuer, Subject: userID, Audience: jwt.ClaimStrings{audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), NotBefore: jwt.NewNumericDate(now),
			IssuedAt: jwt.NewNumericDate(now), ID: "0123456789abcdef01234567",
		},
	}).SignedString(priv)
	if err != nil {
		b.Fatal(err)
	}
	r := newGet()
	r.Header.Set("Authorization", "Bearer "+tok)

	parser := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(issuer),
		jwt.WithAudience(audience), jwt.WithExpirationRequired())
	keyFunc := func(*jwt.Token) (any, error) { return pub, nil }
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uid, _ := r.Context().Value(ctxKey{}).(string)
		reply(w, uid)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cl jwtClaims
		if _, err := parser.ParseWithClaims(bearerToken(r), &cl, keyFunc); err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, cl.Subject)))
	}), r
}

// chiJWTAuth is go-chi/jwtauth (on lestrrat-go/jwx) with an Ed25519 key:
// Verifier, then Authenticator, and the handler reads sub from the claims
// map the way its README does. Like golang-jwt-only, no revocation check.
func chiJWTAuth(b testing.TB) (http.Handler, *http.Request) {
	pub, priv := ed25519Key(b)
	ja := jwtauth.New("EdDSA", priv, pub, jwxjwt.WithIssuer(issuer), jwxjwt.WithAudience(audience))
	now := time.Now()
	_, tok, err := ja.Encode(map[string]any{
		"iss": issuer, "sub": userID, "aud": audience, "sid": "ses_0123456789abcdef",
		"exp": now.Add(time.Hour).Unix(), "nbf": now.Unix(), "iat": now.Unix(),
		"jti": "0123456789abcdef01234567",
	})
	if err != nil {
		b.Fatal(err)
	}
	r := newGet()
	r.Header.Set("Authorization", "Bearer "+tok)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, claims, _ := jwtauth.FromContext(r.Context())
		uid, _ := claims["sub"].(string)
		reply(w, uid)
	})
	return jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(h)), r
}
