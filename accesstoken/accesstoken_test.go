package accesstoken_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/accesstoken/jwttest"
	"github.com/signoff/signoff/store/memstore"
)

// t0 is the fixed clock of every test here: whole seconds, as in JWTs.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedNow() time.Time { return t0 }

// fixedKey returns a deterministic key, so that fuzz inputs saved under
// testdata reproduce.
func fixedKey(id, alg string, seed byte) *accesstoken.Key {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = seed + byte(i)
	}
	k := &accesstoken.Key{ID: id, Alg: alg, Created: t0}
	if alg == accesstoken.EdDSA {
		k.Private = ed25519.NewKeyFromSeed(raw)
	} else {
		k.Secret = raw
	}
	return k
}

func keySet(t testing.TB, keys ...*accesstoken.Key) *accesstoken.KeySet {
	t.Helper()
	ks, err := accesstoken.NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// ttl is the access-token TTL of every codec made by codec: the lifetime of
// the tokens claims and wireClaims describe.
const ttl = 5 * time.Minute

func codec(t testing.TB, ks *accesstoken.KeySet, iss, aud string, leeway time.Duration) *accesstoken.Codec {
	t.Helper()
	c, err := accesstoken.NewCodec(ks, iss, aud, ttl, leeway, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// claims returns the claims of a token valid at t0 for five minutes.
func claims(sid string) accesstoken.Claims {
	return accesstoken.Claims{
		Subject: "usr_alice", SessionID: sid, AuthVersion: 3, ID: "jti-" + sid,
		IssuedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(5 * time.Minute),
	}
}

func sign(t testing.TB, c *accesstoken.Codec, cl accesstoken.Claims) string {
	t.Helper()
	tok, err := c.Sign(cl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fp names a token in test output without revealing it.
func fp(tok string) string { return signoff.NewSecret(tok).Fingerprint() }

// segment decodes segment i (0 header, 1 payload) of a token as JSON.
func segment(t testing.TB, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %s has %d segments; want 3", fp(tok), len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("token %s segment %d: %v", fp(tok), i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("token %s segment %d: %v", fp(tok), i, err)
	}
	return m
}

// wireClaims are the claims of a genuine token valid at t0, as a map to
// change one at a time.
func wireClaims(change func(jwt.MapClaims)) jwt.MapClaims {
	cl := jwt.MapClaims{
		"iss": "signoff", "aud": []string{"signoff"}, "sub": "usr_alice", "sid": "ses_1", "av": 3, "jti": "jti-1",
		"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(5 * time.Minute).Unix(),
	}
	if change != nil {
		change(cl)
	}
	return cl
}

// verify runs Verify and turns a panic into a test failure, so that one bad
// input does not end the whole run.
func verify(t testing.TB, c *accesstoken.Codec, tok string) (cl *accesstoken.Claims, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("Verify(%s) panicked: %v", fp(tok), r)
			cl, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Verify(tok)
}

func mustVerify(t testing.TB, c *accesstoken.Codec, tok, why string) *accesstoken.Claims {
	t.Helper()
	cl, err := verify(t, c, tok)
	if err != nil {
		t.Fatalf("%s: Verify(%s) = %v; want success", why, fp(tok), err)
	}
	return cl
}

// mustReject asserts that Verify refuses tok with an error that wraps
// ErrInvalid and does not quote the token.
func mustReject(t testing.TB, c *accesstoken.Codec, tok, why string) {
	t.Helper()
	cl, err := verify(t, c, tok)
	if err == nil {
		t.Errorf("%s: Verify(%s) accepted it (sub %q, sid %q); want it rejected", why, fp(tok), cl.Subject, cl.SessionID)
		return
	}
	if !errors.Is(err, accesstoken.ErrInvalid) {
		t.Errorf("%s: Verify error %q does not wrap ErrInvalid", why, err)
	}
	if parts := strings.Split(tok, "."); len(tok) > 0 && strings.Contains(err.Error(), parts[len(parts)-1]) && len(parts[len(parts)-1]) > 8 {
		t.Errorf("%s: the Verify error quotes the token's signature", why)
	}
}

// TestSignVerifyRoundTrip: a token of each algorithm carries typ at+jwt, the
// signing key's kid and alg, and every claim, and Verify returns them.
func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range []string{accesstoken.EdDSA, accesstoken.HS256} {
		t.Run(alg, func(t *testing.T) {
			k := fixedKey("k1", alg, 1)
			c := codec(t, keySet(t, k), "signoff", "api", 0)
			want := claims("ses_1")
			tok := sign(t, c, want)

			hdr := segment(t, tok, 0)
			if hdr["typ"] != accesstoken.Type || hdr["kid"] != k.ID || hdr["alg"] != alg {
				t.Errorf("header = %v; want typ %s, kid %s, alg %s (RFC 9068 §2.1)", hdr, accesstoken.Type, k.ID, alg)
			}
			pl := segment(t, tok, 1)
			for _, name := range []string{"iss", "aud", "sub", "sid", "av", "jti", "iat", "nbf", "exp"} {
				if _, ok := pl[name]; !ok {
					t.Errorf("the payload has no %q claim: %v", name, pl)
				}
			}

			got := mustVerify(t, c, tok, "a token the codec signed")
			want.Issuer, want.Audience = "signoff", "api"
			if !got.IssuedAt.Equal(want.IssuedAt) || !got.NotBefore.Equal(want.NotBefore) || !got.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("times: got iat %v nbf %v exp %v; want %v %v %v", got.IssuedAt, got.NotBefore, got.ExpiresAt, want.IssuedAt, want.NotBefore, want.ExpiresAt)
			}
			got.IssuedAt, got.NotBefore, got.ExpiresAt = want.IssuedAt, want.NotBefore, want.ExpiresAt
			if *got != want {
				t.Errorf("Verify = %+v; want %+v", *got, want)
			}
		})
	}
}

// TestSignBytes: Sign writes exactly the token golang-jwt signs for the same
// claims (header keys sorted, claims in their struct order, aud an array,
// times in whole seconds, strings escaped as encoding/json does), in both
// algorithms, so tokens minted before and after Sign stopped using it are
// alike.
func TestSignBytes(t *testing.T) {
	type wire struct {
		jwt.RegisteredClaims
		SID string `json:"sid"`
		AV  int64  `json:"av"`
	}
	odd := []string{"", "usr_alice", `q"uote`, `back\slash`, "<a>&b", "tab\tnl\n\x01\x7f", "é ü 日本", "bad \xff utf-8", "line\u2028sep", "\b\f"}
	for _, alg := range []string{accesstoken.EdDSA, accesstoken.HS256} {
		for i, s := range odd {
			k := fixedKey("kid-"+s, alg, byte(i))
			c := codec(t, keySet(t, k), "iss "+s, "aud "+s, 0)
			cl := accesstoken.Claims{Subject: s, SessionID: "ses " + s, AuthVersion: int64(i) - 3, ID: s,
				IssuedAt: t0.Add(time.Duration(i) * 123 * time.Millisecond), NotBefore: t0.Add(-time.Second / 3), ExpiresAt: t0.Add(299999 * time.Millisecond)}
			got := sign(t, c, cl)
			method, key := jwt.SigningMethod(jwt.SigningMethodEdDSA), any(k.Private)
			if alg == accesstoken.HS256 {
				method, key = jwt.SigningMethodHS256, k.Secret
			}
			ref := jwt.NewWithClaims(method, wire{
				RegisteredClaims: jwt.RegisteredClaims{
					Issuer: "iss " + s, Subject: cl.Subject, Audience: jwt.ClaimStrings{"aud " + s},
					ExpiresAt: jwt.NewNumericDate(cl.ExpiresAt), NotBefore: jwt.NewNumericDate(cl.NotBefore),
					IssuedAt: jwt.NewNumericDate(cl.IssuedAt), ID: cl.ID,
				},
				SID: cl.SessionID, AV: cl.AuthVersion,
			})
			ref.Header["typ"], ref.Header["kid"] = accesstoken.Type, k.ID
			want, err := ref.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s, strings %q: Sign wrote %s, golang-jwt %s", alg, s, fp(got), fp(want))
				for i := range 2 {
					if g, w := strings.Split(got, ".")[i], strings.Split(want, ".")[i]; g != w {
						gb, _ := base64.RawURLEncoding.DecodeString(g)
						wb, _ := base64.RawURLEncoding.DecodeString(w)
						t.Errorf("  segment %d: %s; want %s", i, gb, wb)
					}
				}
			}
		}
	}
}

// TestDefaultAlgorithmIsEdDSA: a jwt-mode Manager given no keys signs with a
// fresh Ed25519 key.
func TestDefaultAlgorithmIsEdDSA(t *testing.T) {
	m, err := signoff.New(signoff.Config{Mode: signoff.ModeJWT, Store: memstore.New(), Now: fixedNow,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if alg := m.Keys().Alg(); alg != accesstoken.EdDSA {
		t.Errorf("default key set algorithm %q; want %s", alg, accesstoken.EdDSA)
	}
	if k := m.Keys().Signing(); k.ID == "" || len(k.Private) != ed25519.PrivateKeySize {
		t.Errorf("default signing key %v has no kid or no Ed25519 key", k)
	}
	if jwks := m.Keys().JWKS()["keys"]; len(jwks) != 1 || jwks[0].Kid != m.Keys().Signing().ID || jwks[0].Crv != "Ed25519" {
		t.Errorf("JWKS of the default set = %+v; want its one Ed25519 key", jwks)
	}
}

// TestKeyRotation_I7: after a rotation, tokens of the old key verify while
// that key is in the set, new tokens carry the new kid, and a key that left
// the set verifies nothing.
func TestKeyRotation_I7(t *testing.T) {
	k1, k2, k3 := fixedKey("k1", accesstoken.EdDSA, 1), fixedKey("k2", accesstoken.EdDSA, 2), fixedKey("k3", accesstoken.EdDSA, 3)
	c := codec(t, keySet(t, k1), "signoff", "signoff", 0)
	old := sign(t, c, claims("ses_old"))

	rotated, err := c.Keys().Rotate(k2, 2)
	if err != nil {
		t.Fatal(err)
	}
	c.SetKeys(rotated)
	mustVerify(t, c, old, "a k1 token while k1 is still in the set")
	fresh := sign(t, c, claims("ses_new"))
	if kid := segment(t, fresh, 0)["kid"]; kid != k2.ID {
		t.Fatalf("a token signed after the rotation has kid %v; want %s", kid, k2.ID)
	}
	mustVerify(t, c, fresh, "a k2 token")

	// A token that names k1 but is signed by k2 is a forgery.
	mustReject(t, c, jwttest.Forge(t, jwt.SigningMethodEdDSA, k2.Private, map[string]any{"kid": k1.ID}, wireClaims(nil)), "kid k1, signed by k2")

	rotated, err = c.Keys().Rotate(k3, 2) // k3 signs, k2 verifies, k1 is gone
	if err != nil {
		t.Fatal(err)
	}
	c.SetKeys(rotated)
	mustReject(t, c, old, "I7: a k1 token after k1 left the set")
	mustVerify(t, c, fresh, "a k2 token while k2 is still in the set")
	c.SetKeys(keySet(t, k3))
	mustReject(t, c, fresh, "I7: a k2 token after k2 left the set")
}

// VerifyUnder checks against the set it is given, whatever the codec's
// set is: a token of a key the given set lacks fails even while the codec
// holds that key, and one of a key it holds passes even after the codec's
// set has moved on.
func TestVerifyUnder(t *testing.T) {
	k1, k2 := fixedKey("k1", accesstoken.EdDSA, 1), fixedKey("k2", accesstoken.EdDSA, 2)
	only1, only2 := keySet(t, k1), keySet(t, k2)
	c := codec(t, only2, "signoff", "signoff", 0)
	tok := sign(t, c, claims("ses_k2"))
	if _, err := c.VerifyUnder(tok, only1); !errors.Is(err, accesstoken.ErrInvalid) {
		t.Fatalf("a k2 token under a set of k1 alone, the codec on k2: %v; want ErrInvalid", err)
	}
	c.SetKeys(only1)
	if _, err := c.VerifyUnder(tok, only2); err != nil {
		t.Fatalf("a k2 token under a set of k2, the codec on k1: %v; want it verified", err)
	}
	mustReject(t, c, tok, "Verify: a k2 token while the codec's set is k1 alone")
}

// TestAlgorithmConfusion_R41: the algorithm is the key's, never the
// token's: HS256 signed with the Ed25519 public key, alg none, and an EdDSA
// token against an HS256 set all fail. Each forgery's control, the same
// claims signed the genuine way, passes.
func TestAlgorithmConfusion_R41(t *testing.T) {
	ed := fixedKey("ed1", accesstoken.EdDSA, 1)
	edc := codec(t, keySet(t, ed), "signoff", "signoff", 0)
	hs := fixedKey("hs1", accesstoken.HS256, 2)
	hsc := codec(t, keySet(t, hs), "signoff", "signoff", 0)

	mustVerify(t, edc, jwttest.Forge(t, jwt.SigningMethodEdDSA, ed.Private, map[string]any{"kid": ed.ID}, wireClaims(nil)), "control: EdDSA")
	mustVerify(t, hsc, jwttest.Forge(t, jwt.SigningMethodHS256, hs.Secret, map[string]any{"kid": hs.ID}, wireClaims(nil)), "control: HS256")

	pub := []byte(ed.Private.Public().(ed25519.PublicKey))
	mustReject(t, edc, jwttest.Forge(t, jwt.SigningMethodHS256, pub, map[string]any{"kid": ed.ID}, wireClaims(nil)),
		"R41: HS256 with the Ed25519 public key as the HMAC secret")
	jwk := []byte(base64.RawURLEncoding.EncodeToString(pub))
	mustReject(t, edc, jwttest.Forge(t, jwt.SigningMethodHS256, jwk, map[string]any{"kid": ed.ID}, wireClaims(nil)),
		"R41: HS256 with the JWK x value as the HMAC secret")
	for name, c := range map[string]*accesstoken.Codec{"EdDSA set": edc, "HS256 set": hsc} {
		kid := ed.ID
		if c == hsc {
			kid = hs.ID
		}
		none := jwttest.Forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": kid}, wireClaims(nil))
		mustReject(t, c, none, "R41: alg none, "+name)
		mustReject(t, c, strings.TrimSuffix(none, ".")+".c2ln", "R41: alg none with a signature, "+name)
		for _, alg := range []string{"None", "NONE", "nOnE"} {
			hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","kid":"` + kid + `","typ":"at+jwt"}`))
			mustReject(t, c, hdr+"."+strings.Split(none, ".")[1]+".", "R41: alg "+alg+", "+name)
		}
	}
	mustReject(t, hsc, jwttest.Forge(t, jwt.SigningMethodEdDSA, ed.Private, map[string]any{"kid": hs.ID}, wireClaims(nil)),
		"R41: an EdDSA token naming the HS256 key")
	mustReject(t, edc, jwttest.Forge(t, jwt.SigningMethodHS256, hs.Secret, map[string]any{"kid": ed.ID}, wireClaims(nil)),
		"R41: an HS256 token naming the EdDSA key")
	mustReject(t, edc, jwttest.Forge(t, jwt.SigningMethodEdDSA, ed.Private, map[string]any{"kid": ed.ID, "alg": "HS256"}, wireClaims(nil)),
		"R41: an EdDSA signature under a header that says HS256")
}

// TestHeader_R42: typ must be at+jwt (RFC 9068 §2.1 also allows
// application/at+jwt) and kid must name a key of the set.
func TestHeader_R42(t *testing.T) {
	k := fixedKey("k1", accesstoken.EdDSA, 1)
	c := codec(t, keySet(t, k), "signoff", "signoff", 0)
	tok := func(hdr map[string]any) string {
		if _, ok := hdr["kid"]; !ok {
			hdr["kid"] = k.ID
		}
		return jwttest.Forge(t, jwt.SigningMethodEdDSA, k.Private, hdr, wireClaims(nil))
	}
	mustVerify(t, c, tok(map[string]any{}), "control")
	mustVerify(t, c, tok(map[string]any{"typ": "application/at+jwt"}), "typ application/at+jwt")
	mustReject(t, c, tok(map[string]any{"typ": nil}), "R42: no typ")
	mustReject(t, c, tok(map[string]any{"typ": "JWT"}), "R42: typ JWT (an ID token or any other JWT)")
	mustReject(t, c, tok(map[string]any{"typ": "rt+jwt"}), "R42: typ rt+jwt")
	mustReject(t, c, tok(map[string]any{"kid": nil}), "no kid")
	mustReject(t, c, tok(map[string]any{"kid": "k9"}), "an unknown kid")
	mustReject(t, c, tok(map[string]any{"kid": 1}), "a kid that is not a string")
}

// TestRequiredClaims_R41: exp, nbf and iat are required and enforced, and so
// are iss, aud, sub, sid and jti. Leeway widens the time checks, and only by
// itself.
func TestRequiredClaims_R41(t *testing.T) {
	k := fixedKey("k1", accesstoken.EdDSA, 1)
	c := codec(t, keySet(t, k), "signoff", "signoff", 0)
	tok := func(change func(jwt.MapClaims)) string {
		return jwttest.Forge(t, jwt.SigningMethodEdDSA, k.Private, map[string]any{"kid": k.ID}, wireClaims(change))
	}
	mustVerify(t, c, tok(nil), "control")
	for _, name := range []string{"exp", "nbf", "iss", "aud", "sub", "sid", "jti"} {
		mustReject(t, c, tok(func(cl jwt.MapClaims) { delete(cl, name) }), "no "+name)
	}
	mustReject(t, c, tok(func(cl jwt.MapClaims) { delete(cl, "iat") }), "no iat")

	at := func(name string, d time.Duration) string {
		return tok(func(cl jwt.MapClaims) { cl[name] = t0.Add(d).Unix() })
	}
	mustReject(t, c, at("exp", 0), "exp now (a token is valid only before exp)")
	mustReject(t, c, at("exp", -time.Second), "exp a second ago")
	mustReject(t, c, at("nbf", time.Second), "nbf a second ahead")
	mustReject(t, c, at("iat", time.Second), "iat a second ahead")
	mustReject(t, c, tok(func(cl jwt.MapClaims) { cl["exp"] = "tomorrow" }), "exp not a number")

	lenient := codec(t, keySet(t, k), "signoff", "signoff", 30*time.Second)
	mustVerify(t, lenient, at("exp", -29*time.Second), "leeway 30s: exp 29s ago")
	mustVerify(t, lenient, at("nbf", 29*time.Second), "leeway 30s: nbf 29s ahead")
	mustReject(t, lenient, at("exp", -31*time.Second), "leeway 30s: exp 31s ago")
	mustReject(t, lenient, at("nbf", 31*time.Second), "leeway 30s: nbf 31s ahead")
}

// TestIssuerAudience_R42: a token of another issuer or for another audience
// fails, even under the very same key.
func TestIssuerAudience_R42(t *testing.T) {
	ks := keySet(t, fixedKey("k1", accesstoken.EdDSA, 1))
	c := codec(t, ks, "signoff", "api", 0)
	mustVerify(t, c, sign(t, c, claims("ses_1")), "control")
	mustReject(t, c, sign(t, codec(t, ks, "evil", "api", 0), claims("ses_1")), "R42: another issuer")
	mustReject(t, c, sign(t, codec(t, ks, "signoff", "billing", 0), claims("ses_1")), "R42: another audience")
	mustReject(t, c, sign(t, codec(t, ks, "Signoff", "API", 0), claims("ses_1")), "R42: issuer and audience compared exactly")
}

// TestMalformed: shapes that are not a token fail before any signature work,
// with errors that wrap ErrInvalid.
func TestMalformed(t *testing.T) {
	k := fixedKey("k1", accesstoken.EdDSA, 1)
	c := codec(t, keySet(t, k), "signoff", "signoff", 0)
	good := sign(t, c, claims("ses_1"))
	parts := strings.Split(good, ".")
	for name, tok := range map[string]string{
		"empty":              "",
		"two segments":       parts[0] + "." + parts[1],
		"four segments":      good + ".x",
		"padded":             good + "==",
		"standard base64":    parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+/",
		"longer than MaxLen": parts[0] + "." + parts[1] + strings.Repeat("A", accesstoken.MaxLen) + "." + parts[2],
		"no signature":       parts[0] + "." + parts[1] + ".",
		"swapped segments":   parts[1] + "." + parts[0] + "." + parts[2],
	} {
		mustReject(t, c, tok, name)
	}
}

// TestKeyString: a Key prints only its algorithm and kid.
func TestKeyString(t *testing.T) {
	for _, k := range []*accesstoken.Key{fixedKey("k1", accesstoken.EdDSA, 1), fixedKey("k2", accesstoken.HS256, 2)} {
		s := fmt.Sprint(k)
		secret := k.Secret
		if k.Alg == accesstoken.EdDSA {
			secret = k.Private.Seed()
		}
		if s != "accesstoken.Key("+k.Alg+" "+k.ID+")" ||
			strings.Contains(s, base64.RawURLEncoding.EncodeToString(secret)) || strings.Contains(s, fmt.Sprint(secret)) {
			t.Errorf("%s key prints as %q; want only its algorithm and kid", k.Alg, s)
		}
	}
}

// BenchmarkSign mints an EdDSA access token, as every login and refresh
// does.
func BenchmarkSign(b *testing.B) {
	c := codec(b, keySet(b, fixedKey("k1", accesstoken.EdDSA, 1)), "signoff", "api", 0)
	cl := claims("ses_0123456789abcdef")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Sign(cl); err != nil {
			b.Fatal(err)
		}
	}
}
