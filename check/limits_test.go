package check

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/check/fixture"
)

func correctSite(t *testing.T, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	h := fixture.New(fixture.Options{Mode: fixture.Session, Email: testUser, Password: testPassword}).Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// rewritten serves h, but hands the answer h records for path to edit,
// which writes the answer sent, with h's headers but Content-Length.
func rewritten(h http.Handler, path string, edit func(w http.ResponseWriter, r *http.Request, rec *httptest.ResponseRecorder)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.Header().Del("Content-Length")
		edit(w, r, rec)
	})
}

// A run stops at --max-requests: no more requests than that, and the
// checks it did not reach are SKIP with the reason, never FAIL.
func TestMaxRequests(t *testing.T) {
	var hits atomic.Int32
	srv := correctSite(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); h.ServeHTTP(w, r) })
	})
	cfg := testConfig(srv.URL)
	cfg.MaxRequests = 12
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n > 12 || len(rep.Exchanges) > 12 {
		t.Fatalf("%d requests reached the site, %d recorded; the budget is 12", n, len(rep.Exchanges))
	}
	skipped := 0
	for _, res := range rep.Results {
		if res.Verdict == Fail || res.Verdict == Warn {
			t.Errorf("%s %s: %s", res.Verdict, res.ID, res.Evidence)
		}
		if res.Verdict == Skip && strings.Contains(res.Evidence, "request budget (--max-requests 12)") {
			skipped++
		}
	}
	if skipped == 0 {
		t.Fatal("no check says the budget stopped it")
	}
	// The report says it is incomplete, in every format, so that CI cannot
	// read it as a pass.
	if !strings.Contains(rep.Stopped, "request budget") {
		t.Fatalf("Report.Stopped = %q", rep.Stopped)
	}
	var text, js strings.Builder
	WriteText(&text, rep, false)
	WriteJSON(&js, rep)
	if !strings.Contains(text.String(), "INCOMPLETE") || !strings.Contains(js.String(), `"stopped": "the request budget`) {
		t.Fatalf("the reports do not say the run stopped early:\n%s\n%s", text.String(), js.String())
	}
	cfg.MaxRequests = 1
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "too few to sign in") {
		t.Fatalf("a budget of 1: %v", err)
	}
}

// Every request has a time limit; a site that hangs is a connection error.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := correctSite(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/login" {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	defer close(release)
	cfg := testConfig(srv.URL)
	cfg.Timeout = 100 * time.Millisecond
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "sign-in: POST /login: timed out") {
		t.Fatalf("got %v", err)
	}
}

// Self-signed certificates are refused unless Insecure says otherwise.
func TestInsecure(t *testing.T) {
	app := fixture.New(fixture.Options{Mode: fixture.Session, Email: testUser, Password: testPassword})
	srv := httptest.NewUnstartedServer(app.Handler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	defer srv.Close()
	cfg := testConfig(srv.URL)
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without Insecure: %v", err)
	}
	cfg.Insecure = true
	rep, err := Run(context.Background(), cfg)
	if err != nil || rep.Failed() {
		t.Fatalf("with Insecure: %v, failed %v", err, rep != nil && rep.Failed())
	}
}

