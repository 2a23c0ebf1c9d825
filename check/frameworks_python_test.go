//go:build linux

package check

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signoff/signoff/internal/testenv"
)

// The Python framework apps: Django, Flask-Login and FastAPI, each in
// testdata/frameworks/<name>/, run with Debian's Python and its packages.
// Linux only, like Debian's packages: the apps run in their own process
// group, killed whole when the test ends.

// debianPython is Debian's Python 3, which has the framework packages; a
// python3 earlier on PATH (a pyenv build, a virtualenv) may not.
const debianPython = "/usr/bin/python3"

// pyPatience bounds an app's start: Django migrates a fresh SQLite file
// first, on a machine that may be busy.
const pyPatience = time.Minute

// pythonApps are this file's apps: how to start each, and the Config a
// user would pass for it (form sign-ins carry no CSRF token by hand: the
// checker is to find it on the page).
var pythonApps = []frameworkApp{
	{
		name: "django",
		start: func(t *testing.T) string {
			return startPython(t, "django", "serve.py", "django", "python3-django", "/accounts/login/")
		},
		config: func() Config {
			return Config{
				LoginPath: "/accounts/login/", LoginFormat: "form", UserField: "username",
				Protected: "/account/", Logout: "/accounts/logout/",
				Refresh: Off, LogoutAll: Off, Sessions: Off,
			}
		},
	},
	{
		name: "flask",
		start: func(t *testing.T) string {
			return startPython(t, "flask", "app.py", "flask_login", "python3-flask-login", "/login")
		},
		config: func() Config {
			return Config{
				LoginPath: "/login", LoginFormat: "form",
				Protected: "/protected", Logout: "/logout", LogoutMethod: http.MethodGet,
				Refresh: Off, LogoutAll: Off, Sessions: Off,
			}
		},
	},
	{
		name: "fastapi",
		start: func(t *testing.T) string {
			return startPython(t, "fastapi", "app.py", "fastapi, uvicorn, jwt", "python3-fastapi python3-uvicorn python3-jwt", "/api/me")
		},
		config: func() Config {
			return Config{Refresh: Off, LogoutAll: Off, Sessions: Off}
		},
	},
}

func init() {
	for _, a := range pythonApps {
		addFramework(a)
	}
}

