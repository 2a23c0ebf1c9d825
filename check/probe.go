package check

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// state is what a probe found out about a credential.
type state int

const (
	unclear  state = iota // 429, 5xx, a transport error…: no conclusion
	accepted              // the site honoured it
	rejected              // the site refused it
	absent                // the endpoint does not exist (404, 405)
)

// reach asks for the protected path without a credential: the answer is
// what "signed out" looks like, which classify compares with. A 2xx is a
// usage error.
func (r *runner) reach(ctx context.Context) (*resp, error) {
	cfg := r.cfg
	unauth := r.c.do(ctx, call{step: "probe without a credential", method: http.MethodGet, path: cfg.Protected})
	if unauth.err != nil {
		return nil, fmt.Errorf("cannot reach %s: %s", cfg.Target, cleanErr(unauth.err))
	}
	if unauth.ok() {
		return nil, fmt.Errorf("%w: %s answers %d without a credential; --protected must name a path that needs sign-in", ErrUsage, cfg.Protected, unauth.status)
	}
	return unauth, nil
}

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

// liveness is what alive needs to know to ask whether a credential still
// lives: which part of it opens the protected path, whether there is a
// refresh endpoint, and whether access tokens die at logout. The driver
// builds it once the first logout has been replayed.
type liveness struct {
	auth
	refresh     state // accepted when the refresh endpoint refreshes
	atImmediate bool  // access tokens die at logout (R5 PASS)
}

// askRefresh is the way of asking that spends the refresh token.
const askRefresh = "refresh"

// ask is how alive asks: with the cookies when they open the protected
// path (sendCookies), with the access token when access tokens die with
// their session or there is nothing to refresh (sendBearer), otherwise by
// refreshing (askRefresh), and with the whole credential when neither part
// alone opens it (sendAll).
func (l liveness) ask() string {
	switch {
	case l.cookies:
		return sendCookies
	case l.bearer && (l.atImmediate || l.refresh != accepted):
		return sendBearer
	case l.bearer:
		return askRefresh
	}
	return sendAll
}

// alive tells whether c still opens the site, the way l.ask says, and
// returns how it asked ("the cookie → 401") and c, refreshed if that was
// how it asked.
func (r *runner) alive(ctx context.Context, l liveness, inst, step string, c cred) (state, string, cred) {
	switch l.ask() {
	case sendCookies:
		res := r.probeOn(ctx, inst, step, c, sendCookies, false)
		return r.classify(res), "the cookie → " + res.describe(), c
	case sendBearer:
		res := r.probeOn(ctx, inst, step, c, sendBearer, false)
		return r.classify(res), "the access token → " + res.describe(), c
	case askRefresh:
		st, res, next := r.refreshOnce(ctx, inst, step, c, false)
		return st, "the refresh token → " + res.describe(), next
	}
	res := r.probeOn(ctx, inst, step, c, sendAll, false)
	return r.classify(res), "the credential → " + res.describe(), c
}

// arrow turns "the cookie → 401" into "→ 401".
func arrow(how string) string {
	if _, after, ok := strings.Cut(how, "→ "); ok {
		return "→ " + after
	}
	return how
}
