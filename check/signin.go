package check

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// jar is what the first sign-in taught about the credential cookies: their
// names (Config.Cookies, or every cookie it set), how each was set, and the
// path of the answer that set it. Nothing changes it afterwards.
type jar struct {
	names []string
	set   map[string]*http.Cookie
	setAt map[string]string
}

// drop takes name out of the credential cookies.
func (j *jar) drop(name string) {
	j.names = slices.DeleteFunc(j.names, func(n string) bool { return n == name })
	delete(j.set, name)
	delete(j.setAt, name)
}

// learnt reports whether the first sign-in has filled in j.
func (j jar) learnt() bool { return j.set != nil }

// signIn is the first sign-in. It returns the credential, and the jar every
// later stage reads; it also describes the credentials for the report. Any
// failure is an error: the run cannot get going without it.
func (r *runner) signIn(ctx context.Context) (cred, jar, error) {
	cfg := r.cfg
	r.openSignInPage(ctx, true, nil)
	res := r.c.do(ctx, r.loginCall("sign in", cred{}, nil, true))
	if res.status == http.StatusForbidden && cfg.LoginFormat != "form" && !r.formPage {
		// A site that wants a CSRF token from its page: open the page, as
		// a browser would have, and try once more.
		r.formPage = true
		r.openSignInPage(ctx, true, nil)
		res = r.c.do(ctx, r.loginCall("sign in with the page's CSRF token", cred{}, nil, true))
	}
	switch {
	case res.err != nil:
		return cred{}, jar{}, loginErr(cfg, res)
	case res.status == http.StatusNotFound || res.status == http.StatusMethodNotAllowed:
		return cred{}, jar{}, fmt.Errorf("sign-in failed: %s %s answered %d; set --login (and --login-method) to the site's sign-in endpoint", cfg.LoginMethod, cfg.LoginPath, res.status)
	case res.status == http.StatusForbidden || res.status == 419 || res.status == 422:
		// Django answers a missing CSRF token 403, Laravel 419, Rails 422.
		return cred{}, jar{}, fmt.Errorf("sign-in failed: %s %s answered %d%s even with the sign-in page's cookies and hidden inputs; if the site wants a CSRF token another way, name it with --csrf-field, --csrf-header or --csrf-cookie; else check --user and the password", cfg.LoginMethod, cfg.LoginPath, res.status, suffix(res.problem()))
	case res.status >= 400:
		return cred{}, jar{}, fmt.Errorf("sign-in failed: %s %s answered %d%s to %s fields %s and %s; check --user and the password, or set --user-field, --password-field, --login-format", cfg.LoginMethod, cfg.LoginPath, res.status, suffix(res.problem()), cfg.LoginFormat, cfg.UserField, cfg.PasswordField)
	}
	j := learnCookies(cfg, res)
	r.c.credentialNames(j.names)
	got, err := r.signedIn(j, cred{}, res)
	if err != nil {
		return cred{}, j, err
	}
	r.creds = describeCreds(got)
	r.c.note(res.seq, "session "+r.sessionFP(got)+" created")
	return got, j, nil
}

// login signs in again, presenting the cookies and bearer of present (R1)
// or the planted cookies (R2). A refusal stops the run, so that what was
// found so far is reported.
func (r *runner) login(ctx context.Context, step string, present cred, planted []nv) (cred, *resp, error) {
	cfg := r.cfg
	k := r.loginCall(step, present, planted, false)
	if page := r.openSignInPage(ctx, false, k.cookies); page != nil {
		// As in a browser, what the page set goes with the sign-in: a
		// session cookie that holds the form's CSRF token (Rails').
		for _, name := range r.jar.names {
			if ck := page.setCookie(name); ck != nil && !isDeletion(ck) {
				k.cookies = slices.DeleteFunc(slices.Clone(k.cookies), func(kv nv) bool { return kv.name == name })
				k.cookies = append(k.cookies, nv{name, ck.Value})
			}
		}
		k = r.loginCall(step, cred{cookies: k.cookies, at: present.at}, nil, false)
	}
	res := r.c.do(ctx, k)
	switch {
	case res.err != nil:
		return cred{}, res, loginErr(cfg, res)
	case res.status == http.StatusTooManyRequests:
		return cred{}, res, r.stop(fmt.Sprintf("sign-in was rate limited (429) beyond --max-wait %v", cfg.MaxWait))
	case res.status >= 400:
		return cred{}, res, r.stop(fmt.Sprintf("a later sign-in (%s) answered %s%s", step, res.describe(), suffix(res.problem())))
	}
	// As in a browser, the cookies sent stay unless the answer replaces
	// them: a site that keeps the presented session ID sets no cookie.
	var sent []nv
	for _, kv := range k.cookies {
		if slices.Contains(r.jar.names, kv.name) {
			sent = append(sent, kv)
		}
	}
	got, err := r.signedIn(r.jar, cred{cookies: sent}, res)
	return got, res, err
}

