package check

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/check/fixture"
	"github.com/signoff/signoff/internal/testenv"
)

// The browser tests run `signoff check --browser` against the fixture
// sites and `signoff serve` in Debian's Chromium: what the browser keeps
// after logout, as the checker reports it.

// chromiumPath is $SIGNOFF_TEST_CHROMIUM, which CI sets and which must then
// work; without it the browser tests skip.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SIGNOFF_TEST_CHROMIUM")
	if p == "" {
		testenv.Skip(t, "signoff check --browser tests (Chromium)", "apt-get install chromium, and set SIGNOFF_TEST_CHROMIUM=$(command -v chromium)")
	}
	full, err := exec.LookPath(p)
	if err != nil {
		t.Fatalf("SIGNOFF_TEST_CHROMIUM=%s: %v", p, err)
	}
	return full
}

// browserRun runs the checker with a browser against the site at target,
// and checks that the browser stage left no Chromium and no profile behind
// and that no credential reached the report. It returns the report.
func browserRun(t *testing.T, cfg Config, issued func() []string) *Report {
	t.Helper()
	if cfg.Browser == "" {
		cfg.Browser = chromiumPath(t)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the browser stage makes its profile
	rep, seen, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"R21", "R26", "R26b"} {
		for _, res := range rep.Find(id) {
			if res.Title != titleBrowserCookies && res.Title != titleBrowserClear && id != "R26b" {
				continue
			}
			t.Logf("%s %s [%s]: %s", res.Verdict, id, res.Title, res.Evidence)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the browser stage left %s in TMPDIR", left[0].Name())
	}
	if pid := processUsing(t, tmp); pid != "" {
		t.Errorf("Chromium (pid %s) still runs after the run", pid)
	}
	var text bytes.Buffer
	if err := WriteText(&text, rep, false); err != nil {
		t.Fatal(err)
	}
	noSecrets(t, rep, append(seen, issued()...), text.Bytes())
	return rep
}

// processUsing returns the PID of a process whose command line names dir,
// or "": Chromium runs with its profile there.
func processUsing(t *testing.T, dir string) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		return ""
	}
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(dir)) {
			return filepath.Base(filepath.Dir(p))
		}
	}
	return ""
}

// browserResult is the finding of id with the browser's title (R26b has
// only that).
func browserResult(t *testing.T, rep *Report, id string) Result {
	t.Helper()
	for _, res := range rep.Find(id) {
		if id == "R26b" || res.Title == titleBrowserCookies || res.Title == titleBrowserClear {
			return res
		}
	}
	t.Fatalf("no browser finding %s", id)
	return Result{}
}

// wantBrowser checks the verdicts of the browser findings that want names,
// and that each evidence contains the strings given.
func wantBrowser(t *testing.T, rep *Report, want map[string]Verdict, contains map[string][]string) {
	t.Helper()
	for id, v := range want {
		res := browserResult(t, rep, id)
		if res.Verdict != v {
			t.Errorf("%s: %s, want %s: %s", id, res.Verdict, v, res.Evidence)
		}
		for _, s := range contains[id] {
			if !strings.Contains(res.Evidence, s) {
				t.Errorf("%s: the evidence does not say %q: %s", id, s, res.Evidence)
			}
		}
	}
}

// fixtureSite starts a fixture app behind wrap (nil for none).
func fixtureSite(t *testing.T, opt fixture.Options, wrap func(http.Handler) http.Handler) (*httptest.Server, *fixture.App) {
	t.Helper()
	opt.Email, opt.Password = testUser, testPassword
	app := fixture.New(opt)
	h := app.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, app
}

