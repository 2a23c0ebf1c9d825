package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signoff/signoff"
)

// metrics are signoff serve's Prometheus metrics. The Manager's Hooks, the
// HTTP middleware and the login handler feed them; GET /metrics, or the
// listener of --metrics-addr, serves them (docs/metrics.md). No label holds
// a credential, an email, a user or session ID or a client address: only
// route patterns, status codes, store operation names and fixed outcomes.
type metrics struct {
	reg *prometheus.Registry

	logins            *prometheus.CounterVec // result
	logouts           prometheus.Counter
	logoutsEverywhere *prometheus.CounterVec // by
	sessionsRevoked   *prometheus.CounterVec // by
	refreshes         *prometheus.CounterVec // result
	published         *prometheus.CounterVec // result
	publishSeconds    prometheus.Histogram
	applied           prometheus.Counter
	storeSeconds      *prometheus.HistogramVec // op, result

	// The series every request adds to, sharded (metricshards.go).
	auths *authMetrics // cache, result
	http  *httpMetrics // route, code; route
}

var authResults = [3]string{resultOK, resultRefused, resultUnavailable}

// Outcomes of the labelled counters, fixed so that a dashboard can rely on
// them.
const (
	resultOK          = "ok"
	resultFailed      = "failed"
	resultRateLimited = "rate_limited"
	resultRetry       = "retry"
	resultReuse       = "reuse_detected"
	resultError       = "error"
	resultRefused     = "refused"
	resultUnavailable = "unavailable"
	resultNotFound    = "not_found"
	byUser            = "user"
	byAdmin           = "admin"
)

// newMetrics registers every metric, and the Go runtime's and the
// process's, on a registry of the Server's own: two Servers in one process
// (tests) do not share counters.
func newMetrics(stats func() signoff.Stats) *metrics {
	reg := prometheus.NewRegistry()
	f := factory{reg}
	m := &metrics{
		reg: reg,
		logins: f.counters("signoff_logins_total",
			"Sign-in attempts by result: ok, failed (wrong email or password), rate_limited.", "result"),
		logouts: f.counter("signoff_logouts_total",
			"Sign-outs of one device (POST /logout), with or without a live credential."),
		logoutsEverywhere: f.counters("signoff_logouts_everywhere_total",
			"Sign-outs of every session of a user, by the user or by an admin.", "by"),
		sessionsRevoked: f.counters("signoff_sessions_revoked_total",
			"Single sessions ended from elsewhere (a device revoke, sign-out of other devices, an admin's sessions revoke), by the user or by an admin.", "by"),
		refreshes: f.counters("signoff_refreshes_total",
			"Refresh-token rotations by result: ok, retry (a grace retry got the same successor), reuse_detected (a spent token came back: its session was revoked).", "result"),
		published: f.counters("signoff_revocations_published_total",
			"Revocations this instance published on the bus, by result: ok (every instance applied it) or error (not confirmed: the request got 503).", "result"),
		publishSeconds: f.histogram("signoff_revocation_publish_seconds",
			"Time from publishing a revocation to every instance having applied it: the bus's lag as a logout sees it."),
		applied: f.counter("signoff_revocations_applied_total",
			"Revocations this instance applied, published by any instance."),
		storeSeconds: f.histograms("signoff_store_operation_seconds",
			"Store operations by operation (the Store method) and result (ok, not_found, error).", "op", "result"),
		auths: newAuthMetrics(),
		http:  newHTTPMetrics(),
	}
	reg.MustRegister(m.auths, m.http)
	gauge := func(name, help string, v func(signoff.Stats) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return v(stats()) }))
	}
	gauge("signoff_bus_fresh", "1 while the revocation bus is known to deliver everything, else 0: every credential is then read through to the store.",
		func(s signoff.Stats) float64 { return b2f(s.Fresh) })
	gauge("signoff_cached_sessions", "Session cookies this instance can answer from memory.",
		func(s signoff.Stats) float64 { return float64(s.CachedSessions) })
	gauge("signoff_cached_tokens", "Access tokens this instance can answer from memory.",
		func(s signoff.Stats) float64 { return float64(s.CachedTokens) })
	gauge("signoff_pending_logouts", "Logouts everywhere under way, whose users' credentials are read through to the store.",
		func(s signoff.Stats) float64 { return float64(s.PendingLogouts) })
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every outcome is there from the start, at 0, so that rate() sees
	// the first one.
	for _, r := range []string{resultOK, resultFailed, resultRateLimited} {
		m.logins.WithLabelValues(r)
	}
	for _, by := range []string{byUser, byAdmin} {
		m.logoutsEverywhere.WithLabelValues(by)
		m.sessionsRevoked.WithLabelValues(by)
	}
	for _, r := range []string{resultOK, resultRetry, resultReuse} {
		m.refreshes.WithLabelValues(r)
	}
	for _, r := range []string{resultOK, resultError} {
		m.published.WithLabelValues(r)
	}
	return m
}

