package signoff

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
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
	// *RequestError with Status 429 and RetryAfter) refuses the refresh and
	// leaves the token unspent. It is how signoff serve limits refreshes per
	// account. Unknown tokens are not passed to it: they fail anyway.
	RefreshLimit func(r *http.Request, userID string) error
}

// Manager owns the lifecycle of sessions: sign-in, authenticated requests,
// refresh, sign-out of one device and sign-out everywhere. It is safe for
// concurrent use. Close stops its background work.
type Manager struct {
	cfg     Config
	store   Store
	bus     Bus
	now     func() time.Time
	log     *slog.Logger
	st      *state
	codec   *accesstoken.Codec
	cop     *http.CrossOriginProtection
	csd     string
	vary    []string
	touches chan touch
	done    chan struct{}
	wg      sync.WaitGroup
	closeMu sync.Once

	bgMu    sync.Mutex // guards closing and wg.Add after New
	closing bool
}

type touch struct {
	sid string
	at  time.Time
}

// New checks cfg, fills in its defaults and starts the Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("signoff: Config.Store is required")
	}
	if cfg.Mode != ModeSession && cfg.Mode != ModeJWT {
		return nil, fmt.Errorf("signoff: unknown mode %d", cfg.Mode)
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
		return nil, errors.New("signoff: durations must not be negative")
	}
	if cfg.SessionCookie.Name == "" {
		cfg.SessionCookie = DefaultSessionCookie
	}
	if cfg.RefreshCookie.Name == "" {
		cfg.RefreshCookie = DefaultRefreshCookie
	}
	for _, c := range []CookieSpec{cfg.SessionCookie, cfg.RefreshCookie} {
		if err := c.Validate(); err != nil {
			return nil, err
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
	m := &Manager{
		cfg: cfg, store: cfg.Store, bus: cfg.Bus, now: cfg.Now, log: cfg.Logger,
		st: newState(cfg.CacheSize, cfg.Now), cop: cfg.CrossOrigin,
		vary:    varyCookie,
		touches: make(chan touch, 1024),
		done:    make(chan struct{}),
	}
	if !cfg.DisableClearSiteData && len(cfg.ClearSiteData) > 0 {
		q := make([]string, len(cfg.ClearSiteData))
		for i, d := range cfg.ClearSiteData {
			q[i] = `"` + strings.Trim(d, `"`) + `"`
		}
		m.csd = strings.Join(q, ", ")
	}
	if cfg.Mode == ModeJWT {
		m.vary = []string{"Cookie", "Authorization"}
		if cfg.Issuer == "" {
			cfg.Issuer = DefaultIssuer
		}
		if cfg.Audience == "" {
			cfg.Audience = DefaultAudience
		}
		if cfg.Keys == nil {
			k, err := accesstoken.GenerateKey(accesstoken.EdDSA, cfg.Now())
			if err != nil {
				return nil, err
			}
			cfg.Keys, _ = accesstoken.NewKeySet(k)
		}
		if cfg.RefreshKey == nil {
			cfg.RefreshKey = make([]byte, 32)
			rand.Read(cfg.RefreshKey)
		}
		if len(cfg.RefreshKey) < 32 {
			return nil, errors.New("signoff: Config.RefreshKey needs at least 32 bytes")
		}
		codec, err := accesstoken.NewCodec(cfg.Keys, cfg.Issuer, cfg.Audience, cfg.AccessTokenTTL, cfg.Leeway, cfg.Now)
		if err != nil {
			return nil, err
		}
		m.codec = codec
		m.cfg = cfg
	}
	if err := m.bus.Subscribe(m.st.apply); err != nil {
		return nil, fmt.Errorf("signoff: subscribe to the revocation bus: %w", err)
	}
	m.wg.Add(2)
	go m.toucher()
	go m.sweeper()
	return m, nil
}

// Close stops the Manager's background work. It does not close the Store or
// the Bus.
func (m *Manager) Close() error {
	m.bgMu.Lock()
	m.closing = true
	m.bgMu.Unlock()
	m.closeMu.Do(func() { close(m.done) })
	m.wg.Wait()
	return nil
}

// Mode returns the Manager's mode.
func (m *Manager) Mode() Mode { return m.cfg.Mode }

// Config returns the Manager's configuration with its defaults filled in.
// Keys and RefreshKey are secrets: do not print them.
func (m *Manager) Config() Config { return m.cfg }

// Keys returns the access-token key set (jwt mode), or nil.
func (m *Manager) Keys() *accesstoken.KeySet {
	if m.codec == nil {
		return nil
	}
	return m.codec.Keys()
}

// SetKeys replaces the access-token key set, for rotation: put the new key
// first and keep the old ones until every token they signed has expired.
func (m *Manager) SetKeys(ks *accesstoken.KeySet) error {
	if m.codec == nil {
		return ErrWrongMode
	}
	m.codec.SetKeys(ks)
	return nil
}

// unavailable wraps a store or bus failure so that it answers 503.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// LoginOptions changes how Login hands out credentials.
type LoginOptions struct {
	// Native (jwt mode) returns the refresh token in LoginResult instead of
	// setting the refresh cookie, for clients that are not browsers.
	Native bool
}

// Tokens are the credentials jwt mode hands out at login and refresh.
type Tokens struct {
	AccessToken Secret
	ExpiresAt   time.Time
	// RefreshToken is set only for native clients; browsers get it in the
	// refresh cookie.
	RefreshToken Secret
}

// TokenResponse is the JSON body that carries Tokens (RFC 6749 §5.1 names).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// Response returns the wire form of t, raw values included: write it only
// into the response to the client that owns them.
func (t *Tokens) Response(now time.Time) TokenResponse {
	return TokenResponse{
		AccessToken:  t.AccessToken.Reveal(),
		TokenType:    "Bearer",
		ExpiresIn:    int64(t.ExpiresAt.Sub(now).Round(time.Second) / time.Second),
		RefreshToken: t.RefreshToken.Reveal(),
	}
}

// LoginResult is what Login created.
type LoginResult struct {
	Session *Session
	Tokens  *Tokens // jwt mode only
}

// Login signs userID in on the device that sent r: it revokes whatever
// session r's credentials name (R1: login always mints a fresh session and the
// earlier one dies), creates a session with a fresh 256-bit secret, and writes
// the cookie (session mode) or mints the tokens (jwt mode). Call it only after
// the user has proved who they are.
func (m *Manager) Login(w http.ResponseWriter, r *http.Request, userID string, opt LoginOptions) (*LoginResult, error) {
	if userID == "" {
		return nil, errors.New("signoff: Login needs a user ID")
	}
	ctx := r.Context()
	if err := m.revokePresented(ctx, r, nil); err != nil {
		return nil, err
	}
	now := m.now()
	s := &Session{
		ID: newID("ses_"), UserID: userID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(m.cfg.AbsoluteLifetime),
		UserAgent: truncate(r.UserAgent(), 256), IP: truncate(m.cfg.ClientIP(r), 64),
	}
	secret := newRandomSecret()
	var rt *RefreshToken
	if m.cfg.Mode == ModeSession {
		s.TokenHash = secret.Hash()
	} else {
		rt = &RefreshToken{JTI: m.jtiOf(secret), SessionID: s.ID, Hash: secret.Hash(), IssuedAt: now, ExpiresAt: minTime(now.Add(m.cfg.IdleTimeout), s.ExpiresAt)}
	}
	if err := m.store.CreateSession(ctx, s, rt); err != nil {
		return nil, unavailable("create session", err)
	}
	w.Header()["Cache-Control"] = noStore
	res := &LoginResult{Session: s}
	if m.cfg.Mode == ModeSession {
		m.cfg.SessionCookie.Set(w, secret.Reveal(), s.ExpiresAt, now)
		m.log.Info("login", "user", userID, "session", s.ID, "credential", secret)
		return res, nil
	}
	at, exp, err := m.mint(s, now)
	if err != nil {
		return nil, err
	}
	res.Tokens = &Tokens{AccessToken: at, ExpiresAt: exp}
	if opt.Native {
		res.Tokens.RefreshToken = secret
	} else {
		m.cfg.RefreshCookie.Set(w, secret.Reveal(), rt.ExpiresAt, now)
	}
	m.log.Info("login", "user", userID, "session", s.ID, "refresh_token", secret, "native", opt.Native)
	return res, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// mint signs an access token for s, valid for AccessTokenTTL but never past
// the session's absolute lifetime.
func (m *Manager) mint(s *Session, now time.Time) (Secret, time.Time, error) {
	exp := minTime(now.Add(m.cfg.AccessTokenTTL), s.ExpiresAt)
	var jti [12]byte
	rand.Read(jti[:])
	tok, err := m.codec.Sign(accesstoken.Claims{
		Subject: s.UserID, SessionID: s.ID, AuthVersion: s.AuthVersion,
		ID: hex.EncodeToString(jti[:]), IssuedAt: now, NotBefore: now, ExpiresAt: exp,
	})
	if err != nil {
		return Secret{}, time.Time{}, err
	}
	return NewSecret(tok), exp, nil
}

// childOf derives the successor of a refresh token: HMAC-SHA256 under
// RefreshKey. Deriving rather than drawing it means a grace retry of the
// parent gets the very same child without the child ever being stored.
func (m *Manager) childOf(parent Secret) Secret {
	mac := hmac.New(sha256.New, m.cfg.RefreshKey)
	mac.Write([]byte("signoff refresh child\x00"))
	mac.Write([]byte(parent.Reveal()))
	return NewSecret(base64.RawURLEncoding.EncodeToString(mac.Sum(nil)))
}

// jtiOf derives a refresh token's public jti.
func (m *Manager) jtiOf(t Secret) string {
	mac := hmac.New(sha256.New, m.cfg.RefreshKey)
	mac.Write([]byte("signoff refresh jti\x00"))
	mac.Write([]byte(t.Reveal()))
	return "rt_" + hex.EncodeToString(mac.Sum(nil)[:12])
}

// Authenticate returns the principal r's credential names: the session cookie
// in session mode, the Bearer access token in jwt mode. Credentials are never
// read from the URL (R24). Errors: ErrNoCredential, ErrInvalidCredential,
// ErrAmbiguousCredential, ErrSessionExpired, ErrSessionRevoked, or
// ErrUnavailable when the store cannot answer (fail closed, I11).
//
// A warm request costs a SHA-256 and a map lookup; nothing is written to the
// store but a last-seen time, at most once per TouchInterval per session.
func (m *Manager) Authenticate(r *http.Request) (*Principal, error) {
	if m.cfg.Mode == ModeJWT {
		return m.authToken(r)
	}
	return m.authSession(r)
}

func (m *Manager) authSession(r *http.Request) (*Principal, error) {
	v, err := CookieValue(r, m.cfg.SessionCookie.Name)
	if err != nil {
		return nil, err
	}
	if !validToken(v) {
		return nil, ErrInvalidCredential
	}
	h := HashString(v)
	now := m.now()
	n := now.UnixNano()
	if e := m.st.session(h); e != nil && m.bus.Fresh() && e.user.settled() {
		switch {
		case e.sid.revoked.Load() || e.p.AuthVersion < e.user.av.Load():
			m.st.dropSession(h)
			return nil, ErrSessionRevoked
		case n >= e.expires:
			m.st.dropSession(h)
			return nil, ErrSessionExpired
		case n-e.sid.lastSeen.Load() < int64(m.cfg.IdleTimeout):
			m.seen(e.sid, e.p.SessionID, n)
			return &e.p, nil
		}
		// Idle as far as this instance knows; the store knows whether
		// another instance saw it since.
	}
	return m.readSession(r.Context(), h, now)
}

// readSession answers a session-mode request from the store and, while the
// bus is fresh, caches the answer.
func (m *Manager) readSession(ctx context.Context, h Hash, now time.Time) (*Principal, error) {
	s, err := m.store.SessionByToken(ctx, h, now)
	if errors.Is(err, ErrNotFound) {
		// A cached entry must not outlive the store's answer: it is here
		// while the bus was not fresh, and may name a session whose
		// revocation that bus missed.
		if m.st.session(h) != nil {
			m.st.dropSession(h)
		}
		return nil, ErrInvalidCredential
	}
	if err != nil {
		return nil, unavailable("read session", err)
	}
	n := now.UnixNano()
	st := m.st.sid(s.ID, s.ExpiresAt)
	raise(&st.lastSeen, s.LastSeenAt.UnixNano())
	raise(&st.touched, s.LastSeenAt.UnixNano())
	if n-st.lastSeen.Load() >= int64(m.cfg.IdleTimeout) {
		return nil, ErrSessionExpired
	}
	u := m.st.user(s.UserID, s.AuthVersion, s.ExpiresAt)
	if !u.settled() {
		m.settlePending(ctx, u, s.UserID, now)
	}
	if st.revoked.Load() || s.AuthVersion < u.av.Load() {
		return nil, ErrSessionRevoked
	}
	e := &sessionEntry{
		p:   Principal{UserID: s.UserID, SessionID: s.ID, AuthVersion: s.AuthVersion, Mode: ModeSession, ExpiresAt: s.ExpiresAt},
		sid: st, user: u, expires: s.ExpiresAt.UnixNano(),
	}
	if m.bus.Fresh() {
		m.st.addSession(h, e)
	}
	m.seen(st, s.ID, n)
	return &e.p, nil
}

func (m *Manager) authToken(r *http.Request) (*Principal, error) {
	tok, err := bearer(r)
	if err != nil {
		return nil, err
	}
	// Verified tokens are cached by their signature, the short part that
	// no one can produce without the key; the entry holds the whole token,
	// so a known signature under another header or payload is a miss.
	h := HashString(tok[strings.LastIndexByte(tok, '.')+1:])
	now := m.now()
	n := now.UnixNano()
	fresh := m.bus.Fresh()
	ks := m.codec.Keys() // loaded before Verify: an entry never claims a newer set than checked it
	if e := m.st.token(h); e != nil && e.keys == ks && e.tok == tok {
		switch {
		case e.sid.revoked.Load() || e.p.AuthVersion < e.user.av.Load():
			m.st.dropToken(h)
			return nil, ErrSessionRevoked
		case n >= e.exp:
			m.st.dropToken(h)
			return nil, fmt.Errorf("%w: access token expired", ErrInvalidCredential)
		case fresh && e.user.settled():
			m.seen(e.sid, e.p.SessionID, n)
			return &e.p, nil
		}
		// The signature is still good, but without a fresh bus (or while a
		// logout everywhere of the user is under way) only the store can
		// say whether the session is.
		if _, err := m.liveSession(r.Context(), e.sid, e.p.SessionID, e.p.UserID, now); err != nil {
			return nil, err
		}
		if !e.user.settled() {
			m.settlePending(r.Context(), e.user, e.p.UserID, now)
		}
		return &e.p, nil
	}
	cl, err := m.codec.Verify(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredential, err)
	}
	st := m.st.sid(cl.SessionID, cl.ExpiresAt)
	u := m.st.user(cl.Subject, 0, cl.ExpiresAt)
	if st.revoked.Load() || cl.AuthVersion < u.av.Load() {
		return nil, ErrSessionRevoked
	}
	s, err := m.liveSession(r.Context(), st, cl.SessionID, cl.Subject, now)
	if err != nil {
		return nil, err
	}
	raise(&u.av, s.AuthVersion)
	raise(&st.touched, s.LastSeenAt.UnixNano())
	if !u.settled() {
		m.settlePending(r.Context(), u, cl.Subject, now)
	}
	if cl.AuthVersion < u.av.Load() {
		return nil, ErrSessionRevoked
	}
	e := &tokenEntry{
		p:   Principal{UserID: cl.Subject, SessionID: cl.SessionID, AuthVersion: cl.AuthVersion, Mode: ModeJWT, ExpiresAt: cl.ExpiresAt},
		sid: st, user: u, exp: cl.ExpiresAt.UnixNano(), keys: ks, tok: tok,
	}
	// Cached even while the bus is not fresh: the entry remembers that the
	// signature is good, which no revocation changes; a hit while the bus
	// is not fresh still asks the store about the session (above), and the
	// bus catches up on what it missed before it is fresh again. So an
	// outage costs one store read per request, not an Ed25519
	// verification as well.
	m.st.addToken(h, e)
	m.seen(st, cl.SessionID, n)
	return &e.p, nil
}

// liveSession asks the store whether session id of user is live; a session
// that is not is remembered as revoked.
func (m *Manager) liveSession(ctx context.Context, st *sidState, id, user string, now time.Time) (*Session, error) {
	s, err := m.store.Session(ctx, id, now)
	if errors.Is(err, ErrNotFound) {
		st.revoked.Store(true)
		return nil, ErrSessionRevoked
	}
	if err != nil {
		return nil, unavailable("read session", err)
	}
	if s.UserID != user {
		return nil, fmt.Errorf("%w: sub does not match the session", ErrInvalidCredential)
	}
	if st.revoked.Load() {
		return nil, ErrSessionRevoked
	}
	return s, nil
}

// bearer returns the token of the request's one Authorization: Bearer header
// (RFC 6750 §2.1). Tokens in the URL or the body are never read.
func bearer(r *http.Request) (string, error) {
	vals := r.Header["Authorization"]
	switch {
	case len(vals) == 0:
		return "", ErrNoCredential
	case len(vals) > 1:
		return "", ErrAmbiguousCredential
	}
	v := vals[0]
	if len(v) < 7 || !strings.EqualFold(v[:7], "Bearer ") {
		return "", fmt.Errorf("%w: Authorization is not a Bearer token", ErrInvalidCredential)
	}
	tok := strings.TrimSpace(v[7:])
	if tok == "" {
		return "", fmt.Errorf("%w: empty Bearer token", ErrInvalidCredential)
	}
	return tok, nil
}

// seen records activity on a session and, at most once per TouchInterval,
// queues a last-seen write. It never blocks: if the queue is full the write
// is skipped, which only makes the store's idle clock more conservative.
func (m *Manager) seen(st *sidState, sid string, n int64) {
	raise(&st.lastSeen, n)
	old := st.touched.Load()
	if n-old < int64(m.cfg.TouchInterval) || !st.touched.CompareAndSwap(old, n) {
		return
	}
	select {
	case m.touches <- touch{sid: sid, at: time.Unix(0, n)}:
	default:
	}
}

func (m *Manager) toucher() {
	defer m.wg.Done()
	for {
		select {
		case <-m.done:
			// Write what is queued: activity seen before Close counts.
			for {
				select {
				case t := <-m.touches:
					m.touch(t)
				default:
					return
				}
			}
		case t := <-m.touches:
			m.touch(t)
		}
	}
}

func (m *Manager) touch(t touch) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.store.TouchSession(ctx, t.sid, t.at); err != nil {
		m.log.Debug("touch session", "session", t.sid, "err", err)
	}
}