// TestBrowserCorrect: the correct site, in Chromium: no cookie survives
// logout, Clear-Site-Data clears the cookies and the page's storage, and
// Back shows the protected page again only as its no-store answer, signed
// out.
func TestBrowserCorrect(t *testing.T) {
	srv, app := fixtureSite(t, fixture.Options{}, nil)
	rep := browserRun(t, testConfig(srv.URL), app.Issued)
	wantBrowser(t, rep, map[string]Verdict{"R21": Pass, "R26": Pass, "R26b": Pass}, map[string][]string{
		"R21":  {"a script's POST /logout, 200", fixture.SessionCookie},
		"R26":  {"cookies", "localStorage", "sessionStorage", "Cache Storage"},
		"R26b": {"Back to /api/me", "loaded it again: 401"},
	})
}

// TestBrowserBelowAPath: a site below a path of its host (the target
// https://host/app): the browser signs in and out at the target's paths.
func TestBrowserBelowAPath(t *testing.T) {
	below := func(next http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/app/", http.StripPrefix("/app", next))
		return mux
	}
	srv, app := fixtureSite(t, fixture.Options{}, below)
	rep := browserRun(t, testConfig(srv.URL+"/app"), app.Issued)
	wantBrowser(t, rep, map[string]Verdict{"R21": Pass, "R26": Pass, "R26b": Pass}, map[string][]string{
		"R21":  {"a script's POST /logout, 200"},
		"R26b": {"Back to /app/api/me", "loaded it again: 401"},
	})
}

// TestBrowserDeletion: without Clear-Site-Data, whether the cookie
// survives logout is up to the deletion Set-Cookie alone. A deletion that
// matches removes it; one with the wrong Path, or without Secure on a
// __Host- cookie, Chromium refuses, and the cookie stays: R21 fails in
// the browser too, naming the cookie and why Chromium refused.
func TestBrowserDeletion(t *testing.T) {
	for _, tc := range []struct {
		fault fixture.Fault
		want  Verdict
		says  []string
	}{
		{fixture.None, Pass, []string{"holds none of " + fixture.SessionCookie}},
		{fixture.DeletePath, Fail, []string{"still holds " + fixture.SessionCookie + " (domain 127.0.0.1, path /)", "refused logout's Set-Cookie for " + fixture.SessionCookie}},
		{fixture.HostNoSecure, Fail, []string{"still holds " + fixture.SessionCookie, "refused logout's Set-Cookie for " + fixture.SessionCookie}},
	} {
		t.Run("fault="+string(tc.fault), func(t *testing.T) {
			srv, app := fixtureSite(t, fixture.Options{Fault: tc.fault, NoClearSiteData: true}, nil)
			rep := browserRun(t, testConfig(srv.URL), app.Issued)
			wantBrowser(t, rep, map[string]Verdict{"R21": tc.want, "R26": Skip, "R26b": Pass}, map[string][]string{
				"R21": tc.says,
				"R26": {"logout sent no Clear-Site-Data (R26)"},
			})
		})
	}
}

// TestBrowserBackWithoutNoStore: a protected page without no-store is
// shown again by Back after logout, the user's email and all: Chromium
// restores it from its back/forward cache, which the logout's
// Clear-Site-Data "cache" does not empty. R26b fails.
func TestBrowserBackWithoutNoStore(t *testing.T) {
	srv, app := fixtureSite(t, fixture.Options{Fault: fixture.NoNoStore}, nil)
	rep := browserRun(t, testConfig(srv.URL), app.Issued)
	wantBrowser(t, rep, map[string]Verdict{"R21": Pass, "R26": Pass, "R26b": Fail}, map[string][]string{
		"R26b": {"Back to /api/me still shows the user's identifier (" + testUser + ")"},
	})
}

// TestBrowserUnquotedClearSiteData: a Clear-Site-Data whose values are not
// quoted names the cookies and the storage, but Chromium clears neither:
// R26 fails in the browser, naming what is left.
func TestBrowserUnquotedClearSiteData(t *testing.T) {
	unquote := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(headerRewriter{w, func(h http.Header) {
				if v := h.Get("Clear-Site-Data"); v != "" {
					h.Set("Clear-Site-Data", strings.ReplaceAll(v, `"`, ""))
				}
			}}, r)
		})
	}
	srv, app := fixtureSite(t, fixture.Options{}, unquote)
	rep := browserRun(t, testConfig(srv.URL), app.Issued)
	wantBrowser(t, rep, map[string]Verdict{"R21": Pass, "R26": Fail}, map[string][]string{
		"R26": {`"storage" is named, but the page's localStorage, sessionStorage, Cache Storage entries are still there (storage is not quoted: browsers ignore it)`},
	})
}

