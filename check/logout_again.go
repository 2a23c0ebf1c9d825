package check

import (
	"context"
	"net/http"
	"strings"
)

// logoutAgain signs out again with the same credential (idempotent), and
// with a garbage one (R36). Both must answer 2xx and clear (I4).
func (r *runner) logoutAgain(ctx context.Context, c cred) {
	again, _ := r.signOut(ctx, "sign out again with the same credential", c, true)
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
	res, _ := r.signOut(ctx, "sign out with a garbage credential", junk, false)
	r.logoutClears(titleGarbage, res, "a garbage credential")
}

func (r *runner) logoutClears(title string, res *resp, what string) {
	if res.status == http.StatusServiceUnavailable {
		r.addTitled("R36", title, Warn, "%s %s with %s answered 503: allowed only when the store is down (then no deletion, so the client retries); run again", r.logoutMethod, r.cfg.Logout, what)
		return
	}
	if !res.done() {
		r.addTitled("R36", title, Fail, "%s %s with %s answered %s%s: a client that lost its state cannot clear it", r.logoutMethod, r.cfg.Logout, what, res.describe(), suffix(res.problem()))
		return
	}
	var missing []string
	for _, n := range r.jar.names {
		if ck := res.setCookie(n); ck == nil || !isDeletion(ck) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		r.addTitled("R36", title, Fail, "%s %s with %s answered %d without deleting %s", r.logoutMethod, r.cfg.Logout, what, res.status, strings.Join(missing, ", "))
		return
	}
	r.addTitled("R36", title, Pass, "%s %s with %s → %d%s", r.logoutMethod, r.cfg.Logout, what, res.status, deletedList(r.jar.names))
}

func deletedList(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return ", deletes " + strings.Join(names, ", ")
}
