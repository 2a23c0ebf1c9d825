package check

import (
	"context"
)

// instances signs in on A, checks B honours it, signs out on A and replays
// on B (R51).
func (r *runner) instances(ctx context.Context, lv liveness) error {
	if r.cfg.Second == "" {
		r.add("R51", Skip, "no second instance given (--second URL)")
		return nil
	}
	r.c.setStory(true)
	defer r.c.setStory(false)
	c, err := r.relogin(ctx, "sign in on A", cred{}, nil)
	if err != nil {
		return err
	}
	st, how, c := r.alive(ctx, lv, "B", "use it on B", c)
	if st == accepted {
		r.c.note(r.c.last(), "B reads the same store")
	}
	if st != accepted {
		r.add("R51", Skip, "B did not honour a fresh credential from A (%s): are they instances of one site?", how)
		return nil
	}
	out, c := r.signOut(ctx, "sign out on A", c, false)
	if !out.done() {
		r.add("R51", Warn, "%s %s on A → %s", r.logoutMethod, r.cfg.Logout, out.describe())
		return nil
	}
	st, how, _ = r.alive(ctx, lv, "B", "replay on B", c)
	onB := r.c.last()
	if st == accepted {
		// Not an instance problem if A honours it too: that is R4.
		if ast, ahow, _ := r.alive(ctx, lv, "A", "replay on A", c); ast == accepted {
			r.add("R51", Skip, "signed out on A (%d), yet on A too %s: logout does not revoke at all (R4)", out.status, ahow)
			return nil
		}
	}
	switch st {
	case accepted:
		r.c.note(onB, "B still honours "+r.sessionFP(c))
	case rejected:
		r.c.note(onB, "B knows "+r.sessionFP(c)+" is revoked")
	}
	switch st {
	case accepted:
		r.add("R51", Fail, "signed out on A (%d), then on B %s: B did not hear of the logout", out.status, how)
	case rejected:
		r.add("R51", Pass, "signed out on A (%d), then on B %s", out.status, how)
	default:
		r.add("R51", Warn, "signed out on A (%d), then on B %s: inconclusive", out.status, how)
	}
	return nil
}
