package signoff_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/accesstoken/jwttest"
)

// jwtHarness is a jwt-mode harness whose signing key the test holds, so it
// can forge tokens that differ from a genuine one in exactly one way.
func jwtHarness(t *testing.T, opts ...func(*signoff.Config)) (*harness, *accesstoken.Key) {
	t.Helper()
	k, err := accesstoken.GenerateKey(accesstoken.EdDSA, t0)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := accesstoken.NewKeySet(k)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]func(*signoff.Config){func(c *signoff.Config) { c.Keys = ks }}, opts...)
	return newHarness(t, signoff.ModeJWT, opts...), k
}

// TestForgedAccessTokens_R41_R42 presents tokens that each differ from a
// genuine one in one respect; every one must get a 401. The control (the
// genuine claims signed the genuine way) must pass, so each rejection is due
// to the one change.
func TestForgedAccessTokens_R41_R42(t *testing.T) {
	h, key := jwtHarness(t)
	c1, c2 := h.newClient(), h.newClient()
	s1 := h.login(c1, "alice", true).Session
	s2 := h.login(c2, "alice", true).Session
	now := h.clock.Now()

	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		cl := jwt.MapClaims{
			"iss": "signoff", "aud": []string{"signoff"}, "sub": "alice", "sid": s1.ID, "av": 0,
			"jti": "forged-jti", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		}
		if change != nil {
			change(cl)
		}
		return cl
	}
	hdr := func(change func(map[string]any)) map[string]any {
		m := map[string]any{"typ": "at+jwt", "kid": key.ID}
		if change != nil {
			change(m)
		}
		return m
	}
	genuine := func(cl jwt.MapClaims, hd map[string]any) string {
		return jwttest.Forge(t, jwt.SigningMethodEdDSA, key.Private, hd, cl)
	}
	pub := key.Private.Public().(ed25519.PublicKey)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)

	// A genuine token of s1 with its payload's sid changed to s2 (a live
	// session of the same user) and the original signature kept.
	tampered := func() string {
		parts := strings.Split(c1.at, ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		m["sid"] = s2.ID
		b, _ := json.Marshal(m)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}()

	authBearer := func(tok string) (*signoff.Principal, error) {
		h.remember(tok)
		r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return h.m.Authenticate(r)
	}

	// Controls: the forger makes tokens the Manager accepts.
	if p, err := authBearer(genuine(claims(nil), hdr(nil))); err != nil || p.SessionID != s1.ID {
		t.Fatalf("control: genuine forged token: %v", err)
	}
	if _, err := authBearer(genuine(claims(func(c jwt.MapClaims) { c["sid"] = s2.ID }), hdr(nil))); err != nil {
		t.Fatalf("control: genuine token for s2: %v", err)
	}
	if _, err := authBearer(genuine(claims(nil), hdr(func(m map[string]any) { m["typ"] = "application/at+jwt" }))); err != nil {
		t.Fatalf("control: typ application/at+jwt (RFC 9068 allows it): %v", err)
	}

	for _, tc := range []struct {
		name, tok string
	}{
		{"R41 alg none", jwttest.Forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr(nil), claims(nil))},
		{"R41 alg none, empty signature, kid removed", jwttest.Forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr(func(m map[string]any) { m["kid"] = nil }), claims(nil))},
		{"R41 HS256 keyed with the Ed25519 public key", jwttest.Forge(t, jwt.SigningMethodHS256, []byte(pub), hdr(nil), claims(nil))},
		{"R41 HS256 keyed with the base64url public key", jwttest.Forge(t, jwt.SigningMethodHS256, []byte(base64.RawURLEncoding.EncodeToString(pub)), hdr(nil), claims(nil))},
		{"R41 unknown kid", genuine(claims(nil), hdr(func(m map[string]any) { m["kid"] = "unknown" }))},
		{"R41 no kid", genuine(claims(nil), hdr(func(m map[string]any) { m["kid"] = nil }))},
		{"R41 another Ed25519 key under the known kid", jwttest.Forge(t, jwt.SigningMethodEdDSA, otherKey, hdr(nil), claims(nil))},
		{"R41 expired", genuine(claims(func(c jwt.MapClaims) {
			c["iat"] = now.Add(-10 * time.Minute).Unix()
			c["nbf"] = now.Add(-10 * time.Minute).Unix()
			c["exp"] = now.Add(-time.Second).Unix()
		}), hdr(nil))},
		{"R41 exp now", genuine(claims(func(c jwt.MapClaims) { c["exp"] = now.Unix() }), hdr(nil))},
		{"R41 no exp", genuine(claims(func(c jwt.MapClaims) { delete(c, "exp") }), hdr(nil))},
		{"R41 nbf in the future", genuine(claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() }), hdr(nil))},
		{"R41 no nbf", genuine(claims(func(c jwt.MapClaims) { delete(c, "nbf") }), hdr(nil))},
		{"R41 iat in the future", genuine(claims(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Minute).Unix() }), hdr(nil))},
		{"R42 wrong aud", genuine(claims(func(c jwt.MapClaims) { c["aud"] = []string{"other"} }), hdr(nil))},
		{"R42 no aud", genuine(claims(func(c jwt.MapClaims) { delete(c, "aud") }), hdr(nil))},
		{"R42 wrong iss", genuine(claims(func(c jwt.MapClaims) { c["iss"] = "evil" }), hdr(nil))},
		{"R42 typ JWT", genuine(claims(nil), hdr(func(m map[string]any) { m["typ"] = "JWT" }))},
		{"R42 no typ", genuine(claims(nil), hdr(func(m map[string]any) { m["typ"] = nil }))},
		{"R42 refresh token as Bearer", c1.rt.Reveal()},
		{"sub of another user", genuine(claims(func(c jwt.MapClaims) { c["sub"] = "mallory" }), hdr(nil))},
		{"unknown sid", genuine(claims(func(c jwt.MapClaims) { c["sid"] = "ses_0123456789abcdef0123456789abcdef" }), hdr(nil))},
		{"no sid", genuine(claims(func(c jwt.MapClaims) { delete(c, "sid") }), hdr(nil))},
		{"R41 tampered payload (sid changed), original signature", tampered},
		{"R41 signature cut off", c1.at[:strings.LastIndexByte(c1.at, '.')+1]},
		{"R41 signature of another token", c1.at[:strings.LastIndexByte(c1.at, '.')] + c2.at[strings.LastIndexByte(c2.at, '.'):]},
	} {
		p, err := authBearer(tc.tok)
		if err == nil {
			t.Errorf("%s: accepted (session %s); want 401", tc.name, p.SessionID)
			continue
		}
		if got := signoff.StatusOf(err); got != http.StatusUnauthorized {
			t.Errorf("%s: %v (status %d); want 401", tc.name, err, got)
		}
		if strings.Contains(err.Error(), tc.tok) {
			t.Errorf("%s: the error quotes the token (%s)", tc.name, fp(tc.tok))
		}
	}

	// The genuine tokens still work: the forgeries changed nothing.
	h.mustAuth(c1, "genuine access token of s1 after the forgeries")
	h.mustAuth(c2, "genuine access token of s2 after the forgeries")
}