func (m *Manager) sweeper() {
	defer m.wg.Done()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-tick.C:
			m.st.sweep(m.now())
		}
	}
}

// Refresh rotates the refresh token r carries and mints a new access token
// (jwt mode). A native client passes the refresh token it got in a body as
// bodyToken and gets the successor in Tokens.RefreshToken; a browser's comes
// from the refresh cookie, and its successor goes back in it.
//
// Rotation follows invariant I5: every use spends the token; a retry of the
// immediate parent within RefreshGrace returns the same successor; any other
// reuse revokes the whole session and is logged as refresh.reuse_detected
// (RFC 9700 §4.14.2). Refresh never extends the session's absolute lifetime.
func (m *Manager) Refresh(w http.ResponseWriter, r *http.Request, bodyToken Secret) (*Tokens, error) {
	if m.cfg.Mode != ModeJWT {
		return nil, ErrWrongMode
	}
	native := !bodyToken.IsZero()
	parent := bodyToken
	if !native {
		v, err := CookieValue(r, m.cfg.RefreshCookie.Name)
		if err != nil {
			return nil, err
		}
		parent = NewSecret(v)
	}
	if !validToken(parent.Reveal()) {
		return nil, fmt.Errorf("%w: not a refresh token", ErrInvalidCredential)
	}
	now := m.now()
	if m.cfg.RefreshLimit != nil {
		if err := m.refreshLimit(r, parent.Hash(), now); err != nil {
			return nil, err
		}
	}
	child := m.childOf(parent)
	rot, err := m.store.RotateRefreshToken(r.Context(), parent.Hash(), &RefreshToken{
		JTI: m.jtiOf(child), Hash: child.Hash(), IssuedAt: now, ExpiresAt: now.Add(m.cfg.IdleTimeout),
	}, m.cfg.RefreshGrace)
	var reuse *ReuseError
	switch {
	case errors.As(err, &reuse):
		m.log.Warn("refresh.reuse_detected", "session", reuse.SessionID, "user", reuse.UserID, "refresh_token", parent)
		if err := m.revoke(r.Context(), reuse.SessionID, reuse.UserID, time.Time{}); err != nil {
			return nil, err
		}
		return nil, err
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("%w: refresh token unknown, expired or revoked", ErrInvalidCredential)
	case err != nil:
		return nil, unavailable("rotate refresh token", err)
	}
	if m.st.sid(rot.Session.ID, rot.Session.ExpiresAt).revoked.Load() {
		return nil, ErrSessionRevoked
	}
	at, exp, err := m.mint(rot.Session, now)
	if err != nil {
		return nil, err
	}
	w.Header()["Cache-Control"] = noStore
	t := &Tokens{AccessToken: at, ExpiresAt: exp}
	if native {
		t.RefreshToken = child
	} else {
		m.cfg.RefreshCookie.Set(w, child.Reveal(), rot.Child.ExpiresAt, now)
	}
	return t, nil
}

