package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/server"
	"github.com/signoff/signoff/store/redisstore"
)

// serve is signoff serve: it maps flags and SIGNOFF_* variables onto a
// server.Config, checks them as usage, and serves until ctx ends.
func serve(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("serve", "serve [flags]", stdio)
	cfg := server.Config{Mode: signoff.ModeSession, RateLimit: server.DefaultRate}
	f.StringVar(&cfg.Addr, "addr", server.DefaultAddr, "`address` to listen on")
	f.StringVar(&cfg.Store, "store", server.DefaultStore, storeUsage)
	f.StringVar(&cfg.Sessions, "sessions", "", sessionsUsage)
	f.Var(modeValue{&cfg.Mode}, "mode", "session (opaque cookie; the default) or jwt (access + refresh tokens)")
	f.Var(rateValue{&cfg.RateLimit, &cfg.RateLimitSet}, "rate-limit", "failed logins per account and client IP (IPs new to the account share 10× in a burst), register and refresh attempts per account; 10× of each kind per client IP; as N/s, N/min or N/h; off disables (default "+server.DefaultRate.String()+")")
	f.BoolVar(&cfg.NoRegister, "no-register", false, "turn POST /register off")
	returnTo := f.String("return-to", "", "origins the web app may return a browser to after sign-in (?rd=), comma-separated, like https://app.example.com,http://127.0.0.1:8080")
	f.StringVar(&cfg.CookieDomain, "cookie-domain", "", "share the sign-in with the hosts under this `domain` (signoff on auth.example.com, the app on app.example.com): __Secure- cookies with Domain; default host-only __Host- cookies (docs/forward-auth.md)")
	f.StringVar(&cfg.SigninURL, "signin-url", server.DefaultSigninURL, "where GET /verify?redirect (Traefik) sends a browser without a live credential: a path, or https://auth.example.com/ for sibling hosts")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve the Prometheus metrics on this `address` instead of GET /metrics of --addr; off: nowhere")
	f.BoolVar(&cfg.BehindProxy, "behind-proxy", false, "a TLS proxy is in front: allow a non-loopback HTTP address, take the client IP from X-Forwarded-For")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "serve HTTPS with this certificate `file`")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "the private key `file` of --tls-cert")
	f.StringVar(&cfg.KeysFile, "keys", "", "jwt mode's key `file` (default: beside the SQLite file, NAME.keys.json)")
	keysFile := keysSecretFlag(f)
	f.StringVar(&cfg.JWTAlg, "jwt-alg", accesstoken.EdDSA, "access-token algorithm: EdDSA or HS256")
	f.duration(&cfg.IdleTimeout, "idle-timeout", signoff.DefaultIdleTimeout, "end a session after this long without activity")
	f.IntVar(&cfg.CacheSize, "cache-size", signoff.DefaultCacheSize, "sessions (or access tokens) an instance answers from memory; beyond it, requests read the store")
	f.duration(&cfg.AbsoluteLifetime, "absolute-lifetime", signoff.DefaultAbsoluteLifetime, "end a session this long after sign-in, whatever the activity")
	f.duration(&cfg.AccessTokenTTL, "access-token-ttl", signoff.DefaultAccessTokenTTL, "lifetime of a jwt-mode access token")
	f.duration(&cfg.RefreshGrace, "refresh-grace", signoff.DefaultRefreshGrace, "how long a just-spent refresh token may be retried for the same successor")
	f.StringVar(&cfg.Issuer, "issuer", signoff.DefaultIssuer, "iss of access tokens")
	f.StringVar(&cfg.Audience, "audience", signoff.DefaultAudience, "aud of access tokens")
	csd := f.String("clear-site-data", strings.Join(signoff.DefaultClearSiteData, ","), "Clear-Site-Data directives sent on logout, comma-separated; off sends none")
	logFormat := f.String("log-format", "text", "log format: text or json")
	logLevel := f.String("log-level", "info", "log level: debug, info, warn or error")
	if _, err := f.parse(args, env, 0, ""); err != nil {
		return err
	}
	secret, err := keysSecret(env, *keysFile)
	if err != nil {
		return err
	}
	cfg.KeysSecret = secret
	if cfg.JWTAlg != accesstoken.EdDSA && cfg.JWTAlg != accesstoken.HS256 {
		return usagef("--jwt-alg: want EdDSA or HS256, got %q", cfg.JWTAlg)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if cfg.TLSCert != "" {
		// Checked before anything says "serving": a listener that cannot
		// answer one handshake is not one.
		if _, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			return usagef("--tls-cert %s, --tls-key %s: %v", cfg.TLSCert, cfg.TLSKey, err)
		}
	}
	for name, d := range map[string]time.Duration{"idle-timeout": cfg.IdleTimeout, "absolute-lifetime": cfg.AbsoluteLifetime, "access-token-ttl": cfg.AccessTokenTTL} {
		if d <= 0 {
			return usagef("--%s must be positive, got %v", name, d)
		}
	}
	if cfg.CacheSize < 1 {
		return usagef("--cache-size must be at least 1, got %d", cfg.CacheSize)
	}
	if cfg.RefreshGrace < 0 {
		return usagef("--refresh-grace must not be negative")
	}
	if *csd == "off" || *csd == "" {
		cfg.NoClearSiteData = true
	} else {
		for _, d := range strings.Split(*csd, ",") {
			cfg.ClearSiteData = append(cfg.ClearSiteData, strings.Trim(strings.TrimSpace(d), `"`))
		}
	}
	rt, err := server.ParseReturnTo(*returnTo)
	if err != nil {
		return usagef("--return-to (SIGNOFF_RETURN_TO): %v", err)
	}
	cfg.ReturnTo = rt
	if cfg.CookieDomain, err = server.ParseCookieDomain(cfg.CookieDomain); err != nil {
		return usagef("--cookie-domain (SIGNOFF_COOKIE_DOMAIN): %v", err)
	}
	if cfg.SigninURL, err = server.ParseSigninURL(cfg.SigninURL); err != nil {
		return usagef("--signin-url (SIGNOFF_SIGNIN_URL): %v", err)
	}
	if err := (server.Stores{Store: cfg.Store, Sessions: cfg.Sessions}).Check(); err != nil {
		return usageError{err.Error()}
	}
	if err := cfg.CheckAddr(); err != nil {
		return usageError{err.Error()}
	}
	log, err := newLogger(stdio.Stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	cfg.Logger = log
	libraryLogs(log)
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	where := server.Redact(cfg.Store)
	if cfg.Sessions != "" {
		where += ", sessions " + server.Redact(cfg.Sessions)
	}
	fmt.Fprintf(stdio.Stdout, "signoff %s: %s mode, store %s\n", Version(), cfg.Mode, where)
	if cfg.Mode == signoff.ModeJWT {
		fmt.Fprintln(stdio.Stdout, jwtBehindProxy)
	}
	metrics := "GET /metrics"
	if a := cfg.MetricsAddr; a == "off" {
		metrics = "off"
	} else if a != "" {
		mln, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("listen on %s (--metrics-addr): %w", a, err)
		}
		metrics = "http://" + browserAddr(mln.Addr().String()) + "/metrics"
		mctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		defer func() { stop(); <-done }()
		go func() {
			defer close(done)
			if err := srv.ServeMetrics(mctx, mln); err != nil {
				log.Error("metrics listener", "err", err)
			}
		}()
	}
	fmt.Fprintf(stdio.Stdout, "metrics: %s\n", metrics)
	fmt.Fprintf(stdio.Stdout, "open %s://%s/ in a browser (Ctrl-C stops)\n", scheme, browserAddr(ln.Addr().String()))
	log.Info("serving", "addr", ln.Addr().String(), "mode", cfg.Mode.String(), "store", where, "rate_limit", cfg.RateLimit.String(), "cookie_domain", cfg.CookieDomain)
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// jwtBehindProxy is what serve says at start in jwt mode: a forward-auth
// proxy can let a browser through only on a cookie, and jwt mode's browsers
// carry their access token in the page, not in a cookie.
const jwtBehindProxy = "jwt mode: a browser behind a forward-auth proxy (nginx, Caddy, Traefik) cannot pass /verify, " +
	"because its access token lives in the page, not in a cookie; only bearer clients can. " +
	"Use --mode session for browser apps behind a proxy (docs/forward-auth.md)."

// newLogger is the logger of --log-format and --log-level, on w.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level: want debug, info, warn or error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format: want text or json, got %q", format)
}

// browserAddr turns a listener address into one to type in a browser.
func browserAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// libraryLogs sends what libraries log through the process-wide loggers
// (the standard log package, go-redis's) to log, so that every line is in
// the chosen format.
func libraryLogs(log *slog.Logger) {
	slog.SetDefault(log)
	redisstore.SetLogger(log)
}
