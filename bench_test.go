package signoff_test

// Benchmarks of the hot path. Run with
//
//	go test -run '^$' -bench . -benchtime 2s -count 1 .
//
// Targets (DESIGN.md, "How it is fast"): a warm session-mode Authenticate
// ≤ 1 µs and ≤ 2 allocations; jwt mode ≤ 2 µs. BenchmarkBareNetHTTP is the
// same trivial handler with no authentication, the baseline for the
// Require ratios.

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/memstore"
)

// benchManager is a Manager on a memstore with a constant clock (no lock,
// no wall clock) and an audit log that formats its JSON and drops it.
func benchManager(b *testing.B, mode signoff.Mode) *signoff.Manager {
	b.Helper()
	return benchManagerOn(b, mode, memstore.New())
}

// benchManagerOn is benchManager on the store st.
func benchManagerOn(b *testing.B, mode signoff.Mode, st signoff.Store) *signoff.Manager {
	b.Helper()
	m, err := signoff.New(signoff.Config{
		Mode:   mode,
		Store:  st,
		Now:    func() time.Time { return t0 },
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// liveRequest logs a user in and returns a GET /api/me request carrying the
// credential, authenticated once so that the cache is warm.
func liveRequest(b *testing.B, m *signoff.Manager) *http.Request {
	b.Helper()
	rec := httptest.NewRecorder()
	res, err := m.Login(rec, httptest.NewRequest(http.MethodPost, "/login", nil), "usr_alice", signoff.LoginOptions{Native: true})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	if m.Mode() == signoff.ModeJWT {
		r.Header.Set("Authorization", "Bearer "+res.Tokens.AccessToken.Reveal())
	} else {
		r.Header.Set("Cookie", cookieHeader(rec))
	}
	if _, err := m.Authenticate(r); err != nil {
		b.Fatalf("warm-up Authenticate: %v", err)
	}
	return r
}

// discardWriter is a reusable ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }

// trivial is the handler every Require benchmark wraps, and the baseline.
var trivial = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	w.Write(okBody)
})

var okBody = []byte("ok")

var modes = []struct {
	name string
	mode signoff.Mode
}{{"session", signoff.ModeSession}, {"jwt", signoff.ModeJWT}}

func BenchmarkAuthenticate(b *testing.B) {
	for _, md := range modes {
		b.Run(md.name, func(b *testing.B) {
			m := benchManager(b, md.mode)
			r := liveRequest(b, m)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := m.Authenticate(r); err != nil {
						b.Errorf("Authenticate: %v", err)
						return
					}
				}
			})
		})
	}
}

// serveParallel runs h on r from every benchmark goroutine, each with its
// own reusable writer, and checks that the last answer was 200.
func serveParallel(b *testing.B, h http.Handler, r *http.Request) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}, status: http.StatusOK} // a goroutine may get no iteration
		for pb.Next() {
			w.status = 0
			h.ServeHTTP(w, r)
		}
		if w.status != http.StatusOK {
			b.Errorf("status %d; want 200", w.status)
		}
	})
}

func BenchmarkRequire(b *testing.B) {
	for _, md := range modes {
		b.Run(md.name, func(b *testing.B) {
			m := benchManager(b, md.mode)
			serveParallel(b, m.Require(trivial), liveRequest(b, m))
		})
	}
}

func BenchmarkBareNetHTTP(b *testing.B) {
	serveParallel(b, trivial, httptest.NewRequest(http.MethodGet, "/api/me", nil))
}

// BenchmarkLogin is for reference: sign-in is not the hot path. Every
// iteration creates a session (for its own user) in the memstore.
func BenchmarkLogin(b *testing.B) {
	b.Run("session", func(b *testing.B) {
		m := benchManager(b, signoff.ModeSession)
		var n atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			w := &discardWriter{h: http.Header{}}
			r := httptest.NewRequest(http.MethodPost, "/login", nil)
			for pb.Next() {
				clear(w.h)
				if _, err := m.Login(w, r, "usr_"+strconv.FormatInt(n.Add(1), 10), signoff.LoginOptions{}); err != nil {
					b.Errorf("Login: %v", err)
					return
				}
			}
		})
	})
}

// BenchmarkRefreshHandler is one native chain of POST /refresh through
// RefreshHandler on a memstore: the library's own work per rotation (the
// body, the rotation's derivations, the access token's signature, the
// response), without a store's I/O.
func BenchmarkRefreshHandler(b *testing.B) {
	m := benchManager(b, signoff.ModeJWT)
	res, err := m.Login(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login", nil), "usr_alice", signoff.LoginOptions{Native: true})
	if err != nil {
		b.Fatal(err)
	}
	h := m.RefreshHandler()
	rt := res.Tokens.RefreshToken.Reveal()
	w := &bodyWriter{h: http.Header{}}
	const key = `"refresh_token":"`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refresh_token":"`+rt+`"}`))
		r.Header.Set("Content-Type", "application/json")
		clear(w.h)
		w.body = w.body[:0]
		h.ServeHTTP(w, r)
		i := bytes.Index(w.body, []byte(key))
		if i < 0 || len(w.body) < i+len(key)+43 {
			b.Fatalf("refresh: %d", w.status)
		}
		rt = string(w.body[i+len(key) : i+len(key)+43])
	}
}

// bodyWriter is a reusable ResponseWriter that keeps the status and body.
type bodyWriter struct {
	h      http.Header
	status int
	body   []byte
}

func (w *bodyWriter) Header() http.Header         { return w.h }
func (w *bodyWriter) Write(p []byte) (int, error) { w.body = append(w.body, p...); return len(p), nil }
func (w *bodyWriter) WriteHeader(code int)        { w.status = code }
