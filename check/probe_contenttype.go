package check

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// contentTypes sends the sign-in as text/plain and as a form: a JSON
// endpoint must refuse both, since a cross-site form can send them without
// a preflight (R30).
func (r *runner) contentTypes(ctx context.Context) {
	if r.cfg.LoginFormat == "form" {
		r.add("R30", Skip, "sign-in takes a form (--login-format form)")
		return
	}
	cfg := r.cfg
	fields := loginFields(cfg)
	var bad, good []string
	unclearSeen := false
	for _, t := range []struct {
		ctype string
		body  []byte
	}{{"text/plain", jsonBody(fields)}, {"application/x-www-form-urlencoded", formBody(fields)}} {
		res := r.c.do(ctx, call{step: "sign in with Content-Type " + t.ctype, method: cfg.LoginMethod, path: cfg.LoginPath,
			body: t.body, ctype: t.ctype, bodyNote: loginNote(cfg)})
		got := r.merge(r.jar, cred{}, res)
		switch {
		case res.err == nil && res.status < 400 && (len(got.cookies) > 0 || got.at != ""):
			bad = append(bad, fmt.Sprintf("%s → %d and signed in", t.ctype, res.status))
		case res.err != nil || res.status == http.StatusTooManyRequests || res.status >= 500:
			unclearSeen = true
			good = append(good, t.ctype+" → "+res.describe())
		default:
			good = append(good, t.ctype+" → "+res.describe())
		}
	}
	switch {
	case len(bad) > 0:
		r.add("R30", Fail, "%s: a cross-site form can sign the user in", strings.Join(bad, ", "))
	case unclearSeen:
		r.add("R30", Warn, "%s: inconclusive", strings.Join(good, ", "))
	default:
		r.add("R30", Pass, "%s", strings.Join(good, ", "))
	}
}