// refreshLimit finds the owner of the refresh token whose hash is h and asks
// Config.RefreshLimit about them.
func (m *Manager) refreshLimit(r *http.Request, h Hash, now time.Time) error {
	rt, err := m.store.RefreshToken(r.Context(), h)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return unavailable("read refresh token", err)
	}
	s, err := m.store.Session(r.Context(), rt.SessionID, now)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return unavailable("read session", err)
	}
	return m.cfg.RefreshLimit(r, s.UserID)
}

// target is a session a request's credentials name.
type target struct {
	id, user string
	until    time.Time
}

// presented returns the sessions named by every credential r carries, valid
// or not: each session-cookie value (session mode), or each refresh-cookie
// value, extra refresh token and verified access token (jwt mode). Unknown
// and malformed values are skipped; only a store failure is an error.
func (m *Manager) presented(ctx context.Context, r *http.Request, extra []Secret) ([]target, error) {
	var out []target
	add := func(t target) {
		for _, o := range out {
			if o.id == t.id {
				return
			}
		}
		out = append(out, t)
	}
	now := m.now()
	var buf [maxCookieValues]string
	if m.cfg.Mode == ModeSession {
		vals, _ := cookieValues(buf[:0], r.Header, m.cfg.SessionCookie.Name)
		for _, v := range vals {
			if !validToken(v) {
				continue
			}
			s, err := m.store.SessionByToken(ctx, HashString(v), now)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, unavailable("read session", err)
			}
			add(target{s.ID, s.UserID, s.ExpiresAt})
		}
		return out, nil
	}
	vals, _ := cookieValues(buf[:0], r.Header, m.cfg.RefreshCookie.Name)
	toks := extra
	for _, v := range vals {
		toks = append(toks, NewSecret(v))
	}
	for _, t := range toks {
		if !validToken(t.Reveal()) {
			continue
		}
		rt, err := m.store.RefreshToken(ctx, t.Hash())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, unavailable("read refresh token", err)
		}
		add(target{id: rt.SessionID})
	}
	if tok, err := bearer(r); err == nil {
		if cl, err := m.codec.Verify(tok); err == nil {
			add(target{cl.SessionID, cl.Subject, cl.ExpiresAt})
		}
	}
	return out, nil
}

