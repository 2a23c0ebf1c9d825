package signoff

// White-box tests of the refresh flow's hand-written JSON: each must agree
// with encoding/json.

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTokenResponseJSON: TokenResponse.appendJSON writes what json.Marshal
// writes, refresh token or not, odd strings included.
func TestTokenResponseJSON(t *testing.T) {
	for _, tr := range []TokenResponse{
		{AccessToken: "eyJh.eyJz.c2ln", TokenType: "Bearer", ExpiresIn: 300, RefreshToken: strings.Repeat("A", 43)},
		{AccessToken: "eyJh.eyJz.c2ln", TokenType: "Bearer", ExpiresIn: 0},
		{AccessToken: "<&>\"\\\x00\u2028é\xff", TokenType: "", ExpiresIn: -1, RefreshToken: "\n"},
	} {
		want, _ := json.Marshal(tr)
		if got := tr.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON = %q; json.Marshal = %q", got, want)
		}
	}
}

// FuzzRefreshBody: a body plainRefreshBody reads is one DecodeJSON accepts
// (and ReadJSON would have), with the same token.
func FuzzRefreshBody(f *testing.F) {
	tok := strings.Repeat("Ab-_", 10) + "xyz"
	for _, s := range []string{
		`{"refresh_token":"` + tok + `"}`,
		`{"refresh_token":"` + tok + `"}` + "\n",
		` {"refresh_token":"` + tok + `"}`,
		`{"refresh_token":"` + tok + `","x":1}`,
		`{"refresh_token":"` + tok + `"}}`,
		`{"refresh_token":"` + tok[:42] + `\u0041"}`,
		`{"REFRESH_TOKEN":"` + tok + `"}`,
		`{"refresh_token":"` + tok + `"`,
		`{"refresh_token":"` + tok + `"} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := plainRefreshBody(b)
		if !ok {
			return
		}
		var rb refreshBody
		if err := DecodeJSON(b, &rb); err != nil {
			t.Fatalf("plainRefreshBody read a body DecodeJSON refuses: %v", err)
		}
		if rb.RefreshToken != got {
			t.Fatalf("plainRefreshBody read %s; DecodeJSON %s", NewSecret(got), NewSecret(rb.RefreshToken))
		}
	})
}
