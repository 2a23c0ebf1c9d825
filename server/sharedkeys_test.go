package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
)

// kidOf is the kid in an access token's header.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	var hdr struct{ Kid string }
	if err != nil || json.Unmarshal(b, &hdr) != nil || hdr.Kid == "" {
		t.Fatalf("no kid in the token's header")
	}
	return hdr.Kid
}

func jwksKids(t *testing.T, e *env) []string {
	t.Helper()
	r := e.raw("GET", "/.well-known/jwks.json", nil)
	expect(t, "JWKS", r, http.StatusOK)
	var set struct{ Keys []struct{ Kid string } }
	json.Unmarshal(r.body, &set)
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// Two jwt-mode instances on one store with the keys secret and no key file
// share keys kept in the store; a rotation reaches both before it returns,
// tokens signed before stay good, and revoking the old key ends its tokens
// on both at once.
func TestKeysInTheStore(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "shared.db")
	secret := []byte(strings.Repeat("k", 48))
	instance := func() *env {
		return newEnv(t, signoff.ModeJWT, func(c *server.Config) { c.Store, c.KeysSecret = db, secret })
	}
	a, b := instance(), instance()
	if m, _ := filepath.Glob(filepath.Join(dir, "*keys*")); len(m) != 0 {
		t.Fatalf("a key file was written: %v", m)
	}
	email := a.newUser()
	bearer := func(c *client) []string { return []string{"Authorization", "Bearer " + c.at} }
	old := a.client()
	old.login(email)
	k1 := kidOf(t, old.at)
	for _, e := range []*env{a, b} {
		expect(t, "a token of A", e.raw("GET", "/api/me", nil, bearer(old)...), http.StatusOK)
	}

	ctx := signoff.WithOperator(context.Background(), "alice@ops-1")
	adm, err := server.OpenAdmin(ctx, server.Stores{Store: db}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	if _, _, err := adm.ListKeys(ctx, []byte(strings.Repeat("x", 48))); err == nil || !strings.Contains(err.Error(), "do not open") {
		t.Fatalf("ListKeys with another secret: %v", err)
	}
	k2, err := adm.RotateKeys(ctx, secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// When RotateKeys returns, both sign with the new key, both verify the
	// other's new tokens and the old ones, and both publish both keys.
	for i, e := range []*env{a, b} {
		c := e.client()
		c.login(email)
		if got := kidOf(t, c.at); got != k2 {
			t.Fatalf("instance %d signs with %s after the rotation, want %s", i, got, k2)
		}
		for _, other := range []*env{a, b} {
			expect(t, "a new token on either", other.raw("GET", "/api/me", nil, bearer(c)...), http.StatusOK)
		}
		expect(t, "the token signed before", e.raw("GET", "/api/me", nil, bearer(old)...), http.StatusOK)
		if kids := jwksKids(t, e); len(kids) != 2 || kids[0] != k2 || kids[1] != k1 {
			t.Fatalf("instance %d's JWKS: %v, want [%s %s]", i, kids, k2, k1)
		}
	}
	fresh := b.client()
	fresh.login(email)

	// A compromise: the old key is revoked, and its tokens die on both at
	// once, cached as they are; tokens of the new key live on.
	if err := adm.RevokeKey(ctx, secret, k1, time.Now()); err != nil {
		t.Fatal(err)
	}
	for i, e := range []*env{a, b} {
		expect(t, "a token of the revoked key on instance "+string(rune('A'+i)), e.raw("GET", "/api/me", nil, bearer(old)...), http.StatusUnauthorized)
		expect(t, "a token of the new key", e.raw("GET", "/api/me", nil, bearer(fresh)...), http.StatusOK)
		if kids := jwksKids(t, e); len(kids) != 1 || kids[0] != k2 {
			t.Fatalf("JWKS after revoking %s: %v", k1, kids)
		}
	}
	if err := adm.RevokeKey(ctx, secret, "nope", time.Now()); err == nil || !strings.Contains(err.Error(), "no key nope") {
		t.Fatalf("RevokeKey of an unknown key: %v", err)
	}
	// Every instance logged the new keys, and the admin's name reached the
	// bus with them.
	if !strings.Contains(b.logs.String(), "jwt keys loaded from the store") {
		t.Fatal("instance B never said it loaded the new keys")
	}

	// An instance with another secret does not start.
	_, err = server.New(context.Background(), server.Config{Store: db, Mode: signoff.ModeJWT, KeysSecret: []byte(strings.Repeat("x", 48)), Argon2: testArgon2})
	if err == nil || !strings.Contains(err.Error(), "do not open") {
		t.Fatalf("a server with another keys secret: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "shared.keys.json")); err == nil {
		t.Fatal("a key file appeared")
	}
}
