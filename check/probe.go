package check

import (
	"context"
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

// arrow turns "the cookie → 401" into "→ 401".
func arrow(how string) string {
	if _, after, ok := strings.Cut(how, "→ "); ok {
		return "→ " + after
	}
	return how
}
