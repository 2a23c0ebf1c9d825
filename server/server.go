// Package server is signoff serve: users with argon2id passwords, the JSON
// API, forward-auth, a minimal web app, and the wiring of a signoff.Manager to
// a store and a revocation bus. cmd/signoff only parses flags and calls it.
package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/accesstoken"
)

// Config configures a Server. Zero fields take the defaults documented on
// each; cmd/signoff maps its flags and SIGNOFF_* variables onto these.
type Config struct {
	// Addr is where Run listens. Default 127.0.0.1:8080.
	Addr string
	// Store is where users and sessions live: sqlite:PATH or
	// postgres://…. Default sqlite:signoff.db.
	Store string
	// Sessions, when set (redis://…), keeps sessions, refresh tokens and
	// the revocation bus in Redis, while users stay in Store.
	Sessions string
	// Mode is session (the default) or jwt.
	Mode signoff.Mode
	// RateLimit limits, per account, failed logins (each client IP on its
	// own, and all clients that never signed in to the account together at
	// ten times the rate in a burst: see loginLimits), register attempts and
	// refreshes; each client IP gets ten times as many attempts over all
	// accounts. Default 10/min. The zero Rate with RateLimitSet means off.
	RateLimit    Rate
	RateLimitSet bool
	// NoRegister turns POST /register off (404).
	NoRegister bool
	// ReturnTo lists the origins (scheme://host[:port]) that the web app
	// may send a browser to after sign-in when ?rd= names one (GET
	// /return, ReturnTo); paths on this server are always allowed. New
	// refuses an entry that is not an origin. Default: none (R32).
	ReturnTo []string
	// BehindProxy says a TLS-terminating proxy is in front: Secure cookies
	// are allowed on a non-loopback plain-HTTP address, and the client IP is
	// the last address of X-Forwarded-For.
	BehindProxy bool
	// CookieDomain, when set (example.com), shares the sign-in with every
	// host under it: the cookies are named __Secure-session and
	// __Secure-refresh and carry Domain=CookieDomain, for a forward-auth
	// proxy on app.example.com to read what auth.example.com set. Default:
	// host-only __Host- cookies. See ParseCookieDomain and
	// docs/forward-auth.md for what sharing costs.
	CookieDomain string
	// SigninURL is where GET /verify?redirect sends a browser without a
	// live credential (for Traefik, which passes /verify's answer on): a
	// path on the proxy's host or an absolute URL. Default /signin.
	SigninURL string
	// MetricsAddr is where the Prometheus metrics are served: "" on this
	// server's own GET /metrics; "off" nowhere; an address: not here, but
	// by whoever serves MetricsHandler there (signoff serve --metrics-addr).
	MetricsAddr string
	// TLSCert and TLSKey serve HTTPS directly.
	TLSCert, TLSKey string
	// KeysFile holds jwt mode's signing and refresh keys. Default: beside
	// the SQLite file, NAME.keys.json.
	KeysFile string
	// KeysSecret, when set (SIGNOFF_KEYS_SECRET, at least MinKeysSecret
	// bytes) and KeysFile is not, keeps jwt mode's keys in the store,
	// sealed under it: every instance on the store starts with no key file,
	// and signoff keys rotate / keys revoke reach them all without a
	// restart. Every instance and admin command needs the same secret.
	KeysSecret []byte
	// JWTAlg is EdDSA (the default) or HS256.
	JWTAlg string
	// Session limits; zero means the signoff package defaults.
	IdleTimeout, AbsoluteLifetime, AccessTokenTTL, RefreshGrace time.Duration
	// CacheSize bounds the sessions or access tokens answered from memory;
	// zero means signoff.DefaultCacheSize.
	CacheSize int
	// Issuer and Audience of access tokens. Default "signoff".
	Issuer, Audience string
	// ClearSiteData lists the directives sent on logout; nil means the
	// default and NoClearSiteData sends none.
	ClearSiteData   []string
	NoClearSiteData bool
	// Argon2 is the password cost. Default OWASPParams.
	Argon2 Argon2Params
	// Logger receives the access log and audit events. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Backend, when set, replaces the stores named by Store and Sessions:
	// one that OpenBackend opened, or one the caller built (tests that
	// inject faults). The Server does not close it.
	Backend *Backend
}

// Server is a configured signoff serve.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mgr     *signoff.Manager
	users   signoff.UserStore
	store   signoff.Store
	bus     signoff.Bus
	pw      *Hasher
	limAcct *limiter // register and refresh attempts per account
	limIP   *limiter // every attempt per client IP
	logins  *loginLimits
	handler http.Handler
	closers []io.Closer
	emails  *emailCache
	metrics *metrics
	// keys is where jwt mode's keys live when they are in the store, and
	// keyVersion the version in force.
	keys       *sharedKeys
	keyVersion atomic.Int64
}

// DefaultAddr and DefaultStore are what serve uses when not told.
const (
	DefaultAddr  = "127.0.0.1:8080"
	DefaultStore = "sqlite:signoff.db"
)

// DefaultRate is the default --rate-limit.
var DefaultRate = Rate{N: 10, Per: time.Minute}