// relogin is login for the later steps, without presenting anything.
func (r *runner) relogin(ctx context.Context, step string, present cred, planted []nv) (cred, error) {
	c, _, err := r.login(ctx, step, present, planted)
	return c, err
}

// loginCall is a sign-in request, presenting the cookies and bearer of
// present, or the planted cookies.
func (r *runner) loginCall(step string, present cred, planted []nv, story bool) call {
	cfg := r.cfg
	k := call{step: step, method: cfg.LoginMethod, path: cfg.LoginPath, story: story, site: true,
		cookies: present.cookies, bearer: present.at, bodyNote: loginNote(cfg)}
	if planted != nil {
		k.cookies = planted
	}
	r.fillForm(&k, loginFields(cfg))
	return k
}

// fillForm gives k its body: fields, in Config.LoginFormat; a form also
// carries the hidden inputs of the page's form for k.path.
func (r *runner) fillForm(k *call, fields map[string]string) {
	if r.cfg.LoginFormat != "form" {
		k.body, k.ctype = jsonBody(fields), "application/json"
		return
	}
	for _, kv := range r.c.formFields(k.path) {
		if _, mine := fields[kv.name]; !mine {
			fields[kv.name] = kv.value
			k.bodyNote = append(k.bodyNote, kv.name+" (from the page)")
		}
	}
	k.body, k.ctype = formBody(fields), "application/x-www-form-urlencoded"
}

// openSignInPage GETs the sign-in page before a form sign-in, as a
// browser does: its cookies and hidden inputs (a CSRF token) go with the
// sign-in.
func (r *runner) openSignInPage(ctx context.Context, story bool, cookies []nv) *resp {
	if r.cfg.LoginFormat != "form" && !r.formPage {
		return nil
	}
	return r.c.do(ctx, call{step: "open the sign-in page", method: http.MethodGet, path: r.cfg.LoginPath, story: story, cookies: cookies})
}

// loginFields are the fields of a sign-in body: the user, the password and
// Config.LoginExtra.
func loginFields(cfg Config) map[string]string {
	fields := map[string]string{cfg.UserField: cfg.User, cfg.PasswordField: cfg.Password.Reveal()}
	for key, v := range cfg.LoginExtra {
		fields[key] = v
	}
	return fields
}

// loginNote describes a sign-in body in an exchange, without the password.
func loginNote(cfg Config) []string {
	return []string{cfg.UserField + " " + cfg.User, cfg.PasswordField + " (hidden)"}
}

func formBody(fields map[string]string) []byte {
	vals := url.Values{}
	for key, v := range fields {
		vals.Set(key, v)
	}
	return []byte(vals.Encode())
}

func loginErr(cfg Config, res *resp) error {
	return fmt.Errorf("sign-in: %s %s: %s", cfg.LoginMethod, cfg.LoginPath, cleanErr(res.err))
}

// signedIn takes the credential from a sign-in's 2xx or 3xx answer: old
// updated by what it hands out. An answer that hands out nothing is an
// error.
func (r *runner) signedIn(j jar, old cred, res *resp) (cred, error) {
	got := r.merge(j, old, res)
	if len(got.cookies) == 0 && got.at == "" {
		return cred{}, fmt.Errorf("sign-in answered %d but set no cookie and returned no %q; is %s the sign-in endpoint?", res.status, r.cfg.TokenField, r.cfg.LoginPath)
	}
	r.credentialed(r.cfg.LoginMethod+" "+r.cfg.LoginPath, res)
	return got, nil
}

// learnCookies takes the credential cookie names from the first sign-in:
// Config.Cookies, or every cookie it sets.
func learnCookies(cfg Config, res *resp) jar {
	j := jar{names: []string{}, set: map[string]*http.Cookie{}, setAt: map[string]string{}}
	want := map[string]bool{}
	for _, n := range cfg.Cookies {
		want[n] = true
	}
	for _, ck := range res.cookies {
		if isDeletion(ck) || j.set[ck.Name] != nil || (len(want) > 0 && !want[ck.Name]) {
			continue
		}
		j.names = append(j.names, ck.Name)
		j.set[ck.Name], j.setAt[ck.Name] = ck, cfg.LoginPath
	}
	return j
}

// merge returns old updated by what an answer hands out under the
// credential cookie names of j, the token field and the refresh field. It
// records every credential it finds: the client scrubs them from the
// report, the ledger looks for the cookie values in bodies (R17).
func (r *runner) merge(j jar, old cred, res *resp) cred {
	out := old.clone()
	for _, name := range j.names {
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

// describeCreds says what sign-in returned, for the report: "access token
// (JWT, EdDSA) + cookie __Host-refresh".
func describeCreds(c cred) string {
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
	return strings.Join(parts, " + ")
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
