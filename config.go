package signoff

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/signoff/signoff/accesstoken"
)

// Defaults. The session limits follow NIST SP 800-63B §4.2.3 for AAL2:
// reauthentication at least every 12 hours whatever the activity, and after 30
// minutes of inactivity; OWASP's Session Management Cheat Sheet puts 15–30
// minutes of idle time in the range for low-risk applications.
const (
	DefaultIdleTimeout      = 30 * time.Minute
	DefaultAbsoluteLifetime = 12 * time.Hour
	DefaultAccessTokenTTL   = 5 * time.Minute
	DefaultRefreshGrace     = 10 * time.Second
	DefaultTouchInterval    = time.Minute
	DefaultCacheSize        = 100_000
	DefaultIssuer           = "signoff"
	DefaultAudience         = "signoff"
)

// DefaultClearSiteData is what logout asks the browser to clear (W3C
// Clear-Site-Data). It is cleanup only: the revocation happens on the server
// first. "cookies" also clears the cookies of sibling subdomains; set
// Config.ClearSiteData to change it or DisableClearSiteData to send none.
var DefaultClearSiteData = []string{"cache", "cookies", "storage"}

// Config configures a Manager. The zero value of every field but Store means
// its documented default.
type Config struct {
	// Mode is ModeSession (the default) or ModeJWT.
	Mode Mode
	// Store keeps sessions, refresh tokens and auth_versions. Required.
	Store Store
	// Bus carries revocations between instances. Default: a LocalBus, right
	// for one process.
	Bus Bus
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Hooks are told what the Manager does, for metrics and audit sinks.
	Hooks Hooks
	// Logger receives audit events (login, logout, logout_all,
	// refresh.reuse_detected, session.revoked), with fingerprints only.
	// Default slog.Default().
	Logger *slog.Logger

	// IdleTimeout ends a session after this long without an authenticated
	// request (session mode) or a refresh (jwt mode). Default 30 minutes.
	IdleTimeout time.Duration
	// AbsoluteLifetime ends a session this long after sign-in, whatever the
	// activity; refresh never extends it. Default 12 hours.
	AbsoluteLifetime time.Duration
	// TouchInterval is the most often one instance writes a session's
	// last-seen time. Default: 1 minute, or IdleTimeout/10 if that is less.
	// Idle timeouts are exact on one instance and exact to within this
	// interval across instances.
	TouchInterval time.Duration

	// SessionCookie is the session-mode cookie. Default DefaultSessionCookie.
	SessionCookie CookieSpec
	// RefreshCookie carries jwt mode's refresh token to browsers. Default
	// DefaultRefreshCookie.
	RefreshCookie CookieSpec

	// Keys sign access tokens in jwt mode. Default: one new Ed25519 key,
	// which only suits a single process that may forget its tokens on restart.
	Keys *accesstoken.KeySet
	// Issuer and Audience are the iss and aud of access tokens. Default
	// "signoff" for both.
	Issuer, Audience string
	// AccessTokenTTL is the lifetime of an access token. Default 5 minutes.
	AccessTokenTTL time.Duration
	// Leeway is the clock skew allowed when checking exp, nbf and iat. Default 0.
	Leeway time.Duration
	// RefreshGrace is how long the immediate parent of the newest refresh
	// token may be presented again and get that same token back (for tabs
	// racing and lost responses). Default 10 seconds.
	RefreshGrace time.Duration
	// RefreshKey is the HMAC key from which each refresh token's successor
	// is derived, so a grace retry can be answered with the same child
	// without storing it. At least 32 bytes. Every instance sharing a store
	// must have the same key. Default: 32 random bytes.
	RefreshKey []byte

	// ClearSiteData lists the Clear-Site-Data directives sent on logout.
	// Default DefaultClearSiteData.
	ClearSiteData []string
	// DisableClearSiteData sends no Clear-Site-Data header.
	DisableClearSiteData bool

	// CacheSize bounds the cached sessions and the cached access tokens.
	// Default 100,000 of each.
	CacheSize int

	// CrossOrigin guards every unsafe request of the handlers this package
	// provides, and the forwarded unsafe requests CheckForwarded judges (its
	// trusted origins apply to them; its bypass patterns see the path of the
	// forward-auth request itself). Default http.NewCrossOriginProtection().
	CrossOrigin *http.CrossOriginProtection

	// ClientIP names the client of a request, for the device list. Default:
	// the host of RemoteAddr.
	ClientIP func(*http.Request) string

	// RefreshLimit, when set, is asked before a refresh token is rotated,
	// with the user it belongs to; a non-nil error (for instance a
	// *StatusError with Status 429 and RetryAfter) refuses the refresh and
	// leaves the token unspent. It is how signoff serve limits refreshes per
	// account. Unknown tokens are not passed to it: they fail anyway.
	RefreshLimit func(r *http.Request, userID string) error
}

// Config returns the Manager's configuration with its defaults filled in,
// less its secrets: Keys and RefreshKey are nil (Manager.Keys returns the
// key set, for rotation).
func (m *Manager) Config() Config {
	c := m.cfg
	c.Keys, c.RefreshKey = nil, nil
	return c
}

// withDefaults checks cfg and returns it with every default filled in.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Store == nil {
		return cfg, errors.New("signoff: Config.Store is required")
	}
	if cfg.Mode != ModeSession && cfg.Mode != ModeJWT {
		return cfg, fmt.Errorf("signoff: unknown mode %d", cfg.Mode)
	}
	if cfg.Bus == nil {
		cfg.Bus = &LocalBus{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.IdleTimeout, DefaultIdleTimeout)
	def(&cfg.AbsoluteLifetime, DefaultAbsoluteLifetime)
	def(&cfg.AccessTokenTTL, DefaultAccessTokenTTL)
	def(&cfg.RefreshGrace, DefaultRefreshGrace)
	def(&cfg.TouchInterval, min(DefaultTouchInterval, cfg.IdleTimeout/10))
	if cfg.IdleTimeout < 0 || cfg.AbsoluteLifetime < 0 || cfg.AccessTokenTTL < 0 || cfg.RefreshGrace < 0 || cfg.TouchInterval < 0 {
		return cfg, errors.New("signoff: durations must not be negative")
	}
	if cfg.SessionCookie.Name == "" {
		cfg.SessionCookie = DefaultSessionCookie
	}
	if cfg.RefreshCookie.Name == "" {
		cfg.RefreshCookie = DefaultRefreshCookie
	}
	for _, c := range []CookieSpec{cfg.SessionCookie, cfg.RefreshCookie} {
		if err := c.Validate(); err != nil {
			return cfg, err
		}
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.ClearSiteData == nil {
		cfg.ClearSiteData = DefaultClearSiteData
	}
	if cfg.CrossOrigin == nil {
		cfg.CrossOrigin = http.NewCrossOriginProtection()
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteHost
	}
	if cfg.Mode != ModeJWT {
		return cfg, nil
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.Keys == nil {
		k, err := accesstoken.GenerateKey(accesstoken.EdDSA, cfg.Now())
		if err != nil {
			return cfg, err
		}
		cfg.Keys, _ = accesstoken.NewKeySet(k)
	}
	if cfg.RefreshKey == nil {
		cfg.RefreshKey = make([]byte, 32)
		rand.Read(cfg.RefreshKey)
	}
	if len(cfg.RefreshKey) < 32 {
		return cfg, errors.New("signoff: Config.RefreshKey needs at least 32 bytes")
	}
	return cfg, nil
}

func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
