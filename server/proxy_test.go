package server_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/servetest"
)

// Issue 12, same-host layout: the configurations of docs/forward-auth.md,
// run by the real nginx and Caddy in front of a real signoff and an app that
// echoes what it was told about the user.

const faDir = "testdata/forward-auth"

// echoApp is the protected app: it answers every request with the path and
// the X-Auth-* headers it received, and remembers whether it was reached.
func echoApp(t *testing.T) (host string, hits func() int) {
	t.Helper()
	n := make(chan struct{}, 1000)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n <- struct{}{}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"path":    r.URL.RequestURI(),
			"user":    strings.Join(r.Header.Values("X-Auth-User"), ","),
			"email":   strings.Join(r.Header.Values("X-Auth-Email"), ","),
			"session": strings.Join(r.Header.Values("X-Auth-Session"), ","),
		})
	}))
	t.Cleanup(app.Close)
	return app.Listener.Addr().String(), func() int { return len(n) }
}

// fill reads a template of faDir and replaces each {{KEY}} of vars.
func fill(t *testing.T, name string, vars map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(faDir, name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		t.Fatalf("%s: placeholder left: %.20s", name, s[i:])
	}
	return s
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startProxy runs name ("nginx" or "caddy") with the documented
// configuration in front of signoff and app, and returns its base URL. The
// process is stopped by its PID when the test ends.
func startProxy(t *testing.T, name, signoffHost, appHost string) string {
	t.Helper()
	bin, pkg := "/usr/sbin/nginx", "nginx-light"
	if name == "caddy" {
		bin, pkg = "caddy", "caddy"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Skipf("%s not found: install it (apt-get install %s) to run the forward-auth proxy tests", bin, pkg)
	}
	dir := t.TempDir()
	listen := servetest.FreeAddr(t)
	vars := map[string]string{"LISTEN": listen, "APP": appHost, "SIGNOFF": signoffHost, "DIR": dir}
	var cmd *exec.Cmd
	if name == "nginx" {
		writeFile(t, filepath.Join(dir, "server.conf"), fill(t, "nginx.conf", vars))
		writeFile(t, filepath.Join(dir, "nginx.conf"), fill(t, "nginx-test.conf", vars))
		cmd = exec.Command(path, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	} else {
		writeFile(t, filepath.Join(dir, "Caddyfile"), fill(t, "Caddyfile", vars))
		writeFile(t, filepath.Join(dir, "Caddyfile-test"), fill(t, "Caddyfile-test", vars))
		cmd = exec.Command(path, "run", "--config", filepath.Join(dir, "Caddyfile-test"), "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	}
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("%s output:\n%s%s", name, out.String(), log)
		}
	})
	// Ready when it accepts a connection; give up after a deadline.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", listen, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("%s exited before it listened: %v\n%s", name, err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 15s\n%s", name, listen, out.String())
		}
	}
	return "http://" + listen
}

// via is an env whose requests go through the proxy at base.
func via(e *env, base string) *env {
	p := *e
	p.URL = base
	return &p
}