// New opens the store, applies its migrations, loads or creates the jwt keys
// and builds the Manager and the routes. Close releases what it opened.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Store == "" {
		cfg.Store = DefaultStore
	}
	if cfg.JWTAlg == "" {
		cfg.JWTAlg = accesstoken.EdDSA
	}
	if !cfg.RateLimitSet {
		cfg.RateLimit = DefaultRate
	}
	if cfg.Argon2 == (Argon2Params{}) {
		cfg.Argon2 = OWASPParams
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rt, err := checkReturnTo(cfg.ReturnTo)
	if err != nil {
		return nil, err
	}
	cfg.ReturnTo = rt
	if cfg.CookieDomain, err = ParseCookieDomain(cfg.CookieDomain); err != nil {
		return nil, fmt.Errorf("server: Config.CookieDomain: %w", err)
	}
	if cfg.SigninURL, err = ParseSigninURL(cfg.SigninURL); err != nil {
		return nil, fmt.Errorf("server: Config.SigninURL: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.metrics = newMetrics(func() signoff.Stats { return s.mgr.Stats() })
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()

	b := cfg.Backend
	if b == nil {
		var err error
		b, err = OpenBackend(ctx, Stores{Store: cfg.Store, Sessions: cfg.Sessions}, BackendOptions{Logger: cfg.Logger, Now: cfg.Now})
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, b)
	}
	s.store, s.users, s.bus = b.Sessions, b.Users, b.Bus
	dbPath := b.sqlite

	mc := signoff.Config{
		Mode: cfg.Mode, Store: s.store, Bus: s.bus, Now: cfg.Now, Logger: cfg.Logger,
		IdleTimeout: cfg.IdleTimeout, AbsoluteLifetime: cfg.AbsoluteLifetime,
		AccessTokenTTL: cfg.AccessTokenTTL, RefreshGrace: cfg.RefreshGrace, CacheSize: cfg.CacheSize,
		Issuer: cfg.Issuer, Audience: cfg.Audience,
		ClearSiteData: cfg.ClearSiteData, DisableClearSiteData: cfg.NoClearSiteData,
		ClientIP: s.clientIP,
		Hooks:    s.hooks(),
		RefreshLimit: func(r *http.Request, userID string) error {
			// the IP's token was taken before the body was read
			return s.accountCheck(r, "refresh", userID)
		},
	}
	mc.SessionCookie, mc.RefreshCookie = cookieSpecs(cfg.CookieDomain)
	if cfg.Mode == signoff.ModeJWT {
		sec, err := s.jwtKeys(ctx, b, dbPath)
		if err != nil {
			return nil, err
		}
		mc.Keys, mc.RefreshKey = sec.keys, sec.refreshKey
	}
	mgr, err := signoff.New(mc)
	if err != nil {
		return nil, err
	}
	s.mgr = mgr
	s.emails = newEmailCache(cmp.Or(cfg.CacheSize, signoff.DefaultCacheSize))
	s.closers = append([]io.Closer{mgr}, s.closers...)
	if s.keys != nil {
		// A change published between loading the keys and subscribing
		// to the bus was not heard: read the store once more.
		if err := s.reloadKeys(ctx); err != nil {
			return nil, err
		}
	}
	s.pw = NewHasher(cfg.Argon2)
	s.limAcct = newLimiter(cfg.RateLimit, cfg.Now)
	s.limIP = newLimiter(Rate{N: cfg.RateLimit.N * 10, Per: cfg.RateLimit.Per}, cfg.Now)
	s.logins = newLoginLimits(cfg.RateLimit, cfg.Now)
	s.handler = s.routes()
	ok = true
	return s, nil
}

// Manager returns the server's Manager.
func (s *Server) Manager() *signoff.Manager { return s.mgr }

// Users returns the server's user store.
func (s *Server) Users() signoff.UserStore { return s.users }

// MetricsHandler serves the server's Prometheus metrics, for a listener of
// its own (Config.MetricsAddr).
func (s *Server) MetricsHandler() http.Handler { return s.metrics.handler() }

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the Manager and closes the bus and the store it opened.
func (s *Server) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// CheckAddr applies the --behind-proxy rule: signoff's cookies are Secure,
// which browsers honour over plain HTTP only on loopback. On any other
// address without TLS, serve refuses unless told a TLS proxy is in front.
func (cfg Config) CheckAddr() error {
	if cfg.TLSCert != "" || cfg.BehindProxy {
		return nil
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %v", cfg.Addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to serve Secure cookies over plain HTTP on %s: browsers would drop them; listen on 127.0.0.1, serve HTTPS with --tls-cert and --tls-key, or pass --behind-proxy if a TLS proxy is in front", cfg.Addr)
}

// Limit sets the timeouts and the header size limit of signoff serve's
// listener on srv: a client that sends its headers or body slowly, or
// reads the answer slowly, or keeps an idle connection, is cut off.
func Limit(srv *http.Server) {
	srv.ReadHeaderTimeout = 10 * time.Second
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.IdleTimeout = 2 * time.Minute
	srv.MaxHeaderBytes = 64 << 10
}

// Serve answers on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish for up to 10 seconds, and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.handler, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	Limit(srv)
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// clientIP is the address a request came from: the host of RemoteAddr, or,
// behind a proxy, the last address in X-Forwarded-For (the one the proxy
// itself added; earlier ones are whatever the client claimed).
func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.BehindProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// NewUserID returns a fresh random user ID.
func NewUserID() string {
	var b [16]byte
	rand.Read(b[:])
	return "usr_" + hex.EncodeToString(b[:])
}
