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
	r := &runner{cfg: cfg, c: c, findings: &findings{}, ledger: &ledger{}, logoutMethod: cfg.LogoutMethod}
	if r.logoutMethod == logoutAuto {
		r.logoutMethod = http.MethodPost
	}
	if err = r.drive(ctx); err != nil {
		// A site's error detail may echo what it was sent.
		err = &scrubbed{msg: c.scrubber()(err.Error()), err: err}
	}
	rep := r.findings.report(cfg, c)
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

// runner is what every stage shares: the configuration; the client, which
// sends and records the requests and holds the run to its budget; the
// answer without a credential that classify compares with; the credential
// cookies the first sign-in set; and two sinks, the findings and the
// ledger of answers the last checks look back at. The driver sets unauth
// and jar once, before any stage that reads them. Everything else a stage
// reads is an argument, and everything it finds that a later stage needs
// is a result.
type runner struct {
	cfg Config
	c   *client
	// formPage is set when sign-in needs the sign-in page opened first
	// (a form, or a JSON sign-in that wanted the page's CSRF token).
	formPage bool
	// logoutMethod is how sign-out is sent: Config.LogoutMethod, with
	// "auto" settled by the first sign-out.
	logoutMethod string
	unauth       *resp // the protected path without a credential
	jar          jar   // the credential cookies, as the first sign-in set them
	*findings
	*ledger
}

// drive runs the pipeline. It returns an error only when the run could
// not get going; a run that stops early (the request budget, a refused
// later sign-in) returns nil, and the findings say why.
func (r *runner) drive(ctx context.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			b, ok := v.(budgetSpent)
			if !ok {
				panic(v)
			}
			r.stopped = fmt.Sprintf("the request budget (--max-requests %d) is spent", b.max)
			err = nil
			if !r.jar.learnt() {
				err = fmt.Errorf("%w: --max-requests %d is too few to sign in", ErrUsage, b.max)
			}
		}
		if r.stopped != "" {
			r.keepGathered()
		}
	}()
	err = r.stages(ctx)
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

// keepGathered reports, for a run cut short, what the answers it gathered
// already prove: a credentialed answer without no-store is R25 FAIL, and
// a body that repeats a credential cookie R17 FAIL, whatever came after. What only a whole run can show (a PASS) stays
// "not reached".
func (r *runner) keepGathered() {
	if len(r.noStore) > 0 && !r.has("R25", "") {
		r.cacheCheck()
	}
	if !r.has("R17", "") {
		r.bodyLeak()
	}
}

// stages calls every stage in order, handing each what it reads and
// keeping what it finds for the stages after it.
func (r *runner) stages(ctx context.Context) error {
	var err error
	if r.unauth, err = r.reach(ctx); err != nil {
		return err
	}

	// The story: sign in, use it, refresh, sign out, replay.
	if err := r.register(ctx); err != nil {
		return err
	}
	l1, jar, err := r.signIn(ctx)
	if err != nil {
		return err
	}
	r.jar = jar
	how, l1, err := r.learnAuth(ctx, l1)
	if err != nil {
		return err
	}
	httpOnly := r.cookieChecks()                          // R15–R20
	l1, refresh := r.refreshPair(ctx, l1)                 // R34b
	out := r.logoutAndReplay(ctx, how, refresh.state, l1) // R4, R5, R21, R22, R26
	r.logoutAgain(ctx, l1)                                // R36
	lv := liveness{auth: how, refresh: refresh.state, atImmediate: out.token.immediate}

	// The checks that need a live session.
	l2, err := r.relogin(ctx, "sign in for the forgery probes", cred{}, nil)
	if err != nil {
		return err
	}
	fix := r.fixationProbe(ctx, how, refresh.state)                // R2
	r.duplicates(ctx, how, l2)                                     // R23
	r.inURL(ctx, how, l2)                                          // R24
	forged := r.forgedTokens(ctx, how, l2)                         // R41
	if l2, err = r.unsafeGet(ctx, lv, out.fails, l2); err != nil { // R27
		return err
	}
	if l2, err = r.crossOrigin(ctx, lv, out.fails, l2); err != nil { // R28, R29
		return err
	}
	if l2, err = r.tokenConfusion(ctx, lv, l2); err != nil { // R42
		return err
	}
	l3, err := r.newSessionOnLogin(ctx, lv, l2) // R1
	if err != nil {
		return err
	}
	second, err := r.plantedLogin(ctx, fix) // R2
	if err != nil {
		return err
	}
	l3, second = r.deviceRevoke(ctx, lv, l3, second)                // R8
	if err := r.logoutEverywhere(ctx, lv, l3, second); err != nil { // R6
		return err
	}
	if err := r.rotation(ctx, refresh, out.token.immediate); err != nil { // R33, R34
		return err
	}
	r.contentTypes(ctx)                          // R30
	if err := r.instances(ctx, lv); err != nil { // R51
		return err
	}
	r.browserChecks(ctx, how) // R21, R26 and R26b in Chromium, with --browser

	// The checks made from what the run gathered.
	r.bodyScan(httpOnly) // R17
	r.cacheCheck()       // R25
	if !out.token.skipped {
		r.deadTokenCheck(out.token.dead, forged) // R40
	}
	return nil
}
