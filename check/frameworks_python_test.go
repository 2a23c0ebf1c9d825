//go:build linux

package check

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/testenv"
)

// The Python framework apps: Django, Flask-Login and FastAPI, each in
// testdata/frameworks/<name>/, run with Debian's Python and its packages.
// Linux only, like Debian's packages.

// debianPython is Debian's Python 3, which has the framework packages; a
// python3 earlier on PATH (a pyenv build, a virtualenv) may not.
const debianPython = "/usr/bin/python3"

// pythonApps are this file's apps: how to start each, and the Config a
// user would pass for it (form sign-ins carry no CSRF token by hand: the
// checker is to find it on the page).
var pythonApps = []frameworkApp{
	{
		name: "django",
		start: func(t *testing.T) string {
			return startPython(t, "django", "serve.py", "django", "python3-django", "/accounts/login/")
		},
		config: func() Config {
			return Config{
				LoginPath: "/accounts/login/", LoginFormat: "form", UserField: "username",
				Protected: "/account/", Logout: "/accounts/logout/",
				Refresh: Off, LogoutAll: Off, Sessions: Off,
			}
		},
	},
	{
		name: "flask",
		start: func(t *testing.T) string {
			return startPython(t, "flask", "app.py", "flask_login", "python3-flask-login", "/login")
		},
		config: func() Config {
			return Config{
				LoginPath: "/login", LoginFormat: "form",
				Protected: "/protected", Logout: "/logout", LogoutMethod: "auto", // POST /logout answers 405 with Allow: GET
				Refresh: Off, LogoutAll: Off, Sessions: Off,
			}
		},
	},
	{
		name: "fastapi",
		start: func(t *testing.T) string {
			return startPython(t, "fastapi", "app.py", "fastapi, uvicorn, jwt", "python3-fastapi python3-uvicorn python3-jwt", "/api/me")
		},
		config: func() Config {
			return Config{Refresh: Off, LogoutAll: Off, Sessions: Off}
		},
	},
}

func init() {
	for _, a := range pythonApps {
		addFramework(a)
	}
}

// startPython runs script of testdata/frameworks/<name>/ with Debian's
// Python, which must be able to import modules (else t skips, naming the
// Debian packages pkgs), as startApp does, and returns its base URL.
func startPython(t *testing.T, name, script, modules, pkgs, ready string) string {
	t.Helper()
	if !runsBare(debianPython, "-s", "-c", "import "+modules) {
		testenv.Skip(t, "the "+name+" fixture app", "apt-get install "+pkgs+" (for "+debianPython+")")
	}
	// -s: no user site-packages; -B: no __pycache__ in testdata.
	return startApp(t, appCommand{name: name, argv: []string{debianPython, "-s", "-B", appFile(t, name, script)}, ready: ready})
}