func (m *Manager) revokePresented(ctx context.Context, r *http.Request, extra []Secret) error {
	ts, err := m.presented(ctx, r, extra)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := m.revoke(ctx, t.id, t.user, t.until); err != nil {
			return err
		}
	}
	return nil
}

// revoke ends one session: on every instance first, then in the store (see
// the comment in the body and Bus). The until is how long the session's credentials could otherwise live; zero
// means as long as any session could.
func (m *Manager) revoke(ctx context.Context, id, user string, until time.Time) error {
	now := m.now()
	if until.IsZero() || until.Before(now) {
		until = now.Add(m.cfg.AbsoluteLifetime)
	}
	// Access tokens carry their own exp; hold the revocation at least that long.
	until = maxTime(until, now.Add(m.cfg.AccessTokenTTL+m.cfg.Leeway))
	// A client that hangs up must not leave a revocation half done.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	// Publish first, then write the store. The other order can fail
	// between the two steps and leave the store revoked while every other
	// instance keeps the session in its memory, for good: a retried session
	// logout no longer finds the session (the store hides revoked ones), so
	// it would never publish again. In this order a failure leaves the
	// session live in the store, the client gets 503 and retries, and any
	// instance that already applied the revocation refuses the session
	// meanwhile: the error is on the side of refusing.
	if err := m.bus.Publish(ctx, Revocation{SessionID: id, UserID: user, Until: until}); err != nil {
		return unavailable("publish revocation", err)
	}
	if err := m.store.RevokeSession(ctx, id, now); err != nil {
		return unavailable("revoke session", err)
	}
	m.log.Info("session.revoked", "session", id, "user", user)
	return nil
}

