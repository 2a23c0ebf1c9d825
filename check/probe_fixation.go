package check

import (
	"context"
	"fmt"
)

// fixation is what the made-up cookie probe found for R2.
type fixation struct {
	decided  bool   // R2 is reported already: FAIL, or SKIP for want of a cookie
	evidence string // otherwise, the made-up cookie's answer, if there was one
}

// fixationProbe sends random values under the credential cookies' names
// (R2, first half: a client-chosen ID opens nothing), with the cookies
// when they open the protected path, else to the refresh endpoint. The
// second half is in plantedLogin.
func (r *runner) fixationProbe(ctx context.Context, how auth, refresh state) fixation {
	if len(r.jar.names) == 0 {
		r.add("R2", Skip, "sign-in set no cookie: there is no session ID to plant")
		return fixation{decided: true}
	}
	planted := r.planted()
	var res *resp
	var st state
	switch {
	case how.cookies:
		res = r.probe(ctx, "send a made-up session cookie", cred{cookies: planted}, sendCookies, false)
		st = r.classify(res)
	case refresh == accepted:
		st, res, _ = r.refreshOnce(ctx, "A", "refresh with a made-up refresh cookie", cred{cookies: planted}, false)
	default:
		return fixation{}
	}
	switch st {
	case accepted:
		r.add("R2", Fail, "a made-up %s=%s → %s: the site adopts a client-chosen value", planted[0].name, r.c.fp(planted[0].value), res.describe())
		return fixation{decided: true}
	case rejected:
		return fixation{evidence: fmt.Sprintf("a made-up %s → %s", planted[0].name, res.describe())}
	}
	return fixation{evidence: fmt.Sprintf("a made-up %s → %s (inconclusive)", planted[0].name, res.describe())}
}

// plantedLogin signs in a second device presenting made-up cookie values
// (R2, second half: sign-in mints its own ID rather than adopting the
// client's) and returns its credential.
func (r *runner) plantedLogin(ctx context.Context, fix fixation) (cred, error) {
	var planted []nv
	if len(r.jar.names) > 0 {
		planted = r.planted()
	}
	second, err := r.relogin(ctx, "sign in a second device, presenting made-up cookies", cred{}, planted)
	if err != nil {
		return cred{}, err
	}
	if planted == nil || fix.decided {
		return second, nil
	}
	adopted := ""
	for _, kv := range planted {
		if second.cookie(kv.name) == kv.value {
			adopted = kv.name
		}
	}
	if adopted != "" {
		r.add("R2", Fail, "sign-in with a made-up %s kept that value (no new Set-Cookie for it): session fixation", adopted)
	} else {
		prefix := ""
		if fix.evidence != "" {
			prefix = fix.evidence + "; "
		}
		r.add("R2", Pass, "%ssign-in with a made-up %s minted its own", prefix, planted[0].name)
	}
	return second, nil
}

// planted is a random value under every credential cookie name.
func (r *runner) planted() []nv {
	var out []nv
	for _, n := range r.jar.names {
		out = append(out, nv{n, randomValue()})
	}
	return out
}
