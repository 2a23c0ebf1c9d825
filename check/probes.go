package check

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// fixationProbe sends random values under the credential cookies' names
// (R2, first half: a client-chosen ID opens nothing). The second half is in
// plantedLogin.
func (r *runner) fixationProbe(ctx context.Context) {
	if len(r.names) == 0 {
		r.add("R2", Skip, "sign-in set no cookie: there is no session ID to plant")
		return
	}
	planted := r.planted()
	var res *resp
	var st state
	switch {
	case r.cookieAuth:
		res = r.probe(ctx, "send a made-up session cookie", cred{cookies: planted}, sendCookies, false)
		st = r.classify(res)
	case r.refresh == accepted:
		st, res, _ = r.refreshOnce(ctx, "A", "refresh with a made-up refresh cookie", cred{cookies: planted}, false)
	default:
		return
	}
	switch st {
	case accepted:
		r.add("R2", Fail, "a made-up %s=%s → %s: the site adopts a client-chosen value", planted[0].name, r.c.fp(planted[0].value), res.describe())
	case rejected:
		r.r2 = fmt.Sprintf("a made-up %s → %s", planted[0].name, res.describe())
	default:
		r.r2 = fmt.Sprintf("a made-up %s → %s (inconclusive)", planted[0].name, res.describe())
	}
}

// planted is a random value under every credential cookie name.
func (r *runner) planted() []nv {
	var out []nv
	for _, n := range r.names {
		out = append(out, nv{n, randomValue()})
	}
	return out
}

