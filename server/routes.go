package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/httpx"
	"github.com/signoff/signoff/web"
)

// routes builds the HTTP contract of DESIGN.md.
func (s *Server) routes() http.Handler {
	m := s.mgr
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	static, _ := fs.Sub(web.FS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", noCache(http.FileServerFS(static))))
	mux.Handle("/register", m.Protect(http.HandlerFunc(s.register)))
	mux.Handle("/login", m.Protect(http.HandlerFunc(s.login)))
	mux.Handle("/logout", m.LogoutHandler())
	mux.Handle("/logout/all", m.LogoutAllHandler())
	mux.Handle("/logout/others", m.LogoutOthersHandler())
	mux.Handle("/password", only(http.MethodPost, m.Require(http.HandlerFunc(s.changePassword))))
	mux.Handle("/sessions", m.SessionsHandler())
	mux.Handle("/sessions/{id}", m.RevokeDeviceHandler())
	hot := exactRoutes{
		{verifyPath, http.HandlerFunc(s.verify)},
		{"/api/me", m.RequireFunc(s.me)},
		{"/healthz", http.HandlerFunc(s.healthz)},
	}
	for _, x := range hot {
		mux.Handle(x.pattern, x.h)
	}
	mux.HandleFunc("/return", s.returnTo)
	mux.HandleFunc("/readyz", s.readyz)
	if s.cfg.MetricsAddr == "" {
		mux.Handle("/metrics", only(http.MethodGet, s.metrics.handler()))
	}
	if s.cfg.Mode == signoff.ModeJWT {
		mux.HandleFunc("/refresh", s.refresh)
		mux.HandleFunc("/.well-known/jwks.json", s.jwks)
	}
	mux.HandleFunc(noRoute, func(w http.ResponseWriter, r *http.Request) {
		signoff.WriteProblem(w, http.StatusNotFound, "no route "+r.Method+" "+r.URL.Path)
	})
	return s.recoverer(s.accessLog(headers(hot.before(mux))))
}

// exactRoutes are routes whose patterns are a bare path: no method, no
// host, no wildcard, no trailing slash. The mux gives a request for
// exactly that path to that route whatever its method, unless the path
// was escaped (the mux matches the escaped path) or the method is CONNECT
// (whose path the mux takes as it is): so those requests are answered
// without asking the mux, which costs a tree walk and an allocation on
// the routes every request behind signoff goes through.
type exactRoutes []struct {
	pattern string
	h       http.Handler
}

// before serves a request for one of rs's paths itself, setting
// Request.Pattern as the mux would, and hands every other one to mux.
func (rs exactRoutes) before(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawPath == "" && r.Method != http.MethodConnect {
			for _, x := range rs {
				if r.URL.Path == x.pattern {
					r.Pattern = x.pattern
					x.h.ServeHTTP(w, r)
					return
				}
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// headers sets the security headers every response a browser may read
// carries. /verify sets them itself on the answers a proxy may pass on to
// the browser; its 200 only the proxy reads.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != verifyPath {
			securityHeaders(w.Header())
		}
		next.ServeHTTP(w, r)
	})
}

// The security headers' values, shared by every response (len == cap, so
// a handler that appends to one gets a copy).
var (
	noReferrer = []string{"no-referrer"}
	frameDeny  = []string{"DENY"}
	sameOrigin = []string{"same-origin"}
)

// securityHeaders sets the security headers, without an allocation.
func securityHeaders(h http.Header) {
	h["X-Content-Type-Options"] = httpx.Nosniff
	h["Referrer-Policy"] = noReferrer
	h["X-Frame-Options"] = frameDeny
	h["Cross-Origin-Opener-Policy"] = sameOrigin
}

// only answers 405 with Allow: method to a request of any other method,
// before next runs: a GET of a route that needs a credential is 405 with
// or without one.
func only(method string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if httpx.Allow(w, r, method) {
			next.ServeHTTP(w, r)
		}
	})
}