// revokeTimeout bounds a revocation once begun: the bus's acknowledgements
// (5 s by default) and the store write.
const revokeTimeout = 15 * time.Second

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Logout signs out the device that sent r: it revokes every session that r's
// credentials name (and the refresh tokens in extra, which native clients send
// in the body), then deletes the cookie and asks the browser to clear site
// data. A missing, expired or garbage credential is not an error: the
// deletion is still written (I4, RFC 7009 §2.2). Only a store or bus failure
// returns an error (ErrUnavailable), and then nothing is written, so the
// client keeps its state and can retry.
func (m *Manager) Logout(w http.ResponseWriter, r *http.Request, extra ...Secret) error {
	ts, err := m.presented(r.Context(), r, extra)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := m.revoke(r.Context(), t.id, t.user, t.until); err != nil {
			return err
		}
	}
	m.clear(w)
	m.log.Info("logout", "sessions", len(ts))
	return nil
}

// clear writes the deletion of this mode's cookie, Clear-Site-Data and
// Cache-Control: no-store.
func (m *Manager) clear(w http.ResponseWriter) {
	if m.cfg.Mode == ModeSession {
		m.cfg.SessionCookie.Delete(w)
	} else {
		m.cfg.RefreshCookie.Delete(w)
	}
	h := w.Header()
	if m.csd != "" {
		h.Set("Clear-Site-Data", m.csd)
	}
	h["Cache-Control"] = noStore
}