// startPython runs script of testdata/frameworks/<name>/ with Debian's
// Python, which must be able to import modules (else t skips, naming the
// Debian packages pkgs). The account testUser / testPassword reaches the
// app in its environment, as APP_USER and APP_PASSWORD, and APP_DATA is a
// directory for its files. The app prints the loopback port it listens on;
// startPython returns the base URL once a GET of ready answers, and kills
// the app's process group when t ends.
func startPython(t *testing.T, name, script, modules, pkgs, ready string) string {
	t.Helper()
	if err := exec.Command(debianPython, "-s", "-c", "import "+modules).Run(); err != nil {
		testenv.Skip(t, "the "+name+" fixture app", "apt-get install "+pkgs+" (for "+debianPython+")")
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "frameworks", name))
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir() // before the Cleanup below, so removed after the kill
	stderr, err := os.Create(filepath.Join(data, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	// -s: no user site-packages; -B: no __pycache__ in testdata. A bare
	// environment keeps a PYTHONPATH or PYTHONHOME meant for another
	// Python away from Debian's.
	cmd := exec.Command(debianPython, "-s", "-B", filepath.Join(dir, script))
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "APP_DATA=" + data, "APP_USER=" + testUser, "APP_PASSWORD=" + testPassword}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the %s app: %v", name, err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		// The group is the app's own (Setpgid): the app and whatever it
		// started, nothing else.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	ports := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			ports <- strings.TrimSpace(sc.Text())
		}
		io.Copy(io.Discard, stdout) // keep draining until it exits
		cmd.Wait()
		close(exited)
	}()
	// Only a failed start shows the app's stderr: no credential has been
	// sent yet, and afterwards a traceback could quote one.
	failed := func(format string, a ...any) {
		t.Helper()
		log, _ := os.ReadFile(stderr.Name())
		t.Fatalf("the %s app %s; its stderr:\n%s", name, fmt.Sprintf(format, a...), log)
	}
	deadline := time.After(pyPatience)
	var port string
	select {
	case port = <-ports:
	case <-exited:
		failed("exited before it listened")
	case <-deadline:
		failed("did not say its port within %v", pyPatience)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		failed("printed %q, not a port", port)
	}
	base := "http://127.0.0.1:" + port
	c := pyClient(nil)
	for {
		res, err := c.Get(base + ready)
		if err == nil {
			res.Body.Close()
			return base
		}
		select {
		case <-exited:
			failed("exited: %v", err)
		case <-deadline:
			failed("did not answer GET %s within %v: %v", ready, pyPatience, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pyClient is a client that never follows a redirect, so each answer is
// seen as the app sent it, with jar (nil for none).
func pyClient(jar http.CookieJar) *http.Client {
	return &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// pyBrowser is a browser in miniature: a cookie jar, no redirects.
type pyBrowser struct {
	t    *testing.T
	base string
	jar  *cookiejar.Jar
	c    *http.Client
}

func newPyBrowser(t *testing.T, base string) *pyBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &pyBrowser{t: t, base: base, jar: jar, c: pyClient(jar)}
}

// do sends a request with the jar's cookies and header h; it returns the
// answer, its body read.
func (b *pyBrowser) do(method, path, ctype string, body []byte, h ...[2]string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, bytes.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for _, kv := range h {
		req.Header.Set(kv[0], kv[1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	return res, string(got)
}

func (b *pyBrowser) get(path string) (*http.Response, string) {
	b.t.Helper()
	return b.do(http.MethodGet, path, "", nil)
}

func (b *pyBrowser) postForm(path string, v url.Values, h ...[2]string) (*http.Response, string) {
	b.t.Helper()
	return b.do(http.MethodPost, path, "application/x-www-form-urlencoded", []byte(v.Encode()), h...)
}

// cookie is the jar's value of the cookie name, which must be there.
func (b *pyBrowser) cookie(name string) string {
	b.t.Helper()
	u, _ := url.Parse(b.base)
	for _, ck := range b.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	b.t.Fatalf("the browser holds no cookie %s", name)
	return ""
}

// pyReplay asks for path with only the raw Cookie header: an old cookie
// copied out of a browser, as an attacker who kept it would send it.
func pyReplay(t *testing.T, base, path, cookie string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", cookie)
	res, err := pyClient(nil).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	return res, string(got)
}

// pyDuplicates sends the good session cookie next to a junk one of the
// same name, in both orders (R23), and returns both statuses.
func pyDuplicates(t *testing.T, base, path, name, good string) (goodFirst, junkFirst int) {
	t.Helper()
	junk := randomValue()
	a, _ := pyReplay(t, base, path, name+"="+good+"; "+name+"="+junk)
	b, _ := pyReplay(t, base, path, name+"="+junk+"; "+name+"="+good)
	return a.StatusCode, b.StatusCode
}

// hiddenInput finds the value of the hidden input name in a page.
func hiddenInput(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`<input type="hidden" name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no hidden input %s in the page", name)
	}
	return m[1]
}

// deletes reports whether res deletes the cookie name: an empty value and
// Max-Age=0.
func deletes(res *http.Response, name string) bool {
	for _, ck := range res.Cookies() {
		if ck.Name == name && ck.Value == "" && ck.MaxAge < 0 {
			return true
		}
	}
	return false
}

// TestFrameworkPythonBehaviour drives each Python app with plain net/http
// the way its own pages do (a form sign-in with the CSRF token from the
// page, or a JSON one; the protected page; the app's sign-out), then
// replays the session cookie it held before sign-out. It is the evidence,
// independent of the checker, for R4 in each app's expected file, and for
// the findings there that follow from how the framework reads cookies
// (R23) or what it puts in them (R20).
func TestFrameworkPythonBehaviour(t *testing.T) {
	apps := map[string]frameworkApp{}
	for _, a := range pythonApps {
		apps[a.name] = a
	}

	t.Run("django", func(t *testing.T) {
		t.Parallel()
		base := apps["django"].start(t)
		const session = "__Host-sessionid"
		b := newPyBrowser(t, base)
		_, page := b.get("/accounts/login/")
		res, _ := b.postForm("/accounts/login/", url.Values{
			"username": {testUser}, "password": {testPassword}, "next": {""},
			"csrfmiddlewaretoken": {hiddenInput(t, page, "csrfmiddlewaretoken")},
		})
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/account/" {
			t.Fatalf("sign-in → %d to %q, want 302 to /account/", res.StatusCode, res.Header.Get("Location"))
		}
		old := b.cookie(session)
		res, page = b.get("/account/")
		if res.StatusCode != http.StatusOK || !strings.Contains(page, testUser) {
			t.Fatalf("/account/ after sign-in → %d, want 200 with the user's name", res.StatusCode)
		}

		// R27: a GET of the logout path is refused and ends nothing.
		if res, _ := b.get("/accounts/logout/"); res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
			t.Errorf("GET /accounts/logout/ → %d (Allow %q), want 405 (Allow POST)", res.StatusCode, res.Header.Get("Allow"))
		}
		// R28: a cross-site POST has the cookies but not the page's token.
		if res, _ := b.postForm("/accounts/logout/", nil, [2]string{"Origin", evilOrigin}, [2]string{"Sec-Fetch-Site", "cross-site"}); res.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST /accounts/logout/ → %d, want 403", res.StatusCode)
		}
		if res, _ := b.get("/account/"); res.StatusCode != http.StatusOK {
			t.Fatalf("/account/ after the GET and the cross-site POST → %d, want 200: they ended the session", res.StatusCode)
		}
		// R23: the app's middleware signs out a request with two session
		// cookies, whatever their order.
		if a, z := pyDuplicates(t, base, "/account/", session, old); a != http.StatusFound || z != http.StatusFound {
			t.Errorf("duplicate %s: good first → %d, junk first → %d; want 302 both ways", session, a, z)
		}
		// R1: signing in again over the live session mints a new key,
		// and the old one dies.
		_, login := b.get("/accounts/login/")
		res, _ = b.postForm("/accounts/login/", url.Values{
			"username": {testUser}, "password": {testPassword}, "next": {""},
			"csrfmiddlewaretoken": {hiddenInput(t, login, "csrfmiddlewaretoken")},
		})
		if renewed := b.cookie(session); res.StatusCode != http.StatusFound || renewed == old {
			t.Errorf("sign-in over the live session → %d, new key %v; want 302 and a new key", res.StatusCode, renewed != old)
		}
		if res, _ := pyReplay(t, base, "/account/", session+"="+old); res.StatusCode != http.StatusFound {
			t.Errorf("the key from before the second sign-in → %d, want 302", res.StatusCode)
		}
		old = b.cookie(session)
		_, page = b.get("/account/")

		// Sign out with the page's form.
		res, _ = b.postForm("/accounts/logout/", url.Values{"csrfmiddlewaretoken": {hiddenInput(t, page, "csrfmiddlewaretoken")}})
		if res.StatusCode != http.StatusFound || !deletes(res, session) {
			t.Fatalf("POST /accounts/logout/ → %d, deletes %s %v; want 302 and the deletion", res.StatusCode, session, deletes(res, session))
		}
		// R4: the old cookie is refused: the session row is gone.
		res, _ = pyReplay(t, base, "/account/", session+"="+old)
		if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "/accounts/login/") {
			t.Errorf("the old %s after logout → %d to %q, want 302 to /accounts/login/", session, res.StatusCode, res.Header.Get("Location"))
		}
	})

	t.Run("flask", func(t *testing.T) {
		t.Parallel()
		base := apps["flask"].start(t)
		b := newPyBrowser(t, base)
		if res, page := b.get("/login"); res.StatusCode != http.StatusOK || !strings.Contains(page, "name='email'") {
			t.Fatalf("GET /login → %d, want 200 and the form", res.StatusCode)
		}
		res, _ := b.postForm("/login", url.Values{"email": {testUser}, "password": {testPassword}})
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/protected" {
			t.Fatalf("sign-in → %d to %q, want 302 to /protected", res.StatusCode, res.Header.Get("Location"))
		}
		old := b.cookie("session")
		if res, page := b.get("/protected"); res.StatusCode != http.StatusOK || !strings.Contains(page, testUser) {
			t.Fatalf("/protected after sign-in → %d, want 200 with the user's name", res.StatusCode)
		}

		// R20: the cookie is signed, not encrypted: it reads as the user.
		if id := flaskUserID(t, old); id != testUser {
			t.Errorf("the session cookie's _user_id is %d bytes, not the email: expected's R20 is wrong", len(id))
		}
		// R23: Werkzeug's request.cookies.get returns the first of two.
		if a, z := pyDuplicates(t, base, "/protected", "session", old); a != http.StatusOK || z != http.StatusUnauthorized {
			t.Errorf("duplicate session: good first → %d, junk first → %d; expected lists R23 FAIL for 200 and 401", a, z)
		}

		// Sign out with the page's link, a GET (R27).
		res, _ = b.get("/logout")
		if res.StatusCode != http.StatusFound || !deletes(res, "session") {
			t.Fatalf("GET /logout → %d, deletes session %v; want 302 and the deletion", res.StatusCode, deletes(res, "session"))
		}
		if res, _ := b.get("/protected"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/protected in the signed-out browser → %d, want 401", res.StatusCode)
		}
		// R4: the old cookie still signs in; the server never knew it.
		if res, page := pyReplay(t, base, "/protected", "session="+old); res.StatusCode != http.StatusOK || !strings.Contains(page, testUser) {
			t.Errorf("the old session cookie after logout → %d; expected's R4 FAIL says 200 as the user", res.StatusCode)
		}
		// R36: a garbage cookie cannot sign out: @login_required answers 401.
		res, _ = pyReplay(t, base, "/logout", "session="+randomValue())
		if res.StatusCode != http.StatusUnauthorized || deletes(res, "session") {
			t.Errorf("GET /logout with a garbage cookie → %d, deletes %v; expected's R36 FAIL says 401, no deletion", res.StatusCode, deletes(res, "session"))
		}
	})

	t.Run("fastapi", func(t *testing.T) {
		t.Parallel()
		base := apps["fastapi"].start(t)
		b := newPyBrowser(t, base)
		body, _ := json.Marshal(map[string]string{"email": testUser, "password": testPassword})
		if res, _ := b.do(http.MethodPost, "/login", "application/json", body); res.StatusCode != http.StatusOK {
			t.Fatalf("sign-in → %d, want 200", res.StatusCode)
		}
		old := b.cookie("access_token")
		if res, page := b.get("/api/me"); res.StatusCode != http.StatusOK || !strings.Contains(page, testUser) {
			t.Fatalf("/api/me after sign-in → %d, want 200 with the user's email", res.StatusCode)
		}

		// R20: the cookie is a JWT whose sub is the email.
		if sub := jwtSub(t, old); sub != testUser {
			t.Errorf("the access_token cookie's sub is %d bytes, not the email: expected's R20 is wrong", len(sub))
		}
		// R23: Starlette's cookie_parser keeps the last of two names.
		if a, z := pyDuplicates(t, base, "/api/me", "access_token", old); a != http.StatusUnauthorized || z != http.StatusOK {
			t.Errorf("duplicate access_token: good first → %d, junk first → %d; expected lists R23 FAIL for 401 and 200", a, z)
		}
		// R28, R29: a cross-site POST to /logout is carried out, with
		// Sec-Fetch-Site or only a foreign Origin: it answers 200 and
		// deletes the cookie, which signs the browser out. It needs no
		// cookie (a browser sends none: SameSite=Lax), so it is sent from
		// an empty jar.
		for _, h := range [][][2]string{{{"Origin", evilOrigin}, {"Sec-Fetch-Site", "cross-site"}}, {{"Origin", evilOrigin}}} {
			res, _ := newPyBrowser(t, base).do(http.MethodPost, "/logout", "", nil, h...)
			if res.StatusCode != http.StatusOK || !deletes(res, "access_token") {
				t.Errorf("POST /logout with %v → %d, deletes %v; expected's R28 and R29 FAIL say 200 and the deletion", h, res.StatusCode, deletes(res, "access_token"))
			}
		}

		// Sign out as the page's script would, POST /logout.
		if res, _ := b.do(http.MethodPost, "/logout", "", nil); res.StatusCode != http.StatusOK || !deletes(res, "access_token") {
			t.Fatalf("POST /logout → %d, deletes access_token %v; want 200 and the deletion", res.StatusCode, deletes(res, "access_token"))
		}
		if res, _ := b.get("/api/me"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/api/me in the signed-out browser → %d, want 401", res.StatusCode)
		}
		// R4: the old token still opens /api/me until its exp.
		if res, page := pyReplay(t, base, "/api/me", "access_token="+old); res.StatusCode != http.StatusOK || !strings.Contains(page, testUser) {
			t.Errorf("the old access_token after logout → %d; expected's R4 FAIL says 200 as the user", res.StatusCode)
		}
	})
}

// jwtSub reads the sub claim of a JWT, without checking its signature.
func jwtSub(t *testing.T, v string) string {
	t.Helper()
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		t.Fatalf("the cookie is not a JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("the JWT's claims are not base64url: %v", err)
	}
	var c struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("the JWT's claims are not JSON: %v", err)
	}
	return c.Sub
}

// flaskUserID reads _user_id out of a Flask session cookie: itsdangerous's
// payload.timestamp.signature, the payload base64url JSON, zlib-compressed
// when it starts with a dot.
func flaskUserID(t *testing.T, v string) string {
	t.Helper()
	compressed := strings.HasPrefix(v, ".")
	payload, _, _ := strings.Cut(strings.TrimPrefix(v, "."), ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatalf("the session cookie's payload is not base64url: %v", err)
	}
	if compressed {
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("the session cookie's payload is not zlib: %v", err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			t.Fatalf("the session cookie's payload is not zlib: %v", err)
		}
	}
	var s struct {
		UserID string `json:"_user_id"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("the session cookie's payload is not JSON: %v", err)
	}
	return s.UserID
}
