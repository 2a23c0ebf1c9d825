//go:build unix

package check

import (
	"net/http"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/testenv"
)

// The Rails app: Rails 6.1 in one file, sign-in built by hand as the Rails
// guides build it, sessions in Rails' default encrypted cookie store
// (testdata/frameworks/rails/app.rb). It runs on Debian's ruby with
// ruby-rails and ruby-webrick.
func init() {
	addFramework(frameworkApp{
		name:  "rails",
		start: runRails,
		config: func() Config {
			return Config{
				LoginPath: "/login", LoginFormat: "form", UserField: "email",
				Protected: "/account", Logout: "/logout",
				// The page's "Sign out" button (button_to … method:
				// :delete) posts a form whose hidden _method=delete makes
				// Rails route it as DELETE /logout.
				LogoutMethod: "POST",
				Refresh:      Off, LogoutAll: Off, Sessions: Off,
			}
		},
	})
}

// sessionCookieRails is the name Rails gives the app's session cookie:
// _<app name>_session, for the application class Shop.
const sessionCookieRails = "_shop_session"

// runRails starts the Rails app on loopback with the account testUser /
// testPassword, and returns its base URL.
func runRails(t *testing.T) string {
	t.Helper()
	const suite, enable = "Rails framework app", "apt-get install ruby-rails ruby-webrick"
	// Debian's ruby: its packages hold Rails and WEBrick.
	const ruby = "/usr/bin/ruby"
	if !runsBare(ruby, "-e", `require "rails"; require "action_controller/railtie"; require "webrick"`) {
		testenv.Skip(t, suite, enable)
	}
	return startApp(t, appCommand{
		name:  "rails",
		argv:  []string{ruby, appFile(t, "rails", "app.rb")},
		env:   []string{"RAILS_ENV=production"},
		ready: "/login",
	})
}

// TestRailsOldCookieOutlivesLogout proves, without the checker, what the
// Rails app's expected file claims for R4 and R22: signed in through the
// form and signed out with the page's button, the browser gets a new
// (anonymous) session cookie, not a deletion, and the session cookie
// captured before logout still opens /account: the cookie store keeps no
// session on the server to end.
func TestRailsOldCookieOutlivesLogout(t *testing.T) {
	b := newAppBrowser(t, runRails(t), nil)

	res, page := b.get("/login")
	form, ok := formHidden(page, "/login")
	if res.StatusCode != http.StatusOK || !ok || form.Get("authenticity_token") == "" {
		t.Fatalf("GET /login → %s, want the sign-in form with an authenticity_token", res.Status)
	}
	form.Set("email", testUser)
	form.Set("password", testPassword)
	res, _ = b.postForm("/login", form)
	if res.StatusCode != http.StatusFound || !strings.HasSuffix(res.Header.Get("Location"), "/account") {
		t.Fatalf("sign-in → %s to %q, want 302 to /account", res.Status, res.Header.Get("Location"))
	}
	res, page = b.get("/account")
	logout, ok := formHidden(page, "/logout")
	if res.StatusCode != http.StatusOK || !ok || logout.Get("_method") != "delete" || logout.Get("authenticity_token") == "" {
		t.Fatalf("GET /account signed in → %s, want the sign-out button's form (_method=delete, authenticity_token)", res.Status)
	}
	// Every answer that reads the session rewrites the cookie; this is the
	// one the browser holds as the user signs out.
	old := b.cookie(sessionCookieRails)

	res, _ = b.postForm("/logout", logout)
	if res.StatusCode != http.StatusFound || !strings.HasSuffix(res.Header.Get("Location"), "/login") {
		t.Fatalf("sign-out → %s to %q, want 302 to /login", res.Status, res.Header.Get("Location"))
	}
	// R22: reset_session writes a new, empty session, not a deletion.
	var set *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == sessionCookieRails {
			set = ck
		}
	}
	switch {
	case set == nil:
		t.Errorf("sign-out sets no %s", sessionCookieRails)
	case isDeletion(set):
		t.Errorf("sign-out deletes %s; the expected file says it sets a new value", sessionCookieRails)
	case set.Value == old:
		t.Errorf("sign-out sets %s to the value it had", sessionCookieRails)
	}
	if res, _ := b.get("/account"); res.StatusCode != http.StatusFound {
		t.Errorf("GET /account with the browser's cookie after sign-out → %s, want 302 to /login", res.Status)
	}
	// R4: the cookie copied before sign-out still opens the account.
	if res, page := b.replay("/account", sessionCookieRails+"="+old); res.StatusCode != http.StatusOK || !strings.Contains(page, "Signed in as") {
		t.Errorf("the session cookie from before sign-out → %s; the expected file says it still opens /account (200)", res.Status)
	}
}
