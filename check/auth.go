package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// auth says which part of a credential opens the protected path on its
// own. Both are false when only the two together do.
type auth struct {
	cookies bool // the cookies alone
	bearer  bool // the access token alone
}

// learnAuth uses the credential from sign-in, which must open the
// protected path, and finds out which cookies are the credential and
// which part of it opens the path: the cookies, the access token, or only
// both together. It returns c without the cookies that are not
// credentials.
func (r *runner) learnAuth(ctx context.Context, c cred) (auth, cred, error) {
	cfg := r.cfg
	me := r.probe(ctx, "use the credential", c, sendAll, true)
	if !me.ok() {
		return auth{}, c, fmt.Errorf("the credential from sign-in does not open %s (it answered %s); set --protected to a path this user may read", cfg.Protected, me.describe())
	}
	r.credentialed("GET "+cfg.Protected, me)
	c = r.sessionCookies(ctx, r.merge(r.jar, c, me)) // a cookie the page sets anew is the browser's now
	switch {
	case len(c.cookies) > 0 && c.at != "":
		return auth{
			cookies: r.classify(r.probe(ctx, "use the cookies alone", c, sendCookies, false)) == accepted,
			bearer:  r.classify(r.probe(ctx, "use the access token alone", c, sendBearer, false)) == accepted,
		}, c, nil
	case c.at != "":
		return auth{bearer: true}, c, nil
	}
	return auth{cookies: true}, c, nil
}

// maxDropTests bounds the cookies sessionCookies tries leaving out.
const maxDropTests = 4

// sessionCookies tells the credential cookies from the others when
// sign-in set several and Config.Cookies names none: a cookie without
// which the cookies still open the protected path (a CSRF cookie, a
// locale) is the site's, not the session's, provided another cookie is
// needed. A cookie named as a refresh token stays a credential: it need
// not open the path to be one. When sign-in also returned an access token,
// the test is made with the cookies alone, and only if they open the path
// by themselves.
func (r *runner) sessionCookies(ctx context.Context, c cred) cred {
	if len(c.cookies) < 2 || len(r.cfg.Cookies) > 0 {
		return c
	}
	kind := sendAll
	if c.at != "" {
		if r.classify(r.probe(ctx, "use the cookies alone", c, sendCookies, false)) != accepted {
			return c
		}
		kind = sendCookies
	}
	var spare []nv
	needed := false
	for i, kv := range c.cookies {
		if i >= maxDropTests || strings.Contains(strings.ToLower(kv.name), "refresh") {
			continue
		}
		without := c.clone()
		without.cookies = slices.Delete(without.cookies, i, i+1)
		res := r.probe(ctx, "use the credential without cookie "+kv.name, without, kind, false)
		if r.classify(res) == accepted {
			spare = append(spare, kv)
			r.c.note(res.seq, kv.name+" is not needed: a site cookie, not the credential")
		} else {
			needed = true
		}
	}
	if !needed {
		return c // no cookie shown to be the credential: keep them all
	}
	for _, kv := range spare {
		r.c.keepCookie(kv)
		r.jar.drop(kv.name)
		c.cookies = slices.DeleteFunc(c.cookies, func(x nv) bool { return x.name == kv.name })
		r.cookieVals = slices.DeleteFunc(r.cookieVals, func(v string) bool { return v == kv.value })
	}
	r.creds = describeCreds(c)
	return c
}
