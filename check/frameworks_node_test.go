//go:build unix

package check

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/testenv"
)

// The Express app: Express 4, express-session and Passport's
// passport-local, built as Passport's tutorial builds it and configured
// with care (testdata/frameworks/express/app.js). Its npm packages come
// from SIGNOFF_TEST_NODE_MODULES.
func init() {
	addFramework(frameworkApp{
		name:  "express",
		start: func(t *testing.T) string { base, _ := runExpress(t); return base },
		config: func() Config {
			return Config{
				LoginPath: "/login/password", LoginFormat: "form", UserField: "username",
				Protected: "/api/me", Logout: "/logout", LogoutMethod: "POST",
				Refresh: Off, LogoutAll: Off, Sessions: Off,
				// It serves HTTPS (a Secure cookie needs it) with a
				// certificate of the test's own.
				Insecure: true,
			}
		},
	})
}

// expressPackages are the npm packages the Express app needs, by major
// version (passport 0.6 and later regenerate the session at sign-in and
// sign-out).
const expressPackages = "express@4 express-session@1 passport@0.7 passport-local@1"

// runExpress starts the Express app on loopback over HTTPS with the account
// testUser / testPassword, and returns its base URL and a pool that trusts
// its certificate.
func runExpress(t *testing.T) (string, *x509.CertPool) {
	t.Helper()
	const suite = "Express framework app"
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Skip(t, suite, "apt-get install nodejs")
	}
	mods := os.Getenv("SIGNOFF_TEST_NODE_MODULES")
	if mods == "" {
		testenv.Skip(t, suite, "set SIGNOFF_TEST_NODE_MODULES to a node_modules directory holding "+expressPackages+
			" (npm install --no-audit --no-fund "+expressPackages+")")
	}
	for _, p := range strings.Fields(expressPackages) {
		p = p[:strings.LastIndexByte(p, '@')]
		if _, err := os.Stat(filepath.Join(mods, p, "package.json")); err != nil {
			t.Fatalf("SIGNOFF_TEST_NODE_MODULES holds no %s: %v", p, err)
		}
	}
	app, err := filepath.Abs(filepath.Join("testdata", "frameworks", "express", "app.js"))
	if err != nil {
		t.Fatal(err)
	}
	cert, key, pool := selfSigned(t)
	cmd := exec.Command(node, app)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods, "NODE_ENV=production",
		"APP_USER="+testUser, "APP_PASSWORD="+testPassword, "TLS_CERT="+cert, "TLS_KEY="+key)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return startAppProcess(t, "express", cmd, hc, "/login"), pool
}

// TestExpressLogoutEndsSession proves, without the checker, what the
// Express app's expected file claims for R4: signed in through the form
// and signed out with the page's button, the session cookie captured
// before logout no longer opens /api/me.
func TestExpressLogoutEndsSession(t *testing.T) {
	base, pool := runExpress(t)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	browser := &http.Client{Jar: jar, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(hc *http.Client, method, path string, form url.Values, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		if method == http.MethodPost {
			// A form posted from the site's own page.
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(body)
	}
	u, _ := url.Parse(base)
	session := func() string {
		for _, ck := range jar.Cookies(u) {
			if ck.Name == "__Host-sid" {
				return ck.Value
			}
		}
		return ""
	}

	if res, page := do(browser, http.MethodGet, "/login", nil); res.StatusCode != http.StatusOK || !strings.Contains(page, `action="/login/password"`) {
		t.Fatalf("GET /login → %s, want the sign-in form", res.Status)
	}
	res, _ := do(browser, http.MethodPost, "/login/password", url.Values{"username": {testUser}, "password": {testPassword}})
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/" {
		t.Fatalf("sign-in → %s to %q, want 302 to /", res.Status, res.Header.Get("Location"))
	}
	old := session()
	if old == "" {
		t.Fatal("sign-in set no __Host-sid")
	}
	if res, body := do(browser, http.MethodGet, "/api/me", nil); res.StatusCode != http.StatusOK || !strings.Contains(body, testUser) {
		t.Fatalf("GET /api/me signed in → %s, want 200 naming the user", res.Status)
	}
	if res, page := do(browser, http.MethodGet, "/", nil); !strings.Contains(page, `<form action="/logout" method="post">`) {
		t.Fatalf("GET / signed in → %s without the sign-out form", res.Status)
	}

	res, _ = do(browser, http.MethodPost, "/logout", nil)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("sign-out → %s, want 302", res.Status)
	}
	if session() != "" {
		t.Error("the browser still holds __Host-sid after sign-out: the deletion did not match")
	}
	if res, _ := do(browser, http.MethodGet, "/api/me", nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/me after sign-out → %s, want 401", res.Status)
	}
	// R4: the cookie copied before sign-out is dead on the server.
	replay := &http.Client{Transport: tr}
	if res, _ := do(replay, http.MethodGet, "/api/me", nil, "Cookie", "__Host-sid="+old); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the session cookie from before sign-out → %s, want 401", res.Status)
	}
}
