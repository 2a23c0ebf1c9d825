package check

import (
	"fmt"
	"net/http"
	"strings"
)

// credentialed notes an answer that carries credentials or private data: it
// must be no-store (R25) and its body must not echo a cookie (R17).
func (r *runner) credentialed(what string, res *resp) {
	if !res.ok() && (res.status < 300 || res.status >= 400) {
		return
	}
	r.bodies = append(r.bodies, res)
	if !hasDirective(res.header.Get("Cache-Control"), "no-store") {
		for _, w := range r.noStore {
			if w == what {
				return
			}
		}
		r.noStore = append(r.noStore, what)
	}
}

// finish evaluates the findings gathered along the way: R17's body scan,
// R25 and R40.
func (r *runner) finish() {
	if !r.has("R17", "") && len(r.names) > 0 {
		leak := ""
		for _, res := range r.bodies {
			for _, v := range r.cookieVals {
				if len(v) >= 8 && strings.Contains(string(res.body), v) && leak == "" {
					leak = fmt.Sprintf("the value %s of a credential cookie appears in the body of answer #%d", r.c.fp(v), res.seq)
				}
			}
		}
		if leak != "" {
			r.add("R17", Fail, "%s: HttpOnly protects nothing if a script can read the body", leak)
		} else {
			r.add("R17", Pass, "%s; no body repeats a cookie value", r.r17ok)
		}
	}
	if len(r.noStore) > 0 {
		r.add("R25", Fail, "no Cache-Control: no-store on %s", strings.Join(r.noStore, ", "))
	} else {
		r.add("R25", Pass, "no-store on sign-in, %s, refresh and sign-out answers", r.cfg.Protected)
	}
	if r.has("R40", "") {
		return
	}
	dead := r.deadAT
	what := "the logged-out access token"
	if dead == nil {
		dead, what = r.forged, "a forged access token"
	}
	if dead == nil || r.classify(dead) != rejected {
		r.add("R40", Skip, "no refused access token to look at")
		return
	}
	wa := dead.header.Get("WWW-Authenticate")
	switch {
	case dead.status == http.StatusUnauthorized && strings.HasPrefix(strings.ToLower(wa), "bearer") && strings.Contains(wa, `error="invalid_token"`):
		r.add("R40", Pass, "%s → 401, WWW-Authenticate: %s", what, wa)
	case dead.status != http.StatusUnauthorized:
		r.add("R40", Fail, "%s → %s, not 401", what, dead.describe())
	case wa == "":
		r.add("R40", Fail, "%s → 401 without WWW-Authenticate: clients cannot tell an expired token from a wrong request", what)
	default:
		r.add("R40", Fail, "%s → 401 with WWW-Authenticate: %s, not Bearer error=\"invalid_token\"", what, wa)
	}
}
