package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/apiclient"
	"github.com/signoff/signoff/internal/testenv"
)

// The account commands against a cluster: two signoff serve processes on
// PostgreSQL (sessions there too, or in Redis), every credential warm in
// both, and the admin command run as a process of its own. users disable
// ends every session on both instances before it returns, and refuses the
// sign-in (R6); users delete removes the account and, per store, its
// session records (PostgreSQL) or leaves them, revoked, to expire (Redis);
// the address can then be registered again.
func TestAdminCommandsOnACluster_R6(t *testing.T) {
	pg := os.Getenv("SIGNOFF_TEST_POSTGRES")
	if pg == "" {
		testenv.Skip(t, "admin commands on PostgreSQL", "set SIGNOFF_TEST_POSTGRES (and SIGNOFF_TEST_REDIS) to real stores")
	}
	cases := []struct {
		name, mode string
		stores     func(t *testing.T) []string
		records    string // what users delete says of the session records
	}{
		{"postgres/session", "session", func(t *testing.T) []string { return []string{"--store", pgSchema(t, pg)} }, "2 session records deleted"},
		{"postgres+redis/jwt", "jwt", func(t *testing.T) []string {
			rd := os.Getenv("SIGNOFF_TEST_REDIS")
			if rd == "" {
				testenv.Skip(t, "admin commands on PostgreSQL and Redis", "set SIGNOFF_TEST_REDIS to a Redis URL")
			}
			return []string{"--store", pgSchema(t, pg), "--sessions", redisPrefix(t, rd)}
		}, "its session records expire from the session store with their sessions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stores := c.stores(t)
			args := append(append([]string{}, stores...), "--mode", c.mode, "--keys", filepath.Join(t.TempDir(), "keys.json"))
			ps := []*proc{serve(t, args...)}
			ps = append(ps, serve(t, args...))
			admin := func(want string, cmd ...string) {
				t.Helper()
				out, err := exec.Command(binary(t), append(append([]string{"users"}, cmd...), stores...)...).CombinedOutput()
				if err != nil || !strings.Contains(string(out), want) {
					t.Fatalf("signoff users %s: %v; want %q in:\n%s", cmd[0], err, want, out)
				}
			}
			const email = "cluster@example.test"
			if r := call(t, "POST", ps[0].url+"register", apiclient.Cred{}, `{"email":"`+email+`","password":"correct horse battery staple"}`); r.status != 202 {
				t.Fatalf("register: %d %s", r.status, r.body)
			}
			creds := []apiclient.Cred{login(t, ps[0].url, email, c.mode), login(t, ps[1].url, email, c.mode)}
			for i, cr := range creds { // every instance has every credential in memory
				for j, p := range ps {
					if r := call(t, "GET", p.url+"api/me", cr, ""); r.status != 200 {
						t.Fatalf("session %d on instance %d: %d", i, j, r.status)
					}
				}
			}

			admin("2 sessions revoked", "disable", email)
			for i, cr := range creds {
				for j, p := range ps {
					if r := call(t, "GET", p.url+"api/me", cr, ""); r.status != 401 {
						t.Errorf("session %d on instance %d after users disable: %d, want 401", i, j, r.status)
					}
					if cr.RefreshToken != "" {
						if r := call(t, "POST", p.url+"refresh", apiclient.Cred{}, cr.RefreshBody()); r.status != 401 {
							t.Errorf("refresh token %d on instance %d after users disable: %d, want 401", i, j, r.status)
						}
					}
				}
			}
			body := apiclient.LoginBody(email, "correct horse battery staple", c.mode == "jwt")
			for j, p := range ps {
				if r := call(t, "POST", p.url+"login", apiclient.Cred{}, body); r.status != 401 {
					t.Errorf("a disabled user's sign-in on instance %d: %d, want 401", j, r.status)
				}
			}

			admin(c.records, "delete", email)
			admin("0 users", "list")
			if r := call(t, "POST", ps[1].url+"register", apiclient.Cred{}, `{"email":"`+email+`","password":"a second beginning"}`); r.status != 202 {
				t.Fatalf("register the address again: %d %s", r.status, r.body)
			}
			again := apiclient.LoginBody(email, "a second beginning", c.mode == "jwt")
			if r := call(t, "POST", ps[0].url+"login", apiclient.Cred{}, again); r.status != 200 {
				t.Fatalf("the new account's sign-in: %d %s", r.status, r.body)
			}
			for i, cr := range creds {
				if r := call(t, "GET", ps[0].url+"api/me", cr, ""); r.status != 401 {
					t.Errorf("session %d of the deleted user, with the address registered again: %d, want 401", i, r.status)
				}
			}
		})
	}
}
