package check

import (
	"net/http"
	"strings"
)

// ledger keeps what the last checks look back at: every answer that
// carried credentials or private data, and every credential cookie value
// handed out. Stages add to it; bodyScan and cacheCheck read it.
type ledger struct {
	noStore    []string // credentialed answers without no-store (R25)
	bodies     []*resp  // answers whose bodies must not hold a cookie value (R17)
	cookieVals []string // every credential cookie value handed out (R17)
}

// credentialed notes an answer that carries credentials or private data: it
// must be no-store (R25) and its body must not echo a cookie (R17).
func (l *ledger) credentialed(what string, res *resp) {
	if !res.ok() && (res.status < 300 || res.status >= 400) {
		return
	}
	l.bodies = append(l.bodies, res)
	if !hasDirective(res.header.Get("Cache-Control"), "no-store") {
		for _, w := range l.noStore {
			if w == what {
				return
			}
		}
		l.noStore = append(l.noStore, what)
	}
}

// hasDirective reports whether a Cache-Control value holds directive d.
func hasDirective(v, d string) bool {
	for _, part := range strings.Split(v, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.EqualFold(name, d) {
			return true
		}
	}
	return false
}

// bodyScan finishes R17 when every cookie is HttpOnly (httpOnly is the
// evidence cookieChecks gathered; "" when R17 is decided already): no
// credentialed answer's body may repeat a credential cookie's value.
func (r *runner) bodyScan(httpOnly string) {
	if httpOnly == "" {
		return
	}
	if !r.bodyLeak() {
		r.add("R17", Pass, "%s; no body repeats a cookie value", httpOnly)
	}
}

// bodyLeak reports R17 FAIL, and true, when a credentialed answer's body
// repeats a credential cookie's value.
func (r *runner) bodyLeak() bool {
	for _, res := range r.bodies {
		for _, v := range r.cookieVals {
			if len(v) >= 8 && strings.Contains(string(res.body), v) {
				r.add("R17", Fail, "the value %s of a credential cookie appears in the body of answer #%d: HttpOnly protects nothing if a script can read the body", r.c.fp(v), res.seq)
				return true
			}
		}
	}
	return false
}

// cacheCheck reports R25: every credentialed answer must be no-store.
func (r *runner) cacheCheck() {
	if len(r.noStore) > 0 {
		r.add("R25", Fail, "no Cache-Control: no-store on %s", strings.Join(r.noStore, ", "))
	} else {
		r.add("R25", Pass, "no-store on sign-in, %s, refresh and sign-out answers", r.cfg.Protected)
	}
}

// deadTokenCheck reads the WWW-Authenticate of a refused access token
// (R40): dead, the logged-out one's refusal, or else forged, the answer to
// an alg-none forgery.
func (r *runner) deadTokenCheck(dead, forged *resp) {
	what := "the logged-out access token"
	if dead == nil {
		dead, what = forged, "a forged access token"
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
