package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// check names one finding: its requirement ID, group and title.
type check struct{ id, group, title string }

// Checks lists every finding a run reports, in report order. A run that
// stops early reports the ones it did not reach as SKIP.
var checks = []check{
	{"R1", GroupLifecycle, "Login mints a new session ID; any earlier ID dies"},
	{"R2", GroupLifecycle, "A client-chosen session ID is never adopted"},
	{"R4", GroupLifecycle, "Logout invalidates the session on the server"},
	{"R5", GroupLifecycle, "Access tokens die at logout, or live only a short TTL"},
	{"R6", GroupLifecycle, "Logout everywhere ends every session of the user"},
	{"R8", GroupLifecycle, "Ending one device leaves the others signed in"},
	{"R15", GroupCookies, "Secure, with a __Host- or __Secure- name"},
	{"R16", GroupCookies, "Session cookie __Host-: Secure, Path=/, no Domain"},
	{"R17", GroupCookies, "HttpOnly; the value never appears in a body"},
	{"R18", GroupCookies, "SameSite Lax or Strict"},
	{"R20", GroupCookies, "Opaque value, no personal data; Max-Age within the session's lifetime"},
	{"R21", GroupCookies, "The deletion matches the cookie: name, Domain, Path, Secure"},
	{"R22", GroupCookies, "Deletion: empty value, Max-Age=0 and an Expires in the past"},
	{"R23", GroupCookies, "Duplicate cookie names never decide by order; prefixes are case-exact"},
	{"R24", GroupCookies, "No credentials in URLs"},
	{"R25", GroupCaching, "Cache-Control: no-store on credentials and authenticated data"},
	{"R26", GroupCaching, "Logout sends Clear-Site-Data with quoted values"},
	{"R26b", GroupCaching, "The back button after logout shows nothing private"},
	{"R27", GroupForgery, "No state change on GET: logout is a POST"},
	{"R28", GroupForgery, "Cross-origin unsafe requests are rejected"},
	{"R29", GroupForgery, "Origin is checked when Sec-Fetch-Site is absent"},
	{"R30", GroupForgery, "JSON endpoints refuse simple content types"},
	{"R33", GroupTokens, "Refresh tokens rotate on every use"},
	{"R34", GroupTokens, "Reuse of a spent refresh token revokes the family"},
	{"R34b", GroupTokens, "Concurrent refreshes get the same child, never a sibling"},
	{"R36", GroupTokens, titleGarbage},
	{"R36", GroupTokens, titleAgain},
	{"R40", GroupTokens, `A dead access token gets 401 with WWW-Authenticate: Bearer error="invalid_token"`},
	{"R41", GroupTokens, "Signatures are verified; alg none is refused"},
	{"R51", GroupInstances, "Logout on one instance is seen on another at once"},
}

const (
	titleGarbage = "Logout with a garbage credential answers 2xx and clears"
	titleAgain   = "Logout is idempotent: the same credential again answers 2xx and clears"
)

// maxTokenTTL is the longest an access token may outlive its logout and
// still count as "a short TTL" (R5: WARN up to it, FAIL beyond).
const maxTokenTTL = 15 * time.Minute

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

// state is what a probe found out about a credential.
type state int

const (
	unclear  state = iota // 429, 5xx, a transport error…: no conclusion
	accepted              // the site honoured it
	rejected              // the site refused it
	absent                // the endpoint does not exist (404, 405)
)

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

// add records a finding. Titles come from checks; title picks among the
// checks sharing an ID.
func (r *runner) add(id string, v Verdict, format string, a ...any) {
	r.addTitled(id, "", v, format, a...)
}

func (r *runner) addTitled(id, title string, v Verdict, format string, a ...any) {
	for _, ck := range checks {
		if ck.id == id && (title == "" || ck.title == title) {
			ev := format
			if len(a) > 0 {
				ev = fmt.Sprintf(format, a...)
			}
			r.res = append(r.res, Result{ID: id, Title: ck.title, Group: ck.group, Verdict: v, Evidence: ev})
			return
		}
	}
	panic("check: unknown check " + id)
}

