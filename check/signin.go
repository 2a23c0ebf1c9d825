package check

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// login signs in, presenting the cookies and bearer of present (R1) or the
// planted cookies (R2).
func (r *runner) login(ctx context.Context, step string, present cred, planted []nv, story bool) (cred, *resp, error) {
	cfg := r.cfg
	k := call{step: step, method: cfg.LoginMethod, path: cfg.LoginPath, story: story,
		cookies: present.cookies, bearer: present.at,
		bodyNote: []string{cfg.UserField + " " + cfg.User, cfg.PasswordField + " (hidden)"}}
	if planted != nil {
		k.cookies = planted
	}
	fields := map[string]string{cfg.UserField: cfg.User, cfg.PasswordField: cfg.Password.Reveal()}
	for key, v := range cfg.LoginExtra {
		fields[key] = v
	}
	if cfg.LoginFormat == "form" {
		vals := url.Values{}
		for key, v := range fields {
			vals.Set(key, v)
		}
		k.body, k.ctype = []byte(vals.Encode()), "application/x-www-form-urlencoded"
	} else {
		k.body, k.ctype = jsonBody(fields), "application/json"
	}
	res := r.c.do(ctx, k)
	switch {
	case res.err != nil:
		return cred{}, res, fmt.Errorf("sign-in: %s %s: %s", cfg.LoginMethod, cfg.LoginPath, cleanErr(res.err))
	case res.status == http.StatusTooManyRequests && r.names != nil:
		return cred{}, res, r.stop(fmt.Sprintf("sign-in was rate limited (429) beyond --max-wait %v", cfg.MaxWait))
	case res.status >= 400 && r.names != nil:
		// A later sign-in: report what was found so far.
		return cred{}, res, r.stop(fmt.Sprintf("a later sign-in (%s) answered %s%s", step, res.describe(), suffix(res.problem())))
	case res.status == http.StatusNotFound || res.status == http.StatusMethodNotAllowed:
		return cred{}, res, fmt.Errorf("sign-in failed: %s %s answered %d; set --login (and --login-method) to the site's sign-in endpoint", cfg.LoginMethod, cfg.LoginPath, res.status)
	case res.status >= 400:
		return cred{}, res, fmt.Errorf("sign-in failed: %s %s answered %d%s to %s fields %s and %s; check --user and the password, or set --user-field, --password-field, --login-format", cfg.LoginMethod, cfg.LoginPath, res.status, suffix(res.problem()), cfg.LoginFormat, cfg.UserField, cfg.PasswordField)
	}
	if r.names == nil {
		r.learnCookies(res)
	}
	// As in a browser, the cookies sent stay unless the answer replaces
	// them: a site that keeps the presented session ID sets no cookie.
	var sent []nv
	for _, kv := range k.cookies {
		if slices.Contains(r.names, kv.name) {
			sent = append(sent, kv)
		}
	}
	got := r.merge(cred{cookies: sent}, res)
	if len(got.cookies) == 0 && got.at == "" {
		return cred{}, res, fmt.Errorf("sign-in answered %d but set no cookie and returned no %q; is %s the sign-in endpoint?", res.status, cfg.TokenField, cfg.LoginPath)
	}
	if r.creds == "" {
		r.describeCreds(got)
	}
	r.credentialed(cfg.LoginMethod+" "+cfg.LoginPath, res)
	if story {
		r.c.note(res.seq, "session "+r.sessionFP(got)+" created")
	}
	return got, res, nil
}

// relogin is login for the later steps, without presenting anything.
func (r *runner) relogin(ctx context.Context, step string, present cred, planted []nv) (cred, error) {
	c, _, err := r.login(ctx, step, present, planted, false)
	return c, err
}

// learnCookies takes the credential cookie names from the first sign-in:
// Config.Cookies, or every cookie it sets.
func (r *runner) learnCookies(res *resp) {
	r.names = []string{}
	want := map[string]bool{}
	for _, n := range r.cfg.Cookies {
		want[n] = true
	}
	for _, ck := range res.cookies {
		if isDeletion(ck) || r.set[ck.Name] != nil || (len(want) > 0 && !want[ck.Name]) {
			continue
		}
		r.names = append(r.names, ck.Name)
		r.set[ck.Name], r.setAt[ck.Name] = ck, r.cfg.LoginPath
	}
}

// merge returns old updated by what an answer hands out.
func (r *runner) merge(old cred, res *resp) cred {
	out := old.clone()
	for _, name := range r.names {
		ck := res.setCookie(name)
		if ck == nil || isDeletion(ck) {
			continue
		}
		r.c.seen(ck.Value)
		r.cookieVals = append(r.cookieVals, ck.Value)
		found := false
		for i := range out.cookies {
			if out.cookies[i].name == name {
				out.cookies[i].value, found = ck.Value, true
			}
		}
		if !found {
			out.cookies = append(out.cookies, nv{name, ck.Value})
		}
		if r.set[name] == nil {
			r.set[name] = ck
		}
	}
	if at := res.str(r.cfg.TokenField); at != "" {
		out.at = at
		r.c.seen(at)
	}
	if rt := res.str(r.cfg.RefreshField); rt != "" {
		out.rt = rt
		r.c.seen(rt)
	}
	return out
}

func (r *runner) describeCreds(c cred) {
	var parts []string
	if c.at != "" {
		kind := "opaque"
		if h, _, ok := jwtParts(c.at); ok {
			kind = fmt.Sprintf("JWT, %v", h["alg"])
		}
		parts = append(parts, fmt.Sprintf("access token (%s)", kind))
	}
	if c.rt != "" {
		parts = append(parts, "refresh token in the body")
	}
	for _, kv := range c.cookies {
		parts = append(parts, "cookie "+kv.name)
	}
	r.creds = strings.Join(parts, " + ")
}

// sessionFP names a session in notes by the fingerprint of its first
// credential.
func (r *runner) sessionFP(c cred) string {
	switch {
	case len(c.cookies) > 0:
		return r.c.fp(c.cookies[0].value)
	case c.rt != "":
		return r.c.fp(c.rt)
	}
	return r.c.fp(c.at)
}
