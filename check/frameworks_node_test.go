//go:build unix

package check

import (
	"crypto/x509"
	"net/http"
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
	cert, key, roots := selfSigned(t)
	return startApp(t, appCommand{
		name:  "express",
		argv:  []string{node, appFile(t, "express", "app.js")},
		env:   []string{"NODE_PATH=" + mods, "NODE_ENV=production", "TLS_CERT=" + cert, "TLS_KEY=" + key},
		ready: "/login",
		roots: roots,
	}), roots
}

// TestExpressLogoutEndsSession proves, without the checker, what the
// Express app's expected file claims for R4: signed in through the form
// and signed out with the page's button, the session cookie captured
// before logout no longer opens /api/me.
func TestExpressLogoutEndsSession(t *testing.T) {
	base, roots := runExpress(t)
	b := newAppBrowser(t, base, roots)
	// A form posted from the site's own page.
	sameOrigin := [][2]string{{"Origin", base}, {"Sec-Fetch-Site", "same-origin"}}

	if res, page := b.get("/login"); res.StatusCode != http.StatusOK || !strings.Contains(page, `action="/login/password"`) {
		t.Fatalf("GET /login → %s, want the sign-in form", res.Status)
	}
	res, _ := b.postForm("/login/password", url.Values{"username": {testUser}, "password": {testPassword}}, sameOrigin...)
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/" {
		t.Fatalf("sign-in → %s to %q, want 302 to /", res.Status, res.Header.Get("Location"))
	}
	old := b.cookie("__Host-sid")
	b.signedIn("/api/me")
	if res, page := b.get("/"); !strings.Contains(page, `<form action="/logout" method="post">`) {
		t.Fatalf("GET / signed in → %s without the sign-out form", res.Status)
	}

	res, _ = b.postForm("/logout", nil, sameOrigin...)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("sign-out → %s, want 302", res.Status)
	}
	if b.value("__Host-sid") != "" {
		t.Error("the browser still holds __Host-sid after sign-out: the deletion did not match")
	}
	if res, _ := b.get("/api/me"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/me after sign-out → %s, want 401", res.Status)
	}
	// R4: the cookie copied before sign-out is dead on the server.
	if res, _ := b.replay("/api/me", "__Host-sid="+old); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the session cookie from before sign-out → %s, want 401", res.Status)
	}
}