func (r *runner) has(id, title string) bool {
	for _, res := range r.res {
		if res.ID == id && (title == "" || res.Title == title) {
			return true
		}
	}
	return false
}

// report assembles the Report: every check reported once (SKIP for those
// not reached), in order, with every string scrubbed of raw credentials.
func (r *runner) report() *Report {
	why := "not reached"
	if r.stopped != "" {
		why = "not reached: " + r.stopped
	}
	for _, ck := range checks {
		if !r.has(ck.id, ck.title) {
			r.addTitled(ck.id, ck.title, Skip, "%s", why)
		}
	}
	sortResults(r.res)
	scrub := r.c.scrubber()
	rep := &Report{Target: r.cfg.Target, Second: r.cfg.Second, Credentials: r.creds, Exchanges: r.c.exchanges()}
	for _, res := range r.res {
		res.Evidence = scrub(res.Evidence)
		if slices.Contains(r.cfg.Ignore, res.ID) && res.Verdict != Skip {
			res.Evidence = "ignored (--ignore " + res.ID + "), found " + string(res.Verdict) + ": " + res.Evidence
			res.Verdict = Skip
		}
		rep.Results = append(rep.Results, res)
	}
	for i := range rep.Exchanges {
		e := &rep.Exchanges[i]
		e.Path, e.Err, e.Note, e.Step = scrub(e.Path), scrub(e.Err), scrub(e.Note), scrub(e.Step)
		for j := range e.Sent {
			e.Sent[j] = scrub(e.Sent[j])
		}
		for j := range e.Got {
			e.Got[j] = scrub(e.Got[j])
		}
	}
	return rep
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

// ---- signing in ----

// login signs in, presenting the cookies and bearer of present (R1) or the
// planted cookies (R2).
func (r *runner) login(ctx context.Context, step string, present cred, planted []nv, story bool) (cred, *resp, error) {
	cfg := r.cfg
	k := call{step: step, method: cfg.LoginMethod, path: cfg.LoginPath, story: story,
		cookies: present.cookies, bearer: present.at,
		bodyNote: []string{cfg.UserField + " " + cfg.User, cfg.PasswordField + " (hidden)"}}
	if planted != nil {
		k.cookies = planted
	}
	fields := map[string]string{cfg.UserField: cfg.User, cfg.PasswordField: cfg.Password.Reveal()}
	for key, v := range cfg.LoginExtra {
		fields[key] = v
	}
	if cfg.LoginFormat == "form" {
		vals := url.Values{}
		for key, v := range fields {
			vals.Set(key, v)
		}
		k.body, k.ctype = []byte(vals.Encode()), "application/x-www-form-urlencoded"
	} else {
		k.body, k.ctype = jsonBody(fields), "application/json"
	}
	res := r.c.do(ctx, k)
	switch {
	case res.err != nil:
		return cred{}, res, fmt.Errorf("sign-in: %s %s: %s", cfg.LoginMethod, cfg.LoginPath, cleanErr(res.err))
	case res.status == http.StatusTooManyRequests && r.names != nil:
		return cred{}, res, r.stop(fmt.Sprintf("sign-in was rate limited (429) beyond --max-wait %v", cfg.MaxWait))
	case res.status >= 400 && r.names != nil:
		// A later sign-in: report what was found so far.
		return cred{}, res, r.stop(fmt.Sprintf("a later sign-in (%s) answered %s%s", step, res.describe(), suffix(res.problem())))
	case res.status == http.StatusNotFound || res.status == http.StatusMethodNotAllowed:
		return cred{}, res, fmt.Errorf("sign-in failed: %s %s answered %d; set --login (and --login-method) to the site's sign-in endpoint", cfg.LoginMethod, cfg.LoginPath, res.status)
	case res.status >= 400:
		return cred{}, res, fmt.Errorf("sign-in failed: %s %s answered %d%s to %s fields %s and %s; check --user and the password, or set --user-field, --password-field, --login-format", cfg.LoginMethod, cfg.LoginPath, res.status, suffix(res.problem()), cfg.LoginFormat, cfg.UserField, cfg.PasswordField)
	}
	if r.names == nil {
		r.learnCookies(res)
	}
	// As in a browser, the cookies sent stay unless the answer replaces
	// them: a site that keeps the presented session ID sets no cookie.
	var sent []nv
	for _, kv := range k.cookies {
		if slices.Contains(r.names, kv.name) {
			sent = append(sent, kv)
		}
	}
	got := r.merge(cred{cookies: sent}, res)
	if len(got.cookies) == 0 && got.at == "" {
		return cred{}, res, fmt.Errorf("sign-in answered %d but set no cookie and returned no %q; is %s the sign-in endpoint?", res.status, cfg.TokenField, cfg.LoginPath)
	}
	if r.creds == "" {
		r.describeCreds(got)
	}
	r.credentialed(cfg.LoginMethod+" "+cfg.LoginPath, res)
	if story {
		r.c.note(res.seq, "session "+r.sessionFP(got)+" created")
	}
	return got, res, nil
}

// relogin is login for the later steps, without presenting anything.
func (r *runner) relogin(ctx context.Context, step string, present cred, planted []nv) (cred, error) {
	c, _, err := r.login(ctx, step, present, planted, false)
	return c, err
}

// learnCookies takes the credential cookie names from the first sign-in:
// Config.Cookies, or every cookie it sets.
func (r *runner) learnCookies(res *resp) {
	r.names = []string{}
	want := map[string]bool{}
	for _, n := range r.cfg.Cookies {
		want[n] = true
	}
	for _, ck := range res.cookies {
		if isDeletion(ck) || r.set[ck.Name] != nil || (len(want) > 0 && !want[ck.Name]) {
			continue
		}
		r.names = append(r.names, ck.Name)
		r.set[ck.Name], r.setAt[ck.Name] = ck, r.cfg.LoginPath
	}
}

// merge returns old updated by what an answer hands out.
func (r *runner) merge(old cred, res *resp) cred {
	out := old.clone()
	for _, name := range r.names {
		ck := res.setCookie(name)
		if ck == nil || isDeletion(ck) {
			continue
		}
		r.c.seen(ck.Value)
		r.cookieVals = append(r.cookieVals, ck.Value)
		found := false
		for i := range out.cookies {
			if out.cookies[i].name == name {
				out.cookies[i].value, found = ck.Value, true
			}
		}
		if !found {
			out.cookies = append(out.cookies, nv{name, ck.Value})
		}
		if r.set[name] == nil {
			r.set[name] = ck
		}
	}
	if at := res.str(r.cfg.TokenField); at != "" {
		out.at = at
		r.c.seen(at)
	}
	if rt := res.str(r.cfg.RefreshField); rt != "" {
		out.rt = rt
		r.c.seen(rt)
	}
	return out
}

func (r *runner) describeCreds(c cred) {
	var parts []string
	if c.at != "" {
		kind := "opaque"
		if h, _, ok := jwtParts(c.at); ok {
			kind = fmt.Sprintf("JWT, %v", h["alg"])
		}
		parts = append(parts, fmt.Sprintf("access token (%s)", kind))
	}
	if c.rt != "" {
		parts = append(parts, "refresh token in the body")
	}
	for _, kv := range c.cookies {
		parts = append(parts, "cookie "+kv.name)
	}
	r.creds = strings.Join(parts, " + ")
}

// sessionFP names a session in notes by the fingerprint of its first
// credential.
func (r *runner) sessionFP(c cred) string {
	switch {
	case len(c.cookies) > 0:
		return r.c.fp(c.cookies[0].value)
	case c.rt != "":
		return r.c.fp(c.rt)
	}
	return r.c.fp(c.at)
}

// credentialed notes an answer that carries credentials or private data: it
// must be no-store (R25) and its body must not echo a cookie (R17).
func (r *runner) credentialed(what string, res *resp) {
	if !res.ok() && (res.status < 300 || res.status >= 400) {
		return
	}
	r.bodies = append(r.bodies, res)
	if !hasDirective(res.header.Get("Cache-Control"), "no-store") {
		for _, w := range r.noStore {
			if w == what {
				return
			}
		}
		r.noStore = append(r.noStore, what)
	}
}

// ---- probing ----

// Probe kinds: which parts of a credential a probe sends.
const (
	sendAll     = ""
	sendCookies = "cookies"
	sendBearer  = "bearer"
)

// probe asks for the protected path with (part of) a credential.
func (r *runner) probe(ctx context.Context, step string, c cred, kind string, story bool) *resp {
	return r.probeOn(ctx, "A", step, c, kind, story)
}

func (r *runner) probeOn(ctx context.Context, inst, step string, c cred, kind string, story bool) *resp {
	k := call{step: step, inst: inst, method: http.MethodGet, path: r.cfg.Protected, story: story}
	if kind != sendBearer {
		k.cookies = c.cookies
	}
	if kind != sendCookies {
		k.bearer = c.at
	}
	return r.c.do(ctx, k)
}

// classify tells what a protected-path answer says about the credential.
func (r *runner) classify(res *resp) state {
	switch {
	case res.err != nil:
		return unclear
	case res.ok():
		return accepted
	case res.status == http.StatusUnauthorized || res.status == http.StatusForbidden:
		return rejected
	case res.status >= 300 && res.status < 400 && r.unauth.status >= 300 && r.unauth.status < 400:
		return rejected // the same kind of redirect to sign-in as without a credential
	}
	return unclear
}

// learnAuth finds out which part of the credential opens the protected
// path: the cookies, the access token, or only both together.
func (r *runner) learnAuth(ctx context.Context, c cred) {
	switch {
	case len(c.cookies) > 0 && c.at != "":
		r.cookieAuth = r.classify(r.probe(ctx, "use the cookies alone", c, sendCookies, false)) == accepted
		r.bearerAuth = r.classify(r.probe(ctx, "use the access token alone", c, sendBearer, false)) == accepted
	case c.at != "":
		r.bearerAuth = true
	default:
		r.cookieAuth = true
	}
}

// alive tells whether c still opens the site, and returns c (refreshed, if
// that was how it was asked). It asks with the cookies when they open the
// protected path, with the access token when access tokens die with their
// session, and otherwise by refreshing.
func (r *runner) alive(ctx context.Context, inst, step string, c cred) (state, string, cred) {
	switch {
	case r.cookieAuth:
		res := r.probeOn(ctx, inst, step, c, sendCookies, false)
		return r.classify(res), "the cookie → " + res.describe(), c
	case r.bearerAuth && (r.atImmediate || r.refresh != accepted):
		res := r.probeOn(ctx, inst, step, c, sendBearer, false)
		return r.classify(res), "the access token → " + res.describe(), c
	case r.bearerAuth:
		st, res, next := r.refreshOnce(ctx, inst, step, c, false)
		return st, "the refresh token → " + res.describe(), next
	}
	res := r.probeOn(ctx, inst, step, c, sendAll, false)
	return r.classify(res), "the credential → " + res.describe(), c
}

// ---- refresh ----

// refreshOnce spends c's refresh token once.
func (r *runner) refreshOnce(ctx context.Context, inst, step string, c cred, story bool) (state, *resp, cred) {
	res := r.c.do(ctx, r.refreshCall(inst, step, c, story))
	st, next := r.refreshResult(c, res)
	return st, res, next
}

func (r *runner) refreshCall(inst, step string, c cred, story bool) call {
	k := call{step: step, inst: inst, method: http.MethodPost, path: r.cfg.Refresh, cookies: c.cookies, story: story}
	if c.rt != "" {
		k.body, k.ctype = jsonBody(map[string]string{r.cfg.RefreshField: c.rt}), "application/json"
		k.bodyNote = []string{r.cfg.RefreshField + " " + r.c.fp(c.rt)}
	}
	return k
}

func (r *runner) refreshResult(c cred, res *resp) (state, cred) {
	switch {
	case res.err != nil:
		return unclear, c
	case res.ok():
		next := r.merge(c, res)
		if next.at == c.at && next.refreshKey() == c.refreshKey() && !r.setsCredential(res) {
			return unclear, c // a 2xx that hands out nothing: a page for every path?
		}
		r.credentialed("POST "+r.cfg.Refresh, res)
		return accepted, next
	case res.status == http.StatusNotFound || res.status == http.StatusMethodNotAllowed:
		return absent, c
	case res.status == http.StatusBadRequest || res.status == http.StatusUnauthorized || res.status == http.StatusForbidden:
		return rejected, c
	}
	return unclear, c
}

// refreshPair sends two refreshes with the same token at once, as two tabs
// do (R34b), and returns the credential to go on with.
func (r *runner) refreshPair(ctx context.Context, c cred) cred {
	if r.cfg.Refresh == Off {
		r.refresh = absent
		r.skipRefresh("refresh checks are off (--refresh off)")
		return c
	}
	step := "refresh twice at once, as two tabs do"
	res := r.c.doAll(ctx, r.refreshCall("A", step, c, true), r.refreshCall("A", step, c, true))
	s0, c0 := r.refreshResult(c, res[0])
	s1, c1 := r.refreshResult(c, res[1])
	old := r.c.fp(c.refreshKey())
	switch {
	case s0 == absent && s1 == absent:
		r.refresh = absent
		r.c.unstory(res[0].seq, res[1].seq)
		r.skipRefresh(fmt.Sprintf("the site has no refresh endpoint (POST %s answered %d)", r.cfg.Refresh, res[0].status))
		return c
	case s0 != accepted && s1 != accepted:
		r.refresh = unclear
		r.skipRefresh(fmt.Sprintf("POST %s with a fresh credential answered %s and %s: nothing to refresh", r.cfg.Refresh, res[0].describe(), res[1].describe()))
		return c
	}
	r.refresh = accepted
	win, wres, lres := c0, res[0], res[1]
	if s0 != accepted {
		win, wres, lres = c1, res[1], res[0]
	}
	r.rotates = win.refreshKey() != c.refreshKey()
	switch {
	case !r.rotates:
		r.add("R34b", Skip, "refresh tokens do not rotate (R33)")
		r.c.note(wres.seq, "refresh token "+old+" kept")
	case s0 == accepted && s1 == accepted && c0.refreshKey() == c1.refreshKey():
		r.add("R34b", Pass, "two refreshes with %s at once both got %s", old, r.c.fp(win.refreshKey()))
		r.c.note(wres.seq, "refresh token "+old+" spent, child "+r.c.fp(win.refreshKey()))
	case s0 == accepted && s1 == accepted:
		r.add("R34b", Fail, "two refreshes with %s at once got two different tokens, %s and %s: the grace rule mints siblings", old, r.c.fp(c0.refreshKey()), r.c.fp(c1.refreshKey()))
		r.c.note(lres.seq, "a second child of "+old+" (sibling)")
	default:
		r.add("R34b", Warn, "of two refreshes with %s at once, one got %s: no grace for a retry, so two tabs sign the user out", old, lres.describe())
	}
	// Go on with the winner, if the session survived.
	if res := r.probe(ctx, "use the refreshed credential", win, sendAll, true); r.classify(res) == accepted {
		return win
	}
	fresh, err := r.relogin(ctx, "sign in again: the refreshes ended the session", cred{}, nil)
	if err != nil {
		return win
	}
	return fresh
}

func (r *runner) skipRefresh(why string) {
	r.add("R33", Skip, "%s", why)
	r.add("R34", Skip, "%s", why)
	r.add("R34b", Skip, "%s", why)
}

// setsCredential reports whether an answer sets a credential cookie.
func (r *runner) setsCredential(res *resp) bool {
	for _, n := range r.names {
		if ck := res.setCookie(n); ck != nil && !isDeletion(ck) {
			return true
		}
	}
	return false
}

// ---- logout and replays ----

func (r *runner) logoutCall(step string, c cred, story bool) call {
	k := call{step: step, method: http.MethodPost, path: r.cfg.Logout, cookies: c.cookies, bearer: c.at, story: story}
	if c.rt != "" {
		k.body, k.ctype = jsonBody(map[string]string{r.cfg.RefreshField: c.rt}), "application/json"
		k.bodyNote = []string{r.cfg.RefreshField + " " + r.c.fp(c.rt)}
	}
	return k
}

// logoutAndReplay signs out and replays every old credential (R4, R5, R40),
// and checks the logout answer itself (R21, R22, R25, R26).
func (r *runner) logoutAndReplay(ctx context.Context, c cred) {
	cfg := r.cfg
	out := r.c.do(ctx, r.logoutCall("sign out", c, true))
	if !out.done() {
		r.logoutFails = true
		r.add("R4", Fail, "POST %s answered %s%s: the user cannot sign out", cfg.Logout, out.describe(), suffix(out.problem()))
		return
	}
	r.credentialed("POST "+cfg.Logout, out)
	r.deletionChecks(out)
	r.clearSiteData(out)

	var bad, good []string
	var notes []string
	var cookieLives, rtLives bool
	// Later checks ask "is the session still alive?" the way alive does;
	// if logout itself leaves that credential alive, they prove nothing.
	defer func() {
		switch {
		case r.cookieAuth:
			r.logoutFails = cookieLives
		case r.bearerAuth && !r.atImmediate && r.refresh == accepted:
			r.logoutFails = rtLives
		}
	}()
	if r.cookieAuth || (!r.bearerAuth && len(c.cookies) > 0) {
		res := r.probe(ctx, "replay the old cookie", c, sendCookies, true)
		switch r.classify(res) {
		case accepted:
			cookieLives = true
			bad = append(bad, "the old cookie "+r.c.fp(c.cookies[0].value)+" → "+res.describe())
			notes = append(notes, "session still valid")
			r.c.note(res.seq, "the store still honours "+r.sessionFP(c))
		case rejected:
			good = append(good, "cookie → "+res.describe())
			r.c.note(res.seq, "session "+r.sessionFP(c)+" revoked")
		default:
			notes = append(notes, "cookie replay inconclusive ("+res.describe()+")")
		}
	}
	if r.refresh == accepted {
		st, res, _ := r.refreshOnce(ctx, "A", "replay the old refresh token", c, true)
		switch st {
		case accepted:
			rtLives = true
			bad = append(bad, "the old refresh token "+r.c.fp(c.refreshKey())+" still refreshes ("+res.describe()+")")
			r.c.note(res.seq, "the refresh family is still alive")
		case rejected:
			good = append(good, "refresh token → "+res.describe())
			r.c.note(res.seq, "refresh family revoked")
		default:
			notes = append(notes, "refresh replay inconclusive ("+res.describe()+")")
		}
	}
	switch {
	case len(bad) > 0:
		r.add("R4", Fail, "after POST %s answered %d: %s", cfg.Logout, out.status, strings.Join(bad, "; "))
	case len(good) > 0:
		r.add("R4", Pass, "after logout: %s", strings.Join(append(good, notes...), ", "))
	default:
		r.add("R4", Warn, "could not tell: %s", strings.Join(notes, ", "))
	}

	if c.at == "" {
		r.add("R5", Skip, "sign-in returned no access token (%s)", r.creds)
		r.add("R40", Skip, "sign-in returned no access token")
		return
	}
	if !r.bearerAuth {
		r.add("R5", Skip, "the access token alone does not open %s", r.cfg.Protected)
		r.add("R40", Skip, "the access token alone does not open %s", r.cfg.Protected)
		return
	}
	res := r.probe(ctx, "replay the old access token", c, sendBearer, true)
	switch r.classify(res) {
	case rejected:
		r.atImmediate = true
		r.deadAT = res
		r.add("R5", Pass, "the old access token %s → %s right after logout", r.c.fp(c.at), res.describe())
	case accepted:
		exp, ok := jwtExpiry(c.at)
		left := time.Until(exp)
		switch {
		case !ok:
			r.add("R5", Fail, "the old access token %s → %s after logout, and it is opaque: no expiry to wait for", r.c.fp(c.at), res.describe())
		case left <= 0:
			r.add("R5", Fail, "the old access token %s → %s after logout, and its exp passed %s ago: exp is not enforced", r.c.fp(c.at), res.describe(), roundDur(-left))
		case left <= maxTokenTTL:
			r.add("R5", Warn, "the old access token %s → %s after logout; it lives until its exp, %s more: say so in the docs, or deny its sid", r.c.fp(c.at), res.describe(), roundDur(left))
		default:
			r.add("R5", Fail, "the old access token %s → %s after logout, and its exp is %s away (more than %s)", r.c.fp(c.at), res.describe(), roundDur(left), roundDur(maxTokenTTL))
		}
		r.c.note(res.seq, "access token "+r.c.fp(c.at)+" still valid")
	default:
		r.add("R5", Warn, "the old access token %s → %s: inconclusive", r.c.fp(c.at), res.describe())
	}
}

// logoutAgain signs out again with the same credential (idempotent), and
// with a garbage one (R36). Both must answer 2xx and clear (I4).
func (r *runner) logoutAgain(ctx context.Context, c cred) {
	again := r.c.do(ctx, r.logoutCall("sign out again with the same credential", c, true))
	r.logoutClears(titleAgain, again, "the same credential again")
	junk := cred{}
	for _, kv := range c.cookies {
		junk.cookies = append(junk.cookies, nv{kv.name, randomValue()})
	}
	if c.at != "" {
		junk.at = randomValue()
	}
	if c.rt != "" {
		junk.rt = randomValue()
	}
	res := r.c.do(ctx, r.logoutCall("sign out with a garbage credential", junk, false))
	r.logoutClears(titleGarbage, res, "a garbage credential")
}

func (r *runner) logoutClears(title string, res *resp, what string) {
	if res.status == http.StatusServiceUnavailable {
		r.addTitled("R36", title, Warn, "POST %s with %s answered 503: allowed only when the store is down (then no deletion, so the client retries); run again", r.cfg.Logout, what)
		return
	}
	if !res.done() {
		r.addTitled("R36", title, Fail, "POST %s with %s answered %s%s: a client that lost its state cannot clear it", r.cfg.Logout, what, res.describe(), suffix(res.problem()))
		return
	}
	var missing []string
	for _, n := range r.names {
		if ck := res.setCookie(n); ck == nil || !isDeletion(ck) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		r.addTitled("R36", title, Fail, "POST %s with %s answered %d without deleting %s", r.cfg.Logout, what, res.status, strings.Join(missing, ", "))
		return
	}
	r.addTitled("R36", title, Pass, "POST %s with %s → %d%s", r.cfg.Logout, what, res.status, deletedList(r.names))
}

func deletedList(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return ", deletes " + strings.Join(names, ", ")
}

func suffix(detail string) string {
	if detail == "" {
		return ""
	}
	return " (" + detail + ")"
}

func roundDur(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int((d+12*time.Hour)/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d h", int((d+30*time.Minute)/time.Hour))
	}
	if d >= time.Minute {
		return fmt.Sprintf("%d min", int((d+30*time.Second)/time.Minute))
	}
	return fmt.Sprintf("%d s", int((d+time.Second/2)/time.Second))
}
