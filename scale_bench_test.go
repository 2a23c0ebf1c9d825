package signoff_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/memstore"
)

// liveCreds signs n users in and returns the header each one's credential
// travels in ("Cookie" or "Authorization") and its values, and the live
// heap that authenticating each once, so that the cache holds them all,
// added (n must not exceed the cache's size).
func liveCreds(b *testing.B, m *signoff.Manager, n int) (string, [][]string, int64) {
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
	}
	before := liveHeap()
	for i := range out {
		r.Header[name] = out[i]
		if _, err := m.Authenticate(r); err != nil {
			b.Fatalf("warm-up Authenticate: %v", err)
		}
	}
	return name, out, int64(liveHeap()) - int64(before)
}

// ownStrings is a Store whose session reads return IDs of their own, as
// the SQL stores' do, not the memstore's shared strings: what the cache
// keeps of a session then counts its IDs.
type ownStrings struct{ signoff.Store }

func (s ownStrings) SessionByToken(ctx context.Context, h signoff.Hash, now time.Time) (*signoff.Session, error) {
	return own(s.Store.SessionByToken(ctx, h, now))
}

func (s ownStrings) Session(ctx context.Context, id string, now time.Time) (*signoff.Session, error) {
	return own(s.Store.Session(ctx, id, now))
}

func own(x *signoff.Session, err error) (*signoff.Session, error) {
	if x == nil {
		return nil, err
	}
	c := *x
	c.ID, c.UserID = strings.Clone(x.ID), strings.Clone(x.UserID)
	return &c, err
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkAuthenticateScale is Authenticate with one live session and
// with 100,000 (the default cache size), each request carrying a random
// one of them, as real traffic does: what the cache's size costs an
// authenticated request (cache misses in memory, garbage collection).
// cache-B/session is what the cache holds per session: the live heap that
// authenticating each session once added (after a collection), divided by
// their number; the store's rows and the credentials were there before,
// and the store hands out IDs of their own (ownStrings), as SQL stores do.
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
				heap  int64
			)
			b.Run(md.name+"/"+strconv.Itoa(n), func(b *testing.B) {
				once.Do(func() {
					m = benchManagerOn(b, md.mode, ownStrings{memstore.New()})
					name, creds, heap = liveCreds(b, m, n)
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
				b.ReportMetric(float64(heap)/float64(n), "cache-B/session")
			})
			if m != nil {
				m.Close()
			}
		}
	}
}
