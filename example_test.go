package signoff_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/memstore"
)

// Example_sessionMode wires signoff into net/http with an opaque session
// cookie: a login route that calls Login once the password checks out, an
// API guarded by Require, and LogoutHandler. After logout the old cookie,
// replayed by hand, gets 401: the session ended on the server, not just in
// the browser.
func Example_sessionMode() {
	m, err := signoff.New(signoff.Config{
		Store:  memstore.New(),                // in memory; see store/ for persistent stores
		Logger: slog.New(slog.DiscardHandler), // audit events; fingerprints only
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	mux := http.NewServeMux()
	// m.Protect refuses cross-site POSTs: no login CSRF.
	mux.Handle("POST /login", m.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Check the user's password here; signoff takes over once they have proved who they are.
		if _, err := m.Login(w, r, "usr_alice", signoff.LoginOptions{}); err != nil {
			signoff.WriteError(w, err)
			return
		}
		signoff.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})))
	mux.Handle("GET /api/me", m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", signoff.PrincipalFrom(r.Context()).UserID)
	})))
	mux.Handle("POST /logout", m.LogoutHandler())

	// The session cookie is __Host-session, Secure: serve over TLS.
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)

	show := func(what string, resp *http.Response, err error) {
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body = nil // a problem+json body
		}
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %d %s", what, resp.StatusCode, body)))
	}
	resp, err := browser.Post(srv.URL+"/login", "application/json", nil)
	show("login", resp, err)
	resp, err = browser.Get(srv.URL + "/api/me")
	show("GET /api/me", resp, err)

	// Keep a copy of the cookie, as an attacker who stole it would.
	stolen := browser.Jar.Cookies(resp.Request.URL)[0]

	resp, err = browser.Post(srv.URL+"/logout", "application/json", nil)
	show("logout", resp, err)
	resp, err = browser.Get(srv.URL + "/api/me")
	show("GET /api/me", resp, err)

	replay, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/me", nil)
	replay.AddCookie(stolen)
	resp, err = srv.Client().Do(replay)
	show("GET /api/me with the old cookie", resp, err)

	// Output:
	// login: 200 {"ok":true}
	// GET /api/me: 200 hello usr_alice
	// logout: 200 {"ok":true}
	// GET /api/me: 401
	// GET /api/me with the old cookie: 401
}

// Example_jwtMode wires signoff into net/http with short-lived access tokens:
// Login hands the browser an access token in the body and a refresh token in
// an HttpOnly cookie; Require checks the Bearer token; logout revokes the
// session, so the access token dies at once rather than when it expires.
func Example_jwtMode() {
	m, err := signoff.New(signoff.Config{
		Mode:           signoff.ModeJWT,
		Store:          memstore.New(),
		Logger:         slog.New(slog.DiscardHandler),
		AccessTokenTTL: 5 * time.Minute, // the default
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.Handle("POST /login", m.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Check the user's password here.
		res, err := m.Login(w, r, "usr_alice", signoff.LoginOptions{})
		if err != nil {
			signoff.WriteError(w, err)
			return
		}
		signoff.WriteJSON(w, http.StatusOK, res.Tokens.Response(time.Now()))
	})))
	mux.Handle("GET /api/me", m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", signoff.PrincipalFrom(r.Context()).UserID)
	})))
	mux.Handle("POST /refresh", m.RefreshHandler())
	mux.Handle("POST /logout", m.LogoutHandler())

	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)

	resp, err := browser.Post(srv.URL+"/login", "application/json", nil)
	if err != nil {
		log.Fatal(err)
	}
	var tok signoff.TokenResponse
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	fmt.Println("login:", resp.StatusCode, tok.TokenType, "expires in", tok.ExpiresIn, "s")

	me := func(what string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := browser.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body = []byte(resp.Header.Get("WWW-Authenticate"))
		}
		fmt.Printf("%s: %d %s\n", what, resp.StatusCode, body)
	}
	me("GET /api/me")

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/logout", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = browser.Do(req) // the jar sends the refresh cookie
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("logout:", resp.StatusCode)

	me("GET /api/me with the old access token")
	resp, err = browser.Post(srv.URL+"/refresh", "application/json", nil)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("refresh after logout:", resp.StatusCode)

	// Output:
	// login: 200 Bearer expires in 300 s
	// GET /api/me: 200 hello usr_alice
	// logout: 200
	// GET /api/me with the old access token: 401 Bearer realm="signoff", error="invalid_token"
	// refresh after logout: 401
}