func noCache(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// noRoute is the pattern of the handler that answers 404 to every request
// no other route matched.
const noRoute = "/"

// route names r in the log: the pattern of the route it matched (the mux
// sets Request.Pattern on the request it is given, which is the one the
// middleware around it holds), or "-" when none did. Never the path, where a
// careless client may have put a credential (R24, R50).
func route(r *http.Request) string {
	if r.Pattern == "" || r.Pattern == noRoute {
		return "-"
	}
	return r.Pattern
}

// statusWriter remembers the status of a response and the error it was
// written for (signoff.ErrorRecorder), for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	err    error
}

// RecordError keeps the first error an answer was written for.
func (w *statusWriter) RecordError(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog logs one line a request, naming its route, never its path or
// query string (route). A 5xx line is an error and carries the cause that
// signoff.WriteError recorded: the one log line of every 503 (I11). The
// hot read routes (hotRoute) log below 500 at debug: they are most of the
// traffic, and the metrics count every request by route and status; with
// --log-level debug every line is there. A line the level drops costs no
// formatting.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := monotonic()
		sw := statusWriters.Get().(*statusWriter)
		sw.ResponseWriter = w
		next.ServeHTTP(sw, r)
		// The handler has returned: nothing may use sw any more.
		status, err := sw.status, sw.err
		*sw = statusWriter{}
		statusWriters.Put(sw)
		if status == 0 {
			status = http.StatusOK // nothing written: net/http sends 200
		}
		rt := route(r)
		took := monotonic() - start
		s.metrics.request(rt, status, took)
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case hotRoute(rt):
			level = slog.LevelDebug
		}
		ctx := r.Context()
		if !s.log.Enabled(ctx, level) {
			return
		}
		attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", rt), slog.Int("status", status),
			slog.Float64("ms", float64(took.Microseconds())/1000), slog.String("ip", s.clientIP(r))}
		if level == slog.LevelError && err != nil {
			attrs = append(attrs, slog.Any("err", err))
		}
		s.log.LogAttrs(ctx, level, "request", attrs...)
	})
}

// statusWriters are the access log's statusWriters, reused: one is a
// request's from its start to its handler's return.
var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// monotonic is the time since the process started, on the monotonic
// clock: one clock read, where time.Now reads two (the wall clock too).
func monotonic() time.Duration { return time.Since(processStart) }

var processStart = time.Now()

// hotRoute reports whether rt is one of the read routes every request of
// an app behind signoff goes through: forward-auth, the current user, the
// health checks.
func hotRoute(rt string) bool {
	switch rt {
	case verifyPath, "/api/me", "/healthz", "/readyz":
		return true
	}
	return false
}

// recoverer answers a panic with 500 and logs its value and type, never the
// request: a panic is a bug, not a reason to leak a credential.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "value", fmt.Sprintf("%v", v), "type", fmt.Sprintf("%T", v), "route", route(r))
				signoff.WriteProblem(w, http.StatusInternalServerError, "internal error; see the server log")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

var indexTmpl = template.Must(template.ParseFS(web.FS, "index.html"))

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	indexTmpl.Execute(w, struct {
		Mode     string
		Register bool
	}{s.cfg.Mode.String(), !s.cfg.NoRegister})
}

// credentials is the body of /register and /login.
type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Client   string `json:"client,omitempty"`
}

// readCredentials admits a POST whose body is credentials; otherwise it
// answers (405, 415, 413, 400) and reports false.
func readCredentials(w http.ResponseWriter, r *http.Request) (credentials, bool) {
	var c credentials
	if !httpx.Allow(w, r, http.MethodPost) {
		return c, false
	}
	if err := signoff.ReadJSON(r, &c, false); err != nil {
		signoff.WriteError(w, err)
		return c, false
	}
	return c, true
}

type userView struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

func viewOf(u *signoff.User) userView {
	return userView{ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt.UTC()}
}

// NormalizeEmail trims and lowercases an email address and checks that it is
// a bare address (no display name), at most 254 bytes.
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" {
		return "", errors.New("email is required")
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || len(e) > 254 {
		return "", errors.New("email is not a valid address (want name@example.com)")
	}
	return e, nil
}

