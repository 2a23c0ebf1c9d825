// Package cli is the signoff command line. Main takes its arguments,
// environment and standard streams as values, so tests call it directly.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/server"
)

// Env is a process environment: os.Getenv, or a map in tests.
type Env func(string) string

// IO is where a command reads and writes. Stdin may be a terminal (*os.File),
// in which case passwords are read without echo.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Exit statuses.
const (
	ExitOK    = 0
	ExitError = 1 // the command ran and failed
	ExitUsage = 2 // the command line or the environment is wrong
)

// usageError is a mistake on the command line; it exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

const help = `signoff: sessions and tokens that actually end.

Usage:
  signoff serve [flags]                 run the auth server
  signoff users add EMAIL               add a user (password from a prompt or stdin)
  signoff users logout-all EMAIL        sign a user out everywhere
  signoff sessions list --user EMAIL    list a user's live sessions
  signoff sessions revoke ID            end one session
  signoff check URL                     audit a site's logout from outside (exit 1 on a FAIL)
  signoff migrate                       create or upgrade the database
  signoff version                       print the version

Every flag can also be set as SIGNOFF_<FLAG>, e.g. SIGNOFF_STORE=sqlite:/var/lib/signoff.db.
Run 'signoff COMMAND -h' for a command's flags.
`

// Main runs the command in args (without the program name) and returns the
// exit status. Errors are printed as one line on stderr, never a stack trace.
func Main(ctx context.Context, args []string, env Env, stdio IO) int {
	err := run(ctx, args, env, stdio)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	fmt.Fprintf(stdio.Stderr, "signoff: %s\n", oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitError
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func run(ctx context.Context, args []string, env Env, stdio IO) error {
	if len(args) == 0 {
		return usagef("no command given; run 'signoff help' for the list")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdio.Stdout, help)
		return nil
	case "serve":
		return serve(ctx, rest, env, stdio)
	case "migrate":
		return migrate(ctx, rest, env, stdio)
	case "check":
		return checkCmd(ctx, rest, env, stdio)
	case "version", "--version", "-version":
		fmt.Fprintf(stdio.Stdout, "signoff %s (%s)\n", Version(), goVersion())
		return nil
	case "users", "sessions":
		if len(rest) == 0 {
			return usagef("%s needs a subcommand; run 'signoff help'", cmd)
		}
		sub := cmd + " " + rest[0]
		switch sub {
		case "users add":
			return usersAdd(ctx, rest[1:], env, stdio)
		case "users logout-all":
			return usersLogoutAll(ctx, rest[1:], env, stdio)
		case "sessions list":
			return sessionsList(ctx, rest[1:], env, stdio)
		case "sessions revoke":
			return sessionsRevoke(ctx, rest[1:], env, stdio)
		}
		return usagef("unknown command %q; run 'signoff help'", sub)
	}
	return usagef("unknown command %q; run 'signoff help'", cmd)
}

// Version is the module version this binary was built from.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "go"
}

// flags is a FlagSet whose flags also read SIGNOFF_* variables.
type flags struct {
	*flag.FlagSet
	name string
	out  io.Writer
}

func newFlags(name, synopsis string, stdio IO) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := &flags{FlagSet: fs, name: name, out: stdio.Stdout}
	fs.Usage = func() {
		fmt.Fprintf(f.out, "Usage: signoff %s\n\nFlags (each also read from SIGNOFF_<FLAG>):\n", synopsis)
		fs.SetOutput(f.out)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return f
}

