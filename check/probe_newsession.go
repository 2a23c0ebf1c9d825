package check

import (
	"context"
)

// newSessionOnLogin signs in while presenting a live session (R1): sign-in
// must mint new values and end the presented session.
func (r *runner) newSessionOnLogin(ctx context.Context, lv liveness, old cred) (cred, error) {
	fresh, res, err := r.login(ctx, "sign in again while presenting the live session", old, nil)
	if err != nil {
		return fresh, err
	}
	for _, kv := range fresh.cookies {
		if kv.value != old.cookie(kv.name) {
			continue
		}
		how := "set the same value again"
		if res.setCookie(kv.name) == nil {
			how = "set no new cookie"
		}
		r.add("R1", Fail, "sign-in with %s=%s present %s: the session ID is not renewed, so an ID planted before sign-in is signed in", kv.name, r.c.fp(kv.value), how)
		return fresh, nil
	}
	st, how, _ := r.alive(ctx, lv, "A", "check the presented session ended", old)
	switch st {
	case accepted:
		r.add("R1", Fail, "sign-in with %s present (→ %d) left it alive: %s", r.sessionFP(old), res.status, how)
	case rejected:
		r.add("R1", Pass, "sign-in with %s present minted %s; the presented one is dead: %s", r.sessionFP(old), r.sessionFP(fresh), how)
	default:
		r.add("R1", Warn, "sign-in with %s present minted %s; then %s: inconclusive", r.sessionFP(old), r.sessionFP(fresh), how)
	}
	return fresh, nil
}