// limit applies the per-account and per-IP rate limits and answers 429
// itself when either is exhausted.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, action, account string) bool {
	if err := s.rateCheck(r, action, account); err != nil {
		signoff.WriteError(w, err)
		return false
	}
	return true
}

// rateCheck takes one token from the client IP's bucket for action and, when
// account is not empty, one from the account's. An empty bucket is a 429
// *signoff.StatusError that says when to come back.
func (s *Server) rateCheck(r *http.Request, action, account string) error {
	if ok, wait := s.limIP.allow(action + " ip " + clientKey(s.clientIP(r))); !ok {
		return s.tooMany(action, "ip", r, wait)
	}
	if account == "" {
		return nil
	}
	return s.accountCheck(r, action, account)
}

// accountCheck takes one token from the account's bucket for action.
func (s *Server) accountCheck(r *http.Request, action, account string) error {
	if ok, wait := s.limAcct.allow(action + " account " + account); !ok {
		return s.tooMany(action, "account", r, wait)
	}
	return nil
}

// tooMany is the 429 for action when the limit named by scope is spent: its
// detail and Retry-After say when to come back.
func (s *Server) tooMany(action, scope string, r *http.Request, wait time.Duration) error {
	wait = max(wait, time.Second)
	s.event(r, slog.LevelWarn, eventRateLimited, "", "", slog.String("action", action), slog.String("limit", scope))
	return &signoff.StatusError{
		Status:     http.StatusTooManyRequests,
		Detail:     fmt.Sprintf("too many %s attempts; try again in %d s", action, int((wait+time.Second-1)/time.Second)),
		RetryAfter: wait,
	}
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if s.cfg.NoRegister {
		signoff.WriteProblem(w, http.StatusNotFound, "registration is off on this server")
		return
	}
	c, ok := readCredentials(w, r)
	if !ok {
		return
	}
	if c.Client != "" {
		signoff.WriteProblem(w, http.StatusBadRequest, "unknown field client")
		return
	}
	// Cheap checks first, so bad input costs no hashing and no rate-limit token.
	email, err := NormalizeEmail(c.Email)
	if err == nil {
		err = checkPassword(c.Password)
	}
	if err != nil {
		signoff.WriteProblem(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.limit(w, r, "register", email) {
		return
	}
	// NewUser hashes the password before it asks the store, so a taken
	// address costs the same work as a new one, and gets the same answer.
	u, err := NewUser(r.Context(), s.users, s.pw, email, c.Password, s.cfg.Now())
	switch {
	case errors.Is(err, signoff.ErrEmailTaken):
		s.event(r, slog.LevelInfo, eventRegisterTaken, "", "", account(email))
	case err != nil:
		signoff.WriteError(w, unavailableErr(err))
		return
	default:
		s.event(r, slog.LevelInfo, eventRegister, u.ID, "")
	}
	signoff.WriteJSON(w, http.StatusAccepted, registered{Email: email, Detail: registeredDetail})
}

// registered is the answer to POST /register, the same whether the address
// was new or already had an account: registration must not tell a stranger
// who has an account here (OWASP Authentication Cheat Sheet, "Authentication
// and Error Messages").
type registered struct {
	Email  string `json:"email"`
	Detail string `json:"detail"`
}

const registeredDetail = "sign in with this email and your password; if the address already had an account, it is unchanged: sign in with its password"

// unavailableErr turns a store failure into the 503 answer.
func unavailableErr(err error) error {
	if signoff.StatusOf(err) != http.StatusInternalServerError {
		return err
	}
	return fmt.Errorf("%w: %w", signoff.ErrUnavailable, err)
}

type loginResponse struct {
	User    userView            `json:"user"`
	Session signoff.SessionInfo `json:"session"`
	*signoff.TokenResponse
}

var errWrongCredentials = &signoff.StatusError{Status: http.StatusUnauthorized, Detail: "wrong email or password"}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	c, ok := readCredentials(w, r)
	if !ok {
		return
	}
	if c.Client != "" && c.Client != "native" && c.Client != "browser" {
		signoff.WriteProblem(w, http.StatusBadRequest, `client must be "browser" or "native"`)
		return
	}
	if c.Password == "" {
		signoff.WriteProblem(w, http.StatusBadRequest, "password is required")
		return
	}
	if !s.limit(w, r, "login", "") {
		s.metrics.logins.WithLabelValues(resultRateLimited).Inc()
		return
	}
	// An unknown email is limited as a real one is (see loginLimits), so
	// the limits do not tell which accounts exist; a malformed one cannot
	// match an account and has only the client IP's limit.
	email, emailErr := NormalizeEmail(c.Email)
	var ticket loginTicket
	if emailErr == nil {
		t, spent, wait := s.logins.begin(email, clientKey(s.clientIP(r)))
		if spent != "" {
			s.metrics.logins.WithLabelValues(resultRateLimited).Inc()
			signoff.WriteError(w, s.tooMany("login", spent, r, wait))
			return
		}
		ticket = t
	}
	// An unknown or malformed email is checked against a dummy hash, so the
	// answer takes as long as a wrong password for a real account.
	var u *signoff.User
	hash := ""
	if emailErr == nil {
		found, err := s.users.UserByEmail(r.Context(), email)
		switch {
		case err == nil:
			u, hash = found, found.PasswordHash
		case !errors.Is(err, signoff.ErrNotFound):
			ticket.cancel()
			signoff.WriteError(w, unavailableErr(err))
			return
		}
	}
	good, err := s.pw.verify(r.Context(), hash, c.Password)
	if err != nil {
		s.log.Error("login: verify password", "err", err)
	}
	if !good || u == nil {
		uid := ""
		if u != nil {
			uid = u.ID
		}
		s.loginFailed(w, r, uid, c.Email, reasonWrongCredentials)
		return
	}
	// A disabled account is answered as a wrong password is: the answer
	// must not tell a stranger that the account exists. The attempt counts
	// as a failure for the rate limits.
	if u.Disabled {
		s.loginFailed(w, r, u.ID, c.Email, reasonDisabled)
		return
	}
	ticket.succeeded()
	res, err := s.mgr.Login(w, r, u.ID, signoff.LoginOptions{Native: c.Client == "native"})
	if err != nil {
		signoff.WriteError(w, err)
		return
	}
	if !s.accountHolds(w, r, u, res.Session.ID, c.Email) {
		return
	}
	s.emails.put(u.ID, u.Email)
	out := loginResponse{User: viewOf(u), Session: res.Session.Info(true)}
	if res.Tokens != nil {
		t := res.Tokens.Response(s.cfg.Now())
		out.TokenResponse = &t
	}
	signoff.WriteJSON(w, http.StatusOK, out)
}

// Why a sign-in failed, the reason of its login.failed event.
const (
	reasonWrongCredentials = "wrong_credentials" // no such account, or not its password
	reasonDisabled         = "disabled"          // the right password of a disabled account
)

// loginFailed answers a failed sign-in with 401 and logs it; user is the
// account's ID when the email names one.
func (s *Server) loginFailed(w http.ResponseWriter, r *http.Request, user, email, reason string) {
	s.metrics.logins.WithLabelValues(resultFailed).Inc()
	s.event(r, slog.LevelInfo, eventLoginFailed, user, "", account(email), slog.String("reason", reason))
	signoff.WriteError(w, errWrongCredentials)
}

// accountHolds reads the account u again once its new session sid is
// stored, and reports whether it is still the account whose password was
// checked. An administrator may have disabled or deleted it, or set a new
// password, in between: the command's logout everywhere came too early to
// end this session, and so this read is sure to see the change (the
// command changes the account before it ends the sessions). Then the
// session is ended, its cookie not sent, and the sign-in answered as a
// failure (503 if the account cannot be read); false means that answer is
// written.
func (s *Server) accountHolds(w http.ResponseWriter, r *http.Request, u *signoff.User, sid, email string) bool {
	now, err := s.users.UserByID(r.Context(), u.ID)
	reason := ""
	switch {
	case errors.Is(err, signoff.ErrNotFound):
		reason, err = reasonWrongCredentials, nil
	case err != nil:
	case now.Disabled:
		reason = reasonDisabled
	case now.PasswordHash != u.PasswordHash:
		reason = reasonWrongCredentials
	default:
		return true
	}
	// The account could not be read, or it changed: end the session,
	// whose credential has not left the server.
	w.Header().Del("Set-Cookie")
	if rerr := s.mgr.RevokeSession(r.Context(), sid); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		signoff.WriteError(w, unavailableErr(err))
		return false
	}
	s.loginFailed(w, r, u.ID, email, reason)
	return false
}