// The checker never follows a redirect, so a site cannot send it (and the
// credentials it carries) to another host.
func TestNoRedirectOffHost(t *testing.T) {
	var evilHits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { evilHits.Add(1) }))
	defer evil.Close()
	srv := correctSite(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/me" && r.Header.Get("Cookie") == "" && r.Header.Get("Authorization") == "" {
				http.Redirect(w, r, evil.URL+"/login", http.StatusFound)
				return
			}
			if r.URL.Path == "/logout" && r.Method == http.MethodGet {
				http.Redirect(w, r, evil.URL+"/bye", http.StatusSeeOther)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	rep, err := Run(context.Background(), testConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if n := evilHits.Load(); n != 0 {
		t.Fatalf("the checker followed %d redirects to another host", n)
	}
	if rep.Failed() {
		t.Fatal("a redirect to sign-in was taken for a failure")
	}
}

// A 429 is waited out (Retry-After) within MaxWait, and the diagram says so.
func TestRateLimitIsWaitedOut(t *testing.T) {
	var first atomic.Bool
	srv := correctSite(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/login" && first.CompareAndSwap(false, true) {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	rep, err := Run(context.Background(), testConfig(srv.URL))
	if err != nil || rep.Failed() {
		t.Fatalf("%v, failed %v", err, rep != nil && rep.Failed())
	}
	if rep.Exchanges[1].Status != http.StatusTooManyRequests || !strings.Contains(rep.Exchanges[1].Note, "waited 1s") {
		t.Fatalf("exchange 2: %+v", rep.Exchanges[1])
	}
	cfg := testConfig(srv.URL)
	cfg.MaxWait = time.Millisecond
	first.Store(false)
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("beyond MaxWait: %v", err)
	}
}

// A site whose error detail echoes the password does not get it printed.
func TestErrorsAreScrubbed(t *testing.T) {
	srv := correctSite(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/login" {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"detail":"wrong password `+testPassword+`"}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	_, err := Run(context.Background(), testConfig(srv.URL))
	if err == nil || strings.Contains(err.Error(), testPassword) || !strings.Contains(err.Error(), "wrong password (password)") {
		t.Fatalf("got %v", err)
	}
}

// Ignored checks still run and say what they found, as SKIP.
func TestIgnore(t *testing.T) {
	app := fixture.New(fixture.Options{Mode: fixture.Session, Fault: fixture.NoNoStore, Email: testUser, Password: testPassword})
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Ignore = []string{"R25"}
	rep, err := Run(context.Background(), cfg)
	if err != nil || rep.Failed() {
		t.Fatalf("%v, failed %v", err, rep != nil && rep.Failed())
	}
	if r := rep.Find("R25"); len(r) != 1 || r[0].Verdict != Skip || !strings.HasPrefix(r[0].Evidence, "ignored (--ignore R25), found FAIL: no Cache-Control: no-store") {
		t.Fatalf("R25: %+v", r)
	}
	cfg.Ignore = []string{"R99"}
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), `no check "R99"`) {
		t.Fatalf("unknown ID: %v", err)
	}
}

// A logout that answers with a redirect, as classic form sites do, is a
// logout: the replays decide whether it worked.
func TestLogoutRedirect(t *testing.T) {
	srv := correctSite(t, func(h http.Handler) http.Handler {
		return rewritten(h, "/logout", func(w http.ResponseWriter, r *http.Request, rec *httptest.ResponseRecorder) {
			if rec.Code == http.StatusOK && r.Method == http.MethodPost {
				w.Header().Set("Location", "/")
				w.WriteHeader(http.StatusSeeOther)
				return
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		})
	})
	rep, err := Run(context.Background(), testConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range rep.Results {
		if res.Verdict == Fail || res.Verdict == Warn {
			t.Errorf("%s %s: %s", res.Verdict, res.ID, res.Evidence)
		}
	}
	if r := rep.Find("R4"); len(r) != 1 || r[0].Verdict != Pass {
		t.Fatalf("R4: %+v", r)
	}
}

// A weak password is kept out of what the site says back, without marking
// where it sits in the checker's own words.
func TestWeakPasswordNotMarked(t *testing.T) {
	app := fixture.New(fixture.Options{Mode: fixture.Session, Email: testUser, Password: "password"})
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Password = signoff.NewSecret("password")
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	WriteJSON(&b, rep)
	if strings.Contains(b.String(), "(password) (hidden)") || !strings.Contains(b.String(), "password (hidden)") {
		t.Fatal("the checker's own words were rewritten around the password")
	}
}

// A run cut short keeps what it found before: an authenticated answer
// without no-store, seen before the budget ran out, is R25 FAIL, not
// "not reached".
func TestStoppedRunKeepsItsFindings(t *testing.T) {
	h := fixture.New(fixture.Options{Mode: fixture.Session, Fault: fixture.NoNoStore, Email: testUser, Password: testPassword}).Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	cfg.MaxRequests = 12
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Incomplete() {
		t.Fatal("the run was not cut short; lower the budget")
	}
	if r := rep.Find("R25"); len(r) != 1 || r[0].Verdict != Fail {
		t.Fatalf("R25 after a run cut short: %+v", r)
	}

	// A body that repeats the session cookie is R17 FAIL at once, too.
	echo := rewritten(h, "/api/me", func(w http.ResponseWriter, r *http.Request, rec *httptest.ResponseRecorder) {
		w.WriteHeader(rec.Code)
		if ck, err := r.Cookie(fixture.SessionCookie); err == nil && rec.Code == http.StatusOK {
			fmt.Fprintf(w, `{"session_cookie":%q}`, ck.Value)
			return
		}
		w.Write(rec.Body.Bytes())
	})
	srv2 := httptest.NewServer(echo)
	t.Cleanup(srv2.Close)
	cfg.Target = srv2.URL
	if rep, err = Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if r := rep.Find("R17"); !rep.Incomplete() || len(r) != 1 || r[0].Verdict != Fail {
		t.Fatalf("R17 after a run cut short (incomplete %v): %+v", rep.Incomplete(), r)
	}
}
