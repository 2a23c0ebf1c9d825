package check

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// duplicates sends the session cookie twice, in both orders, and under a
// prefix of the wrong case (R23).
func (r *runner) duplicates(ctx context.Context, how auth, live cred) {
	if !how.cookies || len(live.cookies) == 0 {
		if how.cookies || len(r.jar.names) == 0 {
			return
		}
		r.add("R23", Skip, "cookies alone do not open %s (the access token does)", r.cfg.Protected)
		return
	}
	good := live.cookies[0]
	junk := randomValue()
	rest := ""
	for _, kv := range live.cookies[1:] {
		rest += "; " + kv.name + "=" + kv.value
	}
	send := func(step, header, note string) *resp {
		return r.c.do(ctx, call{step: step, method: http.MethodGet, path: r.cfg.Protected, rawCookie: header + rest, cookieNote: note})
	}
	n, gfp, jfp := good.name, r.c.fp(good.value), r.c.fp(junk)
	a := send("send the cookie twice, good first", n+"="+good.value+"; "+n+"="+junk, fmt.Sprintf("cookie %s=%s then %s=%s", n, gfp, n, jfp))
	b := send("send the cookie twice, junk first", n+"="+junk+"; "+n+"="+good.value, fmt.Sprintf("cookie %s=%s then %s=%s", n, jfp, n, gfp))
	sa, sb := r.classify(a), r.classify(b)
	var bad []string
	ev := fmt.Sprintf("good then junk → %s, junk then good → %s", a.describe(), b.describe())
	if sa != sb {
		bad = append(bad, ev+": the order decides")
	}
	if i := strings.Index(n, "-"); strings.HasPrefix(n, "__") && i > 0 {
		upper := strings.ToUpper(n[:i]) + n[i:]
		c := r.c.do(ctx, call{step: "send the cookie under an upper-case prefix", method: http.MethodGet, path: r.cfg.Protected,
			rawCookie: upper + "=" + good.value + rest, cookieNote: "cookie " + upper + "=" + gfp})
		if r.classify(c) == accepted {
			bad = append(bad, fmt.Sprintf("%s=%s → %s: the prefix is matched without regard to case", upper, gfp, c.describe()))
		} else {
			ev += fmt.Sprintf(", %s → %s", upper, c.describe())
		}
	}
	if len(bad) > 0 {
		r.add("R23", Fail, "%s", strings.Join(bad, "; "))
		return
	}
	r.add("R23", Pass, "%s", ev)
}
