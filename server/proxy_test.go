package server_test

import (
	"encoding/json"
	"maps"
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
	"github.com/signoff/signoff/internal/testenv"
	"github.com/signoff/signoff/server"
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

// startProxy runs name ("nginx" or "caddy") with the documented same-host
// configuration in front of signoff and app, and returns its base URL.
func startProxy(t *testing.T, name, signoffHost, appHost string) string {
	t.Helper()
	listen := servetest.FreeAddr(t)
	runProxy(t, name, sameHost.files, map[string]string{"LISTEN": listen, "APP": appHost, "SIGNOFF": signoffHost})
	return "http://" + listen
}

// runProxy runs name ("nginx" or "caddy") with its configuration of files
// filled with vars, on vars["LISTEN"]. The process is stopped by its PID
// when the test ends.
func runProxy(t *testing.T, name string, files map[string]string, vars map[string]string) {
	t.Helper()
	bin, pkg := "/usr/sbin/nginx", "nginx-light"
	if name == "caddy" {
		bin, pkg = "caddy", "caddy"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		testenv.Skip(t, "forward-auth tests with "+name, "apt-get install "+pkg)
	}
	dir := t.TempDir()
	listen := vars["LISTEN"]
	vars = maps.Clone(vars)
	vars["DIR"] = dir
	var cmd *exec.Cmd
	if name == "nginx" {
		writeFile(t, filepath.Join(dir, "server.conf"), fill(t, files[name], vars))
		writeFile(t, filepath.Join(dir, "nginx.conf"), fill(t, "nginx-test.conf", vars))
		cmd = exec.Command(path, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	} else {
		writeFile(t, filepath.Join(dir, "Caddyfile"), fill(t, files[name], vars))
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
			return
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

// layout is one way of putting signoff beside the app behind a proxy.
type layout struct {
	name  string
	files map[string]string // proxy → its configuration in faDir
	// domain is --cookie-domain: "" for host-only __Host- cookies.
	domain string
	// app and auth are the hosts of the app and of signoff's sign-in page
	// for a proxy listening on listen; signin is the page's path.
	app, auth func(listen string) string
	signin    string
}

var (
	sameHost = layout{
		name:  "same-host",
		files: map[string]string{"nginx": "nginx.conf", "caddy": "Caddyfile"},
		app:   func(l string) string { return l }, auth: func(l string) string { return l },
		signin: "/signin",
	}
	// subdomains models auth.example.test and app.example.test on loopback
	// with Host headers: the proxy tells the two sites apart by name.
	subdomains = layout{
		name:   "subdomains",
		files:  map[string]string{"nginx": "nginx-subdomain.conf", "caddy": "Caddyfile-subdomain"},
		domain: "example.test",
		app:    func(l string) string { return "app.example.test:" + portOf(l) },
		auth:   func(l string) string { return "auth.example.test:" + portOf(l) },
		signin: "/",
	}
)

func portOf(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	return p
}

// cookie is the name of the browser's credential cookie in mode.
func (l layout) cookie(mode signoff.Mode) string {
	if l.domain != "" {
		return strings.Replace(credName(mode), "__Host-", "__Secure-", 1)
	}
	return credName(mode)
}

func TestProxyForwardAuth(t *testing.T) {
	for _, l := range []layout{sameHost, subdomains} {
		t.Run(l.name, func(t *testing.T) {
			for _, proxy := range []string{"nginx", "caddy"} {
				t.Run(proxy, func(t *testing.T) {
					bothModes(t, func(t *testing.T, mode signoff.Mode) {
						testProxyFlow(t, proxy, l, mode)
					})
				})
			}
		})
	}
}

func testProxyFlow(t *testing.T, proxy string, l layout, mode signoff.Mode) {
	appUpstream, hits := echoApp(t)
	listen := servetest.FreeAddr(t)
	appHost, authHost := l.app(listen), l.auth(listen)
	appOrigin, authOrigin := "http://"+appHost, "http://"+authHost
	e := newEnv(t, mode, func(c *server.Config) {
		c.CookieDomain = l.domain
		c.ReturnTo = []string{appOrigin}
		if l.signin == "/" {
			c.SigninURL = authOrigin + "/"
		}
	})
	runProxy(t, proxy, l.files, map[string]string{
		"LISTEN": listen, "APP": appUpstream, "SIGNOFF": e.host,
		"APP_HOST": strings.TrimSuffix(appHost, ":"+portOf(listen)), "AUTH_HOST": strings.TrimSuffix(authHost, ":"+portOf(listen)),
		"APP_ORIGIN": appOrigin, "AUTH_ORIGIN": authOrigin,
	})
	p := via(e, "http://"+listen)
	// Requests to the app, and to signoff's routes, by host name.
	app := func(hdr ...string) []string { return append([]string{"Host", appHost}, hdr...) }
	auth := func(hdr ...string) []string { return append([]string{"Host", authHost}, hdr...) }
	html := []string{"Accept", "text/html,application/xhtml+xml"}
	// The address a browser asked for, query and all: rd carries it whole.
	const page = "/docs/page?x=1&y=a+b"
	want := appOrigin + page
	// sentToSignIn checks that r sends the browser to signoff's sign-in
	// page with the address it wanted, and returns the page's address.
	sentToSignIn := func(what string, r *response) *url.URL {
		t.Helper()
		expect(t, what, r, http.StatusFound)
		loc, err := url.Parse(appOrigin + "/")
		if err == nil {
			loc, err = loc.Parse(r.h.Get("Location"))
		}
		if err != nil || loc.Scheme+"://"+loc.Host != authOrigin || loc.Path != l.signin || loc.Query().Get("rd") != want {
			t.Fatalf("%s: Location = %q, want %s%s?rd=%s", what, r.h.Get("Location"), authOrigin, l.signin, want)
		}
		return loc
	}

	// (a) A browser without a credential is sent to sign-in, with the
	// address it wanted.
	loc := sentToSignIn("browser without a credential", p.noFollow("GET", page, nil, app(html...)...))
	// The sign-in page it is sent to is signoff's, and after sign-in it may
	// send the browser back there (R32).
	r := p.noFollow("GET", loc.RequestURI(), nil, auth(html...)...)
	expect(t, "sign-in page through the proxy", r, http.StatusOK)
	if !strings.Contains(string(r.body), "/static/app.js") {
		t.Fatalf("the sign-in page is not signoff's: %.200s", r.body)
	}
	r = p.noFollow("GET", "/return?rd="+url.QueryEscape(want), nil, auth()...)
	if expect(t, "/return through the proxy", r, http.StatusOK); r.str(t, "return") != want {
		t.Fatalf("/return?rd=%s: %s, want it allowed (--return-to %s)", want, r.text(), appOrigin)
	}

	// (b) An API client gets 401, never a redirect.
	for _, hdr := range [][]string{
		{"Accept", "application/json"},
		{"Authorization", "Bearer not-a-token", "Accept", "text/html"},
	} {
		r = p.noFollow("GET", "/api/things", nil, app(hdr...)...)
		expect(t, "API client "+strings.Join(hdr, " "), r, http.StatusUnauthorized)
		if r.h.Get("Location") != "" {
			t.Fatalf("a 401 with Location %q", r.h.Get("Location"))
		}
		if mode == signoff.ModeJWT && !strings.HasPrefix(r.h.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("the 401 lost signoff's WWW-Authenticate: %q", r.h.Get("WWW-Authenticate"))
		}
	}
	if l.domain != "" {
		// /verify is the proxy's and /metrics Prometheus's, not the browser's.
		expect(t, "/verify on signoff's host", p.noFollow("GET", "/verify", nil, auth()...), http.StatusNotFound)
		expect(t, "/metrics on signoff's host", p.noFollow("GET", "/metrics", nil, auth()...), http.StatusNotFound)
	}
	if n := hits(); n != 0 {
		t.Fatalf("the app was reached %d times without a credential", n)
	}

	// (c) Sign in through the proxy, on signoff's host; the app is told who
	// the user is, and not what the client claims.
	email := e.newUser()
	body := map[string]string{"email": email, "password": password}
	if mode == signoff.ModeJWT {
		body["client"] = "native"
	}
	r = p.noFollow("POST", "/login", body, auth("Origin", authOrigin)...)
	expect(t, "login through the proxy", r, http.StatusOK)
	var cred []string  // the headers that carry the credential
	var logoutBody any // a native client's refresh token
	if mode == signoff.ModeJWT {
		cred = []string{"Authorization", "Bearer " + r.str(t, "access_token")}
		logoutBody = map[string]string{"refresh_token": r.str(t, "refresh_token")}
	} else {
		name := l.cookie(mode)
		c := cookieOf(r, name)
		if c == "" {
			t.Fatalf("no %s cookie from login through the proxy", name)
		}
		if l.domain != "" && !strings.Contains(r.setCookie(name), "; Domain="+l.domain) {
			t.Fatalf("the session cookie does not reach the app's host: %q", cookieAttrs(r.setCookie(name)))
		}
		cred = []string{"Cookie", c}
	}
	me := p.noFollow("GET", "/api/me", nil, auth(cred...)...)
	expect(t, "/api/me through the proxy", me, http.StatusOK)
	r = p.noFollow("GET", page, nil, app(append(append([]string{}, cred...),
		"X-Auth-User", "admin", "X-Auth-Email", "admin@example.test", "X-Auth-Session", "forged")...)...)
	expect(t, "app with a credential", r, http.StatusOK)
	got := r.json(t)
	var who struct {
		User    struct{ ID, Email string }
		Session struct{ ID string }
	}
	if err := json.Unmarshal(me.body, &who); err != nil || who.User.ID == "" || who.Session.ID == "" {
		t.Fatalf("/api/me: %v %s", err, me.text())
	}
	saw := map[string]string{"path": page, "user": who.User.ID, "email": email, "session": who.Session.ID}
	for k, v := range saw {
		if got[k] != v {
			t.Fatalf("the app saw %v, want %v (the client sent X-Auth-User: admin)", got, saw)
		}
	}
	before := hits()
	if l.domain != "" && mode == signoff.ModeSession {
		// What a shared cookie costs: any host under the domain can set one
		// of the same name. Beside the real one it makes the credential
		// ambiguous, and the request is refused (R23), not guessed at.
		planted := l.cookie(mode) + "=planted-by-a-sibling-host"
		sentToSignIn("the session cookie and a sibling's", p.noFollow("GET", page, nil, app("Cookie", cred[1]+"; "+planted, html[0], html[1])...))
		sentToSignIn("a sibling's and the session cookie", p.noFollow("GET", page, nil, app("Cookie", planted+"; "+cred[1], html[0], html[1])...))
		if n := hits(); n != before {
			t.Fatalf("the app was reached with two session cookies")
		}
	}

	if mode == signoff.ModeSession {
		// The cookie is ambient: an unsafe request from another origin,
		// a sibling host's included, is refused before the app sees it
		// (I3, R28); the app's own pages may post.
		for _, c := range []struct {
			hdr  []string
			want int
		}{
			{[]string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
			{[]string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
			{[]string{"Origin", "http://evil.test"}, http.StatusForbidden},
			{[]string{"Origin", authOrigin + ".evil.test"}, http.StatusForbidden},
			{[]string{"Sec-Fetch-Site", "same-origin"}, http.StatusOK},
			{[]string{"Origin", appOrigin}, http.StatusOK},
		} {
			n := hits()
			r := p.noFollow("POST", "/docs/form", "x=1", app(append(append([]string{}, cred...), c.hdr...)...)...)
			expect(t, "POST to the app with "+strings.Join(c.hdr, ": "), r, c.want)
			if reached := hits() > n; reached != (c.want == http.StatusOK) {
				t.Fatalf("POST with %v: the app reached: %v", c.hdr, reached)
			}
		}
		before = hits()
	}

	// (d) Logout through the proxy; the very next request with the old
	// credential is refused and never reaches the app.
	r = p.noFollow("POST", "/logout", logoutBody, auth(append(append([]string{}, cred...), "Origin", authOrigin)...)...)
	expect(t, "logout through the proxy", r, http.StatusOK)
	oldBrowser := p.noFollow("GET", page, nil, app(append(append([]string{}, cred...), html...)...)...)
	if mode == signoff.ModeJWT {
		expect(t, "browser with the old bearer token", oldBrowser, http.StatusUnauthorized)
	} else {
		sentToSignIn("browser with the old cookie", oldBrowser)
	}
	expect(t, "API client with the old credential", p.noFollow("GET", "/api/things", nil, app(append(append([]string{}, cred...), "Accept", "application/json")...)...), http.StatusUnauthorized)
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
	for name, fence := range map[string]string{
		"nginx.conf": "```nginx\n", "Caddyfile": "```caddyfile\n",
		"nginx-subdomain.conf": "```nginx\n", "Caddyfile-subdomain": "```caddyfile\n",
	} {
		b, err := os.ReadFile(filepath.Join(faDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), fence+string(b)+"```\n") {
			t.Errorf("docs/forward-auth.md does not show %s/%s byte for byte in a %q block", faDir, name, strings.TrimSpace(fence))
		}
	}
}
