package check

import (
	"context"
	"fmt"
	"net/http"
)

// refreshOnce spends c's refresh token once.
func (r *runner) refreshOnce(ctx context.Context, inst, step string, c cred, story bool) (state, *resp, cred) {
	res := r.c.do(ctx, r.refreshCall(inst, step, c, story))
	st, next := r.refreshResult(c, res)
	return st, res, next
}

func (r *runner) refreshCall(inst, step string, c cred, story bool) call {
	k := call{step: step, inst: inst, method: http.MethodPost, path: r.cfg.Refresh, cookies: c.cookies, story: story, site: true}
	r.sendRefreshToken(&k, c)
	return k
}

// sendRefreshToken puts c's refresh token in k's body, if it travels in
// bodies rather than a cookie.
func (r *runner) sendRefreshToken(k *call, c cred) {
	if c.rt != "" {
		k.body, k.ctype = jsonBody(map[string]string{r.cfg.RefreshField: c.rt}), "application/json"
		k.bodyNote = []string{r.cfg.RefreshField + " " + r.c.fp(c.rt)}
	}
}

func (r *runner) refreshResult(c cred, res *resp) (state, cred) {
	switch {
	case res.err != nil:
		return unclear, c
	case res.ok():
		next := r.merge(r.jar, c, res)
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

// refreshing is what the concurrent refreshes found out about refresh.
type refreshing struct {
	state   state // accepted: it refreshes; absent: there is no endpoint; unclear: it handed out nothing
	rotates bool  // a refresh handed out a new refresh token
}

// refreshPair sends two refreshes with the same token at once, as two tabs
// do (R34b). It returns the credential to go on with and what it found out.
func (r *runner) refreshPair(ctx context.Context, c cred) (cred, refreshing) {
	if r.cfg.Refresh == Off {
		r.skipRefresh("refresh checks are off (--refresh off)")
		return c, refreshing{state: absent}
	}
	step := "refresh twice at once, as two tabs do"
	res := r.c.doAll(ctx, r.refreshCall("A", step, c, true), r.refreshCall("A", step, c, true))
	s0, c0 := r.refreshResult(c, res[0])
	s1, c1 := r.refreshResult(c, res[1])
	old := r.c.fp(c.refreshKey())
	switch {
	case s0 == absent && s1 == absent:
		r.c.unstory(res[0].seq, res[1].seq)
		r.skipRefresh(fmt.Sprintf("the site has no refresh endpoint (POST %s answered %d)", r.cfg.Refresh, res[0].status))
		return c, refreshing{state: absent}
	case s0 != accepted && s1 != accepted:
		r.skipRefresh(fmt.Sprintf("POST %s with a fresh credential answered %s and %s: nothing to refresh", r.cfg.Refresh, res[0].describe(), res[1].describe()))
		return c, refreshing{state: unclear}
	}
	win, wres, lres := c0, res[0], res[1]
	if s0 != accepted {
		win, wres, lres = c1, res[1], res[0]
	}
	found := refreshing{state: accepted, rotates: win.refreshKey() != c.refreshKey()}
	switch {
	case !found.rotates:
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
		return win, found
	}
	fresh, err := r.relogin(ctx, "sign in again: the refreshes ended the session", cred{}, nil)
	if err != nil {
		return win, found
	}
	return fresh, found
}

func (r *runner) skipRefresh(why string) {
	r.add("R33", Skip, "%s", why)
	r.add("R34", Skip, "%s", why)
	r.add("R34b", Skip, "%s", why)
}

// setsCredential reports whether an answer sets a credential cookie.
func (r *runner) setsCredential(res *resp) bool {
	for _, n := range r.jar.names {
		if ck := res.setCookie(n); ck != nil && !isDeletion(ck) {
			return true
		}
	}
	return false
}