// duplicates sends the session cookie twice, in both orders, and under a
// prefix of the wrong case (R23).
func (r *runner) duplicates(ctx context.Context, live cred) {
	if !r.cookieAuth || len(live.cookies) == 0 {
		if r.cookieAuth || len(r.names) == 0 {
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

// inURL puts the credential in the query string instead (R24).
func (r *runner) inURL(ctx context.Context, live cred) {
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
	if r.cookieAuth && len(live.cookies) > 0 {
		try(live.cookies[0].name, live.cookies[0].value)
	}
	if r.bearerAuth && live.at != "" {
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

// forgedTokens sends the live access token re-signed with alg none, and with
// a claim changed under the old signature (R41).
func (r *runner) forgedTokens(ctx context.Context, live cred) {
	switch {
	case live.at == "":
		r.add("R41", Skip, "sign-in returned no access token")
		return
	case !r.bearerAuth:
		r.add("R41", Skip, "the access token alone does not open %s", r.cfg.Protected)
		return
	}
	if _, _, ok := jwtParts(live.at); !ok {
		r.add("R41", Skip, "the access token is opaque: nothing to forge")
		return
	}
	none := r.probe(ctx, `forge the access token with alg "none"`, cred{at: forgeNone(live.at)}, sendBearer, false)
	changed := r.probe(ctx, "change a claim under the old signature", cred{at: tamper(live.at)}, sendBearer, false)
	r.forged = none
	var bad []string
	if r.classify(none) == accepted {
		bad = append(bad, `alg "none" with no signature → `+none.describe())
	}
	if r.classify(changed) == accepted {
		bad = append(bad, "a changed exp under the old signature → "+changed.describe())
	}
	if len(bad) > 0 {
		r.add("R41", Fail, "%s: the signature is not verified", strings.Join(bad, "; "))
		return
	}
	r.add("R41", Pass, `alg "none" → %s, a changed exp under the old signature → %s`, none.describe(), changed.describe())
}

// unsafeGet sends GET to the logout path with a live session (R27). It
// returns a live credential to go on with.
func (r *runner) unsafeGet(ctx context.Context, live cred) (cred, error) {
	if r.logoutFails {
		r.add("R27", Skip, "logout does not end the session even as a POST (R4): a surviving session proves nothing")
		return live, nil
	}
	res := r.c.do(ctx, call{step: "GET the logout path", method: http.MethodGet, path: r.cfg.Logout, cookies: live.cookies, bearer: live.at})
	st, how, live := r.alive(ctx, "A", "check the session survived the GET", live)
	switch st {
	case rejected:
		r.add("R27", Fail, "GET %s → %s ended the session (%s): any link or image can sign the user out", r.cfg.Logout, res.describe(), how)
		return r.relogin(ctx, "sign in again: GET ended the session", cred{}, nil)
	case accepted:
		if res.ok() {
			r.add("R27", Warn, "GET %s → %s, though the session lives on; answer 405 with Allow: POST", r.cfg.Logout, res.describe())
		} else {
			r.add("R27", Pass, "GET %s → %s%s; the session lives on", r.cfg.Logout, res.describe(), allowHeader(res))
		}
	default:
		r.add("R27", Warn, "GET %s → %s; then %s: inconclusive", r.cfg.Logout, res.describe(), how)
	}
	return live, nil
}

func allowHeader(res *resp) string {
	if a := res.header.Get("Allow"); a != "" {
		return " (Allow: " + a + ")"
	}
	return ""
}

// crossOrigin sends the logout a cross-site page could send: the cookies,
// with Sec-Fetch-Site: cross-site (R28), then with only a foreign Origin
// (R29). It returns a live credential to go on with.
func (r *runner) crossOrigin(ctx context.Context, live cred) (cred, error) {
	if len(live.cookies) == 0 || r.logoutFails {
		why := "the credentials are not cookies: a cross-site page cannot send them"
		if r.logoutFails {
			why = "logout does not end the session even from the site itself (R4): a surviving session proves nothing"
		}
		r.add("R28", Skip, "%s", why)
		r.add("R29", Skip, "%s", why)
		return live, nil
	}
	var err error
	for _, t := range []struct {
		id, what string
		header   [][2]string
	}{
		{"R28", "a cross-site POST", [][2]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", evilOrigin}}},
		{"R29", "a POST with Origin " + evilOrigin + " and no Sec-Fetch-Site", [][2]string{{"Origin", evilOrigin}}},
	} {
		res := r.c.do(ctx, call{step: "sign out from another site (" + t.id + ")", method: http.MethodPost, path: r.cfg.Logout, cookies: live.cookies, header: t.header})
		var st state
		var how string
		st, how, live = r.alive(ctx, "A", "check the session survived", live)
		switch st {
		case rejected:
			r.add(t.id, Fail, "%s to %s → %s ended the session (%s)%s", t.what, r.cfg.Logout, res.describe(), how, r.sameSiteNote())
			if live, err = r.relogin(ctx, "sign in again: a cross-site request ended the session", cred{}, nil); err != nil {
				return live, err
			}
		case accepted:
			r.add(t.id, Pass, "%s to %s → %s; the session lives on", t.what, r.cfg.Logout, res.describe())
		default:
			r.add(t.id, Warn, "%s to %s → %s; then %s: inconclusive", t.what, r.cfg.Logout, res.describe(), how)
		}
	}
	return live, nil
}

const evilOrigin = "https://evil.test"

// sameSiteNote qualifies a cross-origin finding for SameSite cookies:
// browsers keep them off cross-site POSTs, but not off same-site ones from
// a sibling subdomain or another port.
func (r *runner) sameSiteNote() string {
	for _, n := range r.names {
		if ss := r.set[n].SameSite; ss == http.SameSiteLaxMode || ss == http.SameSiteStrictMode {
			return "; " + sameSite(ss) + " keeps the cookie off cross-site requests in browsers, but not off a sibling subdomain's or another port's"
		}
	}
	return ""
}

// newSessionOnLogin signs in while presenting a live session (R1): sign-in
// must mint new values and end the presented session.
func (r *runner) newSessionOnLogin(ctx context.Context, old cred) (cred, error) {
	fresh, res, err := r.login(ctx, "sign in again while presenting the live session", old, nil, false)
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
	st, how, _ := r.alive(ctx, "A", "check the presented session ended", old)
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

// deviceRevoke signs in a second device, planting made-up cookie values
// (R2's second half), lists the sessions and ends the second device from
// the first (R8). It returns the first device's credential and the second's
// if it is still alive.
func (r *runner) deviceRevoke(ctx context.Context, first cred) (cred, error) {
	var planted []nv
	if len(r.names) > 0 {
		planted = r.planted()
	}
	second, err := r.relogin(ctx, "sign in a second device, presenting made-up cookies", cred{}, planted)
	if err != nil {
		return first, err
	}
	if planted != nil && !r.has("R2", "") {
		adopted := ""
		for _, kv := range planted {
			if second.cookie(kv.name) == kv.value {
				adopted = kv.name
			}
		}
		if adopted != "" {
			r.add("R2", Fail, "sign-in with a made-up %s kept that value (no new Set-Cookie for it): session fixation", adopted)
		} else {
			prefix := ""
			if r.r2 != "" {
				prefix = r.r2 + "; "
			}
			r.add("R2", Pass, "%ssign-in with a made-up %s minted its own", prefix, planted[0].name)
		}
	}
	r.second = second
	if r.cfg.Sessions == Off {
		r.add("R8", Skip, "the sessions checks are off (--sessions off)")
		return first, nil
	}
	list := r.c.do(ctx, call{step: "list the sessions", method: http.MethodGet, path: r.cfg.Sessions, cookies: second.cookies, bearer: second.at})
	switch {
	case list.status == http.StatusNotFound || list.status == http.StatusMethodNotAllowed:
		r.add("R8", Skip, "the site has no sessions list (GET %s → %d)", r.cfg.Sessions, list.status)
		return first, nil
	case !list.ok():
		r.add("R8", Warn, "GET %s → %s: cannot list the sessions", r.cfg.Sessions, list.describe())
		return first, nil
	}
	r.credentialed("GET "+r.cfg.Sessions, list)
	id := currentID(list.json)
	switch {
	case list.json == nil:
		r.add("R8", Skip, "GET %s → %d but not a JSON object (a page for every path?); set --sessions or --sessions off", r.cfg.Sessions, list.status)
		return first, nil
	case id == "":
		r.add("R8", Skip, "GET %s → %d, but no entry with \"current\": true and an \"id\"", r.cfg.Sessions, list.status)
		return first, nil
	}
	del := r.c.do(ctx, call{step: "end the second device from the first", method: http.MethodDelete,
		path: strings.TrimRight(r.cfg.Sessions, "/") + "/" + url.PathEscape(id), cookies: first.cookies, bearer: first.at})
	if !del.done() {
		r.add("R8", Fail, "DELETE %s/%s → %s%s", r.cfg.Sessions, id, del.describe(), suffix(del.problem()))
		return first, nil
	}
	sst, show, second := r.alive(ctx, "A", "check the ended device", second)
	r.second = second
	fst, fhow, first := r.alive(ctx, "A", "check the device that asked", first)
	switch {
	case sst == accepted:
		r.add("R8", Fail, "DELETE %s/%s → %d, yet that device lives on: %s", r.cfg.Sessions, id, del.status, show)
	case fst != accepted:
		r.add("R8", Fail, "DELETE %s/%s → %d ended the device that asked too: %s", r.cfg.Sessions, id, del.status, fhow)
	case sst == rejected:
		r.add("R8", Pass, "DELETE %s/%s → %d: that device %s, the other %s", r.cfg.Sessions, id, del.status, arrow(show), arrow(fhow))
		r.second = cred{}
	default:
		r.add("R8", Warn, "DELETE %s/%s → %d; then %s: inconclusive", r.cfg.Sessions, id, del.status, show)
	}
	return first, nil
}

// arrow turns "the cookie → 401" into "→ 401".
func arrow(how string) string {
	if _, after, ok := strings.Cut(how, "→ "); ok {
		return "→ " + after
	}
	return how
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

// logoutEverywhere signs out everywhere from one device and checks another
// (R6).
func (r *runner) logoutEverywhere(ctx context.Context, first cred) error {
	if r.cfg.LogoutAll == Off {
		r.add("R6", Skip, "logout everywhere is off (--logout-all off)")
		return nil
	}
	other := r.second
	if len(other.cookies) == 0 && other.at == "" {
		var err error
		if other, err = r.relogin(ctx, "sign in another device", cred{}, nil); err != nil {
			return err
		}
	}
	res := r.c.do(ctx, call{step: "sign out everywhere", method: http.MethodPost, path: r.cfg.LogoutAll, cookies: first.cookies, bearer: first.at})
	switch {
	case res.status == http.StatusNotFound || res.status == http.StatusMethodNotAllowed:
		r.add("R6", Skip, "the site has no logout everywhere (POST %s → %d)", r.cfg.LogoutAll, res.status)
		return nil
	case !res.done():
		r.add("R6", Fail, "POST %s with a live session → %s%s", r.cfg.LogoutAll, res.describe(), suffix(res.problem()))
		return nil
	}
	r.credentialed("POST "+r.cfg.LogoutAll, res)
	fst, fhow, _ := r.alive(ctx, "A", "check this device", first)
	ost, ohow, _ := r.alive(ctx, "A", "check the other device", other)
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

// rotation walks a refresh family RT1 → RT2 → RT3, reuses RT1, and checks
// the family died (R33, R34).
func (r *runner) rotation(ctx context.Context) error {
	if r.refresh != accepted {
		return nil
	}
	if !r.rotates {
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
		r.add("R33", Fail, "%s → %s → %s, then the spent %s refreshed again (%s)", f1, f2, f3, f1, res3.describe())
		r.add("R34", Skip, "the spent token was accepted (R33)")
		return nil
	case rejected:
		r.add("R33", Pass, "%s → %s → %s; the spent %s → %s", f1, f2, f3, f1, res3.describe())
	default:
		r.add("R33", Warn, "%s → %s → %s; the spent %s → %s: inconclusive", f1, f2, f3, f1, res3.describe())
		r.add("R34", Skip, "the reuse answer was inconclusive")
		return nil
	}
	var bad, good []string
	if r.atImmediate && c3.at != "" {
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

// contentTypes sends the sign-in as text/plain and as a form: a JSON
// endpoint must refuse both, since a cross-site form can send them without
// a preflight (R30).
func (r *runner) contentTypes(ctx context.Context) {
	if r.cfg.LoginFormat == "form" {
		r.add("R30", Skip, "sign-in takes a form (--login-format form)")
		return
	}
	cfg := r.cfg
	fields := map[string]string{cfg.UserField: cfg.User, cfg.PasswordField: cfg.Password.Reveal()}
	for k, v := range cfg.LoginExtra {
		fields[k] = v
	}
	vals := url.Values{}
	for k, v := range fields {
		vals.Set(k, v)
	}
	note := []string{cfg.UserField + " " + cfg.User, cfg.PasswordField + " (hidden)"}
	var bad, good []string
	unclearSeen := false
	for _, t := range []struct {
		ctype string
		body  []byte
	}{{"text/plain", jsonBody(fields)}, {"application/x-www-form-urlencoded", []byte(vals.Encode())}} {
		res := r.c.do(ctx, call{step: "sign in with Content-Type " + t.ctype, method: cfg.LoginMethod, path: cfg.LoginPath,
			body: t.body, ctype: t.ctype, bodyNote: note})
		got := r.merge(cred{}, res)
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

// instances signs in on A, checks B honours it, signs out on A and replays
// on B (R51).
func (r *runner) instances(ctx context.Context) error {
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
	st, how, c := r.alive(ctx, "B", "use it on B", c)
	if st == accepted {
		r.c.note(r.c.last(), "B reads the same store")
	}
	if st != accepted {
		r.add("R51", Skip, "B did not honour a fresh credential from A (%s): are they instances of one site?", how)
		return nil
	}
	out := r.c.do(ctx, r.logoutCall("sign out on A", c, false))
	if !out.done() {
		r.add("R51", Warn, "POST %s on A → %s", r.cfg.Logout, out.describe())
		return nil
	}
	st, how, _ = r.alive(ctx, "B", "replay on B", c)
	onB := r.c.last()
	if st == accepted {
		// Not an instance problem if A honours it too: that is R4.
		if ast, ahow, _ := r.alive(ctx, "A", "replay on A", c); ast == accepted {
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