// EnvName is the environment variable that sets a flag: --rate-limit is
// SIGNOFF_RATE_LIMIT.
func EnvName(flagName string) string {
	return "SIGNOFF_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse applies SIGNOFF_* variables, then the command line, which wins. It
// returns the positional arguments and checks there are exactly want of them
// (-1: any number).
func (f *flags) parse(args []string, env Env, want int, what string) ([]string, error) {
	var envErr error
	f.VisitAll(func(fl *flag.Flag) {
		if v := env(EnvName(fl.Name)); v != "" && envErr == nil {
			if err := f.Set(fl.Name, v); err != nil {
				envErr = usagef("%s=%q: %v", EnvName(fl.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	// Flags may come after the positional arguments too: users type
	// "signoff users add a@b --store sqlite:x".
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) { // the flag package has printed Usage
				return nil, err
			}
			return nil, usagef("%s: %v (run 'signoff %s -h')", f.name, err, f.name)
		}
		args = f.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if want >= 0 && len(pos) != want {
		if want == 0 {
			return nil, usagef("%s takes no arguments, got %q", f.name, strings.Join(pos, " "))
		}
		return nil, usagef("%s needs %s", f.name, what)
	}
	return pos, nil
}

// modeValue is a flag.Value for --mode.
type modeValue struct{ m *signoff.Mode }

func (v modeValue) String() string {
	if v.m == nil {
		return "session"
	}
	return v.m.String()
}

func (v modeValue) Set(s string) error {
	m, ok := signoff.ParseMode(s)
	if !ok {
		return fmt.Errorf("want session or jwt, got %q", s)
	}
	*v.m = m
	return nil
}

// rateValue is a flag.Value for --rate-limit.
type rateValue struct {
	r   *server.Rate
	set *bool
}

func (v rateValue) String() string {
	if v.r == nil {
		return server.DefaultRate.String()
	}
	return v.r.String()
}

func (v rateValue) Set(s string) error {
	r, err := server.ParseRate(s)
	if err != nil {
		return err
	}
	*v.r, *v.set = r, true
	return nil
}

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

func serve(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("serve", "serve [flags]", stdio)
	cfg := server.Config{Mode: signoff.ModeSession, RateLimit: server.DefaultRate}
	f.StringVar(&cfg.Addr, "addr", server.DefaultAddr, "`address` to listen on")
	f.StringVar(&cfg.Store, "store", server.DefaultStore, storeUsage)
	f.StringVar(&cfg.Sessions, "sessions", "", sessionsUsage)
	f.Var(modeValue{&cfg.Mode}, "mode", "session (opaque cookie; the default) or jwt (access + refresh tokens)")
	f.Var(rateValue{&cfg.RateLimit, &cfg.RateLimitSet}, "rate-limit", "failed logins per account and client IP (IPs new to the account share 10× in a burst), register and refresh attempts per account; 10× of each kind per client IP; as N/s, N/min or N/h; off disables (default "+server.DefaultRate.String()+")")
	f.BoolVar(&cfg.NoRegister, "no-register", false, "turn POST /register off")
	f.BoolVar(&cfg.BehindProxy, "behind-proxy", false, "a TLS proxy is in front: allow a non-loopback HTTP address, take the client IP from X-Forwarded-For")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "serve HTTPS with this certificate `file`")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "the private key `file` of --tls-cert")
	f.StringVar(&cfg.KeysFile, "keys", "", "jwt mode's key `file` (default: beside the SQLite file, NAME.keys.json)")
	f.StringVar(&cfg.JWTAlg, "jwt-alg", accesstoken.EdDSA, "access-token algorithm: EdDSA or HS256")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", signoff.DefaultIdleTimeout, "end a session after this long without activity")
	f.DurationVar(&cfg.AbsoluteLifetime, "absolute-lifetime", signoff.DefaultAbsoluteLifetime, "end a session this long after sign-in, whatever the activity")
	f.DurationVar(&cfg.AccessTokenTTL, "access-token-ttl", signoff.DefaultAccessTokenTTL, "lifetime of a jwt-mode access token")
	f.DurationVar(&cfg.RefreshGrace, "refresh-grace", signoff.DefaultRefreshGrace, "how long a just-spent refresh token may be retried for the same successor")
	f.StringVar(&cfg.Issuer, "issuer", signoff.DefaultIssuer, "iss of access tokens")
	f.StringVar(&cfg.Audience, "audience", signoff.DefaultAudience, "aud of access tokens")
	csd := f.String("clear-site-data", strings.Join(signoff.DefaultClearSiteData, ","), "Clear-Site-Data directives sent on logout, comma-separated; off sends none")
	logFormat := f.String("log-format", "text", "log format: text or json")
	logLevel := f.String("log-level", "info", "log level: debug, info, warn or error")
	if _, err := f.parse(args, env, 0, ""); err != nil {
		return err
	}
	if cfg.JWTAlg != accesstoken.EdDSA && cfg.JWTAlg != accesstoken.HS256 {
		return usagef("--jwt-alg: want EdDSA or HS256, got %q", cfg.JWTAlg)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	for name, d := range map[string]time.Duration{"idle-timeout": cfg.IdleTimeout, "absolute-lifetime": cfg.AbsoluteLifetime, "access-token-ttl": cfg.AccessTokenTTL} {
		if d <= 0 {
			return usagef("--%s must be positive, got %v", name, d)
		}
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
	fmt.Fprintf(stdio.Stdout, "signoff %s: %s mode, store %s\nopen %s://%s/ in a browser (Ctrl-C stops)\n",
		Version(), cfg.Mode, where, scheme, browserAddr(ln.Addr().String()))
	log.Info("serving", "addr", ln.Addr().String(), "mode", cfg.Mode.String(), "store", where, "rate_limit", cfg.RateLimit.String())
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
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

const (
	storeUsage    = "where users (and sessions, unless --sessions) live: sqlite:PATH or postgres://…"
	sessionsUsage = "keep sessions, refresh tokens and the revocation bus in this Redis: redis://…"
)

func storeFlag(f *flags) *server.Stores {
	st := &server.Stores{}
	f.StringVar(&st.Store, "store", server.DefaultStore, storeUsage)
	f.StringVar(&st.Sessions, "sessions", "", sessionsUsage)
	return st
}

func migrate(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("migrate", "migrate [--store sqlite:PATH|postgres://…]", stdio)
	store := storeFlag(f)
	if _, err := f.parse(args, env, 0, ""); err != nil {
		return err
	}
	if err := store.Check(); err != nil {
		return usageError{err.Error()}
	}
	out, err := server.Migrate(ctx, *store)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdio.Stdout, out)
	return nil
}

// admin opens the stores named by --store and --sessions for an admin
// command.
func admin(ctx context.Context, st server.Stores, stdio IO) (*server.Admin, error) {
	if err := st.Check(); err != nil {
		return nil, usageError{err.Error()}
	}
	return server.OpenAdmin(ctx, st, slog.New(slog.NewTextHandler(stdio.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

func usersAdd(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("users add", "users add [--store sqlite:PATH|postgres://…] [--sessions redis://…] EMAIL", stdio)
	store := storeFlag(f)
	pos, err := f.parse(args, env, 1, "an EMAIL")
	if err != nil {
		return err
	}
	email, err := server.NormalizeEmail(pos[0])
	if err != nil {
		return usageError{err.Error()}
	}
	password, err := readPassword(stdio)
	if err != nil {
		return err
	}
	a, err := admin(ctx, *store, stdio)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := server.NewUser(ctx, a.Users, server.NewHasher(server.OWASPParams), email, password, time.Now())
	var re *signoff.StatusError
	switch {
	case errors.As(err, &re):
		return usageError{re.Detail}
	case errors.Is(err, signoff.ErrEmailTaken):
		return fmt.Errorf("%s is already registered", email)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdio.Stdout, "added %s (%s)\n", u.Email, u.ID)
	return nil
}

// readPassword prompts twice without echo on a terminal, or reads one line
// from a pipe. The password is never printed.
func readPassword(stdio IO) (string, error) {
	if f, ok := stdio.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stdio.Stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdio.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stdio.Stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdio.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", usagef("the passwords do not match")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdio.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("no password on stdin (pipe one line, or run in a terminal to be prompted)")
	}
	return line, nil
}

// userByEmail finds a user for an admin command, with a readable error.
func userByEmail(ctx context.Context, a *server.Admin, raw string) (*signoff.User, error) {
	email, err := server.NormalizeEmail(raw)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	u, err := a.Users.UserByEmail(ctx, email)
	if errors.Is(err, signoff.ErrNotFound) {
		return nil, fmt.Errorf("no user %s", email)
	}
	return u, err
}

func usersLogoutAll(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("users logout-all", "users logout-all [--store sqlite:PATH|postgres://…] [--sessions redis://…] EMAIL", stdio)
	store := storeFlag(f)
	pos, err := f.parse(args, env, 1, "an EMAIL")
	if err != nil {
		return err
	}
	return withUser(ctx, *store, pos[0], stdio, func(a *server.Admin, u *signoff.User) error {
		n, err := a.Manager.RevokeUser(ctx, u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdio.Stdout, "signed %s out everywhere: %d sessions revoked, every earlier access token rejected\n", u.Email, n)
		return nil
	})
}

// withUser opens the store for an admin command, finds the user with that
// email and runs fn, closing the store after.
func withUser(ctx context.Context, store server.Stores, email string, stdio IO, fn func(*server.Admin, *signoff.User) error) error {
	a, err := admin(ctx, store, stdio)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := userByEmail(ctx, a, email)
	if err != nil {
		return err
	}
	return fn(a, u)
}

func sessionsList(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("sessions list", "sessions list [--store sqlite:PATH|postgres://…] [--sessions redis://…] --user EMAIL", stdio)
	store := storeFlag(f)
	user := f.String("user", "", "the user's `email`")
	if _, err := f.parse(args, env, 0, ""); err != nil {
		return err
	}
	if *user == "" {
		return usagef("sessions list needs --user EMAIL")
	}
	return withUser(ctx, *store, *user, stdio, func(a *server.Admin, u *signoff.User) error {
		ss, err := a.Manager.Sessions(ctx, u.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tLAST SEEN\tEXPIRES\tIP\tUSER AGENT")
		for _, s := range ss {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, stamp(s.CreatedAt), stamp(s.LastSeenAt), stamp(s.ExpiresAt), s.IP, agent(s.UserAgent))
		}
		tw.Flush()
		fmt.Fprintf(stdio.Stdout, "%d live sessions for %s\n", len(ss), u.Email)
		return nil
	})
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

func agent(s string) string {
	if len(s) > 40 {
		return s[:39] + "…"
	}
	return s
}

func sessionsRevoke(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("sessions revoke", "sessions revoke [--store sqlite:PATH|postgres://…] [--sessions redis://…] ID", stdio)
	store := storeFlag(f)
	pos, err := f.parse(args, env, 1, "a session ID (from 'signoff sessions list')")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(pos[0], "ses_") {
		return usagef("%q is not a session ID (they start with ses_)", pos[0])
	}
	a, err := admin(ctx, *store, stdio)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Manager.RevokeSession(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Stdout, "revoked session %s\n", pos[0])
	return nil
}
