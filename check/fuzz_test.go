package check

import (
	"strings"
	"testing"
)

// FuzzToken feeds the checker's token handling whatever a site may send as
// an access token: nothing panics, and a forged token, when there is one,
// is a JWT whose header says alg "none" and whose signature is empty.
func FuzzToken(f *testing.F) {
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.c2ln")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("opaque-token")
	f.Add("a.b.c")
	f.Add("e30.e30.e30")
	f.Fuzz(func(t *testing.T, tok string) {
		jwtExpiry(tok)
		if forged := forgeNone(tok); forged != "" {
			h, _, ok := jwtParts(forged + "x")
			if !ok || h["alg"] != "none" || !strings.HasSuffix(forged, ".") {
				t.Fatalf("forgeNone(%q) = %q", tok, forged)
			}
		}
		if changed := tamper(tok); changed != "" {
			if _, _, ok := jwtParts(changed); !ok {
				t.Fatalf("tamper(%q) = %q is not a JWT", tok, changed)
			}
		}
	})
}
