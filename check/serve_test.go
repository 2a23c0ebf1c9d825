package check

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/servetest"
	"github.com/signoff/signoff/server"
)

// testUser signs in to every site under test.
const (
	testUser     = "ada@example.test"
	testPassword = "correct horse battery staple"
)

// serve starts a real `signoff serve` on 127.0.0.1:0 with its default
// settings but for a cheap password hash, over the SQLite file db (a fresh
// one if ""), and registers testUser if it is not there yet. It returns
// the base URL.
func serve(t *testing.T, mode signoff.Mode, db string, mods ...func(*server.Config)) string {
	t.Helper()
	if db == "" {
		db = filepath.Join(t.TempDir(), "signoff.db")
	}
	cfg := server.Config{
		Store:  "sqlite:" + db,
		Mode:   mode,
		Argon2: server.Argon2Params{Memory: 1024, Time: 1, Threads: 1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, m := range mods {
		m(&cfg)
	}
	_, host := servetest.Start(t, cfg)
	url := "http://" + host
	res, err := http.Post(url+"/register", "application/json", strings.NewReader(`{"email":"`+testUser+`","password":"`+testPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("register: %d", res.StatusCode)
	}
	return url
}

func testConfig(target string) Config {
	return Config{Target: target, User: testUser, Password: signoff.NewSecret(testPassword)}
}

// TestServe runs the checker against two `signoff serve` instances sharing
// one SQLite file, in both modes, with serve's default settings (rate
// limits on): every check passes or is SKIP for a reason that is not a
// defect, and the text report and the diagram match their golden files.
func TestServe(t *testing.T) {
	for _, mode := range []signoff.Mode{signoff.ModeSession, signoff.ModeJWT} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "signoff.db")
			a := serve(t, mode, db)
			b := serve(t, mode, db)
			cfg := testConfig(a)
			cfg.Second = b
			rep, seen, err := run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range rep.Results {
				if res.Verdict == Fail || res.Verdict == Warn {
					t.Errorf("%s %s: %s", res.Verdict, res.ID, res.Evidence)
				}
			}
			wantSkip := map[string]bool{"R26b": true} // and the browser's R21 and R26: no --browser
			if mode == signoff.ModeSession {
				for _, id := range []string{"R5", "R33", "R34", "R34b", "R40", "R41", "R42"} {
					wantSkip[id] = true
				}
			} else {
				wantSkip["R23"] = true
			}
			for _, res := range rep.Results {
				browser := res.Title == titleBrowserCookies || res.Title == titleBrowserClear
				if (res.Verdict == Skip) != (wantSkip[res.ID] || browser) {
					t.Errorf("%s %s: %s", res.Verdict, res.ID, res.Evidence)
				}
			}
			text, diagram := renderNorm(t, rep, a, b)
			golden(t, "golden/serve-"+mode.String()+".txt", text)
			golden(t, "golden/serve-"+mode.String()+".mmd", diagram)
			readmeDiagram(t, mode.String(), diagram)
			noSecrets(t, rep, seen, text, diagram)
		})
	}
}

var (
	fpRe  = regexp.MustCompile(`fp:[0-9a-f]{12}`)
	sesRe = regexp.MustCompile(`ses_[0-9a-f]{32}`)
)

func renderNorm(t *testing.T, rep *Report, target, second string) (text, diagram []byte) {
	t.Helper()
	var tb, db bytes.Buffer
	if err := WriteText(&tb, rep, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteDiagram(&db, rep); err != nil {
		t.Fatal(err)
	}
	norm := func(b []byte) []byte {
		s := string(b)
		s = strings.ReplaceAll(s, target, "http://127.0.0.1:8080")
		if second != "" {
			s = strings.ReplaceAll(s, second, "http://127.0.0.1:8081")
		}
		for prefix, re := range map[string]*regexp.Regexp{"fp:": fpRe, "ses_": sesRe} {
			seen := map[string]string{}
			s = re.ReplaceAllStringFunc(s, func(m string) string {
				if _, ok := seen[m]; !ok {
					seen[m] = prefix + fmt.Sprintf("%0*d", len(m)-len(prefix), len(seen)+1)
				}
				return seen[m]
			})
		}
		return []byte(s)
	}
	return norm(tb.Bytes()), norm(db.Bytes())
}

// noSecrets fails if a raw credential the checker saw, or the password,
// appears in any output format.
func noSecrets(t *testing.T, rep *Report, raws []string, outputs ...[]byte) {
	t.Helper()
	var js, ju, hp bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(&ju, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&hp, rep); err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, js.Bytes(), ju.Bytes(), hp.Bytes())
	if len(raws) == 0 {
		t.Fatal("no credentials to look for")
	}
	raws = append(raws, testPassword)
	for _, out := range outputs {
		for _, raw := range raws {
			if bytes.Contains(out, []byte(raw)) {
				t.Fatalf("a raw credential (%s) appears in the output", signoff.NewSecret(raw))
			}
		}
	}
}

// readmeDiagram keeps the README's sequence diagram for mode equal to the
// one the checker draws against signoff serve: the fenced block after the
// marker line. With -update it rewrites the block.
func readmeDiagram(t *testing.T, mode string, diagram []byte) {
	t.Helper()
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	marker := "<!-- signoff check --diagram against signoff serve --mode " + mode + " -->\n```mermaid\n"
	start := bytes.Index(b, []byte(marker))
	if start < 0 {
		t.Fatalf("README.md has no %q", marker)
	}
	start += len(marker)
	end := bytes.Index(b[start:], []byte("```\n"))
	if end < 0 {
		t.Fatal("README.md: the diagram's fence is not closed")
	}
	end += start
	if *update {
		out := append(append(append([]byte{}, b[:start]...), diagram...), b[end:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(b[start:end], diagram) {
		t.Errorf("README.md's %s-mode diagram is not what signoff check draws; run go test ./check -run TestServe -update", mode)
	}
}

// TestServeNative checks signoff serve's native clients, whose refresh
// token travels in JSON bodies rather than a cookie: the body-token paths
// of sign-in, refresh, rotation and logout.
func TestServeNative(t *testing.T) {
	cfg := testConfig(serve(t, signoff.ModeJWT, ""))
	cfg.LoginExtra = map[string]string{"client": "native"}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Credentials != "access token (JWT, EdDSA) + refresh token in the body" {
		t.Errorf("credentials: %s", rep.Credentials)
	}
	for _, res := range rep.Results {
		if res.Verdict == Fail || res.Verdict == Warn {
			t.Errorf("%s %s: %s", res.Verdict, res.ID, res.Evidence)
		}
	}
	for _, id := range []string{"R1", "R4", "R5", "R6", "R8", "R33", "R34", "R34b", "R36", "R40", "R41", "R42"} {
		for _, res := range rep.Find(id) {
			if res.Verdict != Pass {
				t.Errorf("%s %s: %s", res.Verdict, id, res.Evidence)
			}
		}
	}
}
