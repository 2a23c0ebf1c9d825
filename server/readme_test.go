package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/testenv"
	"github.com/signoff/signoff/server"
)

// The README's curl walk-throughs, run verbatim against a real server (with
// the defaults but for cheaper argon2 parameters, rate limits on) in a fresh directory: every
// status the README promises in a "# → NNN" comment must come back, in order.
func TestREADME(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		testenv.Skip(t, "the README's curl walk-through", "apt-get install curl")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			script := walkthrough(t, string(readme), mode.String())
			dir := t.TempDir()
			e := newEnv(t, mode, func(c *server.Config) {
				c.Store = "sqlite:" + filepath.Join(dir, "signoff.db")
				c.RateLimitSet = false // the default, as the README's server has it
			})
			script = strings.Replace(script, "B=http://127.0.0.1:8080", "B="+e.URL, 1)
			if !strings.Contains(script, "B="+e.URL) {
				t.Fatal("the walk-through does not start with B=http://127.0.0.1:8080")
			}
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			got := regexp.MustCompile(`→ (\d{3})\n`).FindAllStringSubmatch(string(out), -1)
			want := regexp.MustCompile(`# → (\d{3})`).FindAllStringSubmatch(script, -1)
			codes := func(m [][]string) []string {
				var s []string
				for _, x := range m {
					s = append(s, x[1])
				}
				return s
			}
			if err != nil || !slices.Equal(codes(got), codes(want)) || len(want) < 5 {
				// The output holds raw credentials: print their fingerprints.
				shown := (&response{body: out}).text()
				t.Fatalf("walk-through: %v\nstatuses %v, README promises %v\noutput:\n%s", err, codes(got), codes(want), shown)
			}
		})
	}
}

// walkthrough returns the shell block after <!-- walkthrough:NAME --> in the
// README.
func walkthrough(t *testing.T, readme, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "<!-- walkthrough:"+name+" -->")
	if !ok {
		t.Fatalf("README has no <!-- walkthrough:%s --> block", name)
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatalf("README: no ```sh block after the %s marker", name)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("README: the %s block is not closed", name)
	}
	return block
}
