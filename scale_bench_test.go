package signoff_test

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/signoff/signoff"
)

// liveCreds signs n users in and returns the header each one's credential
// travels in ("Cookie" or "Authorization") and its values, each
// authenticated once so that the cache holds them all (n must not exceed
// the cache's size).
func liveCreds(b *testing.B, m *signoff.Manager, n int) (string, [][]string) {
	b.Helper()
	name := "Cookie"
	if m.Mode() == signoff.ModeJWT {
		name = "Authorization"
	}
	out := make([][]string, n)
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	for i := range out {
		rec := httptest.NewRecorder()
		res, err := m.Login(rec, httptest.NewRequest(http.MethodPost, "/login", nil), "usr_"+strconv.Itoa(i), signoff.LoginOptions{Native: true})
		if err != nil {
			b.Fatal(err)
		}
		if name == "Authorization" {
			out[i] = []string{"Bearer " + res.Tokens.AccessToken.Reveal()}
		} else {
			out[i] = []string{cookieHeader(rec)}
		}
		r.Header[name] = out[i]
		if _, err := m.Authenticate(r); err != nil {
			b.Fatalf("warm-up Authenticate: %v", err)
		}
	}
	return name, out
}

// BenchmarkAuthenticateScale is Authenticate with one live session and
// with 100,000 (the default cache size), each request carrying a random
// one of them, as real traffic does: what the cache's size costs an
// authenticated request (cache misses in memory, garbage collection).
// heap-B/session is the live heap the 100,000 sessions add, measured after
// a GC, divided by their number: the Manager's cache, the memstore's rows
// and the benchmark's own credential strings (about 100 bytes each)
// together.
func BenchmarkAuthenticateScale(b *testing.B) {
	for _, md := range modes {
		for _, n := range []int{1, 100_000} {
			// Set up on the first round of b.N only, so that the heap
			// figure counts one set of sessions, and only for the
			// sub-benchmarks -bench selects.
			var (
				once  sync.Once
				m     *signoff.Manager
				name  string
				creds [][]string
				heap  float64
			)
			b.Run(md.name+"/"+strconv.Itoa(n), func(b *testing.B) {
				once.Do(func() {
					var before, after runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&before)
					m = benchManager(b, md.mode)
					name, creds = liveCreds(b, m, n)
					runtime.GC()
					runtime.ReadMemStats(&after)
					heap = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
				})
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
					r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
					for pb.Next() {
						r.Header[name] = creds[rng.IntN(len(creds))]
						if _, err := m.Authenticate(r); err != nil {
							b.Errorf("Authenticate: %v", err)
							return
						}
					}
				})
				b.ReportMetric(heap, "heap-B/session")
			})
			if m != nil {
				m.Close()
			}
		}
	}
}
