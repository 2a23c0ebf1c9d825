package cli_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const adaPassword = "correct horse battery staple"

// withAda returns a new SQLite store holding ada@example.test.
func withAda(t *testing.T) string {
	t.Helper()
	db := "sqlite:" + filepath.Join(t.TempDir(), "users.db")
	if r := run(t, nil, adaPassword+"\n", "users", "add", "--store", db, "ada@example.test"); r.code != 0 {
		t.Fatalf("users add: %d %q", r.code, r.stderr)
	}
	return db
}

// ok runs an admin command that must succeed and print want on stdout.
func ok(t *testing.T, want string, stdin string, args ...string) result {
	t.Helper()
	r := run(t, nil, stdin, args...)
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("%s: exit %d; stdout %q, want %q; stderr %q", strings.Join(args[:2], " "), r.code, r.stdout, want, r.stderr)
	}
	return r
}

// post sends body as JSON and returns the status and the decoded answer.
func post(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// signIn is the status of a sign-in with these credentials.
func signIn(t *testing.T, base, email, password string) int {
	t.Helper()
	code, _ := post(t, base+"/login", map[string]string{"email": email, "password": password})
	return code
}

// logged reports whether the admin command's log (its stderr) holds the
// audit event name, by admin, with an operator.
func logged(r result, name string) bool {
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.Contains(l, "msg="+name+" ") && strings.Contains(l, "by=admin") && regexp.MustCompile(`operator=\S`).MatchString(l) {
			return true
		}
	}
	return false
}

// R6: users disable against a running server: both sessions signed in
// before are refused at once, the right password is refused, users list
// says disabled; users enable lets the user sign in again.
func TestUsersDisableReachesTheRunningServer(t *testing.T) {
	db := withAda(t)
	base, _, logs := liveServerSaying(t, db)
	a := login(t, base, "ada@example.test", adaPassword)
	b := login(t, base, "ada@example.test", adaPassword)
	if me(t, base, a) != 200 || me(t, base, b) != 200 { // both now cached by the server
		t.Fatal("sessions do not work")
	}
	r := ok(t, "disabled ada@example.test: sign-in is refused until 'signoff users enable'; 2 sessions revoked", "", "users", "disable", "--store", db, "ada@example.test")
	if !logged(r, "user.disabled") || !logged(r, "logout_all") {
		t.Errorf("users disable logged no user.disabled and logout_all by an admin with an operator:\n%s", r.stderr)
	}
	if sa, sb := me(t, base, a), me(t, base, b); sa != 401 || sb != 401 {
		t.Fatalf("after users disable: a %d, b %d; want 401 and 401", sa, sb)
	}
	if got := signIn(t, base, "ada@example.test", adaPassword); got != 401 {
		t.Fatalf("a disabled user's sign-in with the right password: %d, want 401", got)
	}
	if !strings.Contains(logs.String(), "reason=disabled") || !strings.Contains(logs.String(), "msg=admin.applied") {
		t.Errorf("the server logged no login.failed reason=disabled, or no admin.applied:\n%s", logs.String())
	}
	if r := ok(t, "1 user", "", "users", "list", "--store", db); !regexp.MustCompile(`ada@example\.test\s+\S+\s+disabled\n`).MatchString(r.stdout) {
		t.Fatalf("users list does not say ada is disabled:\n%s", r.stdout)
	}
	ok(t, "ada@example.test was already disabled", "", "users", "disable", "--store", db, "ada@example.test")

	r = ok(t, "enabled ada@example.test", "", "users", "enable", "--store", db, "ada@example.test")
	if !logged(r, "user.enabled") {
		t.Errorf("users enable logged no user.enabled:\n%s", r.stderr)
	}
	if me(t, base, a) != 401 {
		t.Fatal("an old session came back with users enable")
	}
	c := login(t, base, "ada@example.test", adaPassword)
	if me(t, base, c) != 200 {
		t.Fatal("a session of the enabled user does not work")
	}
	if r := ok(t, "1 user", "", "users", "list", "--store", db); strings.Contains(r.stdout, "disabled") {
		t.Fatalf("users list after users enable:\n%s", r.stdout)
	}
	ok(t, "ada@example.test is not disabled: nothing changed", "", "users", "enable", "--store", db, "ada@example.test")
}