// headerRewriter lets a test change an answer's headers just before they
// are written.
type headerRewriter struct {
	http.ResponseWriter
	edit func(http.Header)
}

func (w headerRewriter) WriteHeader(code int) {
	w.edit(w.Header())
	w.ResponseWriter.WriteHeader(code)
}

func (w headerRewriter) Write(b []byte) (int, error) {
	w.edit(w.Header())
	return w.ResponseWriter.Write(b)
}

// htmlSite puts server-rendered pages in front of a fixture app, as a
// classic web app has them: GET /login is a sign-in form that posts
// URL-encoded fields and, signed in, redirects to /account, a page with
// the user's email and a logout form; POST /logout redirects to /login.
// /account is no-store when noStore is set. Every page sets a new
// csrftoken cookie. Every other path is the app's.
func htmlSite(noStore bool) func(http.Handler) http.Handler {
	return func(app http.Handler) http.Handler {
		// call sends a request to the app with r's cookies and returns
		// its answer.
		call := func(r *http.Request, method, path, body string) *httptest.ResponseRecorder {
			q := httptest.NewRequestWithContext(r.Context(), method, path, strings.NewReader(body))
			for _, h := range []string{"Cookie", "Origin", "Sec-Fetch-Site"} {
				if v := r.Header.Get(h); v != "" {
					q.Header.Set(h, v)
				}
			}
			if body != "" {
				q.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			app.ServeHTTP(rec, q)
			return rec
		}
		// pass copies the app's cookies and Clear-Site-Data to w.
		pass := func(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
			for _, c := range rec.Header().Values("Set-Cookie") {
				w.Header().Add("Set-Cookie", c)
			}
			if v := rec.Header().Get("Clear-Site-Data"); v != "" {
				w.Header().Set("Clear-Site-Data", v)
			}
		}
		page := func(w http.ResponseWriter, status int, cache, body string) {
			// A fresh CSRF cookie on every page, as Django sets one: it is
			// no credential, and one set after logout is no cookie kept.
			http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: rand.Text(), Path: "/", SameSite: http.SameSiteLaxMode})
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if cache != "" {
				w.Header().Set("Cache-Control", cache)
			}
			w.WriteHeader(status)
			fmt.Fprintf(w, "<!doctype html><html lang=en><title>Fixture</title><body>%s</body></html>", body)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
			page(w, http.StatusOK, "no-store", `<h1>Sign in</h1><form method=post action=/login>`+
				`<label>Email <input name=email type=email></label> <label>Password <input name=password type=password></label>`+
				`<button>Sign in</button></form>`)
		})
		mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body := fmt.Sprintf(`{"email":%q,"password":%q}`, r.PostForm.Get("email"), r.PostForm.Get("password"))
			rec := call(r, http.MethodPost, "/login", body)
			if rec.Code != http.StatusOK {
				page(w, rec.Code, "no-store", "<p>Wrong email or password.</p>")
				return
			}
			pass(w, rec)
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, "/account", http.StatusSeeOther)
		})
		mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
			if call(r, http.MethodGet, "/api/me", "").Code != http.StatusOK {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			cache := ""
			if noStore {
				cache = "no-store"
			}
			page(w, http.StatusOK, cache, `<h1>Your account</h1><p>Signed in as `+testUser+`.</p>`+
				`<form method=post action=/logout><button>Sign out</button></form>`)
		})
		mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
			rec := call(r, http.MethodPost, "/logout", "")
			if rec.Code != http.StatusOK {
				http.Error(w, "logout failed", rec.Code)
				return
			}
			pass(w, rec)
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		})
		mux.Handle("/", app)
		return mux
	}
}