// refresh is the library's refresh handler behind the per-IP limit.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	// The per-account limit is Config.RefreshLimit: the account is known
	// only once the token is looked up.
	if r.Method == http.MethodPost && !s.limit(w, r, "refresh", "") {
		return
	}
	s.mgr.RefreshHandler().ServeHTTP(w, r)
}

// email returns the email of a user, from memory when it can.
func (s *Server) email(r *http.Request, id string) (string, error) {
	if e, ok := s.emails.get(id); ok {
		return e, nil
	}
	u, err := s.users.UserByID(r.Context(), id)
	if err != nil {
		return "", err
	}
	s.emails.put(id, u.Email)
	return u.Email, nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p *signoff.Principal) {
	if !httpx.Allow(w, r, http.MethodGet) {
		return
	}
	email, err := s.email(r, p.UserID)
	if err != nil {
		s.userGone(w, err)
		return
	}
	writeMe(w, p, email)
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	if !httpx.Allow(w, r, http.MethodGet) {
		return
	}
	ks := s.mgr.Keys()
	if ks == nil {
		signoff.WriteProblem(w, http.StatusNotFound, "no public keys: access tokens are not signed with a public-key algorithm here")
		return
	}
	b, err := json.Marshal(ks.JWKS())
	if err != nil {
		signoff.WriteError(w, err)
		return
	}
	// Public keys only; other services may cache them for a while. Keep a
	// rotated-out key in the set for at least this long plus the token TTL.
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(append(b, '\n'))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if !httpx.Allow(w, r, http.MethodGet) {
		return
	}
	h := w.Header()
	h["Content-Type"] = httpx.JSONContentType
	h["Cache-Control"] = httpx.NoStore
	h["Content-Length"] = healthyLength
	w.WriteHeader(http.StatusOK)
	w.Write(healthy)
}

