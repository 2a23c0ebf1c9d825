package server

import (
	"testing"
	"time"

	"github.com/signoff/signoff"
)

// BenchmarkMetricsPerRequest is what the metrics add to an authenticated
// request served from memory: the Authenticated hook and the HTTP counter
// and histogram of its route.
func BenchmarkMetricsPerRequest(b *testing.B) {
	m := newMetrics(func() signoff.Stats { return signoff.Stats{} })
	h := m.hooks()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Authenticated(signoff.Auth{Cached: true})
			m.request("/api/me", 200, 30*time.Microsecond)
		}
	})
}
