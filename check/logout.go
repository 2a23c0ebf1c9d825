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
