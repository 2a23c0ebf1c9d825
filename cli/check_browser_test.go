package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/testenv"
)

// TestCheckBrowser: `signoff check --browser` finds Chromium in PATH (or
// takes --chromium), says in one line when there is none, and with one
// reports the browser's findings against a live `signoff serve`.
func TestCheckBrowser(t *testing.T) {
	env := map[string]string{"SIGNOFF_PASSWORD": "x", "PATH": t.TempDir()}
	oneLineError(t, run(t, env, "", "check", "--user", "ada@example.test", "--browser", "http://127.0.0.1:1"), 2,
		"--browser: no chromium, chromium-browser, google-chrome, google-chrome-stable in PATH")
	oneLineError(t, run(t, env, "", "check", "--user", "ada@example.test", "--chromium", "/nonexistent/chromium", "http://127.0.0.1:1"), 2,
		"--chromium /nonexistent/chromium: not an executable file")

	p := os.Getenv("SIGNOFF_TEST_CHROMIUM")
	if p == "" {
		testenv.Skip(t, "signoff check --browser (Chromium)", "apt-get install chromium, and set SIGNOFF_TEST_CHROMIUM=$(command -v chromium)")
	}
	full, err := exec.LookPath(p)
	if err != nil {
		t.Fatalf("SIGNOFF_TEST_CHROMIUM=%s: %v", p, err)
	}
	db := "sqlite:" + filepath.Join(t.TempDir(), "check.db")
	const pw = "correct horse battery staple"
	if r := run(t, nil, pw+"\n", "users", "add", "--store", db, "ada@example.test"); r.code != 0 {
		t.Fatalf("users add: %d %s", r.code, r.stderr)
	}
	base := liveServer(t, db)
	// Chromium found in PATH by one of the names --browser looks for: a
	// link named chromium in a folder of its own, first in PATH (the rest
	// of PATH stays for the commands Debian's wrapper script runs).
	bin := t.TempDir()
	if err := os.Symlink(full, filepath.Join(bin, "chromium")); err != nil {
		t.Fatal(err)
	}
	env = map[string]string{"SIGNOFF_PASSWORD": pw, "PATH": bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	r := run(t, env, "", "check", "--user", "ada@example.test", "--browser", base)
	if strings.Contains(r.stdout+r.stderr, pw) {
		t.Fatal("the password appears in the output")
	}
	for _, want := range []string{"PASS  R21   In a browser", "PASS  R26   In a browser", "PASS  R26b"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the report does not say %q", want)
		}
	}
	if r.code != 0 || t.Failed() {
		t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}