// LogoutAll signs the user of r out everywhere: it revokes all of the user's
// sessions and bumps their auth_version, so every access token minted before
// is rejected in O(1) (I6), then clears this device like Logout. r must carry
// a valid credential. It returns how many sessions were revoked.
func (m *Manager) LogoutAll(w http.ResponseWriter, r *http.Request) (int, error) {
	p, err := m.Authenticate(r)
	if err != nil {
		return 0, err
	}
	n, err := m.RevokeUser(r.Context(), p.UserID)
	if err != nil {
		return 0, err
	}
	m.clear(w)
	return n, nil
}

// RevokeUser revokes every session of the user and bumps their auth_version,
// as LogoutAll does, for an administrator. It returns how many sessions were
// revoked.
//
// The store hands out the new auth_version, so it cannot be published before
// the store write; what is published first is that a logout everywhere of the
// user is under way (Revocation.Pending). Once every instance has applied
// that, each reads the user's credentials through to the store, so whatever
// the store write does is honoured everywhere at once. Then the store is
// written, and then the new auth_version is published, which lets instances
// answer from memory again. A failure before the store write answers 503 and
// changes nothing (the client retries, on any instance). If the last publish
// fails, the logout did happen everywhere: RevokeUser succeeds and keeps
// publishing in the background until it is delivered.
func (m *Manager) RevokeUser(ctx context.Context, userID string) (int, error) {
	now := m.now()
	until := now.Add(m.cfg.AbsoluteLifetime + m.cfg.AccessTokenTTL + m.cfg.Leeway)
	// A client that hangs up must not leave a revocation half done.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	pending := newID("lae_")
	if err := m.bus.Publish(ctx, Revocation{UserID: userID, Pending: pending, Until: until}); err != nil {
		return 0, unavailable("publish revocation", err)
	}
	n, av, err := m.store.RevokeUserSessions(ctx, userID, now)
	if err != nil {
		return 0, unavailable("revoke user sessions", err)
	}
	done := Revocation{UserID: userID, AuthVersion: av, Pending: pending, Until: until}
	if err := m.bus.Publish(ctx, done); err != nil {
		m.log.Warn("logout_all: the new auth_version is not yet published; instances read this user's credentials through to the store until it is", "user", userID, "err", err)
		m.bgMu.Lock()
		if !m.closing {
			m.wg.Add(1)
			go m.republish(done)
		}
		m.bgMu.Unlock()
	}
	m.log.Info("logout_all", "user", userID, "revoked", n, "auth_version", av)
	return n, nil
}

