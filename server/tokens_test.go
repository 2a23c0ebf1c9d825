package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/accesstoken/jwttest"
)

// serverKeys reads the jwt key file the server created beside its database.
func (e *env) serverKeys(t *testing.T) *accesstoken.KeySet {
	t.Helper()
	db := strings.TrimPrefix(e.cfg.Store, "sqlite:")
	b, err := os.ReadFile(strings.TrimSuffix(db, filepath.Ext(db)) + ".keys.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		AccessTokenKeys json.RawMessage `json:"access_token_keys"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	ks, err := accesstoken.DecodePrivate(f.AccessTokenKeys)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// claimsOf decodes a token's payload without verifying it.
func claimsOf(t *testing.T, tok string) jwt.MapClaims {
	t.Helper()
	var c jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// R41, R42: forged and misused access tokens get 401 with
// WWW-Authenticate: Bearer error="invalid_token" (R40).
func TestForgedAccessTokens(t *testing.T) {
	e := newEnv(t, signoff.ModeJWT)
	c := e.client()
	c.login(e.newUser())
	expect(t, "the genuine token", c.do("GET", "/api/me", nil), 200)
	good := claimsOf(t, c.at)
	key := e.serverKeys(t).Signing()

	// The public key, as an attacker sees it.
	r := e.raw("GET", "/.well-known/jwks.json", nil)
	expect(t, "jwks", r, 200)
	var jwks struct {
		Keys []accesstoken.JWK `json:"keys"`
	}
	if err := json.Unmarshal(r.body, &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("jwks: %s", r.text())
	}
	pub, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].X)

	with := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		m := jwt.MapClaims{}
		for k, v := range good {
			m[k] = v
		}
		edit(m)
		return m
	}
	sign := func(method jwt.SigningMethod, claims jwt.MapClaims, hdr map[string]any, k any) string {
		h := map[string]any{"typ": "at+jwt", "kid": key.ID}
		maps.Copy(h, hdr)
		return jwttest.Forge(t, method, k, h, claims)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	parts := strings.Split(c.at, ".")
	tampered := with(func(m jwt.MapClaims) { m["sub"] = "usr_someone_else" })
	tamperedPayload, _ := json.Marshal(tampered)

	cases := map[string]string{
		"alg none":                         sign(jwt.SigningMethodNone, good, nil, jwt.UnsafeAllowNoneSignatureType),
		"HS256 signed with the public key": sign(jwt.SigningMethodHS256, good, nil, []byte(pub)),
		"unknown kid":                      sign(jwt.SigningMethodEdDSA, good, map[string]any{"kid": "nope"}, key.Private),
		"another key under our kid":        sign(jwt.SigningMethodEdDSA, good, nil, otherKey),
		"expired":                          sign(jwt.SigningMethodEdDSA, with(func(m jwt.MapClaims) { m["exp"] = now.Add(-time.Second).Unix() }), nil, key.Private),
		"nbf ahead":                        sign(jwt.SigningMethodEdDSA, with(func(m jwt.MapClaims) { m["nbf"] = now.Add(time.Hour).Unix() }), nil, key.Private),
		"wrong aud":                        sign(jwt.SigningMethodEdDSA, with(func(m jwt.MapClaims) { m["aud"] = "someone-else" }), nil, key.Private),
		"wrong iss":                        sign(jwt.SigningMethodEdDSA, with(func(m jwt.MapClaims) { m["iss"] = "evil" }), nil, key.Private),
		"typ JWT":                          sign(jwt.SigningMethodEdDSA, good, map[string]any{"typ": "JWT"}, key.Private),
		"no exp":                           sign(jwt.SigningMethodEdDSA, with(func(m jwt.MapClaims) { delete(m, "exp") }), nil, key.Private),
		"tampered payload":                 parts[0] + "." + base64.RawURLEncoding.EncodeToString(tamperedPayload) + "." + parts[2],
		"a refresh token as a bearer":      c.cookie("__Host-refresh"),
		"empty":                            "",
	}
	for name, tok := range cases {
		r := e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+tok)
		if r.status != 401 {
			t.Errorf("%s: status %d, want 401", name, r.status)
			continue
		}
		if got := r.h.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Errorf("%s: WWW-Authenticate = %q", name, got)
		}
	}
	// A properly signed token for a session that does not exist is dead too.
	ghost := sign(jwt.SigningMethodEdDSA, with(func(m jwt.MapClaims) { m["sid"] = "ses_ghost" }), nil, key.Private)
	expect(t, "a signed token of an unknown session", e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+ghost), 401)
	expect(t, "the genuine token afterwards", c.do("GET", "/api/me", nil), 200)
}

