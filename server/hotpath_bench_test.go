package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/testenv"
	"github.com/signoff/signoff/server"
)

// discardWriter is a ResponseWriter that keeps nothing but the status: the
// header map is cleared, not reallocated, between requests, as the bench
// module's harness does.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// hotServer is a signoff server in mode on a SQLite file with one
// signed-in user, its access log as `signoff serve` writes it by default
// (text, info) into io.Discard, and the request an authenticated client
// sends.
func hotServer(b *testing.B, mode signoff.Mode) (http.Handler, func(path string) *http.Request) {
	return hotServerOn(b, "sqlite:"+filepath.Join(b.TempDir(), "signoff.db"), mode)
}

// hotServerOn is hotServer on the store named by store.
func hotServerOn(b *testing.B, store string, mode signoff.Mode) (http.Handler, func(path string) *http.Request) {
	b.Helper()
	cfg := server.Config{
		Store:        store,
		KeysFile:     filepath.Join(b.TempDir(), "keys.json"),
		Mode:         mode,
		RateLimitSet: true,
		Argon2:       server.Argon2Params{Memory: 1024, Time: 1, Threads: 1},
		Logger:       slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	h := srv.Handler()
	post := func(path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Origin", "http://127.0.0.1:8080")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	creds := `{"email":"ada@example.test","password":"correct horse battery staple"`
	if w := post("/register", creds+"}"); w.Code >= 300 {
		b.Fatalf("register: %d %s", w.Code, w.Body)
	}
	w := post("/login", creds+`,"client":"native"}`)
	if w.Code != http.StatusOK {
		b.Fatalf("login: %d %s", w.Code, w.Body)
	}
	var body map[string]any
	json.Unmarshal(w.Body.Bytes(), &body)
	at, _ := body["access_token"].(string)
	cookies := w.Result().Cookies()
	return h, func(path string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil)
		r.RemoteAddr = "127.0.0.1:50000"
		if at != "" {
			r.Header.Set("Authorization", "Bearer "+at)
		} else {
			for _, c := range cookies {
				r.AddCookie(c)
			}
		}
		return r
	}
}

// BenchmarkHotPath serves the hot endpoints through the whole handler
// (access log, security headers, metrics, authentication), one request at
// a time per goroutine, warm: the server's own CPU per request, without
// sockets and HTTP parsing. cpu-ns/op is the process's CPU time (garbage
// collection included) per request, steadier than ns/op on a busy machine.
func BenchmarkHotPath(b *testing.B) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		h, req := hotServer(b, mode)
		for _, path := range []string{"/verify", "/api/me", "/healthz"} {
			b.Run(mode.String()+path, func(b *testing.B) {
				r := req(path)
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, r)
				if w.status != http.StatusOK {
					b.Fatalf("%s → %d", path, w.status)
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := testenv.ProcessCPU()
				for b.Loop() {
					clear(w.h)
					w.status = 0
					h.ServeHTTP(w, r)
				}
				b.ReportMetric(float64(testenv.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
				if w.status != http.StatusOK {
					b.Fatalf("%s → %d", path, w.status)
				}
			})
		}
	}
}

// BenchmarkRefreshHTTP rotates one refresh token chain through serve's
// whole handler (jwt mode, the refresh token in the body) on SQLite and,
// with SIGNOFF_TEST_POSTGRES set, on PostgreSQL (a schema of its own):
// what one POST /refresh costs the server, the store's work in this
// process included (not PostgreSQL's own). The rate limit is off, as in
// the other server tests.
func BenchmarkRefreshHTTP(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchRefreshHTTP(b, "sqlite:"+filepath.Join(b.TempDir(), "signoff.db"))
	})
	b.Run("postgres", func(b *testing.B) {
		benchRefreshHTTP(b, pgSchema(b))
	})
}

func benchRefreshHTTP(b *testing.B, store string) {
	h, _ := hotServerOn(b, store, signoff.ModeJWT)
	login := func() string {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/login", strings.NewReader(`{"email":"ada@example.test","password":"correct horse battery staple","client":"native"}`))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body map[string]any
		json.Unmarshal(w.Body.Bytes(), &body)
		rt, _ := body["refresh_token"].(string)
		if rt == "" {
			b.Fatalf("login: %d %s", w.Code, w.Body)
		}
		return rt
	}
	rt := login()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testenv.ProcessCPU()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/refresh", strings.NewReader(`{"refresh_token":"`+rt+`"}`))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body map[string]any
		json.Unmarshal(w.Body.Bytes(), &body)
		if rt, _ = body["refresh_token"].(string); rt == "" {
			b.Fatalf("refresh: %d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64((testenv.ProcessCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// pgSchema makes a schema of its own in SIGNOFF_TEST_POSTGRES, dropped
// with everything in it when b ends, and returns the store URL whose
// connections use it; without SIGNOFF_TEST_POSTGRES, b is skipped.
func pgSchema(b *testing.B) string {
	base := os.Getenv("SIGNOFF_TEST_POSTGRES")
	if base == "" {
		testenv.Skip(b, "PostgreSQL benchmarks", "set SIGNOFF_TEST_POSTGRES to a PostgreSQL URL, like postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	var n [6]byte
	rand.Read(n[:])
	name := "signoff_bench_" + hex.EncodeToString(n[:])
	ctx := context.Background()
	exec := func(sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE SCHEMA " + name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			b.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}
