package check

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// maxTokenTTL is the longest an access token may outlive its logout and
// still count as "a short TTL" (R5: WARN up to it, FAIL beyond).
const maxTokenTTL = 15 * time.Minute

// logoutCall is a sign-out request with the whole credential c, as the
// site's page sends it: its method, the hidden inputs of its sign-out
// form, its CSRF token.
func (r *runner) logoutCall(step string, c cred, story bool) call {
	k := call{step: step, method: r.logoutMethod, path: r.cfg.Logout, cookies: c.cookies, bearer: c.at, story: story, site: true}
	if k.method == http.MethodGet {
		return k
	}
	if hidden := r.c.formFields(r.cfg.Logout); len(hidden) > 0 {
		fields := map[string]string{}
		for _, kv := range hidden {
			fields[kv.name] = kv.value
			k.bodyNote = append(k.bodyNote, kv.name+" (from the page)")
		}
		k.body, k.ctype = formBody(fields), "application/x-www-form-urlencoded"
	}
	r.sendRefreshToken(&k, c)
	return k
}

// signOut sends a sign-out with c. On a site whose pages carry CSRF
// tokens it first opens the protected page with c, as the user would be
// on a page of the site when signing out, so the token is c's; a cookie
// the page sets anew (Rails' cookie store keeps the token in the session
// cookie) goes with the sign-out, as in a browser. It returns the answer
// and the credential it signed out with.
func (r *runner) signOut(ctx context.Context, step string, c cred, story bool) (*resp, cred) {
	if r.logoutMethod != http.MethodGet && r.c.pageTokens() {
		page := r.probe(ctx, "open a page to sign out from", c, sendAll, false)
		c = r.merge(r.jar, c, page)
	}
	return r.c.do(ctx, r.logoutCall(step, c, story)), c
}

// firstSignOut is the first sign-out. With --logout-method auto, a POST
// answered 405 with Allow: GET is sent again as a GET, and the run goes on
// signing out with GET (R27 then fails).
func (r *runner) firstSignOut(ctx context.Context, c cred) (*resp, cred) {
	out, c := r.signOut(ctx, "sign out", c, true)
	if r.cfg.LogoutMethod != logoutAuto || out.status != http.StatusMethodNotAllowed || !allows(out, http.MethodGet) {
		return out, c
	}
	r.c.note(out.seq, "405 with Allow: GET: sign out with GET (--logout-method auto)")
	r.logoutMethod = http.MethodGet
	return r.signOut(ctx, "sign out with GET", c, true)
}

// allows reports whether an answer's Allow header lists method.
func allows(res *resp, method string) bool {
	for _, m := range strings.Split(res.header.Get("Allow"), ",") {
		if strings.EqualFold(strings.TrimSpace(m), method) {
			return true
		}
	}
	return false
}

// loggedOut is what the first logout and its replays found that later
// stages need.
type loggedOut struct {
	// fails is true when logout does not end the session even when asked
	// properly (R4 FAIL): then the credential alive asks with survives
	// logout, and a later probe that sees a session survive proves nothing.
	fails bool
	token tokenReplay
}

// tokenReplay is what replaying the old access token found.
type tokenReplay struct {
	immediate bool  // it was refused right after logout (R5 PASS)
	dead      *resp // that refusal, whose WWW-Authenticate R40 reads
	skipped   bool  // there was no access token to replay: R5 and R40 are SKIP
}

// logoutAndReplay signs out and replays every old credential (R4, R5, R40),
// and checks the logout answer itself (R21, R22, R25, R26). how and
// refresh say which parts of c to replay.
func (r *runner) logoutAndReplay(ctx context.Context, how auth, refresh state, c cred) loggedOut {
	cfg := r.cfg
	out, c := r.firstSignOut(ctx, c)
	if !out.done() {
		r.add("R4", Fail, "%s %s answered %s%s: the user cannot sign out", r.logoutMethod, cfg.Logout, out.describe(), suffix(out.problem()))
		return loggedOut{fails: true}
	}
	r.credentialed(r.logoutMethod+" "+cfg.Logout, out)
	r.deletionChecks(out)
	r.clearSiteData(out)
	cookieLives, rtLives := r.replaySession(ctx, how, refresh, out, c)
	found := loggedOut{token: r.replayToken(ctx, how, c)}
	// Later checks ask "is the session still alive?" the way alive does;
	// if logout itself leaves that credential alive, they prove nothing.
	switch (liveness{auth: how, refresh: refresh, atImmediate: found.token.immediate}).ask() {
	case sendCookies:
		found.fails = cookieLives
	case askRefresh:
		found.fails = rtLives
	}
	return found
}

// replaySession replays the old cookie and the old refresh token after the
// logout answered out (R4), and reports which of them still work.
func (r *runner) replaySession(ctx context.Context, how auth, refresh state, out *resp, c cred) (cookieLives, rtLives bool) {
	var bad, good []string
	var notes []string
	if how.cookies || (!how.bearer && len(c.cookies) > 0) {
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
	if refresh == accepted {
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
		r.add("R4", Fail, "after %s %s answered %d: %s", r.logoutMethod, r.cfg.Logout, out.status, strings.Join(bad, "; "))
	case len(good) > 0:
		r.add("R4", Pass, "after logout: %s", strings.Join(append(good, notes...), ", "))
	default:
		r.add("R4", Warn, "could not tell: %s", strings.Join(notes, ", "))
	}
	return cookieLives, rtLives
}

// replayToken replays the old access token after logout (R5): it must die
// at once, or live no longer than a short exp.
func (r *runner) replayToken(ctx context.Context, how auth, c cred) tokenReplay {
	if c.at == "" {
		r.add("R5", Skip, "sign-in returned no access token (%s)", r.creds)
		r.add("R40", Skip, "sign-in returned no access token")
		return tokenReplay{skipped: true}
	}
	if !how.bearer {
		r.add("R5", Skip, "the access token alone does not open %s", r.cfg.Protected)
		r.add("R40", Skip, "the access token alone does not open %s", r.cfg.Protected)
		return tokenReplay{skipped: true}
	}
	res := r.probe(ctx, "replay the old access token", c, sendBearer, true)
	switch r.classify(res) {
	case rejected:
		r.add("R5", Pass, "the old access token %s → %s right after logout", r.c.fp(c.at), res.describe())
		return tokenReplay{immediate: true, dead: res}
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
	return tokenReplay{}
}

// clearSiteData checks logout's Clear-Site-Data (R26): values must be
// quoted strings or browsers ignore the header.
func (r *runner) clearSiteData(out *resp) {
	v := out.header.Get("Clear-Site-Data")
	if v == "" {
		r.add("R26", Warn, "%s %s sends no Clear-Site-Data: the browser keeps cached pages and storage", r.logoutMethod, r.cfg.Logout)
		return
	}
	var unquoted []string
	for _, d := range strings.Split(v, ",") {
		d = strings.TrimSpace(d)
		if len(d) < 2 || d[0] != '"' || d[len(d)-1] != '"' {
			unquoted = append(unquoted, d)
		}
	}
	if len(unquoted) > 0 {
		r.add("R26", Fail, "Clear-Site-Data: %s has unquoted values (%s): browsers ignore the header", v, strings.Join(unquoted, ", "))
		return
	}
	r.add("R26", Pass, "Clear-Site-Data: %s", v)
}