// R34b: 100 concurrent refreshes with one refresh token all get the same
// child; a grandparent replayed later revokes the family (R34).
func TestConcurrentRefreshGetsOneChild(t *testing.T) {
	e := newEnv(t, signoff.ModeJWT)
	email := e.newUser()
	r := e.raw("POST", "/login", map[string]string{"email": email, "password": password, "client": "native"})
	expect(t, "login", r, 200)
	rt1 := r.str(t, "refresh_token")

	const n = 100
	var wg sync.WaitGroup
	children := make([]string, n)
	ats := make([]string, n)
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.raw("POST", "/refresh", map[string]string{"refresh_token": rt1})
			statuses[i] = r.status
			if r.status == 200 {
				var body signoff.TokenResponse
				json.Unmarshal(r.body, &body)
				children[i], ats[i] = body.RefreshToken, body.AccessToken
			}
		}()
	}
	wg.Wait()
	rt2 := ""
	for i := range n {
		if statuses[i] != 200 {
			t.Fatalf("refresh %d: status %d", i, statuses[i])
		}
		if rt2 == "" {
			rt2 = children[i]
		}
		if children[i] != rt2 {
			t.Fatalf("refresh %d got child %s, another got %s: a new sibling", i, fp(children[i]), fp(rt2))
		}
	}
	for i := range 5 {
		expect(t, "an access token from the burst", e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+ats[i]), 200)
	}
	// RT2 rotates to RT3; then RT1, a grandparent, comes back: the family dies.
	r = e.raw("POST", "/refresh", map[string]string{"refresh_token": rt2})
	expect(t, "rotate RT2", r, 200)
	rt3, at3 := r.str(t, "refresh_token"), r.str(t, "access_token")
	expect(t, "AT3 before the replay", e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+at3), 200)
	expect(t, "the grandparent RT1", e.raw("POST", "/refresh", map[string]string{"refresh_token": rt1}), 401)
	expect(t, "RT3 after reuse was detected", e.raw("POST", "/refresh", map[string]string{"refresh_token": rt3}), 401)
	expect(t, "AT3 after reuse was detected", e.raw("GET", "/api/me", nil, "Authorization", "Bearer "+at3), 401)
	if !strings.Contains(e.logs.String(), "refresh.reuse_detected") {
		t.Fatal("no refresh.reuse_detected event in the log")
	}
}

// R33, R34: a spent refresh token outside the grace window revokes the
// family, in the browser flow too.
func TestRefreshReuseAfterGraceRevokesFamily(t *testing.T) {
	var clock fakeClock
	clock.set(time.Now())
	e := newEnv(t, signoff.ModeJWT, withClock(&clock))
	c := e.client()
	c.login(e.newUser())
	rt1 := c.cookie("__Host-refresh")
	r := c.do("POST", "/refresh", nil)
	expect(t, "refresh", r, 200)
	c.at = r.str(t, "access_token")
	if rt2 := c.cookie("__Host-refresh"); rt2 == rt1 || rt2 == "" {
		t.Fatal("R33: the refresh cookie did not rotate")
	}
	expect(t, "the new access token", c.do("GET", "/api/me", nil), 200)
	clock.add(11 * time.Second) // past the 10 s grace
	expect(t, "RT1 after the grace window", e.raw("POST", "/refresh", nil, "Cookie", "__Host-refresh="+rt1), 401)
	expect(t, "the current access token after reuse", c.do("GET", "/api/me", nil), 401)
	expect(t, "the current refresh cookie after reuse", c.do("POST", "/refresh", nil), 401)
}
