package check

import (
	"context"
	"net/http"
)

// unsafeGet sends GET to the logout path with a live session (R27), unless
// logout fails even as a POST. It returns a live credential to go on with.
func (r *runner) unsafeGet(ctx context.Context, lv liveness, logoutFails bool, live cred) (cred, error) {
	if logoutFails {
		r.add("R27", Skip, "logout does not end the session even as a POST (R4): a surviving session proves nothing")
		return live, nil
	}
	res := r.c.do(ctx, call{step: "GET the logout path", method: http.MethodGet, path: r.cfg.Logout, cookies: live.cookies, bearer: live.at})
	st, how, live := r.alive(ctx, lv, "A", "check the session survived the GET", live)
	switch st {
	case rejected:
		r.add("R27", Fail, "GET %s → %s ended the session (%s): any link or image can sign the user out", r.cfg.Logout, res.describe(), how)
		return r.relogin(ctx, "sign in again: GET ended the session", cred{}, nil)
	case accepted:
		if res.ok() {
			r.add("R27", Warn, "GET %s → %s, though the session lives on; answer 405 with Allow: POST", r.cfg.Logout, res.describe())
		} else {
			r.add("R27", Pass, "GET %s → %s%s; the session lives on", r.cfg.Logout, res.describe(), allowHeader(res))
		}
	default:
		r.add("R27", Warn, "GET %s → %s; then %s: inconclusive", r.cfg.Logout, res.describe(), how)
	}
	return live, nil
}

func allowHeader(res *resp) string {
	if a := res.header.Get("Allow"); a != "" {
		return " (Allow: " + a + ")"
	}
	return ""
}
