package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/check"
)

// exitCode ends a command with a status and no message: the command has
// already said what there was to say (a report with a FAIL exits 1).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// listValue is a repeatable flag.
type listValue struct{ l *[]string }

func (v listValue) String() string {
	if v.l == nil {
		return ""
	}
	return strings.Join(*v.l, ", ")
}

func (v listValue) Set(s string) error {
	*v.l = append(*v.l, s)
	return nil
}

const checkSynopsis = "check [flags] URL"

// nameValues parses the NAME=VALUE values of a repeatable flag.
func nameValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--%s: want NAME=VALUE, got %q", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}

func checkCmd(ctx context.Context, args []string, env Env, stdio IO) error {
	f := newFlags("check", checkSynopsis, stdio)
	var cfg check.Config
	var password, passwordFile, format, diagram, color, configFile, chromium string
	var browser bool
	var cookies, headers, fields, regFields, ignore []string
	f.StringVar(&configFile, "config", "", "read flags from this JSON `file` ({\"user\": …, \"logout\": …}); the command line and SIGNOFF_* win over it")
	f.StringVar(&cfg.User, "user", "", "sign in as this user (the value of --user-field)")
	f.StringVar(&passwordFile, "password-file", "", "read the password from the first line of this `file` (- for stdin)")
	f.StringVar(&password, "password", "", "the password; prefer SIGNOFF_PASSWORD or --password-file, which stay out of ps and shell history")
	f.StringVar(&cfg.Second, "second", "", "`URL` of another instance of the same site, to check that logout on one is seen on the other (R51)")
	f.StringVar(&cfg.LoginMethod, "login-method", "POST", "sign-in method")
	f.StringVar(&cfg.LoginPath, "login", check.DefaultLoginPath, "sign-in `path`")
	f.StringVar(&cfg.LoginFormat, "login-format", "json", "sign-in body: json or form")
	f.StringVar(&cfg.UserField, "user-field", "email", "sign-in body field for the user")
	f.StringVar(&cfg.PasswordField, "password-field", "password", "sign-in body field for the password")
	f.Var(listValue{&fields}, "login-field", "extra sign-in body field as `NAME=VALUE` (repeatable)")
	f.StringVar(&cfg.Protected, "protected", check.DefaultProtected, "a `path` that needs sign-in (2xx with a credential, 401/403/redirect without)")
	f.StringVar(&cfg.Logout, "logout", check.DefaultLogout, "sign-out `path`")
	f.StringVar(&cfg.LogoutMethod, "logout-method", "POST", "sign-out method: POST, GET, or auto (a POST, and a GET when it answers 405 with Allow: GET)")
	f.StringVar(&cfg.CSRFField, "csrf-field", "", "carry the site's CSRF token in this form field `NAME` (default: the page's own hidden inputs)")
	f.StringVar(&cfg.CSRFHeader, "csrf-header", "", "send the site's CSRF token in this header `NAME` (default: X-CSRFToken, X-XSRF-TOKEN or X-CSRF-Token by convention)")
	f.StringVar(&cfg.CSRFCookie, "csrf-cookie", "", "the cookie `NAME` the site's CSRF token comes from (default: csrftoken, XSRF-TOKEN)")
	f.StringVar(&cfg.Register, "register", "", "create the account first with a POST of the user and password to this `path` (in --login-format)")
	f.Var(listValue{&regFields}, "register-field", "extra sign-up field as `NAME=VALUE`; {password} stands for the password (repeatable)")
	f.StringVar(&cfg.Refresh, "refresh", check.DefaultRefresh, "refresh-token `path`, or off")
	f.StringVar(&cfg.LogoutAll, "logout-all", check.DefaultLogoutAll, "sign-out-everywhere `path`, or off")
	f.StringVar(&cfg.Sessions, "sessions", check.DefaultSessions, "sessions list `path` (GET; DELETE path/{id} ends one), or off")
	f.StringVar(&cfg.TokenField, "token-field", "access_token", "JSON field holding an access token in sign-in and refresh answers")
	f.StringVar(&cfg.RefreshField, "refresh-field", "refresh_token", "JSON field holding a refresh token in sign-in and refresh answers")
	f.Var(listValue{&cookies}, "cookie", "a credential cookie `NAME` (repeatable; default: every cookie sign-in sets)")
	f.Var(listValue{&headers}, "header", "send this header with every request, as `'NAME: VALUE'` (repeatable)")
	f.duration(&cfg.Timeout, "timeout", check.DefaultTimeout, "time limit for each request")
	f.IntVar(&cfg.MaxRequests, "max-requests", check.DefaultMaxRequests, "stop after this many requests")
	f.duration(&cfg.MaxWait, "max-wait", check.DefaultMaxWait, "longest total time to wait out 429 Retry-After answers")
	f.duration(&cfg.MaxLifetime, "max-lifetime", check.DefaultMaxLifetime, "longest a credential cookie may live in the browser (R20)")
	f.BoolVar(&cfg.Insecure, "insecure", false, "accept any TLS certificate (self-signed staging sites)")
	f.BoolVar(&browser, "browser", false, "also sign in and out in a headless Chromium of its own, and report what the browser keeps (R21, R26, R26b)")
	f.StringVar(&chromium, "chromium", "", "the Chromium for --browser, a `path` or a name in PATH (default chromium, chromium-browser or google-chrome)")
	f.Var(listValue{&ignore}, "ignore", "report these check `IDs` as SKIP with what they found, e.g. R15,R16 on a plain-HTTP dev server (repeatable, comma-separated)")
	f.StringVar(&format, "format", "text", "report format: text, json, junit or html (one self-contained page)")
	f.StringVar(&diagram, "diagram", "", "also write a Mermaid sequence diagram of the exchange to this `file`")
	f.StringVar(&color, "color", "auto", "colour the text report: auto (when stdout is a terminal and NO_COLOR is unset), always or never")

	if err := applyConfigFile(f, args, env); err != nil {
		return err
	}
	pos, err := f.parse(args, env, 1, "the site's base URL, e.g. signoff check https://staging.example.com")
	if err != nil {
		return err
	}
	cfg.Target = strings.TrimRight(pos[0], "/")
	cfg.Cookies = cookies
	for _, ids := range ignore {
		for _, id := range strings.Split(ids, ",") {
			if id = strings.TrimSpace(id); id != "" {
				cfg.Ignore = append(cfg.Ignore, id)
			}
		}
	}
	switch format {
	case "text", "json", "junit", "html":
	default:
		return usagef("--format: want text, json, junit or html, got %q", format)
	}
	if cfg.LoginExtra, err = nameValues("login-field", fields); err != nil {
		return err
	}
	if cfg.RegisterFields, err = nameValues("register-field", regFields); err != nil {
		return err
	}
	if len(headers) > 0 {
		cfg.Header = http.Header{}
		for _, h := range headers {
			k, v, ok := strings.Cut(h, ":")
			if !ok || strings.TrimSpace(k) == "" {
				return usagef("--header: want 'NAME: VALUE', got %q", h)
			}
			cfg.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	if browser || chromium != "" {
		if cfg.Browser, err = findChromium(chromium, env); err != nil {
			return err
		}
	}
	pw, err := checkPassword(password, passwordFile, stdio)
	if err != nil {
		return err
	}
	cfg.Password = pw
	useColor, err := wantColor(color, env, stdio)
	if err != nil {
		return err
	}

	rep, err := check.Run(ctx, cfg)
	if err != nil {
		// A bad configuration, an unreachable site or a refused sign-in:
		// one line, exit 2. Run never puts a secret in an error.
		return usageError{strings.TrimPrefix(err.Error(), check.ErrUsage.Error()+": ")}
	}
	if diagram != "" {
		if err := writeDiagram(diagram, rep); err != nil {
			return usagef("--diagram: %v", err)
		}
	}
	if err := check.Write(stdio.Stdout, rep, format, useColor); err != nil {
		return err
	}
	switch {
	case rep.Failed():
		return exitCode(ExitError)
	case rep.Incomplete():
		return exitCode(ExitIncomplete)
	}
	return nil
}

// applyConfigFile sets flags from the JSON file named by --config (or
// SIGNOFF_CONFIG) before the environment and the command line are applied.
// Keys are flag names; lists set repeatable flags. A password is refused:
// config files end up in repositories.
func applyConfigFile(f *flags, args []string, env Env) error {
	name := env(EnvName("config"))
	for i, a := range args {
		a = "-" + strings.TrimLeft(a, "-")
		if a == "-config" && i+1 < len(args) {
			name = args[i+1]
		} else if v, ok := strings.CutPrefix(a, "-config="); ok {
			name = v
		}
	}
	if name == "" {
		return nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return usagef("--config: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return usagef("--config %s: not a JSON object of flags: %v", name, err)
	}
	for k, v := range m {
		if k == "password" {
			return usagef("--config %s: a password does not belong in a config file; use SIGNOFF_PASSWORD or password-file", name)
		}
		if k == "config" || f.Lookup(k) == nil {
			return usagef("--config %s: unknown flag %q (run 'signoff check -h')", name, k)
		}
		var vals []string
		switch v := v.(type) {
		case string:
			vals = []string{v}
		case bool, float64:
			vals = []string{fmt.Sprint(v)}
		case []any:
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return usagef("--config %s: %q: want a list of strings", name, k)
				}
				vals = append(vals, s)
			}
		default:
			return usagef("--config %s: %q: want a string, number, boolean or list of strings", name, k)
		}
		for _, s := range vals {
			if err := f.Set(k, s); err != nil {
				return usagef("--config %s: %q: %v", name, k, err)
			}
		}
	}
	return nil
}

// chromiumNames are the names a Chromium goes by in PATH: Debian's,
// Ubuntu's and Google's.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// findChromium returns the Chromium for --browser: --chromium's path, or the
// first of its name or chromiumNames found in PATH.
func findChromium(name string, env Env) (string, error) {
	exe := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
	}
	names := chromiumNames
	if name != "" {
		if strings.ContainsRune(name, filepath.Separator) {
			if !exe(name) {
				return "", usagef("--chromium %s: not an executable file", name)
			}
			return name, nil
		}
		names = []string{name}
	}
	for _, dir := range filepath.SplitList(env("PATH")) {
		for _, n := range names {
			if p := filepath.Join(dir, n); dir != "" && exe(p) {
				return p, nil
			}
		}
	}
	return "", usagef("--browser: no %s in PATH; install one (apt-get install chromium) or give --chromium PATH", strings.Join(names, ", "))
}

