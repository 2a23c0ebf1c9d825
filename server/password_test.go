package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/memstore"
)

// A login takes one argon2id computation whether or not the email exists, so
// its timing does not tell an attacker which addresses have accounts.
func TestLoginCostsTheSameForUnknownEmails(t *testing.T) {
	st := memstore.New()
	s, err := New(context.Background(), Config{
		Backend: &Backend{Sessions: st, Users: st, Bus: &signoff.LocalBus{}},
		Argon2:  OWASPParams, RateLimitSet: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := NewUser(context.Background(), st, s.pw, "known@example.test", "correct horse battery", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"email":"known@example.test","password":"wrong password"}`,
		`{"email":"unknown@example.test","password":"wrong password"}`,
		`{"email":"not an email","password":"wrong password"}`,
		`{"email":"known@example.test","password":"correct horse battery"}`,
	} {
		before := s.pw.runs.Load()
		req := httptest.NewRequest("POST", "/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
		}
		if n := s.pw.runs.Load() - before; n != 1 {
			t.Fatalf("%s: %d argon2id computations, want exactly 1", body, n)
		}
	}
}

func TestPasswordHashing(t *testing.T) {
	h := NewHasher(OWASPParams)
	ctx := context.Background()
	enc, err := h.hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("PHC string %q does not carry OWASP's parameters", enc)
	}
	if strings.Contains(enc, "correct horse") {
		t.Fatal("the hash contains the password")
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterz": false, "": false} {
		got, err := h.verify(ctx, enc, pw)
		if err != nil || got != want {
			t.Fatalf("verify(%q) = %v, %v; want %v", pw, got, err, want)
		}
	}
	again, _ := h.hash(ctx, "correct horse battery")
	if again == enc {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=0,p=0$$", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$2a$10$bcrypt"} {
		if _, _, _, err := parsePHC(bad); err == nil {
			t.Fatalf("parsePHC accepted %q", bad)
		}
	}
	if err := checkPassword("1234567"); err == nil {
		t.Fatal("a 7-character password was accepted")
	}
	if err := checkPassword("12345678"); err != nil {
		t.Fatal(err)
	}
	if err := checkPassword(strings.Repeat("x", maxPassword+1)); err == nil {
		t.Fatal("an overlong password was accepted")
	}
}

func TestRateParsing(t *testing.T) {
	for in, want := range map[string]Rate{"10/min": {10, time.Minute}, "5/s": {5, time.Second}, "100/hour": {100, time.Hour}, "off": {}} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Fatalf("ParseRate(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"10", "x/min", "0/min", "10/fortnight", "-1/s", ""} {
		if _, err := ParseRate(bad); err == nil {
			t.Fatalf("ParseRate(%q) succeeded", bad)
		}
	}
	now := time.Unix(0, 0)
	l := newLimiter(Rate{N: 2, Per: time.Minute}, func() time.Time { return now })
	if ok, _ := l.allow("k"); !ok {
		t.Fatal("first")
	}
	if ok, _ := l.allow("k"); !ok {
		t.Fatal("second")
	}
	ok, wait := l.allow("k")
	if ok || wait <= 0 || wait > 30*time.Second {
		t.Fatalf("third: %v, %v", ok, wait)
	}
	if ok, _ := l.allow("other"); !ok {
		t.Fatal("another key is limited too")
	}
	now = now.Add(30 * time.Second)
	if ok, _ := l.allow("k"); !ok {
		t.Fatal("a token did not come back after Per/N")
	}
}