// settleAfter is how long after an instance applied a pending logout
// everywhere the store's answer is final: the store write was bounded by
// revokeTimeout from before the pending entry was published, so by then it
// has committed or never will.
const settleAfter = revokeTimeout + time.Minute

// settlePending ends the logouts everywhere of user u that have been
// pending here for settleAfter, their end never heard (the store write
// failed, the last publish was lost and the publisher stopped retrying):
// the store's auth_version now says how each ended, and memory may answer
// for the user again. A store error leaves them pending; the next request
// tries again.
func (m *Manager) settlePending(ctx context.Context, u *userState, user string, now time.Time) {
	ids := m.st.stalePending(u, now.Add(-settleAfter))
	if len(ids) == 0 {
		return
	}
	av, err := m.store.AuthVersion(ctx, user)
	if err != nil {
		return
	}
	m.st.settle(u, ids, av)
	m.log.Info("logout_all: settled from the store", "user", user, "auth_version", av, "pending", len(ids))
}

// republish publishes r until it is delivered, the Manager closes, or r no
// longer matters, waiting longer after each failure (1 s, doubling to a
// minute).
func (m *Manager) republish(r Revocation) {
	defer m.wg.Done()
	wait := time.Second
	for m.now().Before(r.Until) {
		select {
		case <-m.done:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), revokeTimeout)
		err := m.bus.Publish(ctx, r)
		cancel()
		if err == nil {
			m.log.Info("logout_all: the new auth_version is published", "user", r.UserID)
			return
		}
		wait = min(2*wait, time.Minute)
	}
}

