package apiclient

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestRedactBody(t *testing.T) {
	got := RedactBody([]byte(`{"access_token":"eyJsecret","refresh_token":"rt_secret","token_type":"Bearer"}`))
	if strings.Contains(got, "secret") || !strings.Contains(got, `"token_type":"Bearer"`) {
		t.Errorf("RedactBody: %s", got)
	}
	if got := RedactBody([]byte("not json")); got != "not json" {
		t.Errorf("RedactBody of text: %q", got)
	}
}

func TestFromLogin(t *testing.T) {
	h := http.Header{"Set-Cookie": {"__Host-session=abc; Path=/; Secure; HttpOnly"}}
	if c, ok := FromLogin(h, []byte(`{"user_id":"usr_1"}`)); !ok || c.Cookie != "__Host-session=abc" || c.Header() != "Cookie: __Host-session=abc" {
		t.Errorf("cookie login: %+v %v", c, ok)
	}
	c, ok := FromLogin(http.Header{}, []byte(`{"access_token":"at","refresh_token":"rt"}`))
	if !ok || c.AccessToken != "at" || c.RefreshBody() != `{"refresh_token":"rt"}` || c.Header() != "Authorization: Bearer at" {
		t.Errorf("token login: %+v %v", c, ok)
	}
	if _, ok := FromLogin(http.Header{}, []byte(`{}`)); ok {
		t.Error("an answer with no credential read as one")
	}
}

func TestNewRequest(t *testing.T) {
	req, err := NewRequest(context.Background(), "POST", "http://127.0.0.1/logout", Cred{Cookie: "a=b", AccessToken: "at"}, LoginBody("a@b.test", "pw", true))
	if err != nil {
		t.Fatal(err)
	}
	if req.Header.Get("Cookie") != "a=b" || req.Header.Get("Authorization") != "Bearer at" || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers: %v", req.Header)
	}
	req, _ = NewRequest(context.Background(), "GET", "http://127.0.0.1/api/me", Cred{}, "")
	if len(req.Header) != 0 || req.Body != nil {
		t.Errorf("a zero Cred and no body sent %v, body %v", req.Header, req.Body)
	}
}

// TestCredPrintsNoSecret: a Cred printed with any verb shows fingerprints.
func TestCredPrintsNoSecret(t *testing.T) {
	c := Cred{Cookie: "__Host-session=cookiesecret", AccessToken: "eyJaccesssecret", RefreshToken: "refreshsecret"}
	for _, verb := range []string{"%v", "%+v", "%s", "%#v"} {
		if got := fmt.Sprintf(verb, c); strings.Contains(got, "secret") || !strings.Contains(got, "fp:") {
			t.Errorf("%s of a Cred = %s; want fingerprints only", verb, got)
		}
	}
}
