package check

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/signoff/signoff/check/fixture"
)

// TestRegister: with Config.Register the run creates its account first,
// and a second run, which finds the account there (409), signs in with
// it all the same. Without it, the run cannot sign in.
func TestRegister(t *testing.T) {
	app := fixture.New(fixture.Options{Email: testUser, Password: "not the one the checker signs up with", Unregistered: true})
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()

	cfg := testConfig(srv.URL)
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "sign-in failed") {
		t.Fatalf("without --register: %v, want a failed sign-in", err)
	}
	cfg.Register = "/register"
	// A field typed out with the password itself, not {password}, is not
	// shown either.
	cfg.RegisterFields = map[string]string{"password_confirmation": testPassword, "invite": "{password}"}
	for i, wantNote := range []string{"account " + testUser + " created", "not created (409"} {
		rep, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if rep.Failed() {
			t.Errorf("run %d failed: %v", i+1, rep.Find("R4"))
		}
		ex := rep.Exchanges[1]
		if ex.Path != "/register" || !strings.Contains(ex.Note, wantNote) {
			t.Errorf("run %d: exchange 2 is %s %s %q, want POST /register noted %q", i+1, ex.Method, ex.Path, ex.Note, wantNote)
		}
		var js bytes.Buffer
		if err := WriteJSON(&js, rep); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(js.String(), testPassword) || !strings.Contains(strings.Join(ex.Sent, " "), "password_confirmation (given)") {
			t.Errorf("the report shows the password, or not the field's name: %q", ex.Sent)
		}
	}
	cfg.Register = "/nowhere"
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "set --register") {
		t.Errorf("a register path that is not there: %v", err)
	}
}
