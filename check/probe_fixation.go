package check

import (
	"context"
	"fmt"
)

// fixationProbe sends random values under the credential cookies' names
// (R2, first half: a client-chosen ID opens nothing). The second half is in
// plantedLogin.
func (r *runner) fixationProbe(ctx context.Context) {
	if len(r.names) == 0 {
		r.add("R2", Skip, "sign-in set no cookie: there is no session ID to plant")
		return
	}
	planted := r.planted()
	var res *resp
	var st state
	switch {
	case r.cookieAuth:
		res = r.probe(ctx, "send a made-up session cookie", cred{cookies: planted}, sendCookies, false)
		st = r.classify(res)
	case r.refresh == accepted:
		st, res, _ = r.refreshOnce(ctx, "A", "refresh with a made-up refresh cookie", cred{cookies: planted}, false)
	default:
		return
	}
	switch st {
	case accepted:
		r.add("R2", Fail, "a made-up %s=%s → %s: the site adopts a client-chosen value", planted[0].name, r.c.fp(planted[0].value), res.describe())
	case rejected:
		r.r2 = fmt.Sprintf("a made-up %s → %s", planted[0].name, res.describe())
	default:
		r.r2 = fmt.Sprintf("a made-up %s → %s (inconclusive)", planted[0].name, res.describe())
	}
}

// planted is a random value under every credential cookie name.
func (r *runner) planted() []nv {
	var out []nv
	for _, n := range r.names {
		out = append(out, nv{n, randomValue()})
	}
	return out
}