// checkPassword takes the password from --password (or SIGNOFF_PASSWORD),
// or from --password-file.
func checkPassword(flagValue, file string, stdio IO) (signoff.Secret, error) {
	switch {
	case flagValue != "" && file != "":
		return signoff.Secret{}, usagef("give the password once: --password (SIGNOFF_PASSWORD) or --password-file")
	case flagValue != "":
		return signoff.NewSecret(flagValue), nil
	case file == "-":
		pw, err := readPassword(IO{Stdin: stdio.Stdin, Stderr: stdio.Stderr})
		return signoff.NewSecret(pw), err
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return signoff.Secret{}, usagef("--password-file: %v", errors.Unwrap(err))
		}
		line, _, _ := strings.Cut(string(b), "\n")
		line = strings.TrimRight(line, "\r")
		if line == "" {
			return signoff.Secret{}, usagef("--password-file %s: the first line is empty", file)
		}
		return signoff.NewSecret(line), nil
	}
	return signoff.Secret{}, usagef("no password: set SIGNOFF_PASSWORD, or use --password-file FILE (- for stdin)")
}

func wantColor(mode string, env Env, stdio IO) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		f, ok := stdio.Stdout.(*os.File)
		return ok && term.IsTerminal(int(f.Fd())) && env("NO_COLOR") == "" && env("TERM") != "dumb", nil
	}
	return false, usagef("--color: want auto, always or never, got %q", mode)
}

func writeDiagram(name string, rep *check.Report) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := check.WriteDiagram(f, rep); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
