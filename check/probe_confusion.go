package check

import (
	"context"
	"fmt"
	"strings"
)

// maxConfusedCookies bounds how many credential cookies R42 presents as a
// bearer token when it cannot tell which one is the refresh token.
const maxConfusedCookies = 3

// tokenConfusion presents each kind of token where the other belongs
// (R42): the refresh token as Authorization: Bearer on the protected path,
// and the access token to the refresh endpoint as the refresh token. Both
// must be refused. It tries what the site makes observable: the first
// needs a refresh token (the body's, or the cookies when the refresh
// endpoint works and the cookies alone do not open the protected path) and
// a site that takes bearer tokens; the second an access token and a
// refresh endpoint that works. A site may end the session on such misuse;
// tokenConfusion then signs in again, and returns a live credential to go
// on with either way.
func (r *runner) tokenConfusion(ctx context.Context, lv liveness, live cred) (cred, error) {
	switch {
	case live.at == "":
		r.add("R42", Skip, "sign-in returned no access token (%s): no token to take for another", r.creds)
		return live, nil
	case live.rt == "" && lv.refresh != accepted:
		r.add("R42", Skip, "sign-in returned no refresh token in the body, and no refresh endpoint works: no token to take for another")
		return live, nil
	}
	rts := refreshTokens(lv, live)
	asBearer := lv.bearer && len(rts) > 0
	asRefresh := lv.refresh == accepted && (live.rt != "" || len(live.cookies) == 1)
	var notTried []string
	switch {
	case asBearer:
	case len(rts) == 0:
		notTried = append(notTried, fmt.Sprintf("the refresh token was not sent as a bearer token: the cookies open %s on their own, so none is plainly the refresh token", r.cfg.Protected))
	default:
		notTried = append(notTried, "the refresh token was not sent as a bearer token: the access token alone does not open "+r.cfg.Protected)
	}
	switch {
	case asRefresh:
	case lv.refresh != accepted:
		notTried = append(notTried, "the access token was not sent as the refresh token: no refresh endpoint works")
	default:
		notTried = append(notTried, fmt.Sprintf("the access token was not sent as the refresh token: the refresh token is one of %d cookies", len(live.cookies)))
	}
	if !asBearer && !asRefresh {
		r.add("R42", Skip, "%s", strings.Join(notTried, "; "))
		return live, nil
	}

	var bad, unclearOnes, good []string
	file := func(st state, what string) {
		switch st {
		case accepted:
			bad = append(bad, what)
		case rejected:
			good = append(good, what)
		default:
			unclearOnes = append(unclearOnes, what)
		}
	}
	if asBearer {
		for _, rt := range rts {
			what := "the refresh token"
			if len(rts) > 1 {
				what = "the cookie " + rt.name
			}
			res := r.probe(ctx, "send the refresh token as an access token", cred{at: rt.value}, sendBearer, false)
			file(r.classify(res), fmt.Sprintf("%s %s as Authorization: Bearer → %s", what, r.c.fp(rt.value), res.describe()))
		}
	}
	if asRefresh {
		swapped := cred{rt: live.at}
		if live.rt == "" {
			swapped = cred{cookies: []nv{{live.cookies[0].name, live.at}}}
		}
		st, res, _ := r.refreshOnce(ctx, "A", "send the access token as the refresh token", swapped, false)
		file(st, fmt.Sprintf("the access token %s as the refresh token → %s", r.c.fp(live.at), res.describe()))
	}

	marks := tokenTypes(live)
	switch {
	case len(bad) > 0:
		why := "the site does not tell its tokens apart"
		if _, _, ok := jwtParts(live.at); ok && len(marks) == 0 {
			why += "; the access token names no type (a typ header such as at+jwt, RFC 9068, or a token_use claim) to check"
		}
		r.add("R42", Fail, "%s: %s", strings.Join(bad, "; "), why)
	case len(unclearOnes) > 0:
		r.add("R42", Warn, "%s: inconclusive", strings.Join(append(good, unclearOnes...), "; "))
	default:
		r.add("R42", Pass, "%s", strings.Join(append(append(good, marks...), notTried...), "; "))
	}

	if st, _, next := r.alive(ctx, lv, "A", "check the session survived the swapped tokens", live); st == accepted {
		return next, nil
	}
	return r.relogin(ctx, "sign in again: the swapped tokens ended the session", cred{}, nil)
}

// refreshTokens returns what of c to present as a bearer token: the
// body's refresh token (with no name), or, when the refresh endpoint works
// and the cookies alone do not open the protected path, the credential
// cookies, at most maxConfusedCookies: the refresh token is one of them.
func refreshTokens(lv liveness, c cred) []nv {
	if c.rt != "" {
		return []nv{{"", c.rt}}
	}
	if lv.refresh != accepted || lv.cookies {
		return nil
	}
	var out []nv
	for _, kv := range c.cookies {
		if kv.value != c.at && len(out) < maxConfusedCookies {
			out = append(out, kv)
		}
	}
	return out
}

// tokenTypes says what the tokens of c say of their own type: a JWT's
// header typ other than plain "JWT", and its typ, token_use or token_type
// claim. These are what a verifier can check to refuse the other kind.
func tokenTypes(c cred) []string {
	var out []string
	for _, t := range []struct{ name, tok string }{{"access token", c.at}, {"refresh token", c.rt}} {
		h, claims, ok := jwtParts(t.tok)
		if !ok {
			continue
		}
		var says []string
		if typ, _ := h["typ"].(string); typ != "" && !strings.EqualFold(typ, "JWT") && len(typ) <= 32 {
			says = append(says, fmt.Sprintf("typ %q in its header", typ))
		}
		for _, k := range []string{"typ", "token_use", "token_type"} {
			if v, _ := claims[k].(string); v != "" && len(v) <= 32 {
				says = append(says, fmt.Sprintf("%s %q", k, v))
			}
		}
		if len(says) > 0 {
			out = append(out, "the "+t.name+" says "+strings.Join(says, " and "))
		}
	}
	return out
}
