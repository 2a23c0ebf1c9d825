package check

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/signoff/signoff"
)

// Config says how to sign in to the site under test and where its logout
// endpoints are. The zero value of every field but Target, User and Password
// is a default that matches `signoff serve`.
type Config struct {
	// Target is the site's base URL, https://staging.example.com. Paths
	// below are resolved against it.
	Target string
	// Second is the base URL of another instance of the same site, for R51
	// (logout on one instance is seen on the other). Empty skips R51.
	Second string

	// LoginMethod and LoginPath say where to sign in; default POST /login.
	LoginMethod, LoginPath string
	// LoginFormat is "json" (default) or "form" (URL-encoded).
	LoginFormat string
	// UserField and PasswordField name the body's fields; default "email"
	// and "password".
	UserField, PasswordField string
	// LoginExtra holds further fields sent with the credentials.
	LoginExtra map[string]string
	// User and Password sign in. The password never appears in the output,
	// not even as a fingerprint (it may be guessable).
	User     string
	Password signoff.Secret

	// Protected is a path that answers 2xx with a credential and 401, 403
	// or a redirect without; default /api/me.
	Protected string
	// Logout is the sign-out path; default /logout.
	Logout string
	// LogoutMethod is how logout is sent: "POST" (default), "GET", or
	// "auto": a POST, and a GET when the POST answers 405 with Allow: GET
	// (then R27 fails: a link can sign the user out).
	LogoutMethod string
	// Refresh is the refresh-token path; default /refresh. A path that
	// answers 404 or 405 means the site has none: refresh checks SKIP.
	// "off" skips them without asking.
	Refresh string
	// LogoutAll is the sign-out-everywhere path; default /logout/all.
	// "off" skips it.
	LogoutAll string
	// Sessions lists the user's sessions (GET) and ends one (DELETE
	// Sessions/{id}); default /sessions. "off" skips it.
	Sessions string

	// TokenField and RefreshField are where a sign-in or refresh response's
	// JSON body carries an access token and a refresh token; default
	// "access_token" and "refresh_token".
	TokenField, RefreshField string
	// Cookies names the credential cookies. Default: every cookie the
	// sign-in response sets.
	Cookies []string
	// Header is sent with every request (an API key, a tenant header).
	Header http.Header
	// CSRFField, CSRFHeader and CSRFCookie name a site's CSRF token where
	// it differs from the conventions the checker knows (hidden inputs and
	// <meta name="csrf-token"> carried back; csrftoken → X-CSRFToken,
	// XSRF-TOKEN → X-XSRF-TOKEN): the form field to carry the token in, the
	// header to send it in, the cookie it comes from.
	CSRFField, CSRFHeader, CSRFCookie string

	// Register, when set, is a path to create the account at before the
	// run: a POST of the user, the password and RegisterFields, in
	// LoginFormat. An answer that says the account exists is fine.
	Register       string
	RegisterFields map[string]string

	// Browser is the path of a Chromium to drive through sign-in and
	// sign-out as well, to report what the browser itself keeps (R21, R26,
	// R26b as a browser sees them); empty reports those SKIP.
	Browser string

	// Timeout bounds each request; default 10 s.
	Timeout time.Duration
	// MaxRequests bounds the whole run; default 300.
	MaxRequests int
	// MaxWait bounds the time spent waiting out 429 Retry-After answers over
	// the whole run; default 70 s.
	MaxWait time.Duration
	// MaxLifetime is the longest a credential cookie may live (R20);
	// default 24 h.
	MaxLifetime time.Duration
	// Insecure accepts any TLS certificate (self-signed staging sites).
	Insecure bool
	// Ignore lists check IDs whose findings are reported as SKIP, with what
	// they found: for a plain-HTTP development server, say, where R15 and
	// R16 cannot pass. The checks still run.
	Ignore []string
	// Client is the HTTP client to use, for tests; default one built from
	// Timeout and Insecure. Its redirect policy is replaced: the checker
	// never follows redirects, so it can never be led off the target host.
	Client *http.Client
}

