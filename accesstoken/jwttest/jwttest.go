// Package jwttest forges JSON Web Tokens for tests: signed with any method
// and key, with any header, so a test can check that a verifier rejects
// what it must (R41, R42). It is a test helper; nothing in signoff imports it.
package jwttest

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Forge signs claims under method with key. The header starts as an access
// token's (typ at+jwt, alg of method); each entry of hdr sets a header
// field, or removes it when its value is nil.
func Forge(t testing.TB, method jwt.SigningMethod, key any, hdr map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["typ"] = "at+jwt"
	for k, v := range hdr {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("jwttest.Forge: %v", err)
	}
	return s
}
