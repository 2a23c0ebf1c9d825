package signoff_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/memstore"
	"github.com/signoff/signoff/store/storetest"
)

// TestRefreshLimitKnowsItsTokens: with Config.RefreshLimit, a refresh of a
// token this instance handed out (at sign-in, or as the child of a
// rotation) names its account from memory, without reading the token and
// its session from the store first; a token another instance handed out is
// looked up. Either way the limit is asked with the right user.
func TestRefreshLimitKnowsItsTokens(t *testing.T) {
	var mu sync.Mutex
	reads := map[string]int{}
	st := &storetest.FaultStore{Store: memstore.New(), Fault: func(op string) error {
		mu.Lock()
		reads[op]++
		mu.Unlock()
		return nil
	}}
	var asked []string
	newManager := func() *signoff.Manager {
		m, err := signoff.New(signoff.Config{Mode: signoff.ModeJWT, Store: st, Now: newClock().Now,
			RefreshLimit: func(r *http.Request, user string) error {
				mu.Lock()
				asked = append(asked, user)
				mu.Unlock()
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	a, b := newManager(), newManager()
	res, err := a.Login(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login", nil), "usr_ada", signoff.LoginOptions{Native: true})
	if err != nil {
		t.Fatal(err)
	}
	rt := res.Tokens.RefreshToken
	lookups := func() int {
		mu.Lock()
		defer mu.Unlock()
		return reads["RefreshToken"] + reads["Session"]
	}
	refresh := func(m *signoff.Manager, what string) {
		t.Helper()
		before := lookups()
		toks, err := m.Refresh(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader("")), rt)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		rt = toks.RefreshToken
		if n := lookups() - before; (m == a) != (n == 0) {
			t.Errorf("%s: %d store reads to name the account", what, n)
		}
	}
	refresh(a, "the token sign-in handed out, on the instance that did")
	refresh(a, "its child, on the same instance")
	refresh(b, "the grandchild, on another instance")
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(asked, ",") != "usr_ada,usr_ada,usr_ada" {
		t.Errorf("the limit was asked for %v", asked)
	}
}
