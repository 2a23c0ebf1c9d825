package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/memstore"
)

// loginFailures returns the login.failed events in e's log, in order.
func (e *env) loginFailures() []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "login.failed" {
			out = append(out, rec)
		}
	}
	return out
}

// refused checks a sign-in refused as a wrong password is: 401 with the
// same body, and no credential, in a cookie or in the body.
func refused(t *testing.T, what string, r, wrong *response) {
	t.Helper()
	expect(t, what, r, http.StatusUnauthorized)
	if string(r.body) != string(wrong.body) || r.h.Get("Content-Type") != wrong.h.Get("Content-Type") {
		t.Fatalf("%s: %s %s, but a wrong password gets %s %s", what, r.h.Get("Content-Type"), r.text(), wrong.h.Get("Content-Type"), wrong.text())
	}
	if c := r.h.Values("Set-Cookie"); len(c) != 0 {
		t.Fatalf("%s sets cookies: %d", what, len(c))
	}
}

// R6: a disabled account cannot sign in, and the answer is a wrong
// password's, so that it does not tell a stranger the account exists; the
// log says why (reason). Enabled again, it signs in.
func TestDisabledAccountCannotSignIn(t *testing.T) {
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email := e.newUser()
		ctx := context.Background()
		u, err := e.srv.Users().UserByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		wrong := e.raw("POST", "/login", map[string]string{"email": email, "password": "not the password"})
		expect(t, "a wrong password", wrong, http.StatusUnauthorized)
		if err := e.srv.Users().SetDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		refused(t, "the right password of a disabled account", e.raw("POST", "/login", map[string]string{"email": email, "password": password}), wrong)
		if mode == signoff.ModeJWT {
			refused(t, "a native client's sign-in to a disabled account", e.raw("POST", "/login", map[string]string{"email": email, "password": password, "client": "native"}), wrong)
		}
		fails := e.loginFailures()
		if len(fails) < 2 || fails[0]["reason"] != "wrong_credentials" || fails[1]["reason"] != "disabled" || fails[1]["user"] != u.ID {
			t.Fatalf("login.failed events: %v; want a wrong_credentials then a disabled one naming %s", fails, u.ID)
		}
		if ss, err := e.srv.Manager().Sessions(ctx, u.ID); err != nil || len(ss) != 0 {
			t.Fatalf("a disabled account has %d sessions (%v)", len(ss), err)
		}

		if err := e.srv.Users().SetDisabled(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		c := e.client()
		c.login(email)
		expect(t, "enabled again: /api/me", c.do("GET", "/api/me", nil), http.StatusOK)
	})
}

// A sign-in that read the account before an administrator disabled or
// deleted it, or set a new password, and stored its session after the
// command's logout everywhere: the server reads the account again once the
// session is stored, sees the change, ends the session and answers as to a
// wrong password. Staged by a user store whose UserByEmail answers with the
// account as it was.
func TestSignInThatRacedAnAccountChange(t *testing.T) {
	ctx := context.Background()
	changes := map[string]struct {
		change func(*memstore.Store, string) error
		reason string
	}{
		"disabled":             {func(m *memstore.Store, id string) error { return m.SetDisabled(ctx, id, true) }, "disabled"},
		"deleted":              {func(m *memstore.Store, id string) error { return m.DeleteUser(ctx, id) }, "wrong_credentials"},
		"given a new password": {func(m *memstore.Store, id string) error { return m.SetPassword(ctx, id, "$argon2id$another") }, "wrong_credentials"},
	}
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		for name, c := range changes {
			t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
				f := &fakeStore{Store: memstore.New()}
				e := newEnv(t, mode, withFakeStore(t, f))
				email := e.newUser()
				wrong := e.raw("POST", "/login", map[string]string{"email": email, "password": "not the password"})
				before, err := f.Store.UserByEmail(ctx, email)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.change(f.Store, before.ID); err != nil {
					t.Fatal(err)
				}
				f.userByEmail = func(context.Context, string) (*signoff.User, error) { u := *before; return &u, nil }
				refused(t, "a sign-in that read the account before it was "+name, e.raw("POST", "/login", map[string]string{"email": email, "password": password}), wrong)
				if ss, err := f.Store.ListSessions(ctx, before.ID, time.Now()); err != nil || len(ss) != 0 {
					t.Fatalf("the account has %d live sessions in the store (%v)", len(ss), err)
				}
				fails := e.loginFailures()
				if last := fails[len(fails)-1]; last["reason"] != c.reason || last["user"] != before.ID {
					t.Fatalf("the last login.failed: %v; want reason %s", last, c.reason)
				}
			})
		}
	})
}
