package check

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// TestPageTokens: the CSRF tokens of a page as frameworks render them:
// Django's hidden csrfmiddlewaretoken, Rails' meta tag and _method, a form
// that posts to itself, and another host's form, which is not the site's.
func TestPageTokens(t *testing.T) {
	page := `<!doctype html><html><head>
<meta name="csrf-param" content="authenticity_token" />
<meta name="csrf-token" content="rails&amp;token" />
</head><body>
<form method="post"><input type='hidden' name=csrfmiddlewaretoken value="dj1"><input name="username"></form>
<FORM action="/logout" method="post"><input type="hidden" name="_method" value="delete"><input type="hidden" name="authenticity_token" value="rt"></FORM>
<form action="https://other.test/x"><input type="hidden" name="k" value="v"></form>
<input type="hidden" name="outside" value="x">
</body></html>`
	if got := metaToken(page); got != "rails&token" {
		t.Errorf("metaToken = %q", got)
	}
	got := hiddenInputs("/accounts/login/", page)
	want := map[string][]nv{
		"/accounts/login/": {{"csrfmiddlewaretoken", "dj1"}},
		"/logout":          {{"_method", "delete"}, {"authenticity_token", "rt"}},
		"":                 {{"k", "v"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hiddenInputs = %v, want %v", got, want)
	}

	var s siteState
	res := &resp{header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, body: []byte(page),
		cookies: []*http.Cookie{{Name: "csrftoken", Value: "c1"}, {Name: "sessionid", Value: "s1"}}}
	s.creds = map[string]bool{"sessionid": true}
	s.absorb("", "/accounts/login/", res)
	if !s.tokens || !reflect.DeepEqual(s.cookies, []nv{{"csrftoken", "c1"}}) {
		t.Errorf("after the page: tokens %v, cookies %v", s.tokens, s.cookies)
	}
	hs := s.csrfHeaders(Config{})
	if len(hs) != 2 || hs[0][0] != "X-CSRF-Token" || hs[0][1] != "rails&token" || hs[1][0] != "X-CSRFToken" || hs[1][1] != "c1" {
		t.Errorf("csrfHeaders = %v", hs)
	}
	if got := s.ambient([]nv{{"sessionid", "s1"}}); !reflect.DeepEqual(got, []nv{{"csrftoken", "c1"}}) {
		t.Errorf("ambient = %v", got)
	}
	if got := s.ambient([]nv{{"csrftoken", "mine"}}); got != nil {
		t.Errorf("ambient beside a call's own csrftoken = %v", got)
	}
	if got := s.formFields(Config{CSRFField: "_csrf"}, "/logout"); len(got) != 3 || got[2] != (nv{"_csrf", "rails&token"}) {
		t.Errorf("formFields with --csrf-field = %v", got)
	}
	// Below a path prefix, forms are kept by the path the calls name, and
	// a form that posts outside the target is not kept.
	var p siteState
	p.absorb("/app", "/login", &resp{header: http.Header{"Content-Type": {"text/html"}}, body: []byte(
		`<form action="/app/session"><input type="hidden" name="authenticity_token" value="tok"></form><form action="/elsewhere"></form>`)})
	if got := p.formFields(Config{}, "/session"); !reflect.DeepEqual(got, []nv{{"authenticity_token", "tok"}}) || len(p.forms) != 1 {
		t.Errorf("below /app: forms %v", p.forms)
	}
	// A URL-encoded token is sent decoded as decodeURIComponent decodes
	// it: a + stays a + (standard base64), %2F becomes /.
	var x siteState
	x.absorb("", "/", &resp{header: http.Header{}, cookies: []*http.Cookie{{Name: "XSRF-TOKEN", Value: "ab+cd%2Fef"}}})
	if hs := x.csrfHeaders(Config{}); len(hs) != 1 || hs[0][0] != "X-XSRF-TOKEN" || hs[0][1] != "ab+cd/ef" {
		t.Errorf("XSRF-TOKEN mirrored as %v", hs)
	}
	// A deletion takes the cookie out of the jar.
	s.absorb("", "/logout", &resp{header: http.Header{}, cookies: []*http.Cookie{{Name: "csrftoken", Value: "", MaxAge: -1}}})
	if len(s.cookies) != 0 {
		t.Errorf("after the deletion: %v", s.cookies)
	}
}

// TestSignInRefusedForCSRF: a JSON sign-in answered 403 is tried once more
// after opening the sign-in page, and a second 403 names the CSRF flags,
// not only the password.
func TestSignInRefusedForCSRF(t *testing.T) {
	var opened, posted int
	srv := correctSite(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/login" && r.Method == http.MethodGet:
				opened++
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, `<form method="post"><input type="hidden" name="_token" value="t"></form>`)
			case r.URL.Path == "/login":
				posted++
				http.Error(w, "CSRF token mismatch", http.StatusForbidden)
			default:
				h.ServeHTTP(w, r)
			}
		})
	})
	_, err := Run(context.Background(), testConfig(srv.URL))
	if err == nil || !strings.Contains(err.Error(), "--csrf-field") || opened != 1 || posted != 2 {
		t.Fatalf("err %v; opened the page %d times, posted %d; want the CSRF hint, 1 and 2", err, opened, posted)
	}
}

// TestSessionCookieByEvidence: sign-in sets a session cookie, a CSRF
// cookie the pages echo (double submit) and a refresh cookie, and returns
// an access token that opens the path on its own. Leaving cookies out is
// judged with the cookies alone: the session cookie stays a credential,
// the CSRF cookie becomes a site cookie, and its value in a body is no
// R17 leak.
func TestSessionCookieByEvidence(t *testing.T) {
	const sid, csrf, rt, at = "sid-0123456789abcdef", "csrf-0123456789abcdef", "rt-0123456789abcdef", "at-0123456789abcdef"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		for _, kv := range [][2]string{{"sid", sid}, {"csrftoken", csrf}, {"refresh_token", rt}} {
			http.SetCookie(w, &http.Cookie{Name: kv[0], Value: kv[1], Path: "/", HttpOnly: true})
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"`+at+`"}`)
	})
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie("sid")
		if r.Header.Get("Authorization") != "Bearer "+at && (err != nil || ck.Value != sid) {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"user":"ada","csrf":"`+csrf+`"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.MaxRequests = 12 // enough to sign in and tell the cookies apart
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Credentials, "cookie sid") || strings.Contains(rep.Credentials, "csrftoken") || !strings.Contains(rep.Credentials, "cookie refresh_token") {
		t.Errorf("credentials %q: want sid and refresh_token, not csrftoken", rep.Credentials)
	}
	for _, res := range rep.Find("R17") {
		if res.Verdict == Fail {
			t.Errorf("R17 FAIL: %s", res.Evidence)
		}
	}
}
