package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
)

// documentedEvents reads the table of docs/events.md: each event's
// attributes, the base three included.
func documentedEvents(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	row := regexp.MustCompile("^\\| `([a-z_.]+)` \\| [A-Z]+ \\| ([^|]*) \\|")
	name := regexp.MustCompile("`([a-z_]+)`")
	for _, line := range strings.Split(string(b), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		attrs := []string{"user", "session", "ip"}
		for _, a := range name.FindAllStringSubmatch(m[2], -1) {
			attrs = append(attrs, a[1])
		}
		slices.Sort(attrs)
		out[m[1]] = attrs
	}
	if len(out) < 10 {
		t.Fatalf("docs/events.md lists %d events", len(out))
	}
	return out
}

// adminsPassword is the one an administrator sets in TestAuditEvents.
const adminsPassword = "the admin's choice of password"

// The events of a full flow in both modes, an admin's revocations and
// changes to an account included, have exactly the attributes docs/events.md lists, and never
// an email address, a password or a raw credential.
func TestAuditEvents(t *testing.T) {
	doc := documentedEvents(t)
	seen := map[string]bool{}
	bothModes(t, func(t *testing.T, mode signoff.Mode) {
		e := newEnv(t, mode)
		email, other := e.newUser(), e.newUser()
		expect(t, "register again", e.raw("POST", "/register", map[string]string{"email": email, "password": password}), http.StatusAccepted)
		expect(t, "wrong password", e.raw("POST", "/login", map[string]string{"email": email, "password": "not the password"}), http.StatusUnauthorized)
		expect(t, "unknown account", e.raw("POST", "/login", map[string]string{"email": "nobody@example.test", "password": "not the password"}), http.StatusUnauthorized)
		a, b, c := e.client(), e.client(), e.client()
		la := a.login(email)
		b.login(email)
		c.login(email)
		expect(t, "wrong current password", a.do("POST", "/password", map[string]string{"current_password": "wrong one", "new_password": "a brand new password"}, "Origin", e.URL), http.StatusBadRequest)
		expect(t, "revoke c", a.do("DELETE", "/sessions/"+sessionOf(t, c), nil, "Origin", e.URL), http.StatusNoContent)
		expect(t, "sign out the others", a.do("POST", "/logout/others", nil, "Origin", e.URL), http.StatusOK)
		expect(t, "change password", a.do("POST", "/password", map[string]string{"current_password": password, "new_password": "a brand new password"}, "Origin", e.URL), http.StatusOK)
		expect(t, "logout", a.do("POST", "/logout", nil, "Origin", e.URL), http.StatusOK)
		d := e.client()
		d.login(other)
		expect(t, "logout everywhere", d.do("POST", "/logout/all", nil, "Origin", e.URL), http.StatusOK)
		if mode == signoff.ModeJWT {
			n := e.raw("POST", "/login", map[string]string{"email": other, "password": password, "client": "native"})
			rt0 := n.str(t, "refresh_token")
			r := e.raw("POST", "/refresh", map[string]string{"refresh_token": rt0})
			rt1 := r.str(t, "refresh_token")
			e.raw("POST", "/refresh", map[string]string{"refresh_token": rt1})
			expect(t, "the grandparent", e.raw("POST", "/refresh", map[string]string{"refresh_token": rt0}), http.StatusUnauthorized)
		}
		// An administrator's revocations.
		f := e.client()
		f.login(other)
		ctx := signoff.WithOperator(context.Background(), "alice@ops-1")
		if err := e.srv.Manager().RevokeSession(ctx, sessionOf(t, f)); err != nil {
			t.Fatal(err)
		}
		users := e.srv.Users()
		u, err := users.UserByEmail(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.srv.Manager().RevokeUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		// An administrator's commands on an account (signoff users
		// set-password, disable, enable, delete), through the Admin they
		// use, logging where the server does.
		adm, err := server.OpenAdmin(ctx, server.Stores{Store: e.cfg.Store}, slog.New(slog.NewJSONHandler(e.logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		third := e.newUser()
		tu, err := adm.Users.UserByEmail(ctx, third)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := adm.SetPassword(ctx, tu, server.NewHasher(testArgon2), adminsPassword, false); err != nil {
			t.Fatal(err)
		}
		if _, err := adm.DisableUser(ctx, tu); err != nil {
			t.Fatal(err)
		}
		expect(t, "a disabled account's sign-in", e.raw("POST", "/login", map[string]string{"email": third, "password": adminsPassword}), http.StatusUnauthorized)
		if err := adm.EnableUser(ctx, tu); err != nil {
			t.Fatal(err)
		}
		if _, err := adm.DeleteUser(ctx, tu); err != nil {
			t.Fatal(err)
		}
		adm.Close()

		secrets := []string{email, other, third, "nobody@example.test", password, "not the password", "a brand new password", adminsPassword, la.str(t, "access_token"), a.cookie(credName(mode))}
		var byAdmin bool
		for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
			for _, s := range secrets {
				if s != "" && strings.Contains(line, s) {
					t.Fatalf("the log holds a secret or an address (%s): %.200s", fp(s), line)
				}
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not JSON: %q", line)
			}
			name, _ := rec["msg"].(string)
			want, ok := doc[name]
			if !ok {
				continue
			}
			seen[name] = true
			var got []string
			for k := range rec {
				if k != "time" && k != "level" && k != "msg" {
					got = append(got, k)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s has %v, docs/events.md lists %v", name, got, want)
			}
			if rec["by"] == "admin" {
				byAdmin = true
				if rec["operator"] != "alice@ops-1" || rec["ip"] != "" {
					t.Errorf("an admin's %s: operator %v, ip %v", name, rec["operator"], rec["ip"])
				}
			} else if strings.Contains(name, "login") && rec["ip"] == "" {
				t.Errorf("%s without ip: %v", name, rec)
			}
			if name == "logout" && rec["user"] == "" {
				t.Errorf("logout without user: %v", rec)
			}
		}
		if !byAdmin {
			t.Error("no event says by=admin")
		}
	})
	for name := range doc {
		if !seen[name] && name != "rate_limited" {
			t.Errorf("the flow caused no %s event", name)
		}
	}
}