// healthy is /healthz's answer, the JSON of {"status": "ok"}.
var (
	healthy       = []byte(`{"status":"ok"}` + "\n")
	healthyLength = httpx.ContentLength(len(healthy))
)

// pinger is a store that says whether it can answer: every signoff.Store,
// and the user stores that ship with signoff.
type pinger interface{ Ping(context.Context) error }

// readyz reports whether the stores answer and the revocation bus is fresh.
// Each store's Ping reads a few pages of its data, not only its connection
// (a damaged SQLite file is not ready). The user store is asked too when it
// can be: sign-in reads it, and it may be another database than the
// sessions' (PostgreSQL beside Redis); when it is the same store, once is
// enough.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !httpx.Allow(w, r, http.MethodGet) {
		return
	}
	err := s.store.Ping(r.Context())
	if u, ok := s.users.(pinger); ok && err == nil && any(u) != any(s.store) {
		err = u.Ping(r.Context())
	}
	if err != nil {
		signoff.WriteError(w, unavailableErr(fmt.Errorf("readyz: ping the store: %w", err)))
		return
	}
	// An instance whose bus is not fresh is still correct: it reads every
	// credential through to the store. It is ready, and says it is degraded.
	if !s.bus.Fresh() {
		signoff.WriteJSON(w, http.StatusOK, map[string]string{"status": "degraded", "detail": "the revocation bus is not fresh; reading every credential through to the store"})
		return
	}
	signoff.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
