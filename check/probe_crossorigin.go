package check

import (
	"context"
	"net/http"
	"strings"
)

// crossOrigin sends the logout a cross-site page could send: the cookies,
// with Sec-Fetch-Site: cross-site (R28), then with only a foreign Origin
// (R29), with the sign-out form's hidden inputs but not its CSRF token. A
// request that ends the session, or whose answer deletes the credential
// cookies (the browser applies it), fails. When logout ends no session at
// all (R4) only the browser's side can be judged. It returns a live
// credential to go on with.
func (r *runner) crossOrigin(ctx context.Context, lv liveness, logoutFails bool, live cred) (cred, error) {
	if len(live.cookies) == 0 || r.logoutMethod == http.MethodGet {
		why := "the credentials are not cookies: a cross-site page cannot send them"
		if len(live.cookies) > 0 {
			why = "sign-out is a GET, which any site can send (R27); these are about unsafe methods"
		}
		r.add("R28", Skip, "%s", why)
		r.add("R29", Skip, "%s", why)
		return live, nil
	}
	var err error
	method := r.logoutMethod
	for _, t := range []struct {
		id, what string
		header   [][2]string
	}{
		{"R28", "a cross-site " + method, [][2]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", evilOrigin}}},
		{"R29", "a " + method + " with Origin " + evilOrigin + " and no Sec-Fetch-Site", [][2]string{{"Origin", evilOrigin}}},
	} {
		k := call{step: "sign out from another site (" + t.id + ")", method: method, path: r.cfg.Logout, cookies: live.cookies, header: t.header}
		r.forgedForm(&k)
		res := r.c.do(ctx, k)
		effect := r.signsOutBrowser(res)
		if logoutFails {
			switch {
			case effect != "":
				r.add(t.id, Fail, "%s to %s → %s %s: another site signs the user out of the browser (the session itself survives every logout, R4)%s", t.what, r.cfg.Logout, res.describe(), effect, r.sameSiteNote())
			case res.done():
				r.add(t.id, Warn, "%s to %s → %s and deletes nothing; logout ends no session (R4), so whether the site checks the origin cannot be seen", t.what, r.cfg.Logout, res.describe())
			default:
				r.add(t.id, Pass, "%s to %s → %s and deletes nothing", t.what, r.cfg.Logout, res.describe())
			}
			continue
		}
		var st state
		var how string
		st, how, live = r.alive(ctx, lv, "A", "check the session survived", live)
		switch {
		case st == rejected:
			r.add(t.id, Fail, "%s to %s → %s ended the session (%s)%s", t.what, r.cfg.Logout, res.describe(), how, r.sameSiteNote())
			if live, err = r.relogin(ctx, "sign in again: a cross-site request ended the session", cred{}, nil); err != nil {
				return live, err
			}
		case effect != "":
			r.add(t.id, Fail, "%s to %s → %s %s: the session lives on, but another site signs the user out of the browser%s", t.what, r.cfg.Logout, res.describe(), effect, r.sameSiteNote())
		case st == accepted:
			r.add(t.id, Pass, "%s to %s → %s; the session lives on", t.what, r.cfg.Logout, res.describe())
		default:
			r.add(t.id, Warn, "%s to %s → %s; then %s: inconclusive", t.what, r.cfg.Logout, res.describe(), how)
		}
	}
	return live, nil
}

// forgedForm gives a forged sign-out what another site can copy from the
// real form: its hidden inputs (Rails' _method=delete, say), but not its
// CSRF token, which another site cannot read.
func (r *runner) forgedForm(k *call) {
	if k.method == http.MethodGet {
		return
	}
	fields := map[string]string{}
	for _, kv := range r.c.formFields(r.cfg.Logout) {
		if !csrfName(kv.name) && !strings.EqualFold(kv.name, r.cfg.CSRFField) {
			fields[kv.name] = kv.value
			k.bodyNote = append(k.bodyNote, kv.name+" (from the page)")
		}
	}
	if len(fields) > 0 {
		k.body, k.ctype = formBody(fields), "application/x-www-form-urlencoded"
	}
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
