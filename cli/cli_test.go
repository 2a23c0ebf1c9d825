package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/cli"
	"github.com/signoff/signoff/internal/sqlitefault"
	"github.com/signoff/signoff/internal/syncbuf"
	"github.com/signoff/signoff/internal/testenv"
)

type result struct {
	code           int
	stdout, stderr string
}

// run calls cli.Main as the signoff binary would be called.
func run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, func(k string) string { return env[k] },
		cli.IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return result{code, out.String(), errb.String()}
}

// oneLineError checks the CLI's contract for bad input: the given exit
// status and exactly one line on stderr, mentioning want.
func oneLineError(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d; stderr %q", r.code, code, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "signoff: ") {
		t.Fatalf("stderr is not one 'signoff: ' line: %q", r.stderr)
	}
	if !strings.Contains(lines[0], want) {
		t.Fatalf("stderr %q does not mention %q", lines[0], want)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
		t.Fatalf("a stack trace: %q", r.stderr)
	}
	if r.stdout != "" {
		t.Fatalf("an error, and on stdout %d bytes as well: %.120q", len(r.stdout), r.stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	oneLineError(t, run(t, nil, "", "frobnicate"), 2, `unknown command "frobnicate"`)
	oneLineError(t, run(t, nil, "", "users", "remove"), 2, `unknown command "users remove"`)
	oneLineError(t, run(t, nil, "", "serve", "--bogus"), 2, "-bogus")
	oneLineError(t, run(t, nil, "", "serve", "--mode", "cookie"), 2, "want session or jwt")
	oneLineError(t, run(t, map[string]string{"SIGNOFF_MODE": "cookie"}, "", "serve"), 2, "SIGNOFF_MODE")
	oneLineError(t, run(t, nil, "", "serve", "--rate-limit", "lots"), 2, "N/UNIT")
	oneLineError(t, run(t, nil, "", "serve", "--store", "signoff.db"), 2, "sqlite:PATH")
	oneLineError(t, run(t, nil, "", "serve", "--store", "redis://127.0.0.1:1"), 2, "cannot hold users")
	oneLineError(t, run(t, nil, "", "serve", "--store", db, "--sessions", "postgres://127.0.0.1:1/x"), 2, "want redis://")
	// Nothing listens on port 1: the open fails, in one line, without the password.
	for _, args := range [][]string{
		{"serve", "--store", "postgres://u:secretpw@127.0.0.1:1/x"},
		{"migrate", "--store", "postgres://u:secretpw@127.0.0.1:1/x"},
		{"serve", "--store", db, "--sessions", "redis://:secretpw@127.0.0.1:1/0"},
	} {
		r := run(t, nil, "", args...)
		oneLineError(t, r, 1, "127.0.0.1:1")
		if strings.Contains(r.stderr+r.stdout, "secretpw") {
			t.Fatalf("%v: the store URL's password was printed", args)
		}
	}
	oneLineError(t, run(t, nil, "", "serve", "--addr", "0.0.0.0:0", "--store", db), 2, "--behind-proxy")
	oneLineError(t, run(t, nil, "", "serve", "--tls-cert", "x.pem", "--store", db), 2, "go together")
	oneLineError(t, run(t, nil, "", "serve", "--idle-timeout", "-1s", "--store", db), 2, "positive")
	oneLineError(t, run(t, nil, "", "serve", "--cache-size", "0", "--store", db), 2, "--cache-size must be at least 1")
	oneLineError(t, run(t, nil, "", "serve", "extra"), 2, "no arguments")
	oneLineError(t, run(t, nil, "", "serve", "--store", db, "--return-to", "https://app.example.com/account"), 2, "--return-to")
	oneLineError(t, run(t, map[string]string{"SIGNOFF_RETURN_TO": "https://ok.test,evil.test"}, "", "serve", "--store", db), 2, "SIGNOFF_RETURN_TO")
	oneLineError(t, run(t, nil, "", "serve", "--store", db, "--cookie-domain", "https://example.com"), 2, "--cookie-domain")
	oneLineError(t, run(t, map[string]string{"SIGNOFF_COOKIE_DOMAIN": "localhost"}, "", "serve", "--store", db), 2, "SIGNOFF_COOKIE_DOMAIN")
	oneLineError(t, run(t, nil, "", "serve", "--store", db, "--signin-url", "auth.example.com"), 2, "--signin-url")
	oneLineError(t, run(t, nil, "", "serve", "--nope"), 2, "signoff serve -h")
	oneLineError(t, run(t, nil, "", "users", "add", "--nope"), 2, "signoff users add -h")
	oneLineError(t, run(t, nil, "", "serve", "--idle-timeout", "30"), 2, "use 30m")
	oneLineError(t, run(t, map[string]string{"SIGNOFF_ACCESS_TOKEN_TTL": "5"}, "", "serve"), 2, "use 5m")
	oneLineError(t, run(t, nil, "", "serve", "--store", db, "--tls-cert", "missing.pem", "--tls-key", "missing-key.pem"), 2, "missing.pem")
	oneLineError(t, run(t, nil, "", "keys", "rotate", "--store", db), 2, "SIGNOFF_KEYS_SECRET")
	oneLineError(t, run(t, map[string]string{"SIGNOFF_KEYS_SECRET": "short"}, "", "keys", "list", "--store", db), 2, "at least 32")
	oneLineError(t, run(t, map[string]string{"SIGNOFF_KEYS_SECRET": strings.Repeat("s", 40)}, "", "keys", "list", "--store", db), 1, "holds no keys")
	oneLineError(t, run(t, nil, "", "users", "add"), 2, "needs an EMAIL")
	oneLineError(t, run(t, nil, "", "users", "add", "--store", db, "not-an-email"), 2, "not a valid address")
	oneLineError(t, run(t, nil, "", "users", "add", "--store", db, "a@example.test"), 2, "no password on stdin")
	oneLineError(t, run(t, nil, "short\n", "users", "add", "--store", db, "a@example.test"), 2, "at least 8")
	oneLineError(t, run(t, nil, "", "sessions", "list", "--store", db), 2, "--user")
	oneLineError(t, run(t, nil, "", "sessions", "revoke", "--store", db, "123"), 2, "ses_")
	oneLineError(t, run(t, nil, "", "sessions", "revoke", "--store", db, "ses_nonexistent"), 1, "no live session ses_nonexistent")
	oneLineError(t, run(t, nil, "", "sessions", "list", "--store", db, "--user", "ghost@example.test"), 1, "no user ghost@example.test")
	oneLineError(t, run(t, nil, ""), 2, "no command")

	if r := run(t, nil, "", "serve", "-h"); r.code != 0 || !strings.Contains(r.stdout, "SIGNOFF_") || !strings.Contains(r.stdout, "-rate-limit") {
		t.Fatalf("serve -h: %d %q", r.code, r.stdout)
	}
	if r := run(t, nil, "", "help"); r.code != 0 || !strings.Contains(r.stdout, "users logout-all") || !strings.Contains(r.stdout, "users set-password") {
		t.Fatalf("help: %d %q", r.code, r.stdout)
	}
	if r := run(t, nil, "", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "signoff ") {
		t.Fatalf("version: %d %q", r.code, r.stdout)
	}
}

func TestEnvName(t *testing.T) {
	if got := cli.EnvName("rate-limit"); got != "SIGNOFF_RATE_LIMIT" {
		t.Fatal(got)
	}
}

func TestMigrate(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	for range 2 {
		r := run(t, nil, "", "migrate", "--store", db)
		if r.code != 0 || !regexp.MustCompile(`is at schema version [1-9]`).MatchString(r.stdout) {
			t.Fatalf("migrate: %d %q %q", r.code, r.stdout, r.stderr)
		}
	}
	// SIGNOFF_STORE is read when --store is not given.
	r := run(t, map[string]string{"SIGNOFF_STORE": db}, "", "migrate")
	if r.code != 0 || !strings.Contains(r.stdout, db) {
		t.Fatalf("migrate with SIGNOFF_STORE: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// liveServer runs `signoff serve` through cli.Main in this process and
// returns its base URL; the server stops when the test ends.
func liveServer(t *testing.T, db string, extra ...string) string {
	t.Helper()
	url, _, _ := liveServerSaying(t, db, extra...)
	return url
}

// liveServerSaying is liveServer that also returns the lines serve printed
// before the one with its URL, and its log (stderr).
func liveServerSaying(t *testing.T, db string, extra ...string) (string, []string, *syncbuf.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errb := &syncbuf.Buffer{}
	done := make(chan int, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--store", db, "--rate-limit", "off"}, extra...)
	go func() {
		done <- cli.Main(ctx, args, func(string) string { return "" }, cli.IO{Stdin: strings.NewReader(""), Stdout: pw, Stderr: errb})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	url := ""
	var said []string
	for sc.Scan() {
		if m := regexp.MustCompile(`open (http://\S+)/ in a browser`).FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
		said = append(said, sc.Text())
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		cancel()
		t.Fatalf("serve printed no URL; exit %d; stderr %q", <-done, errb.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, errb.String())
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop within 15 s of its context ending")
		}
	})
	return url, said, errb
}

// login signs in over HTTP and returns the session cookie header value.
func login(t *testing.T, base, email, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	res, err := http.Post(base+"/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("login: %d", res.StatusCode)
	}
	for _, c := range res.Cookies() {
		if c.Name == "__Host-session" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func me(t *testing.T, base, cookie string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/me", nil)
	req.Header.Set("Cookie", cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// The admin CLI is another process writing the same SQLite file. A revocation
// it makes must reach the running server's memory before the command returns:
// a session the server had cached is rejected at once.
func TestAdminRevocationReachesTheRunningServer(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "live.db")
	const pw = "correct horse battery staple"
	if r := run(t, nil, pw+"\n", "users", "add", "--store", db, "Ada@Example.test"); r.code != 0 || !strings.Contains(r.stdout, "added ada@example.test") {
		t.Fatalf("users add: %d %q %q", r.code, r.stdout, r.stderr)
	}
	oneLineError(t, run(t, nil, pw+"\n", "users", "add", "--store", db, "ada@example.test"), 1, "already registered")
	base, _, logs := liveServerSaying(t, db)

	a := login(t, base, "ada@example.test", pw)
	b := login(t, base, "ada@example.test", pw)
	if me(t, base, a) != 200 || me(t, base, b) != 200 { // both now cached by the server
		t.Fatal("sessions do not work")
	}
	r := run(t, nil, "", "sessions", "list", "--store", db, "--user", "ada@example.test")
	ids := regexp.MustCompile(`ses_[0-9a-f]+`).FindAllString(r.stdout, -1)
	if r.code != 0 || len(ids) != 2 || !strings.Contains(r.stdout, "2 live sessions") {
		t.Fatalf("sessions list: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Which ID is a's? Revoke one, then exactly one of a, b must be dead.
	r = run(t, nil, "", "sessions", "revoke", "--store", db, ids[0])
	if r.code != 0 {
		t.Fatalf("sessions revoke: %d %q", r.code, r.stderr)
	}
	sa, sb := me(t, base, a), me(t, base, b)
	if (sa == 401) == (sb == 401) || sa+sb != 401+200 {
		t.Fatalf("after revoking one session: a %d, b %d; want one 401 and one 200", sa, sb)
	}
	c := login(t, base, "ada@example.test", pw)
	me(t, base, c)
	r = run(t, nil, "", "users", "logout-all", "--store", db, "ada@example.test")
	if r.code != 0 || !strings.Contains(r.stdout, "2 sessions revoked") {
		t.Fatalf("users logout-all: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for name, ck := range map[string]string{"a": a, "b": b, "c": c} {
		if got := me(t, base, ck); got != 401 {
			t.Fatalf("session %s after users logout-all: %d, want 401", name, got)
		}
	}
	if r := run(t, nil, "", "sessions", "list", "--store", db, "--user", "ada@example.test"); !strings.Contains(r.stdout, "0 live sessions") {
		t.Fatalf("sessions list after logout-all: %q", r.stdout)
	}
	// Every admin action is in the running server's log, with what it was
	// and who ran it, those that revoke nothing included.
	for _, args := range [][]string{{"users", "disable"}, {"users", "enable"}} {
		if r := run(t, nil, "", append(args, "--store", db, "ada@example.test")...); r.code != 0 {
			t.Fatalf("%v: %d %q", args, r.code, r.stderr)
		}
	}
	for _, want := range [][2]string{{"action=session.revoked", "session=" + ids[0]}, {"action=logout_all", "auth_version=1"},
		{"action=user.disabled", "auth_version=2"}, {"action=user.enabled", "auth_version=0"}} {
		n := 0
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "msg=admin.applied") && strings.Contains(l, "by=admin") && strings.Contains(l, "operator=") && strings.Contains(l, want[0]) && strings.Contains(l, want[1]) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the server logged %d admin.applied by=admin lines with %v; log:\n%s", n, want, logs.String())
		}
	}
}

// TestServeSaysWhatJWTModeNeedsBehindAProxy: in jwt mode serve says at start
// that a browser behind a forward-auth proxy cannot pass /verify and what to
// use instead; in session mode, where it can, it says nothing of the kind.
func TestServeSaysWhatJWTModeNeedsBehindAProxy(t *testing.T) {
	for mode, want := range map[string]bool{"jwt": true, "session": false} {
		_, said, _ := liveServerSaying(t, "sqlite:"+filepath.Join(t.TempDir(), "s.db"), "--mode", mode)
		got := strings.Contains(strings.Join(said, "\n"), "cannot pass /verify")
		if got != want {
			t.Errorf("%s mode: serve printed %q; the note on browsers behind a proxy: %v, want %v", mode, said, got, want)
		}
	}
}

func TestServePrintsWhereToOpenAndStops(t *testing.T) {
	base := liveServer(t, "sqlite:"+filepath.Join(t.TempDir(), "s.db"), "--mode", "jwt")
	res, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("jwks: %d", res.StatusCode)
	}
}

// --return-to reaches the server: GET /return follows an allowed origin and
// no other.
func TestServeReturnTo(t *testing.T) {
	base := liveServer(t, "sqlite:"+filepath.Join(t.TempDir(), "s.db"), "--return-to", "https://app.example.com, http://127.0.0.1:9")
	for rd, want := range map[string]string{"https://app.example.com/x": "https://app.example.com/x", "http://127.0.0.1:9/": "http://127.0.0.1:9/", "https://evil.test/": ""} {
		res, err := http.Get(base + "/return?rd=" + url.QueryEscape(rd))
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Return *string }
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || body.Return == nil || *body.Return != want {
			t.Fatalf("GET /return?rd=%s: %d, %v; want %q", rd, res.StatusCode, err, want)
		}
	}
}

// A database file damaged on disk: migrate and serve exit 1 with one line
// naming the file, instead of migrate saying all is well (exit 0) and serve
// starting on it.
func TestCorruptedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	sqlitefault.Fill(t, path, 3000, 3000)
	sqlitefault.Corrupt(t, path, 4)
	oneLineError(t, run(t, nil, "", "migrate", "--store", "sqlite:"+path), 1, path+" is corrupted")
	// A serve that started anyway is stopped after a minute, and fails here.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := cli.Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--store", "sqlite:" + path},
		func(string) string { return "" }, cli.IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	oneLineError(t, result{code, out.String(), errb.String()}, 1, path+" is corrupted")
}

// Metrics are on GET /metrics of the server, or, with --metrics-addr, on
// that address alone; off turns them off.
func TestServeMetricsAddr(t *testing.T) {
	get := func(u string) int {
		t.Helper()
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	db := func() string { return "sqlite:" + filepath.Join(t.TempDir(), "s.db") }
	base, said, _ := liveServerSaying(t, db())
	if get(base+"/metrics") != 200 || !slices.Contains(said, "metrics: GET /metrics") {
		t.Fatalf("default: /metrics %d; serve said %q", get(base+"/metrics"), said)
	}
	base, said, _ = liveServerSaying(t, db(), "--metrics-addr", "127.0.0.1:0")
	var murl string
	for _, l := range said {
		if u, ok := strings.CutPrefix(l, "metrics: "); ok {
			murl = u
		}
	}
	if !strings.HasPrefix(murl, "http://127.0.0.1:") {
		t.Fatalf("--metrics-addr: serve said %q", said)
	}
	if get(murl) != 200 || get(base+"/metrics") != 404 || get(strings.TrimSuffix(murl, "/metrics")+"/api/me") != 404 {
		t.Fatalf("--metrics-addr: %s %d, %s/metrics %d", murl, get(murl), base, get(base+"/metrics"))
	}
	base, said, _ = liveServerSaying(t, db(), "--metrics-addr", "off")
	if get(base+"/metrics") != 404 || !slices.Contains(said, "metrics: off") {
		t.Fatalf("off: /metrics %d; serve said %q", get(base+"/metrics"), said)
	}
}

// What serve and the admin commands create (a SQLite file and its
// journals, jwt key files) stays out of commits wherever it was run.
func TestGitignoreKeepsDatabasesAndKeysOut(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		testenv.Skip(t, "the .gitignore check", "apt-get install git")
	}
	if err := exec.Command(git, "-C", "..", "rev-parse", "--git-dir").Run(); err != nil {
		t.Skip("not in a git checkout")
	}
	for _, p := range []string{"signoff.db", "signoff.db-wal", "signoff.db-shm", "signoff.keys.json",
		"deploy/prod.db", "deploy/prod.db-journal", "deploy/prod.keys.json", "cli/x.sqlite"} {
		if err := exec.Command(git, "-C", "..", "check-ignore", "-q", "--no-index", p).Run(); err != nil {
			t.Errorf("%s is not ignored by .gitignore", p)
		}
	}
	for _, p := range []string{"README.md", "server/testdata/forward-auth/nginx.conf", "cli/cli.go"} {
		if exec.Command(git, "-C", "..", "check-ignore", "-q", "--no-index", p).Run() == nil {
			t.Errorf("%s is ignored by .gitignore", p)
		}
	}
}

// The keys commands on a running jwt-mode server that keeps its keys in
// the store: list, rotate (the server signs with the new key at once),
// revoke of an unknown key (exit 1).
func TestKeysCommands(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "k.db")
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("z", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := liveServer(t, db, "--mode", "jwt", "--keys-secret-file", secretFile)
	env := map[string]string{"SIGNOFF_KEYS_SECRET": strings.Repeat("z", 40)}
	r := run(t, env, "", "keys", "list", "--store", db)
	if r.code != 0 || !strings.Contains(r.stdout, "1 keys, version 1") || !strings.Contains(r.stdout, "signs") {
		t.Fatalf("keys list: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, "", "keys", "rotate", "--store", db, "--keys-secret-file", secretFile)
	m := regexp.MustCompile(`rotated: (\S+) signs`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("keys rotate: %d %q %q", r.code, r.stdout, r.stderr)
	}
	res, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []struct{ Kid string } }
	json.NewDecoder(res.Body).Decode(&set)
	res.Body.Close()
	if len(set.Keys) != 2 || set.Keys[0].Kid != m[1] {
		t.Fatalf("the running server's JWKS after keys rotate: %+v, want %s first", set.Keys, m[1])
	}
	oneLineError(t, run(t, env, "", "keys", "revoke", "--store", db, "nope"), 1, "no key nope")
	if _, err := os.Stat(filepath.Join(dir, "k.keys.json")); err == nil {
		t.Fatal("a key file was written beside the database")
	}
}
