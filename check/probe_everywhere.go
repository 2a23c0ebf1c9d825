package check

import (
	"context"
	"net/http"
)

// logoutEverywhere signs out everywhere from the first device and checks
// both it and another (R6): other, or a new sign-in if other is empty.
func (r *runner) logoutEverywhere(ctx context.Context, lv liveness, first, other cred) error {
	if r.cfg.LogoutAll == Off {
		r.add("R6", Skip, "logout everywhere is off (--logout-all off)")
		return nil
	}
	if len(other.cookies) == 0 && other.at == "" {
		var err error
		if other, err = r.relogin(ctx, "sign in another device", cred{}, nil); err != nil {
			return err
		}
	}
	res := r.c.do(ctx, call{step: "sign out everywhere", method: http.MethodPost, path: r.cfg.LogoutAll, cookies: first.cookies, bearer: first.at, site: true})
	switch {
	case res.status == http.StatusNotFound || res.status == http.StatusMethodNotAllowed:
		r.add("R6", Skip, "the site has no logout everywhere (POST %s → %d)", r.cfg.LogoutAll, res.status)
		return nil
	case !res.done():
		r.add("R6", Fail, "POST %s with a live session → %s%s", r.cfg.LogoutAll, res.describe(), suffix(res.problem()))
		return nil
	}
	r.credentialed("POST "+r.cfg.LogoutAll, res)
	fst, fhow, _ := r.alive(ctx, lv, "A", "check this device", first)
	ost, ohow, _ := r.alive(ctx, lv, "A", "check the other device", other)
	switch {
	case fst == accepted || ost == accepted:
		r.add("R6", Fail, "POST %s → %d, then this device: %s; the other: %s", r.cfg.LogoutAll, res.status, fhow, ohow)
	case fst == rejected && ost == rejected:
		r.add("R6", Pass, "POST %s → %d: this device %s, the other %s", r.cfg.LogoutAll, res.status, arrow(fhow), arrow(ohow))
	default:
		r.add("R6", Warn, "POST %s → %d; then %s, %s: inconclusive", r.cfg.LogoutAll, res.status, fhow, ohow)
	}
	return nil
}
