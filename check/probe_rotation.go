package check

import (
	"context"
	"fmt"
	"strings"
)

// rotation walks a refresh family RT1 → RT2 → RT3, reuses RT1, and checks
// the family died (R33, R34). It runs only when the refreshes at once
// refreshed; atImmediate says access tokens die with their session.
func (r *runner) rotation(ctx context.Context, refresh refreshing, atImmediate bool) error {
	if refresh.state != accepted {
		return nil
	}
	if !refresh.rotates {
		r.add("R33", Fail, "refresh handed back the same refresh token: a stolen one works for as long as it lives")
		r.add("R34", Skip, "refresh tokens do not rotate (R33)")
		return nil
	}
	c1, err := r.relogin(ctx, "sign in for the refresh family", cred{}, nil)
	if err != nil {
		return err
	}
	s1, res1, c2 := r.refreshOnce(ctx, "A", "refresh: RT1 → RT2", c1, false)
	s2, res2, c3 := r.refreshOnce(ctx, "A", "refresh: RT2 → RT3", c2, false)
	if s1 != accepted || s2 != accepted {
		why := fmt.Sprintf("refreshing a fresh family answered %s, then %s", res1.describe(), res2.describe())
		r.add("R33", Warn, "%s", why)
		r.add("R34", Skip, "%s", why)
		return nil
	}
	f1, f2, f3 := r.c.fp(c1.refreshKey()), r.c.fp(c2.refreshKey()), r.c.fp(c3.refreshKey())
	s3, res3, _ := r.refreshOnce(ctx, "A", "reuse RT1 after RT2 was spent", c1, false)
	switch s3 {
	case accepted:
		// A spent token that still refreshes is a reuse the site did not
		// detect: whoever holds a stolen copy goes on, and the family was
		// plainly not revoked.
		r.add("R33", Fail, "%s → %s → %s, then the spent %s refreshed again (%s)", f1, f2, f3, f1, res3.describe())
		r.add("R34", Fail, "the spent %s was accepted (%s) instead of revoking its family: a stolen copy goes on beside the user's", f1, res3.describe())
		return nil
	case rejected:
		r.add("R33", Pass, "%s → %s → %s; the spent %s → %s", f1, f2, f3, f1, res3.describe())
	default:
		r.add("R33", Warn, "%s → %s → %s; the spent %s → %s: inconclusive", f1, f2, f3, f1, res3.describe())
		r.add("R34", Skip, "the reuse answer was inconclusive")
		return nil
	}
	var bad, good []string
	if atImmediate && c3.at != "" {
		res := r.probe(ctx, "use RT3's access token after the reuse", c3, sendBearer, false)
		if r.classify(res) == accepted {
			bad = append(bad, "its access token → "+res.describe())
		} else {
			good = append(good, "its access token → "+res.describe())
		}
	}
	s4, res4, _ := r.refreshOnce(ctx, "A", "use RT3 after the reuse", c3, false)
	if s4 == accepted {
		bad = append([]string{"the newest token " + f3 + " still refreshes (" + res4.describe() + ")"}, bad...)
	} else {
		good = append([]string{"the newest token " + f3 + " → " + res4.describe()}, good...)
	}
	if len(bad) > 0 {
		r.add("R34", Fail, "after %s was reused: %s: the family lives on", f1, strings.Join(bad, ", "))
		return nil
	}
	r.add("R34", Pass, "after %s was reused: %s", f1, strings.Join(good, ", "))
	return nil
}
