package check

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// inURL puts the credential in the query string instead (R24).
func (r *runner) inURL(ctx context.Context, how auth, live cred) {
	var bad, good []string
	try := func(name, value string) {
		res := r.c.do(ctx, call{step: "put the credential in the URL", method: http.MethodGet,
			path: r.cfg.Protected + "?" + url.QueryEscape(name) + "=" + url.QueryEscape(value)})
		if r.classify(res) == accepted {
			bad = append(bad, fmt.Sprintf("?%s=%s → %s", name, r.c.fp(value), res.describe()))
		} else {
			good = append(good, fmt.Sprintf("?%s= → %s", name, res.describe()))
		}
	}
	if how.cookies && len(live.cookies) > 0 {
		try(live.cookies[0].name, live.cookies[0].value)
	}
	if how.bearer && live.at != "" {
		try(r.cfg.TokenField, live.at)
	}
	switch {
	case len(bad) > 0:
		r.add("R24", Fail, "%s: a credential in a URL ends up in logs, history and Referer", strings.Join(bad, ", "))
	case len(good) > 0:
		r.add("R24", Pass, "%s", strings.Join(good, ", "))
	default:
		r.add("R24", Skip, "neither the cookies nor the access token alone open %s", r.cfg.Protected)
	}
}