// Defaults, matching `signoff serve`.
const (
	DefaultLoginPath   = "/login"
	DefaultProtected   = "/api/me"
	DefaultLogout      = "/logout"
	DefaultRefresh     = "/refresh"
	DefaultLogoutAll   = "/logout/all"
	DefaultSessions    = "/sessions"
	DefaultTimeout     = 10 * time.Second
	DefaultMaxRequests = 300
	DefaultMaxWait     = 70 * time.Second
	DefaultMaxLifetime = 24 * time.Hour
)

// logoutAuto is Config.LogoutMethod's "auto", upper-cased.
const logoutAuto = "AUTO"

// Off is the path value that skips an optional endpoint.
const Off = "off"

// ErrUsage marks an error in the configuration; the CLI exits 2 on it.
var ErrUsage = errors.New("check: bad configuration")

// withDefaults fills in the defaults and checks the configuration.
func (c Config) withDefaults() (Config, error) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.LoginMethod, http.MethodPost)
	def(&c.LoginPath, DefaultLoginPath)
	def(&c.LoginFormat, "json")
	def(&c.UserField, "email")
	def(&c.PasswordField, "password")
	def(&c.Protected, DefaultProtected)
	def(&c.Logout, DefaultLogout)
	def(&c.Refresh, DefaultRefresh)
	def(&c.LogoutAll, DefaultLogoutAll)
	def(&c.Sessions, DefaultSessions)
	def(&c.LogoutMethod, http.MethodPost)
	def(&c.TokenField, "access_token")
	def(&c.RefreshField, "refresh_token")
	c.LoginMethod = strings.ToUpper(c.LoginMethod)
	c.LogoutMethod = strings.ToUpper(c.LogoutMethod)
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRequests <= 0 {
		c.MaxRequests = DefaultMaxRequests
	}
	if c.MaxWait <= 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.MaxLifetime <= 0 {
		c.MaxLifetime = DefaultMaxLifetime
	}
	bad := func(format string, a ...any) (Config, error) {
		return c, fmt.Errorf("%w: "+format, append([]any{ErrUsage}, a...)...)
	}
	for _, u := range []struct{ name, v string }{{"target", c.Target}, {"second", c.Second}} {
		if u.v == "" && u.name == "second" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return bad("the %s URL must look like https://host[:port], got %q", u.name, u.v)
		}
		if p.User != nil {
			return bad("the %s URL must not hold credentials; use --user and --password-file", u.name)
		}
	}
	for _, p := range []struct{ name, v string }{
		{"login path", c.LoginPath}, {"protected path", c.Protected}, {"logout path", c.Logout},
		{"refresh path", c.Refresh}, {"logout-all path", c.LogoutAll}, {"sessions path", c.Sessions},
	} {
		if p.v != Off && !strings.HasPrefix(p.v, "/") {
			return bad("the %s must start with /, got %q", p.name, p.v)
		}
	}
	if c.LogoutMethod != http.MethodPost && c.LogoutMethod != http.MethodGet && c.LogoutMethod != logoutAuto {
		return bad("the logout method must be POST, GET or auto, got %q", c.LogoutMethod)
	}
	if c.Register != "" && !strings.HasPrefix(c.Register, "/") {
		return bad("the register path must start with /, got %q", c.Register)
	}
	if c.LoginFormat != "json" && c.LoginFormat != "form" {
		return bad("the login format must be json or form, got %q", c.LoginFormat)
	}
	for _, id := range c.Ignore {
		known := false
		for _, ck := range checks {
			known = known || ck.id == id
		}
		if !known {
			return bad("--ignore: no check %q", id)
		}
	}
	if c.User == "" {
		return bad("no user to sign in as (--user)")
	}
	if c.Password.IsZero() {
		return bad("no password (--password-file, SIGNOFF_PASSWORD or --password)")
	}
	return c, nil
}