// TestBearerSyntax: only one Authorization header with the Bearer scheme
// carries a token (RFC 6750 §2.1).
func TestBearerSyntax(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT)
	c := h.newClient()
	h.login(c, "alice", true)
	for _, tc := range []struct {
		name   string
		values []string
		want   int
	}{
		{"lowercase scheme", []string{"bearer " + c.at}, http.StatusOK},
		{"Basic scheme", []string{"Basic " + c.at}, http.StatusUnauthorized},
		{"no scheme", []string{c.at}, http.StatusUnauthorized},
		{"empty token", []string{"Bearer "}, http.StatusUnauthorized},
		{"two headers", []string{"Bearer " + c.at, "Bearer " + c.at}, http.StatusUnauthorized},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, v := range tc.values {
			r.Header.Add("Authorization", v)
		}
		_, err := h.m.Authenticate(r)
		if got := signoff.StatusOf(err); got != tc.want {
			t.Errorf("%s: status %d (%v), want %d", tc.name, got, err, tc.want)
		}
	}
}

// TestKeyRotation_I7: tokens signed before SetKeys with a rotated set still
// verify; once their key leaves the set they fail, cached or not.
func TestKeyRotation_I7(t *testing.T) {
	h, k1 := jwtHarness(t)
	cached, uncached := h.newClient(), h.newClient()
	h.login(cached, "alice", true)
	h.login(uncached, "alice", true)
	h.mustAuth(cached, "k1 token before rotation (now cached)")

	k2 := h.rotate()
	h.mustAuth(cached, "k1 token after rotation, cached")
	fresh := h.newClient()
	h.login(fresh, "alice", true)
	if kid := headerKid(t, fresh.at); kid != k2.ID {
		t.Fatalf("a token minted after rotation has kid %q, want the new key's %q", kid, k2.ID)
	}
	if kid := headerKid(t, cached.at); kid != k1.ID {
		t.Fatalf("control: the old token has kid %q, want %q", kid, k1.ID)
	}
	h.mustAuth(fresh, "k2 token")

	onlyK2, err := accesstoken.NewKeySet(k2)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.m.SetKeys(onlyK2); err != nil {
		t.Fatal(err)
	}
	h.mustReject(uncached, "I7: a k1 token after k1 left the set (never verified before)")
	h.mustReject(cached, "I7: a k1 token after k1 left the set (verified and cached while k1 was valid)")
	h.mustAuth(fresh, "the k2 token after k1 left the set")
}

func headerKid(t *testing.T, tok string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var hd struct{ Kid string }
	if err := json.Unmarshal(b, &hd); err != nil {
		t.Fatal(err)
	}
	return hd.Kid
}

// TestSetKeysSessionMode: key rotation is a jwt-mode call.
func TestSetKeysSessionMode(t *testing.T) {
	h := newHarness(t, signoff.ModeSession)
	if h.m.Keys() != nil {
		t.Error("session mode has access-token keys")
	}
	k, _ := accesstoken.GenerateKey(accesstoken.EdDSA, t0)
	ks, _ := accesstoken.NewKeySet(k)
	if err := h.m.SetKeys(ks); err != signoff.ErrWrongMode {
		t.Errorf("SetKeys in session mode: %v; want ErrWrongMode", err)
	}
}

// The token cache is keyed by signature; a cached signature under another
// payload (here: someone else's sub) is not a hit, and fails verification.
func TestCachedSignatureUnderAnotherPayload_R41(t *testing.T) {
	h := newHarness(t, signoff.ModeJWT)
	c := h.newClient()
	h.login(c, "alice", true)
	h.mustAuth(c, "the genuine token, warming the cache")
	parts := strings.Split(c.at, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := &client{h: h, jar: map[string]string{},
		at: parts[0] + "." + base64.RawURLEncoding.EncodeToString(bytes.Replace(payload, []byte(`"alice"`), []byte(`"mallory"`), 1)) + "." + parts[2]}
	if forged.at == c.at {
		t.Fatal("the payload was not changed")
	}
	if p, err := h.auth(forged); err == nil {
		t.Fatalf("a cached signature under a changed payload authenticated as %q", p.UserID)
	}
	if p := h.mustAuth(c, "the genuine token afterwards"); p.UserID != "alice" {
		t.Fatalf("the genuine token now names %q", p.UserID)
	}
}
