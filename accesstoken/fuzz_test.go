package accesstoken_test

//	go test -run '^$' -fuzz '^FuzzVerify$' -fuzztime 20s ./accesstoken

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/accesstoken/jwttest"
)

// FuzzVerify feeds arbitrary strings to Verify on an EdDSA codec and an
// HS256 codec, each of which signed a few tokens (the seeds, with mutations
// of every segment). Properties:
//
//  1. It never panics.
//  2. It accepts a string only if it is byte for byte a token that codec
//     signed, and then returns exactly the claims signed. Any other string —
//     one changed byte in the header, payload or signature, a token of the
//     other codec, alg none, a token that codec signed with a lifetime
//     beyond its TTL (exp ten years or 2^62 seconds away) — is rejected.
//  3. Every rejection wraps ErrInvalid and quotes no part of a signed token.
func FuzzVerify(f *testing.F) {
	type signer struct {
		c      *accesstoken.Codec
		signed map[string]*accesstoken.Claims
	}
	var signers []signer
	for i, k := range []*accesstoken.Key{fixedKey("ed1", accesstoken.EdDSA, 1), fixedKey("hs1", accesstoken.HS256, 2)} {
		c := codec(f, keySet(f, k), "signoff", "signoff", 0)
		s := signer{c, map[string]*accesstoken.Claims{}}
		for _, sid := range []string{"ses_a", "ses_b"} {
			cl := claims(sid)
			cl.Subject += k.Alg
			tok := sign(f, c, cl)
			cl.Issuer, cl.Audience = "signoff", "signoff"
			s.signed[tok] = &cl
			mutate(f, tok)
		}
		// Signed with the real key, but living too long: never accepted.
		for _, exp := range []time.Time{t0.AddDate(10, 0, 0), time.Unix(1<<62, 0), t0.Add(ttl + time.Second)} {
			cl := claims("ses_long")
			cl.ExpiresAt = exp
			mutate(f, sign(f, c, cl))
		}
		signers = append(signers, s)
		if i == 0 {
			f.Add(jwttest.Forge(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": k.ID}, wireClaims(nil)))
			pub := []byte(k.Private.Public().(ed25519.PublicKey))
			f.Add(jwttest.Forge(f, jwt.SigningMethodHS256, pub, map[string]any{"kid": k.ID}, wireClaims(nil)))
		}
	}
	for _, s := range []string{"", ".", "..", "a.b.c", "e30.e30.", "e30.e30.e30", strings.Repeat(".", 3000)} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, tok string) {
		for _, s := range signers {
			cl, err := verify(t, s.c, tok)
			want, signed := s.signed[tok]
			switch {
			case err == nil && !signed:
				t.Fatalf("%s codec: Verify accepted %s (%d bytes, sid %q), which it never signed, or signed to live past its TTL", s.c.Keys().Alg(), fp(tok), len(tok), cl.SessionID)
			case err == nil && !claimsEqual(cl, want):
				t.Fatalf("%s codec: Verify(%s) = %+v; want the signed claims %+v", s.c.Keys().Alg(), fp(tok), *cl, *want)
			case err != nil && signed:
				t.Fatalf("%s codec: Verify rejected %s, which it signed: %v", s.c.Keys().Alg(), fp(tok), err)
			case err != nil && !errors.Is(err, accesstoken.ErrInvalid):
				t.Fatalf("%s codec: Verify(%s): %v does not wrap ErrInvalid", s.c.Keys().Alg(), fp(tok), err)
			case err != nil:
				for _, o := range signers {
					for real := range o.signed {
						for _, part := range strings.Split(real, ".")[1:] {
							if strings.Contains(err.Error(), part) {
								t.Fatalf("%s codec: the error for %s quotes a segment of token %s", s.c.Keys().Alg(), fp(tok), fp(real))
							}
						}
					}
				}
			}
		}
	})
}

func claimsEqual(a, b *accesstoken.Claims) bool {
	x, y := *a, *b
	if !x.IssuedAt.Equal(y.IssuedAt) || !x.NotBefore.Equal(y.NotBefore) || !x.ExpiresAt.Equal(y.ExpiresAt) {
		return false
	}
	x.IssuedAt, x.NotBefore, x.ExpiresAt = y.IssuedAt, y.NotBefore, y.ExpiresAt
	return x == y
}

// mutate adds tok and variants of it to the seed corpus: each segment with a
// byte changed, dropped or added, the signature's unused bits set, segments
// swapped and re-joined, and the known CR/LF variant.
func mutate(f *testing.F, tok string) {
	f.Add(tok)
	parts := strings.Split(tok, ".")
	join := func(p ...string) string { return strings.Join(p, ".") }
	for i, seg := range parts {
		set := func(s string) string {
			p := append([]string(nil), parts...)
			p[i] = s
			return join(p...)
		}
		for _, at := range []int{0, len(seg) / 2, len(seg) - 1} {
			c := seg[at] ^ 0x01
			if c == '.' {
				c = 'A'
			}
			f.Add(set(seg[:at] + string(c) + seg[at+1:]))
		}
		f.Add(set(seg[:len(seg)-1]))
		f.Add(set(seg + "A"))
		f.Add(set(""))
	}
	// The last character of the signature carries unused low bits: setting
	// one decodes to the same signature unless decoding is strict.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	sig := parts[2]
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	f.Add(join(parts[0], parts[1], sig[:len(sig)-1]+string(alphabet[last^1])))
	f.Add(join(parts[0], parts[0], parts[2]))
	f.Add(tok + ".")
	f.Add("." + tok)
	f.Add(tok + "=")
	f.Add(" " + tok)
	f.Add(tok[:len(tok)-2] + "\n" + tok[len(tok)-2:]) // the known bug
}
