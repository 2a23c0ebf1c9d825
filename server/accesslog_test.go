package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/memstore"
)

// logLines parses the JSON log lines of e.
func (e *env) logLines() []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			e.t.Fatalf("a log line is not JSON: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// R50: the access log names the route a request matched, never its path,
// where a careless client may have put a credential.
func TestAccessLogNamesTheRouteNotThePath(t *testing.T) {
	e := newEnv(t, signoff.ModeSession)
	c := e.client()
	c.login(e.newUser())
	var b [16]byte
	rand.Read(b[:])
	canary := "canary" + hex.EncodeToString(b[:])
	for _, p := range []string{"/api/me/" + canary, "/sessions/" + canary, "/static/" + canary, "/" + canary, "/verify/" + canary + "/x"} {
		c.do("GET", p, nil)
	}
	c.do("DELETE", "/sessions/"+canary, nil)
	c.do("POST", "/logout/"+canary, nil)
	if strings.Contains(e.logs.String(), canary) {
		t.Fatal("R50: a value from the URL path reached the log")
	}
	routes := map[string]bool{}
	for _, l := range e.logLines() {
		if l["msg"] == "request" {
			routes[l["route"].(string)] = true
		}
	}
	for _, want := range []string{"/sessions/{id}", "GET /static/", "/login", "-"} {
		if !routes[want] {
			t.Errorf("no access log line with route %q; routes logged: %v", want, routes)
		}
	}
}

// I11: every 503 has its cause in the log, once, on the request's line:
// from the server's own handlers (login) and from the library's (Require).
func TestEvery503LogsItsCauseOnce(t *testing.T) {
	f := &fakeStore{Store: memstore.New()}
	cause := errors.New("fakestore: injected: database disk image is malformed")
	e := newEnv(t, signoff.ModeSession, withFakeStore(t, f))
	email := e.newUser()
	f.userByEmail = func(context.Context, string) (*signoff.User, error) { return nil, cause }
	f.sessionByToken = func(context.Context, signoff.Hash, time.Time) (*signoff.Session, error) { return nil, cause }
	for _, tc := range []struct {
		route string
		r     *response
	}{
		{"/login", e.raw("POST", "/login", map[string]string{"email": email, "password": password})},
		// A cookie this instance has not cached: Require must ask the store.
		{"/api/me", e.raw("GET", "/api/me", nil, "Cookie", "__Host-session="+strings.Repeat("A", 43))},
	} {
		expect(t, tc.route, tc.r, 503)
		var lines []map[string]any
		for _, l := range e.logLines() {
			if s, _ := l["err"].(string); strings.Contains(s, cause.Error()) && l["route"] == tc.route {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 || lines[0]["msg"] != "request" || lines[0]["status"] != float64(503) {
			t.Errorf("%s: %d log lines carry the cause, want one request line with status 503: %v", tc.route, len(lines), lines)
		}
	}
	if n := strings.Count(e.logs.String(), cause.Error()); n != 2 {
		t.Errorf("the cause appears %d times in the log; want 2, one for each 503", n)
	}
}

// The access log at the default level (info) has a line for every request
// but the hot read routes' answers below 500 (forward-auth, the current
// user, the health checks), which are at debug; the metrics count those.
func TestAccessLogLevels(t *testing.T) {
	e := newEnv(t, signoff.ModeSession)
	c := e.client()
	c.login(e.newUser())
	c.do("GET", "/api/me", nil)
	c.do("GET", "/verify", nil)
	c.do("GET", "/healthz", nil)
	c.do("POST", "/logout", nil)
	c.do("GET", "/api/me", nil) // 401 after logout
	levels := map[string][]string{}
	for _, l := range e.logLines() {
		if l["msg"] == "request" {
			k := l["route"].(string)
			levels[k] = append(levels[k], fmt.Sprintf("%v %v", l["status"], l["level"]))
		}
	}
	want := map[string][]string{
		"/login":   {"200 INFO"},
		"/logout":  {"200 INFO"},
		"/api/me":  {"200 DEBUG", "401 DEBUG"},
		"/verify":  {"200 DEBUG"},
		"/healthz": {"200 DEBUG"},
	}
	for route, w := range want {
		if fmt.Sprint(levels[route]) != fmt.Sprint(w) {
			t.Errorf("%s: logged %v, want %v", route, levels[route], w)
		}
	}
}