// RevokeDevice ends one of the caller's own sessions (R8). A session that
// does not exist or belongs to someone else is ErrNotFound. Revoking the
// session the request itself uses also clears this device.
func (m *Manager) RevokeDevice(w http.ResponseWriter, r *http.Request, sessionID string) error {
	p, err := m.Authenticate(r)
	if err != nil {
		return err
	}
	s, err := m.store.Session(r.Context(), sessionID, m.now())
	if errors.Is(err, ErrNotFound) || (err == nil && s.UserID != p.UserID) {
		return fmt.Errorf("%w: no such session of yours", ErrNotFound)
	}
	if err != nil {
		return unavailable("read session", err)
	}
	if err := m.revoke(r.Context(), s.ID, s.UserID, s.ExpiresAt); err != nil {
		return err
	}
	if s.ID == p.SessionID {
		m.clear(w)
	}
	return nil
}

// RevokeSession ends a session by ID, for an administrator. A session that
// does not exist or is already revoked is not an error.
func (m *Manager) RevokeSession(ctx context.Context, sessionID string) error {
	s, err := m.store.Session(ctx, sessionID, m.now())
	switch {
	case errors.Is(err, ErrNotFound):
		return m.revoke(ctx, sessionID, "", time.Time{})
	case err != nil:
		return unavailable("read session", err)
	}
	return m.revoke(ctx, s.ID, s.UserID, s.ExpiresAt)
}

// Sessions lists the user's live sessions, newest first, leaving out those
// past their idle timeout.
func (m *Manager) Sessions(ctx context.Context, userID string) ([]*Session, error) {
	now := m.now()
	all, err := m.store.ListSessions(ctx, userID, now)
	if err != nil {
		return nil, unavailable("list sessions", err)
	}
	out := all[:0]
	for _, s := range all {
		last := s.LastSeenAt
		if st := m.st.existingSid(s.ID); st != nil {
			if st.revoked.Load() {
				continue
			}
			if n := st.lastSeen.Load(); n > last.UnixNano() {
				last = time.Unix(0, n)
			}
		}
		if now.Sub(last) < m.cfg.IdleTimeout {
			s.LastSeenAt = last
			out = append(out, s)
		}
	}
	return out, nil
}
