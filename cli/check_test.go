package cli_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff/check/fixture"
)

// TestCheckCommand runs `signoff check` against a live `signoff serve`: the
// exit status says whether a check failed, every format comes out, and the
// password never does.
func TestCheckCommand(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "check.db")
	const pw = "correct horse battery staple"
	if r := run(t, nil, pw+"\n", "users", "add", "--store", db, "ada@example.test"); r.code != 0 {
		t.Fatalf("users add: %d %s", r.code, r.stderr)
	}
	base := liveServer(t, db)
	env := map[string]string{"SIGNOFF_PASSWORD": pw}
	noPassword := func(r result) {
		t.Helper()
		if strings.Contains(r.stdout+r.stderr, pw) {
			t.Fatal("the password appears in the output")
		}
	}

	// A run cut short by the budget exits 3: its report is not a pass.
	r := run(t, env, "", "check", "--user", "ada@example.test", "--max-requests", "12", base)
	if r.code != 3 || !strings.Contains(r.stdout, "INCOMPLETE") {
		t.Fatalf("a run stopped early: exit %d, stdout:\n%s", r.code, r.stdout)
	}

	r = run(t, env, "", "check", "--user", "ada@example.test", base)
	noPassword(r)
	if r.code != 0 || !strings.Contains(r.stdout, "OK  no check failed") || strings.Contains(r.stdout, "\x1b[") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
	}

	diagram := filepath.Join(t.TempDir(), "logout.mmd")
	r = run(t, env, "", "check", "--user", "ada@example.test", "--format", "json", "--diagram", diagram, base)
	noPassword(r)
	var rep struct {
		Summary struct{ Fail, Pass int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 || rep.Summary.Pass == 0 || rep.Summary.Fail != 0 {
		t.Fatalf("json: exit %d, %v, %+v", r.code, err, rep)
	}
	if b, err := os.ReadFile(diagram); err != nil || !strings.HasPrefix(string(b), "sequenceDiagram") {
		t.Fatalf("diagram: %v %q", err, b)
	}

	r = run(t, env, "", "check", "--user", "ada@example.test", "--format", "html", base)
	noPassword(r)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "<!DOCTYPE html>") || !strings.Contains(r.stdout, "<svg") {
		t.Fatalf("html: exit %d, stderr %s, stdout:\n%.300s", r.code, r.stderr, r.stdout)
	}

	// A config file, for CI: flags by name, the password from a file.
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte(pw+"\n"), 0o600)
	conf := filepath.Join(dir, "check.json")
	os.WriteFile(conf, []byte(`{"user": "ada@example.test", "password-file": "`+pwFile+`", "format": "junit", "header": ["X-Tenant: a"]}`), 0o600)
	r = run(t, nil, "", "check", "--config", conf, base)
	noPassword(r)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "<?xml") || !strings.Contains(r.stdout, "<testsuites") {
		t.Fatalf("junit via config: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(conf, []byte(`{"user": "ada@example.test", "password": "`+pw+`"}`), 0o600)
	r = run(t, nil, "", "check", "--config", conf, base)
	noPassword(r)
	oneLineError(t, r, 2, "does not belong in a config file")

	// Usage and connection errors: exit 2, one line.
	oneLineError(t, run(t, env, "", "check", "--user", "ada@example.test", "--format", "xml", base), 2, "want text, json, junit or html")
	oneLineError(t, run(t, nil, "", "check", "--user", "ada@example.test", base), 2, "no password")
	oneLineError(t, run(t, env, "", "check", base), 2, "--user")
	oneLineError(t, run(t, env, "", "check", "--user", "ada@example.test", "ftp://x"), 2, "https://host")
	oneLineError(t, run(t, env, "", "check", "--user", "ada@example.test", "--protected", "/", base), 2, "--protected")
	r = run(t, map[string]string{"SIGNOFF_PASSWORD": "wrong horse"}, "", "check", "--user", "ada@example.test", base)
	oneLineError(t, r, 2, "sign-in failed: POST /login answered 401")
	if strings.Contains(r.stderr, "wrong horse") {
		t.Fatal("the wrong password is echoed")
	}
	ln := httptest.NewServer(nil)
	dead := ln.URL
	ln.Close()
	oneLineError(t, run(t, env, "", "check", "--user", "ada@example.test", dead), 2, "cannot reach")

	// A site with a logout bug: exit 1, the report on stdout, nothing on
	// stderr.
	app := fixture.New(fixture.Options{Mode: fixture.Session, Fault: fixture.CookieOnlyLogout, Email: "ada@example.test", Password: pw})
	bad := httptest.NewServer(app.Handler())
	defer bad.Close()
	r = run(t, env, "", "check", "--user", "ada@example.test", bad.URL)
	noPassword(r)
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  R4") || r.stderr != "" {
		t.Fatalf("exit %d, stdout:\n%s\nstderr: %q", r.code, r.stdout, r.stderr)
	}
}
