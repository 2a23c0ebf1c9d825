package server

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signoff/signoff"
)

// The sharded series expose what Prometheus's own CounterVec and
// HistogramVec expose after the same requests: the same names, help,
// types, labels, buckets, counts and sums, series made at first use.
func TestShardedMetricsExposeAsPrometheus(t *testing.T) {
	// What metrics.go registered before the series were sharded.
	want := prometheus.NewRegistry()
	auths := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signoff_authentications_total",
		Help: "Credentials checked, by cache (hit: memory answered; miss: the store was read) and result (ok, refused, unavailable)."}, []string{"cache", "result"})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signoff_http_requests_total",
		Help: "HTTP requests by route pattern (- when none matched) and status code."}, []string{"route", "code"})
	seconds := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "signoff_http_request_seconds",
		Help: "HTTP request latency by route pattern.", Buckets: latencyBuckets[:]}, []string{"route"})
	want.MustRegister(auths, requests, seconds)
	for _, cache := range cacheLabels {
		for _, r := range authResults {
			auths.WithLabelValues(cache, r)
		}
	}

	got := prometheus.NewRegistry()
	a, h := newAuthMetrics(), newHTTPMetrics()
	got.MustRegister(a, h)
	hooks := (&metrics{auths: a}).hooks()
	m := &metrics{http: h}

	for i, x := range []struct {
		route  string
		status int
		took   time.Duration
	}{
		{"/api/me", 200, 30 * time.Microsecond}, {"/api/me", 200, 100 * time.Microsecond}, {"/api/me", 401, 2 * time.Millisecond},
		{"/verify", 200, 0}, {"/verify", 503, 20 * time.Second}, {"-", 404, 250 * time.Microsecond}, {"/login", 200, 80 * time.Millisecond},
	} {
		m.request(x.route, x.status, x.took)
		requests.WithLabelValues(x.route, []string{"200", "401", "503", "404"}[map[int]int{200: 0, 401: 1, 503: 2, 404: 3}[x.status]]).Inc()
		seconds.WithLabelValues(x.route).Observe(x.took.Seconds())
		var err error
		switch i % 3 {
		case 1:
			err = signoff.ErrSessionRevoked
		case 2:
			err = errors.Join(signoff.ErrUnavailable)
		}
		hooks.Authenticated(signoff.Auth{Cached: i%2 == 0, Err: err})
		auths.WithLabelValues(cacheLabels[1-i%2], authResults[authResult(err)]).Inc()
	}
	text := func(reg *prometheus.Registry) string {
		w := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		return w.Body.String()
	}
	if g, w := text(got), text(want); g != w {
		t.Errorf("the sharded series expose\n%s\nPrometheus's own\n%s", g, w)
	}
}
