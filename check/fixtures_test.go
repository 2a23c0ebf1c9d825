package check

import (
	"context"
	"net/http/httptest"
	"slices"
	"sort"
	"testing"

	"github.com/signoff/signoff/check/fixture"
)

// TestFixtures runs the checker against the corpus: small sites each wrong
// in exactly one way. Each must fail exactly the checks its fault targets,
// with no warning elsewhere; the correct site must fail nothing in either
// mode. Every site runs as two instances, so R51 is checked too. The text
// reports and diagrams are golden files.
func TestFixtures(t *testing.T) {
	type site struct {
		name string
		opt  fixture.Options
	}
	sites := []site{
		{"correct-session", fixture.Options{Mode: fixture.Session}},
		{"correct-jwt", fixture.Options{Mode: fixture.JWT}},
	}
	for _, f := range fixture.Faults {
		sites = append(sites, site{string(f), fixture.Options{Mode: f.Mode(), Fault: f}})
	}
	for _, s := range sites {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			app, cfg := twoInstances(t, s.opt)
			a, b := cfg.Target, cfg.Second
			if s.opt.Fault == fixture.GetOnlyLogout {
				cfg.LogoutMethod = "auto" // a POST gets 405 with Allow: GET
			}
			rep, _, err := run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, res := range rep.Results {
				switch res.Verdict {
				case Fail:
					if !slices.Contains(failed, res.ID) {
						failed = append(failed, res.ID)
					}
				case Warn:
					t.Errorf("WARN %s: %s", res.ID, res.Evidence)
				}
			}
			want := s.opt.Fault.Targets()
			sort.Strings(failed)
			sort.Strings(want)
			if !slices.Equal(failed, want) {
				for _, res := range rep.Results {
					if res.Verdict == Fail {
						t.Logf("FAIL %s: %s", res.ID, res.Evidence)
					}
				}
				t.Errorf("failed %v, want exactly %v", failed, want)
			}
			text, diagram := renderNorm(t, rep, a, b)
			golden(t, "golden/fixture-"+s.name+".txt", text)
			golden(t, "golden/fixture-"+s.name+".mmd", diagram)
			noSecrets(t, rep, app.Issued(), text)
		})
	}
}

// twoInstances serves a fixture app with opt (and the test account) as two
// instances, stopped when t ends, and returns the app and a Config for
// them.
func twoInstances(t *testing.T, opt fixture.Options) (*fixture.App, Config) {
	opt.Email, opt.Password = testUser, testPassword
	app := fixture.New(opt)
	a := httptest.NewServer(app.Handler())
	t.Cleanup(a.Close)
	b := httptest.NewServer(app.Handler())
	t.Cleanup(b.Close)
	cfg := testConfig(a.URL)
	cfg.Second = b.URL
	return app, cfg
}
