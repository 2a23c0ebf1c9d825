package check

import (
	"context"
	"net/http"
	"strings"
)

// unsafeGet sends GET to the logout path with a live session (R27). A GET
// that ends the session, or that deletes the credential cookies in the
// browser, lets any link or image sign the user out. When logout ends no
// session at all (R4) only the browser's side can be judged. It returns a
// live credential to go on with.
func (r *runner) unsafeGet(ctx context.Context, lv liveness, logoutFails bool, live cred) (cred, error) {
	res := r.c.do(ctx, call{step: "GET the logout path", method: http.MethodGet, path: r.cfg.Logout, cookies: live.cookies, bearer: live.at})
	effect := r.signsOutBrowser(res)
	isGet := ""
	if r.logoutMethod == http.MethodGet {
		isGet = "; the site's sign-out is a GET"
	}
	if logoutFails {
		switch {
		case effect != "":
			r.add("R27", Fail, "GET %s → %s %s: any link or image signs the user out of the browser (the session itself survives every logout, R4)", r.cfg.Logout, res.describe(), effect)
		case isGet != "" && res.done():
			r.add("R27", Fail, "GET %s → %s%s, which any link or image can send", r.cfg.Logout, res.describe(), isGet)
		case res.ok():
			r.add("R27", Warn, "GET %s → %s and deletes nothing; logout ends no session (R4), so whether a GET would cannot be seen; answer 405 with Allow: POST", r.cfg.Logout, res.describe())
		default:
			r.add("R27", Pass, "GET %s → %s%s and deletes nothing", r.cfg.Logout, res.describe(), allowHeader(res))
		}
		return live, nil
	}
	st, how, live := r.alive(ctx, lv, "A", "check the session survived the GET", live)
	switch {
	case st == rejected:
		r.add("R27", Fail, "GET %s → %s ended the session (%s)%s: any link or image can sign the user out", r.cfg.Logout, res.describe(), how, isGet)
		return r.relogin(ctx, "sign in again: GET ended the session", cred{}, nil)
	case effect != "":
		r.add("R27", Fail, "GET %s → %s %s: the session lives on, but any link or image signs the user out of the browser", r.cfg.Logout, res.describe(), effect)
		return live, nil
	case st == accepted && res.ok():
		r.add("R27", Warn, "GET %s → %s, though the session lives on; answer 405 with Allow: POST", r.cfg.Logout, res.describe())
	case st == accepted:
		r.add("R27", Pass, "GET %s → %s%s; the session lives on", r.cfg.Logout, res.describe(), allowHeader(res))
	default:
		r.add("R27", Warn, "GET %s → %s; then %s: inconclusive", r.cfg.Logout, res.describe(), how)
	}
	return live, nil
}

// signsOutBrowser says what an answer does to a browser's credential:
// "and deletes sessionid", "and sends Clear-Site-Data: \"cookies\"", or ""
// when it leaves the browser signed in.
func (r *runner) signsOutBrowser(res *resp) string {
	if res.err != nil {
		return ""
	}
	var deleted []string
	for _, n := range r.jar.names {
		if ck := res.setCookie(n); ck != nil && isDeletion(ck) {
			deleted = append(deleted, n)
		}
	}
	if len(deleted) > 0 {
		return "and deletes " + strings.Join(deleted, ", ")
	}
	if csd := res.header.Get("Clear-Site-Data"); strings.Contains(csd, `"cookies"`) || strings.Contains(csd, `"*"`) {
		return "and sends Clear-Site-Data: " + csd
	}
	return ""
}

func allowHeader(res *resp) string {
	if a := res.header.Get("Allow"); a != "" {
		return " (Allow: " + a + ")"
	}
	return ""
}
