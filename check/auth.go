package check

import (
	"context"
	"fmt"
)

// auth says which part of a credential opens the protected path on its
// own. Both are false when only the two together do.
type auth struct {
	cookies bool // the cookies alone
	bearer  bool // the access token alone
}

// learnAuth uses the credential from sign-in, which must open the
// protected path, and finds out which part of it does: the cookies, the
// access token, or only both together.
func (r *runner) learnAuth(ctx context.Context, c cred) (auth, error) {
	cfg := r.cfg
	me := r.probe(ctx, "use the credential", c, sendAll, true)
	if !me.ok() {
		return auth{}, fmt.Errorf("the credential from sign-in does not open %s (it answered %s); set --protected to a path this user may read", cfg.Protected, me.describe())
	}
	r.credentialed("GET "+cfg.Protected, me)
	switch {
	case len(c.cookies) > 0 && c.at != "":
		return auth{
			cookies: r.classify(r.probe(ctx, "use the cookies alone", c, sendCookies, false)) == accepted,
			bearer:  r.classify(r.probe(ctx, "use the access token alone", c, sendBearer, false)) == accepted,
		}, nil
	case c.at != "":
		return auth{bearer: true}, nil
	}
	return auth{cookies: true}, nil
}