// TestBrowserForms: a site of server-rendered pages. The browser signs in
// by typing into the sign-in form and lands on /account, which holds the
// logout form; it signs out with that form, and goes Back to /account.
// With no-store on /account Back loads it again, signed out (a redirect to
// the sign-in page); without, Chromium shows the signed-in page again.
func TestBrowserForms(t *testing.T) {
	for _, tc := range []struct {
		noStore bool
		r26b    Verdict
		says    string
	}{
		{true, Pass, "Back to /account shows nothing of the signed-in page: Chromium loaded it again: 303, then /login 200"},
		{false, Fail, "Back to /account still shows the user's identifier (" + testUser + ")"},
	} {
		t.Run(fmt.Sprintf("no-store=%v", tc.noStore), func(t *testing.T) {
			srv, app := fixtureSite(t, fixture.Options{}, htmlSite(tc.noStore))
			cfg := testConfig(srv.URL)
			cfg.LoginFormat = "form"
			rep := browserRun(t, cfg, app.Issued)
			wantBrowser(t, rep, map[string]Verdict{"R21": Pass, "R26": Pass, "R26b": tc.r26b}, map[string][]string{
				"R21":  {"the logout form (POST /logout), 303"},
				"R26b": {tc.says},
			})
		})
	}
}

// TestBrowserServe runs the browser stage against `signoff serve` in
// session mode: its JSON API, signed in and out by a script of its pages.
func TestBrowserServe(t *testing.T) {
	chromiumPath(t)
	target := serve(t, signoff.ModeSession, "")
	rep := browserRun(t, testConfig(target), func() []string { return nil })
	wantBrowser(t, rep, map[string]Verdict{"R21": Pass, "R26": Pass, "R26b": Pass}, nil)
}

// TestBrowserTimeout: a site that never answers the browser's request for
// the protected page: the browser stage gives up after Config.Timeout,
// reports its checks SKIP with why, and stops Chromium and removes its
// profile all the same.
func TestBrowserTimeout(t *testing.T) {
	chromiumPath(t)
	hang := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == DefaultProtected && strings.Contains(r.UserAgent(), "Chrome") {
				<-r.Context().Done()
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	srv, app := fixtureSite(t, fixture.Options{}, hang)
	cfg := testConfig(srv.URL)
	cfg.Timeout = 2 * time.Second
	rep := browserRun(t, cfg, app.Issued)
	wantBrowser(t, rep, map[string]Verdict{"R21": Skip, "R26": Skip, "R26b": Skip}, map[string][]string{
		"R21": {"opening " + DefaultProtected, "deadline exceeded"},
	})
}

// TestBrowserStages without a working Chromium: no --browser, a browser
// that does not start, and a site whose cookies alone open nothing (jwt
// mode) each make the browser's checks SKIP with the reason, and the run
// goes on.
func TestBrowserStages(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    fixture.Mode
		browser string
		says    string
	}{
		{"no browser", fixture.Session, "", "needs --browser"},
		{"not a browser", fixture.Session, "/nonexistent/chromium", "the browser: no Chromium at /nonexistent/chromium"},
		{"bearer only", fixture.JWT, "/nonexistent/chromium", "the cookies alone do not open /api/me"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, app := fixtureSite(t, fixture.Options{Mode: tc.mode}, nil)
			cfg := testConfig(srv.URL)
			cfg.Browser = tc.browser
			rep, seen, err := run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"R21", "R26", "R26b"} {
				res := browserResult(t, rep, id)
				if res.Verdict != Skip || !strings.Contains(res.Evidence, tc.says) {
					t.Errorf("%s: %s %s, want SKIP saying %q", id, res.Verdict, res.Evidence, tc.says)
				}
			}
			var text bytes.Buffer
			if err := WriteText(&text, rep, false); err != nil {
				t.Fatal(err)
			}
			noSecrets(t, rep, append(seen, app.Issued()...), text.Bytes())
		})
	}
}
