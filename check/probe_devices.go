package check

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// deviceRevoke lists the sessions as the second device, ends it from the
// first (R8), and checks both. It returns both credentials to go on with,
// the second's empty once it is known to be dead.
func (r *runner) deviceRevoke(ctx context.Context, lv liveness, first, second cred) (cred, cred) {
	if r.cfg.Sessions == Off {
		r.add("R8", Skip, "the sessions checks are off (--sessions off)")
		return first, second
	}
	list := r.c.do(ctx, call{step: "list the sessions", method: http.MethodGet, path: r.cfg.Sessions, cookies: second.cookies, bearer: second.at})
	switch {
	case list.status == http.StatusNotFound || list.status == http.StatusMethodNotAllowed:
		r.add("R8", Skip, "the site has no sessions list (GET %s → %d)", r.cfg.Sessions, list.status)
		return first, second
	case !list.ok():
		r.add("R8", Warn, "GET %s → %s: cannot list the sessions", r.cfg.Sessions, list.describe())
		return first, second
	}
	r.credentialed("GET "+r.cfg.Sessions, list)
	id := currentID(list.json)
	switch {
	case list.json == nil:
		r.add("R8", Skip, "GET %s → %d but not a JSON object (a page for every path?); set --sessions or --sessions off", r.cfg.Sessions, list.status)
		return first, second
	case id == "":
		r.add("R8", Skip, "GET %s → %d, but no entry with \"current\": true and an \"id\"", r.cfg.Sessions, list.status)
		return first, second
	}
	del := r.c.do(ctx, call{step: "end the second device from the first", method: http.MethodDelete,
		path: strings.TrimRight(r.cfg.Sessions, "/") + "/" + url.PathEscape(id), cookies: first.cookies, bearer: first.at, site: true})
	if !del.done() {
		r.add("R8", Fail, "DELETE %s/%s → %s%s", r.cfg.Sessions, id, del.describe(), suffix(del.problem()))
		return first, second
	}
	var sst, fst state
	var show, fhow string
	sst, show, second = r.alive(ctx, lv, "A", "check the ended device", second)
	fst, fhow, first = r.alive(ctx, lv, "A", "check the device that asked", first)
	switch {
	case sst == accepted:
		r.add("R8", Fail, "DELETE %s/%s → %d, yet that device lives on: %s", r.cfg.Sessions, id, del.status, show)
	case fst != accepted:
		r.add("R8", Fail, "DELETE %s/%s → %d ended the device that asked too: %s", r.cfg.Sessions, id, del.status, fhow)
	case sst == rejected:
		r.add("R8", Pass, "DELETE %s/%s → %d: that device %s, the other %s", r.cfg.Sessions, id, del.status, arrow(show), arrow(fhow))
		second = cred{}
	default:
		r.add("R8", Warn, "DELETE %s/%s → %d; then %s: inconclusive", r.cfg.Sessions, id, del.status, show)
	}
	return first, second
}

// currentID finds the current session's id in a sessions list: the first
// array of objects in the body with "current": true.
func currentID(body map[string]any) string {
	for _, v := range body {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		for _, e := range list {
			o, ok := e.(map[string]any)
			if !ok || o["current"] != true {
				continue
			}
			switch id := o["id"].(type) {
			case string:
				return id
			case float64:
				return fmt.Sprint(id)
			}
		}
	}
	return ""
}
