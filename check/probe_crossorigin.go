package check

import (
	"context"
	"net/http"
)

// crossOrigin sends the logout a cross-site page could send: the cookies,
// with Sec-Fetch-Site: cross-site (R28), then with only a foreign Origin
// (R29). It returns a live credential to go on with.
func (r *runner) crossOrigin(ctx context.Context, lv liveness, logoutFails bool, live cred) (cred, error) {
	if len(live.cookies) == 0 || logoutFails {
		why := "the credentials are not cookies: a cross-site page cannot send them"
		if logoutFails {
			why = "logout does not end the session even from the site itself (R4): a surviving session proves nothing"
		}
		r.add("R28", Skip, "%s", why)
		r.add("R29", Skip, "%s", why)
		return live, nil
	}
	var err error
	for _, t := range []struct {
		id, what string
		header   [][2]string
	}{
		{"R28", "a cross-site POST", [][2]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", evilOrigin}}},
		{"R29", "a POST with Origin " + evilOrigin + " and no Sec-Fetch-Site", [][2]string{{"Origin", evilOrigin}}},
	} {
		res := r.c.do(ctx, call{step: "sign out from another site (" + t.id + ")", method: http.MethodPost, path: r.cfg.Logout, cookies: live.cookies, header: t.header})
		var st state
		var how string
		st, how, live = r.alive(ctx, lv, "A", "check the session survived", live)
		switch st {
		case rejected:
			r.add(t.id, Fail, "%s to %s → %s ended the session (%s)%s", t.what, r.cfg.Logout, res.describe(), how, r.sameSiteNote())
			if live, err = r.relogin(ctx, "sign in again: a cross-site request ended the session", cred{}, nil); err != nil {
				return live, err
			}
		case accepted:
			r.add(t.id, Pass, "%s to %s → %s; the session lives on", t.what, r.cfg.Logout, res.describe())
		default:
			r.add(t.id, Warn, "%s to %s → %s; then %s: inconclusive", t.what, r.cfg.Logout, res.describe(), how)
		}
	}
	return live, nil
}

const evilOrigin = "https://evil.test"

// sameSiteNote qualifies a cross-origin finding for SameSite cookies:
// browsers keep them off cross-site POSTs, but not off same-site ones from
// a sibling subdomain or another port.
func (r *runner) sameSiteNote() string {
	for _, n := range r.jar.names {
		if ss := r.jar.set[n].SameSite; ss == http.SameSiteLaxMode || ss == http.SameSiteStrictMode {
			return "; " + sameSite(ss) + " keeps the cookie off cross-site requests in browsers, but not off a sibling subdomain's or another port's"
		}
	}
	return ""
}