// R6 in jwt mode: users disable refuses the access token and the refresh
// token minted before, and a new sign-in.
func TestUsersDisableJWT(t *testing.T) {
	db := withAda(t)
	base := liveServer(t, db, "--mode", "jwt")
	code, tok := post(t, base+"/login", map[string]string{"email": "ada@example.test", "password": adaPassword, "client": "native"})
	at, _ := tok["access_token"].(string)
	rt, _ := tok["refresh_token"].(string)
	if code != 200 || at == "" || rt == "" {
		t.Fatalf("native sign-in: %d", code)
	}
	bearer := func() int {
		req, _ := http.NewRequest("GET", base+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+at)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if bearer() != 200 {
		t.Fatal("the access token does not work")
	}
	ok(t, "1 session revoked", "", "users", "disable", "--store", db, "ada@example.test")
	if got := bearer(); got != 401 {
		t.Fatalf("the access token after users disable: %d, want 401", got)
	}
	if got, _ := post(t, base+"/refresh", map[string]string{"refresh_token": rt}); got != 401 {
		t.Fatalf("the refresh token after users disable: %d, want 401", got)
	}
	if got, _ := post(t, base+"/login", map[string]string{"email": "ada@example.test", "password": adaPassword, "client": "native"}); got != 401 {
		t.Fatalf("a disabled user's sign-in: %d, want 401", got)
	}
}

// users delete against a running server: the old session is refused, and
// the sign-in; users list leaves the user out; the address can be
// registered again, as a new user.
func TestUsersDelete(t *testing.T) {
	db := withAda(t)
	base := liveServer(t, db)
	a := login(t, base, "ada@example.test", adaPassword)
	if me(t, base, a) != 200 {
		t.Fatal("the session does not work")
	}
	id := regexp.MustCompile(`usr_[0-9a-f]+`).FindString(ok(t, "1 user", "", "users", "list", "--store", db).stdout)
	r := ok(t, "deleted ada@example.test ("+id+"): 1 session revoked, every earlier access token rejected; 1 session record deleted; the address can be registered again",
		"", "users", "delete", "--store", db, "ada@example.test")
	if !logged(r, "user.deleted") || !logged(r, "logout_all") {
		t.Errorf("users delete logged no user.deleted and logout_all by an admin with an operator:\n%s", r.stderr)
	}
	if got := me(t, base, a); got != 401 {
		t.Fatalf("the session after users delete: %d, want 401", got)
	}
	if got := signIn(t, base, "ada@example.test", adaPassword); got != 401 {
		t.Fatalf("a deleted user's sign-in: %d, want 401", got)
	}
	if r := ok(t, "0 users", "", "users", "list", "--store", db); strings.Contains(r.stdout, "ada@") {
		t.Fatalf("users list after users delete:\n%s", r.stdout)
	}
	oneLineError(t, run(t, nil, "", "users", "delete", "--store", db, "ada@example.test"), 1, "no user ada@example.test")

	if code, _ := post(t, base+"/register", map[string]string{"email": "ada@example.test", "password": "a new beginning"}); code != 202 {
		t.Fatalf("register the address again: %d", code)
	}
	b := login(t, base, "ada@example.test", "a new beginning")
	if me(t, base, b) != 200 || me(t, base, a) != 401 {
		t.Fatal("the new account's session does not work, or the old one came back")
	}
	if r := ok(t, "1 user", "", "users", "list", "--store", db); strings.Contains(r.stdout, id) {
		t.Fatalf("the address registered again is the deleted user %s:\n%s", id, r.stdout)
	}
}

// users set-password: every session signed in before is refused, the old
// password too, the new one works; with --keep-sessions the sessions stay.
func TestUsersSetPassword(t *testing.T) {
	db := withAda(t)
	base := liveServer(t, db)
	a := login(t, base, "ada@example.test", adaPassword)
	b := login(t, base, "ada@example.test", adaPassword)
	if me(t, base, a) != 200 || me(t, base, b) != 200 {
		t.Fatal("sessions do not work")
	}
	const second, third = "the second password", "the third password"
	r := ok(t, "set a new password for ada@example.test: 2 sessions revoked", second+"\n", "users", "set-password", "--store", db, "ada@example.test")
	if !logged(r, "user.password_set") || strings.Contains(r.stdout+r.stderr, second) {
		t.Errorf("users set-password logged no user.password_set, or printed the password:\n%s%s", r.stdout, r.stderr)
	}
	if sa, sb := me(t, base, a), me(t, base, b); sa != 401 || sb != 401 {
		t.Fatalf("after users set-password: a %d, b %d; want 401 and 401", sa, sb)
	}
	if got := signIn(t, base, "ada@example.test", adaPassword); got != 401 {
		t.Fatalf("the old password: %d, want 401", got)
	}
	c := login(t, base, "ada@example.test", second)
	if me(t, base, c) != 200 {
		t.Fatal("a session with the new password does not work")
	}

	r = ok(t, "set a new password for ada@example.test; its sessions are kept (--keep-sessions)", third+"\n", "users", "set-password", "--store", db, "--keep-sessions", "ada@example.test")
	if !logged(r, "user.password_set") || logged(r, "logout_all") {
		t.Errorf("users set-password --keep-sessions: want user.password_set and no logout_all:\n%s", r.stderr)
	}
	if me(t, base, c) != 200 {
		t.Fatal("--keep-sessions ended the session")
	}
	if got := signIn(t, base, "ada@example.test", second); got != 401 {
		t.Fatalf("the replaced password: %d, want 401", got)
	}
	login(t, base, "ada@example.test", third)
}

// users list: one line per user, oldest first, with the creation time in
// UTC (RFC 3339), disabled when it is, and the count; never a password
// hash.
func TestUsersList(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "list.db")
	if r := ok(t, "0 users", "", "users", "list", "--store", db); strings.Count(r.stdout, "\n") != 2 {
		t.Fatalf("users list of no users:\n%s", r.stdout)
	}
	for _, e := range []string{"b@example.test", "a@example.test", "c@example.test"} {
		ok(t, "added "+e, adaPassword+"\n", "users", "add", "--store", db, e)
	}
	ok(t, "disabled c@example.test", "", "users", "disable", "--store", db, "c@example.test")
	r := ok(t, "3 users\n", "", "users", "list", "--store", db)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	row := regexp.MustCompile(`^usr_[0-9a-f]+ +([a-c])@example\.test +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ( +disabled)?$`)
	var order string
	for _, l := range lines[1 : len(lines)-1] {
		m := row.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("users list: line %q is not ID, email, created[, disabled]:\n%s", l, r.stdout)
		}
		order += m[1]
		if (m[1] == "c") != (m[2] != "") {
			t.Fatalf("users list: %q", l)
		}
	}
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "ID ") || order != "bac" {
		t.Fatalf("users list: want a header, b, a, c (oldest first) and the count:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "argon2") || strings.Contains(r.stdout, "$") {
		t.Fatalf("users list prints a password hash:\n%s", r.stdout)
	}
}

// The new commands' mistakes: one line, exit 2 for usage and 1 for an
// unknown user.
func TestUsersUsageErrors(t *testing.T) {
	db := withAda(t)
	for _, cmd := range []string{"disable", "enable", "delete", "set-password"} {
		oneLineError(t, run(t, nil, adaPassword+"\n", "users", cmd, "--store", db, "ghost@example.test"), 1, "no user ghost@example.test")
		oneLineError(t, run(t, nil, "", "users", cmd, "--store", db), 2, "needs an EMAIL")
		oneLineError(t, run(t, nil, "", "users", cmd, "--store", db, "not-an-email"), 2, "not a valid address")
	}
	oneLineError(t, run(t, nil, "", "users", "list", "--store", db, "extra"), 2, "takes no arguments")
	oneLineError(t, run(t, nil, "", "users", "set-password", "--store", db, "ada@example.test"), 2, "no password on stdin")
	oneLineError(t, run(t, nil, "short\n", "users", "set-password", "--store", db, "ada@example.test"), 2, "at least 8")
	// The password did not change.
	base := liveServer(t, db)
	login(t, base, "ada@example.test", adaPassword)
}