// hiddenInput finds the value of the hidden input name in a page.
func hiddenInput(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`<input type="hidden" name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no hidden input %s in the page", name)
	}
	return m[1]
}

// deletes reports whether res deletes the cookie name: an empty value and
// Max-Age=0.
func deletes(res *http.Response, name string) bool {
	for _, ck := range res.Cookies() {
		if ck.Name == name && ck.Value == "" && ck.MaxAge < 0 {
			return true
		}
	}
	return false
}

// TestFrameworkPythonBehaviour drives each Python app with plain net/http
// the way its own pages do (a form sign-in with the CSRF token from the
// page, or a JSON one; the protected page; the app's sign-out), then
// replays the session cookie it held before sign-out. It is the evidence,
// independent of the checker, for R4 in each app's expected file, and for
// the findings there that follow from how the framework reads cookies
// (R23) or what it puts in them (R20).
func TestFrameworkPythonBehaviour(t *testing.T) {
	apps := map[string]frameworkApp{}
	for _, a := range pythonApps {
		apps[a.name] = a
	}

	t.Run("django", func(t *testing.T) {
		t.Parallel()
		base := apps["django"].start(t)
		const session = "__Host-sessionid"
		b := newAppBrowser(t, base, nil)
		_, page := b.get("/accounts/login/")
		res, _ := b.postForm("/accounts/login/", url.Values{
			"username": {testUser}, "password": {testPassword}, "next": {""},
			"csrfmiddlewaretoken": {hiddenInput(t, page, "csrfmiddlewaretoken")},
		})
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/account/" {
			t.Fatalf("sign-in → %d to %q, want 302 to /account/", res.StatusCode, res.Header.Get("Location"))
		}
		old := b.cookie(session)
		b.signedIn("/account/")

		// R27: a GET of the logout path is refused and ends nothing.
		if res, _ := b.get("/accounts/logout/"); res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
			t.Errorf("GET /accounts/logout/ → %d (Allow %q), want 405 (Allow POST)", res.StatusCode, res.Header.Get("Allow"))
		}
		// R28: a cross-site POST has the cookies but not the page's token.
		if res, _ := b.postForm("/accounts/logout/", nil, [2]string{"Origin", evilOrigin}, [2]string{"Sec-Fetch-Site", "cross-site"}); res.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST /accounts/logout/ → %d, want 403", res.StatusCode)
		}
		if res, _ := b.get("/account/"); res.StatusCode != http.StatusOK {
			t.Fatalf("/account/ after the GET and the cross-site POST → %d, want 200: they ended the session", res.StatusCode)
		}
		// R23: the app's middleware signs out a request with two session
		// cookies, whatever their order.
		b.duplicates("/account/", session, old, http.StatusFound, http.StatusFound)
		// R1: signing in again over the live session mints a new key,
		// and the old one dies.
		_, login := b.get("/accounts/login/")
		res, _ = b.postForm("/accounts/login/", url.Values{
			"username": {testUser}, "password": {testPassword}, "next": {""},
			"csrfmiddlewaretoken": {hiddenInput(t, login, "csrfmiddlewaretoken")},
		})
		if renewed := b.cookie(session); res.StatusCode != http.StatusFound || renewed == old {
			t.Errorf("sign-in over the live session → %d, new key %v; want 302 and a new key", res.StatusCode, renewed != old)
		}
		if res, _ := b.replay("/account/", session+"="+old); res.StatusCode != http.StatusFound {
			t.Errorf("the key from before the second sign-in → %d, want 302", res.StatusCode)
		}
		old = b.cookie(session)
		_, page = b.get("/account/")

		// Sign out with the page's form.
		res, _ = b.postForm("/accounts/logout/", url.Values{"csrfmiddlewaretoken": {hiddenInput(t, page, "csrfmiddlewaretoken")}})
		if res.StatusCode != http.StatusFound || !deletes(res, session) {
			t.Fatalf("POST /accounts/logout/ → %d, deletes %s %v; want 302 and the deletion", res.StatusCode, session, deletes(res, session))
		}
		// R4: the old cookie is refused: the session row is gone.
		res, _ = b.replay("/account/", session+"="+old)
		if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "/accounts/login/") {
			t.Errorf("the old %s after logout → %d to %q, want 302 to /accounts/login/", session, res.StatusCode, res.Header.Get("Location"))
		}
	})

	t.Run("flask", func(t *testing.T) {
		t.Parallel()
		base := apps["flask"].start(t)
		b := newAppBrowser(t, base, nil)
		if res, page := b.get("/login"); res.StatusCode != http.StatusOK || !strings.Contains(page, "name='email'") {
			t.Fatalf("GET /login → %d, want 200 and the form", res.StatusCode)
		}
		res, _ := b.postForm("/login", url.Values{"email": {testUser}, "password": {testPassword}})
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/protected" {
			t.Fatalf("sign-in → %d to %q, want 302 to /protected", res.StatusCode, res.Header.Get("Location"))
		}
		old := b.cookie("session")
		b.signedIn("/protected")

		// R20: the cookie is signed, not encrypted: it reads as the user.
		if id := flaskUserID(t, old); id != testUser {
			t.Errorf("the session cookie's _user_id is %d bytes, not the email: expected's R20 is wrong", len(id))
		}
		// R23: Werkzeug's request.cookies.get returns the first of two.
		b.duplicates("/protected", "session", old, http.StatusOK, http.StatusUnauthorized)

		// Sign out with the page's link, a GET (R27).
		res, _ = b.get("/logout")
		if res.StatusCode != http.StatusFound || !deletes(res, "session") {
			t.Fatalf("GET /logout → %d, deletes session %v; want 302 and the deletion", res.StatusCode, deletes(res, "session"))
		}
		if res, _ := b.get("/protected"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/protected in the signed-out browser → %d, want 401", res.StatusCode)
		}
		// R4: the old cookie still signs in; the server never knew it.
		if res, page := b.replay("/protected", "session="+old); res.StatusCode != http.StatusOK || !strings.Contains(page, testUser) {
			t.Errorf("the old session cookie after logout → %d; expected's R4 FAIL says 200 as the user", res.StatusCode)
		}
		// R36: a garbage cookie cannot sign out: @login_required answers 401.
		res, _ = b.replay("/logout", "session="+randomValue())
		if res.StatusCode != http.StatusUnauthorized || deletes(res, "session") {
			t.Errorf("GET /logout with a garbage cookie → %d, deletes %v; expected's R36 FAIL says 401, no deletion", res.StatusCode, deletes(res, "session"))
		}
	})

	t.Run("fastapi", func(t *testing.T) {
		t.Parallel()
		base := apps["fastapi"].start(t)
		b := newAppBrowser(t, base, nil)
		body, _ := json.Marshal(map[string]string{"email": testUser, "password": testPassword})
		if res, _ := b.do(http.MethodPost, "/login", "application/json", body); res.StatusCode != http.StatusOK {
			t.Fatalf("sign-in → %d, want 200", res.StatusCode)
		}
		old := b.cookie("access_token")
		b.signedIn("/api/me")

		// R20: the cookie is a JWT whose sub is the email.
		if sub := jwtSub(t, old); sub != testUser {
			t.Errorf("the access_token cookie's sub is %d bytes, not the email: expected's R20 is wrong", len(sub))
		}
		// R23: Starlette's cookie_parser keeps the last of two names.
		b.duplicates("/api/me", "access_token", old, http.StatusUnauthorized, http.StatusOK)
		// R28, R29: a cross-site POST to /logout is carried out, with
		// Sec-Fetch-Site or only a foreign Origin: it answers 200 and
		// deletes the cookie, which signs the browser out. It needs no
		// cookie (a browser sends none: SameSite=Lax), so it is sent from
		// an empty jar.
		for _, h := range [][][2]string{{{"Origin", evilOrigin}, {"Sec-Fetch-Site", "cross-site"}}, {{"Origin", evilOrigin}}} {
			res, _ := newAppBrowser(t, base, nil).do(http.MethodPost, "/logout", "", nil, h...)
			if res.StatusCode != http.StatusOK || !deletes(res, "access_token") {
				t.Errorf("POST /logout with %v → %d, deletes %v; expected's R28 and R29 FAIL say 200 and the deletion", h, res.StatusCode, deletes(res, "access_token"))
			}
		}

		// Sign out as the page's script would, POST /logout.
		if res, _ := b.do(http.MethodPost, "/logout", "", nil); res.StatusCode != http.StatusOK || !deletes(res, "access_token") {
			t.Fatalf("POST /logout → %d, deletes access_token %v; want 200 and the deletion", res.StatusCode, deletes(res, "access_token"))
		}
		if res, _ := b.get("/api/me"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/api/me in the signed-out browser → %d, want 401", res.StatusCode)
		}
		// R4: the old token still opens /api/me until its exp.
		if res, page := b.replay("/api/me", "access_token="+old); res.StatusCode != http.StatusOK || !strings.Contains(page, testUser) {
			t.Errorf("the old access_token after logout → %d; expected's R4 FAIL says 200 as the user", res.StatusCode)
		}
	})
}

// jwtSub reads the sub claim of a JWT, without checking its signature.
func jwtSub(t *testing.T, v string) string {
	t.Helper()
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		t.Fatalf("the cookie is not a JWT: %d parts", len(parts))
	}
	return payloadString(t, "the JWT's claims", parts[1], false, "sub")
}

// flaskUserID reads _user_id out of a Flask session cookie: itsdangerous's
// payload.timestamp.signature, the payload base64url JSON, zlib-compressed
// when it starts with a dot.
func flaskUserID(t *testing.T, v string) string {
	t.Helper()
	payload, _, _ := strings.Cut(strings.TrimPrefix(v, "."), ".")
	return payloadString(t, "the session cookie's payload", payload, strings.HasPrefix(v, "."), "_user_id")
}

// payloadString reads the string member key ("" if absent) of the JSON
// object that b64, base64url and zlib-compressed if compressed, encodes;
// what names b64 in messages.
func payloadString(t *testing.T, what, b64 string, compressed bool, key string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("%s is not base64url: %v", what, err)
	}
	if compressed {
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s is not zlib: %v", what, err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s is not zlib: %v", what, err)
		}
	}
	var obj map[string]json.RawMessage
	var v string
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("%s is not JSON: %v", what, err)
	}
	if m, ok := obj[key]; ok {
		if err := json.Unmarshal(m, &v); err != nil {
			t.Fatalf("%s: %s is not a string: %v", what, key, err)
		}
	}
	return v
}