// factory makes metrics and registers them.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counters(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

// latencyBuckets run from 100 µs (a cache hit, a local store) to 10 s (a
// store timing out).
var latencyBuckets = [...]float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func (f factory) histogram(name, help string) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets[:]})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histograms(name, help string, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets[:]}, labels)
	f.reg.MustRegister(h)
	return h
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func by(admin bool) string {
	if admin {
		return byAdmin
	}
	return byUser
}

// hooks are the Manager's Hooks that feed m.
func (m *metrics) hooks() signoff.Hooks {
	return signoff.Hooks{
		Login:  func(signoff.Event) { m.logins.WithLabelValues(resultOK).Inc() },
		Logout: func(signoff.Event) { m.logouts.Inc() },
		LogoutEverywhere: func(e signoff.Event) {
			m.logoutsEverywhere.WithLabelValues(by(e.Admin)).Inc()
		},
		SessionRevoked: func(e signoff.Event) { m.sessionsRevoked.WithLabelValues(by(e.Admin)).Inc() },
		Refreshed: func(e signoff.Event) {
			if e.Retry {
				m.refreshes.WithLabelValues(resultRetry).Inc()
			} else {
				m.refreshes.WithLabelValues(resultOK).Inc()
			}
		},
		RefreshReused: func(signoff.Event) { m.refreshes.WithLabelValues(resultReuse).Inc() },
		Published: func(_ signoff.Revocation, took time.Duration, err error) {
			if err != nil {
				m.published.WithLabelValues(resultError).Inc()
				return
			}
			m.published.WithLabelValues(resultOK).Inc()
			m.publishSeconds.Observe(took.Seconds())
		},
		Applied: func(signoff.Revocation) { m.applied.Inc() },
		Authenticated: func(a signoff.Auth) {
			hit := 0
			if a.Cached {
				hit = 1
			}
			m.auths.series[hit][authResult(a.Err)].Inc()
		},
		Store: func(op string, took time.Duration, err error) {
			r := resultOK
			switch {
			case errors.Is(err, signoff.ErrNotFound):
				r = resultNotFound
			case err != nil:
				r = resultError
			}
			m.storeSeconds.WithLabelValues(op, r).Observe(took.Seconds())
		},
	}
}

// authResult is the index in authResults of an authentication's outcome.
func authResult(err error) int {
	switch {
	case err == nil:
		return 0
	case signoff.StatusOf(err) == http.StatusServiceUnavailable:
		return 2
	default:
		return 1
	}
}

// request counts one HTTP request of route that answered status after took.
func (m *metrics) request(route string, status int, took time.Duration) {
	s, i := m.http.series(routeCode{route, status}), shard()
	s.requests.inc(i)
	s.seconds.observe(i, took.Seconds())
}

// handler serves the metrics in Prometheus's text format (or OpenMetrics,
// when asked), never cached.
func (m *metrics) handler() http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// ServeMetrics serves GET /metrics alone on ln (Config.MetricsAddr) until
// ctx ends.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", only(http.MethodGet, s.metrics.handler()))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