// noFollow sends a request with only the headers of hdr, and does not
// follow a redirect.
func (e *env) noFollow(method, path string, body any, hdr ...string) *response {
	e.t.Helper()
	hc := &http.Client{Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e.send(hc, method, path, body, hdr...)
}

// cookieOf returns "name=value" from r's Set-Cookie for name, or "".
func cookieOf(r *response, name string) string {
	l := r.setCookie(name)
	if l == "" {
		return ""
	}
	v, _, _ := strings.Cut(l, ";")
	return v
}

func TestProxyForwardAuthSameHost(t *testing.T) {
	for _, proxy := range []string{"nginx", "caddy"} {
		t.Run(proxy, func(t *testing.T) {
			bothModes(t, func(t *testing.T, mode signoff.Mode) {
				testProxyFlow(t, proxy, mode)
			})
		})
	}
}

func testProxyFlow(t *testing.T, proxy string, mode signoff.Mode) {
	appHost, hits := echoApp(t)
	e := newEnv(t, mode)
	base := startProxy(t, proxy, e.host, appHost)
	p := via(e, base)
	html := []string{"Accept", "text/html,application/xhtml+xml"}

	// (a) A browser without a credential is sent to sign-in, with the
	// address it wanted.
	r := p.noFollow("GET", "/docs/page", nil, html...)
	expect(t, "browser without a credential", r, http.StatusFound)
	loc, err := url.Parse(base + "/")
	if err == nil {
		loc, err = loc.Parse(r.h.Get("Location"))
	}
	if err != nil || loc.Host != strings.TrimPrefix(base, "http://") || loc.Path != "/signin" || loc.Query().Get("rd") != base+"/docs/page" {
		t.Fatalf("Location = %q, want /signin?rd=%s/docs/page on the same host", r.h.Get("Location"), base)
	}
	// The sign-in page it is sent to is signoff's, on the same host.
	r = p.noFollow("GET", loc.RequestURI(), nil, html...)
	expect(t, "sign-in page through the proxy", r, http.StatusOK)
	if !strings.Contains(string(r.body), "/static/app.js") {
		t.Fatalf("the sign-in page is not signoff's: %.200s", r.body)
	}

	// (b) An API client gets 401, never a redirect.
	for _, hdr := range [][]string{
		{"Accept", "application/json"},
		{"Authorization", "Bearer not-a-token", "Accept", "text/html"},
	} {
		r = p.noFollow("GET", "/api/things", nil, hdr...)
		expect(t, "API client "+strings.Join(hdr, " "), r, http.StatusUnauthorized)
		if r.h.Get("Location") != "" {
			t.Fatalf("a 401 with Location %q", r.h.Get("Location"))
		}
		if mode == signoff.ModeJWT && !strings.HasPrefix(r.h.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("the 401 lost signoff's WWW-Authenticate: %q", r.h.Get("WWW-Authenticate"))
		}
	}
	if n := hits(); n != 0 {
		t.Fatalf("the app was reached %d times without a credential", n)
	}

	// (c) Sign in through the proxy; the app is told who the user is,
	// and not what the client claims.
	email := e.newUser()
	body := map[string]string{"email": email, "password": password}
	if mode == signoff.ModeJWT {
		body["client"] = "native"
	}
	r = p.noFollow("POST", "/login", body)
	expect(t, "login through the proxy", r, http.StatusOK)
	var cred []string  // the headers that carry the credential
	var logoutBody any // a native client's refresh token
	if mode == signoff.ModeJWT {
		cred = []string{"Authorization", "Bearer " + r.str(t, "access_token")}
		logoutBody = map[string]string{"refresh_token": r.str(t, "refresh_token")}
	} else {
		c := cookieOf(r, "__Host-session")
		if c == "" {
			t.Fatal("no session cookie from login through the proxy")
		}
		cred = []string{"Cookie", c}
	}
	me := p.noFollow("GET", "/api/me", nil, cred...)
	expect(t, "/api/me through the proxy", me, http.StatusOK)
	r = p.noFollow("GET", "/docs/page", nil, append(append([]string{}, cred...),
		"X-Auth-User", "admin", "X-Auth-Email", "admin@example.test", "X-Auth-Session", "forged")...)
	expect(t, "app with a credential", r, http.StatusOK)
	got := r.json(t)
	var who struct {
		User    struct{ ID, Email string }
		Session struct{ ID string }
	}
	if err := json.Unmarshal(me.body, &who); err != nil || who.User.ID == "" || who.Session.ID == "" {
		t.Fatalf("/api/me: %v %s", err, me.text())
	}
	want := map[string]string{"path": "/docs/page", "user": who.User.ID, "email": email, "session": who.Session.ID}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("the app saw %v, want %v (the client sent X-Auth-User: admin)", got, want)
		}
	}
	before := hits()

	// (d) Logout through the proxy; the very next request with the old
	// credential is refused and never reaches the app.
	r = p.noFollow("POST", "/logout", logoutBody, cred...)
	expect(t, "logout through the proxy", r, http.StatusOK)
	expect(t, "browser with the old credential", p.noFollow("GET", "/docs/page", nil, append(append([]string{}, cred...), html...)...),
		map[bool]int{true: http.StatusUnauthorized, false: http.StatusFound}[mode == signoff.ModeJWT])
	expect(t, "API client with the old credential", p.noFollow("GET", "/api/things", nil, append(append([]string{}, cred...), "Accept", "application/json")...), http.StatusUnauthorized)
	if n := hits(); n != before {
		t.Fatalf("the app was reached %d times after logout", n-before)
	}
}

// docs/forward-auth.md shows the configurations the tests run, byte for
// byte.
func TestForwardAuthDocsMatchTestdata(t *testing.T) {
	doc, err := os.ReadFile("../docs/forward-auth.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, fence := range map[string]string{"nginx.conf": "```nginx\n", "Caddyfile": "```caddyfile\n"} {
		b, err := os.ReadFile(filepath.Join(faDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), fence+string(b)+"```\n") {
			t.Errorf("docs/forward-auth.md does not show %s/%s byte for byte in a %q block", faDir, name, strings.TrimSpace(fence))
		}
	}
}
