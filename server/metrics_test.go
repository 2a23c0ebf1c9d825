package server_test

import (
	"bufio"
	"bytes"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/testenv"
	"github.com/signoff/signoff/server"
)

// series is one scrape of /metrics: each sample's value by its name and
// labels as exposed (labels sorted by name), like
// `signoff_logins_total{result="ok"}`.
type series map[string]float64

func scrape(t *testing.T, e *env) (series, string) {
	t.Helper()
	r := e.raw("GET", "/metrics", nil)
	expect(t, "GET /metrics", r, http.StatusOK)
	if ct := r.h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics Content-Type %q", ct)
	}
	s := series{}
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		s[line[:i]] = v
	}
	return s, string(r.body)
}

// moved returns what each of want's series moved by from a to b.
func moved(a, b series, want map[string]float64) map[string]float64 {
	got := map[string]float64{}
	for k := range want {
		got[k] = b[k] - a[k]
	}
	return got
}

// A scripted flow moves each counter by exactly what it did; nothing that
// identifies a user, a session or a credential appears in any label.
func TestMetricsCountTheFlow(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		const limit = 5 // failed logins per account; refreshes too
		e := newEnv(t, mode, func(c *server.Config) {
			c.RateLimit, c.RateLimitSet = server.Rate{N: limit, Per: time.Minute}, true
		})
		a, b := e.newUser(), e.newUser()
		before, _ := scrape(t, e)

		// Two sign-ins of a; five wrong passwords for b, then a sixth
		// attempt that the limit refuses.
		c1, c2 := e.client(), e.client()
		l1 := c1.login(a)
		c2.login(a)
		for i := range limit + 1 {
			r := e.raw("POST", "/login", map[string]string{"email": b, "password": "wrong password"})
			expect(t, "wrong password "+strconv.Itoa(i+1), r, map[bool]int{true: 429, false: 401}[i == limit])
		}
		// Three authenticated requests.
		for range 3 {
			expect(t, "/api/me", c1.do("GET", "/api/me", nil), http.StatusOK)
		}
		// c1 signs c2 out (a device revoke), then itself out everywhere;
		// a third device signs out alone.
		id := sessionOf(t, c2)
		expect(t, "revoke c2", c1.do("DELETE", "/sessions/"+id, nil, "Origin", e.URL), http.StatusNoContent)
		c3 := e.client()
		c3.login(a)
		expect(t, "logout everywhere", c1.do("POST", "/logout/all", nil, "Origin", e.URL), http.StatusOK)
		expect(t, "logout of nobody", e.raw("POST", "/logout", nil, "Origin", e.URL), http.StatusOK)
		want := map[string]float64{
			`signoff_logins_total{result="ok"}`:                                     3,
			`signoff_logins_total{result="failed"}`:                                 limit,
			`signoff_logins_total{result="rate_limited"}`:                           1,
			`signoff_logouts_total`:                                                 1,
			`signoff_logouts_everywhere_total{by="user"}`:                           1,
			`signoff_logouts_everywhere_total{by="admin"}`:                          0,
			`signoff_sessions_revoked_total{by="user"}`:                             1,
			`signoff_http_requests_total{code="200",route="/login"}`:                3,
			`signoff_http_requests_total{code="401",route="/login"}`:                limit,
			`signoff_http_requests_total{code="429",route="/login"}`:                1,
			`signoff_http_requests_total{code="200",route="/api/me"}`:               4, // and sessionOf's
			`signoff_http_request_seconds_count{route="/api/me"}`:                   4,
			`signoff_store_operation_seconds_count{op="CreateSession",result="ok"}`: 3,
		}
		var reuse map[string]float64
		if mode == signoff.ModeJWT {
			// A native client's token rotates, is retried within the
			// grace, rotates again, and then the first comes back: reuse.
			n := e.raw("POST", "/login", map[string]string{"email": a, "password": password, "client": "native"})
			expect(t, "native login", n, http.StatusOK)
			rt0 := n.str(t, "refresh_token")
			r := e.raw("POST", "/refresh", map[string]string{"refresh_token": rt0})
			expect(t, "rotate", r, http.StatusOK)
			rt1 := r.str(t, "refresh_token")
			expect(t, "retry within the grace", e.raw("POST", "/refresh", map[string]string{"refresh_token": rt0}), http.StatusOK)
			expect(t, "rotate again", e.raw("POST", "/refresh", map[string]string{"refresh_token": rt1}), http.StatusOK)
			expect(t, "the grandparent", e.raw("POST", "/refresh", map[string]string{"refresh_token": rt0}), http.StatusUnauthorized)
			want[`signoff_logins_total{result="ok"}`]++
			want[`signoff_http_requests_total{code="200",route="/login"}`]++
			want[`signoff_store_operation_seconds_count{op="CreateSession",result="ok"}`]++
			reuse = map[string]float64{
				`signoff_refreshes_total{result="ok"}`:             2,
				`signoff_refreshes_total{result="retry"}`:          1,
				`signoff_refreshes_total{result="reuse_detected"}`: 1,
			}
			for k, v := range reuse {
				want[k] = v
			}
		}
		after, text := scrape(t, e)
		got := moved(before, after, want)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s moved by %v, want %v", k, got[k], v)
			}
		}
		// Every revocation published was applied here, the one instance.
		pub := after[`signoff_revocations_published_total{result="ok"}`] - before[`signoff_revocations_published_total{result="ok"}`]
		app := after[`signoff_revocations_applied_total`] - before[`signoff_revocations_applied_total`]
		if pub < 3 || pub != app || after[`signoff_revocations_published_total{result="error"}`] != 0 {
			t.Errorf("revocations: %v published, %v applied, %v failed", pub, app, after[`signoff_revocations_published_total{result="error"}`])
		}
		if n := after[`signoff_revocation_publish_seconds_count`] - before[`signoff_revocation_publish_seconds_count`]; n != pub {
			t.Errorf("%v publish latencies for %v publishes", n, pub)
		}
		// The four /api/me: all accepted, each a cache hit or a miss.
		var ok, hits float64
		for _, cache := range []string{"hit", "miss"} {
			k := `signoff_authentications_total{cache="` + cache + `",result="ok"}`
			ok += after[k] - before[k]
			if cache == "hit" {
				hits = after[k] - before[k]
			}
		}
		if ok < 4 || hits < 2 {
			t.Errorf("authentications: %v ok, %v from memory; want at least the four /api/me, c1's last two from memory", ok, hits)
		}
		if after["signoff_bus_fresh"] != 1 {
			t.Errorf("signoff_bus_fresh = %v", after["signoff_bus_fresh"])
		}
		for _, secret := range []string{a, b, l1.str(t, "access_token"), c1.cookie(credName(mode)), id, "usr_", "ses_", "127.0.0.1"} {
			if secret != "" && strings.Contains(text, secret) {
				t.Fatalf("/metrics names %s", fp(secret))
			}
		}
	})
}

// sessionOf is the session ID of c's credential, from /api/me.
func sessionOf(t *testing.T, c *client) string {
	t.Helper()
	r := c.do("GET", "/api/me", nil)
	expect(t, "/api/me", r, http.StatusOK)
	s, _ := r.json(t)["session"].(map[string]any)
	id, _ := s["id"].(string)
	if id == "" {
		t.Fatalf("/api/me names no session: %s", r.text())
	}
	return id
}

// promtool, Prometheus's own linter, accepts what /metrics serves.
func TestMetricsPromtool(t *testing.T) {
	bin, err := exec.LookPath("promtool")
	if err != nil {
		testenv.Skip(t, "promtool lint of /metrics", "apt-get install prometheus")
	}
	e := newEnv(t, signoff.ModeSession)
	c := e.client()
	c.login(e.newUser())
	c.do("GET", "/api/me", nil)
	_, text := scrape(t, e)
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
