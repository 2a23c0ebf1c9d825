package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Run signs in to the site, exercises its logout and replays every old
// credential, and returns the findings. It returns an error, and perhaps a
// partial report, when the run could not get going: a bad Config
// (ErrUsage), a site it cannot reach, a sign-in that fails. Findings are
// never errors.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	rep, _, err := run(ctx, cfg)
	return rep, err
}

// run is Run that also returns every raw credential the run saw, for tests
// that assert none of them reaches the output.
func run(ctx context.Context, cfg Config) (*Report, []string, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	r := &runner{cfg: cfg, c: c, set: map[string]*http.Cookie{}, setAt: map[string]string{}}
	if err = r.run(ctx); err != nil {
		// A site's error detail may echo what it was sent.
		err = &scrubbed{msg: c.scrubber()(err.Error()), err: err}
	}
	rep := r.report()
	c.mu.Lock()
	defer c.mu.Unlock()
	raws := make([]string, 0, len(c.secrets))
	for s := range c.secrets {
		raws = append(raws, s)
	}
	return rep, raws, err
}

// scrubbed is an error whose message has had every credential replaced by
// its fingerprint.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

type runner struct {
	cfg Config
	c   *client
	res []Result

	names []string                // credential cookie names
	set   map[string]*http.Cookie // how each was set
	setAt map[string]string       // the path of the response that set it
	creds string                  // what sign-in returns, for the report

	unauth      *resp // the protected path without a credential
	cookieAuth  bool  // cookies alone open the protected path
	bearerAuth  bool  // the access token alone does
	refresh     state // does the refresh endpoint exist (accepted) or not (absent)
	rotates     bool  // refresh handed out a new refresh token
	atImmediate bool  // access tokens die at logout (R5 PASS)
	logoutFails bool  // logout does not end the session even when asked properly (R4 FAIL)

	noStore    []string // credentialed answers without no-store (R25)
	bodies     []*resp  // answers whose bodies must not hold a cookie value (R17)
	deadAT     *resp    // the first answer to a dead or forged access token (R40)
	r17ok      string   // R17 evidence so far, when every cookie is HttpOnly
	r2         string   // R2's first half, a made-up cookie's answer
	forged     *resp    // the answer to an alg-none access token (R41)
	second     cred     // a second device still signed in, for R6
	cookieVals []string // every credential cookie value handed out (R17)
	stopped    string   // why the run stopped early
}

// stop ends the run early for a reason that is not the site's fault (a
// sign-in refused by a rate limit, the request budget): the checks not
// reached are SKIP with the reason.
func (r *runner) stop(why string) error {
	r.stopped = why
	return errStopped
}

var errStopped = errors.New("check: stopped")

func (r *runner) run(ctx context.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			b, ok := v.(budgetSpent)
			if !ok {
				panic(v)
			}
			r.stopped = fmt.Sprintf("the request budget (--max-requests %d) is spent", b.max)
			err = nil
			if r.names == nil {
				err = fmt.Errorf("%w: --max-requests %d is too few to sign in", ErrUsage, b.max)
			}
		}
	}()
	err = r.steps(ctx)
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

func (r *runner) steps(ctx context.Context) error {
	cfg := r.cfg
	r.unauth = r.c.do(ctx, call{step: "probe without a credential", method: http.MethodGet, path: cfg.Protected})
	if r.unauth.err != nil {
		return fmt.Errorf("cannot reach %s: %s", cfg.Target, cleanErr(r.unauth.err))
	}
	if r.unauth.ok() {
		return fmt.Errorf("%w: %s answers %d without a credential; --protected must name a path that needs sign-in", ErrUsage, cfg.Protected, r.unauth.status)
	}

	// The story: sign in, use it, refresh, sign out, replay.
	l1, _, err := r.login(ctx, "sign in", cred{}, nil, true)
	if err != nil {
		return err
	}
	r.cookieChecks()
	me := r.probe(ctx, "use the credential", l1, "", true)
	if !me.ok() {
		return fmt.Errorf("the credential from sign-in does not open %s (it answered %s); set --protected to a path this user may read", cfg.Protected, me.describe())
	}
	r.credentialed("GET "+cfg.Protected, me)
	r.learnAuth(ctx, l1)
	l1 = r.refreshPair(ctx, l1)
	r.logoutAndReplay(ctx, l1)
	r.logoutAgain(ctx, l1)

	// The checks that need a live session.
	l2, err := r.relogin(ctx, "sign in for the forgery probes", cred{}, nil)
	if err != nil {
		return err
	}
	r.fixationProbe(ctx)
	r.duplicates(ctx, l2)
	r.inURL(ctx, l2)
	r.forgedTokens(ctx, l2)
	if l2, err = r.unsafeGet(ctx, l2); err != nil {
		return err
	}
	if l2, err = r.crossOrigin(ctx, l2); err != nil {
		return err
	}
	l3, err := r.newSessionOnLogin(ctx, l2)
	if err != nil {
		return err
	}
	if l3, err = r.deviceRevoke(ctx, l3); err != nil {
		return err
	}
	if err := r.logoutEverywhere(ctx, l3); err != nil {
		return err
	}
	if err := r.rotation(ctx); err != nil {
		return err
	}
	r.contentTypes(ctx)
	if err := r.instances(ctx); err != nil {
		return err
	}
	r.add("R26b", Skip, "needs a browser's back button; signoff's own browser tests cover it, and R25 covers the HTTP cache")
	r.finish()
	return nil
}
