package check

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// What a browser keeps between requests besides the credential: the other
// cookies the site sets (a CSRF cookie, a locale) and the CSRF tokens its
// pages carry. The client sends the cookies with every request, as a
// browser does, and the tokens with the unsafe requests the site's own
// pages make (sign-in, sign-out, refresh), never with the probes that play
// another site.

// siteState is the client's memory of the site, guarded by client.mu.
type siteState struct {
	cookies []nv            // non-credential cookies, in the order first set
	creds   map[string]bool // credential cookie names: calls carry those themselves
	meta    string          // the last <meta name="csrf-token"> (or _csrf, csrf_token) seen
	forms   map[string][]nv // each form's hidden inputs, by the path it posts to
	tokens  bool            // a page carried a CSRF token: fetch a fresh one before a sign-out
}

// csrfCookies are the cookie-to-header conventions the checker mirrors:
// Django's, and Angular's, Axios's and Laravel's.
var csrfCookies = [][2]string{{"csrftoken", "X-CSRFToken"}, {"XSRF-TOKEN", "X-XSRF-TOKEN"}}

// absorb takes in what an answer to path teaches about the site: the
// cookies it sets under names that are not credentials, and the CSRF
// tokens of an HTML page, which it returns so that the report can be
// scrubbed of them. base is the target's path prefix: forms are kept by
// the path the checker's calls name. Called with c.mu held.
func (s *siteState) absorb(base, path string, res *resp) (tokens []string) {
	for _, ck := range res.cookies {
		if s.creds[ck.Name] {
			continue
		}
		i := slices.IndexFunc(s.cookies, func(kv nv) bool { return kv.name == ck.Name })
		switch {
		case isDeletion(ck) && i >= 0:
			s.cookies = slices.Delete(s.cookies, i, i+1)
		case isDeletion(ck):
		case i >= 0:
			s.cookies[i].value = ck.Value
		default:
			s.cookies = append(s.cookies, nv{ck.Name, ck.Value})
		}
	}
	if !strings.Contains(res.header.Get("Content-Type"), "html") {
		return nil
	}
	page := string(res.body)
	if m := metaToken(page); m != "" {
		s.meta, s.tokens = m, true
		tokens = append(tokens, m)
	}
	for action, hidden := range hiddenInputs(base+path, page) {
		action, ok := strings.CutPrefix(action, base)
		if !ok || !strings.HasPrefix(action, "/") {
			continue // a form that posts outside the target
		}
		if s.forms == nil {
			s.forms = map[string][]nv{}
		}
		s.forms[action] = hidden
		for _, kv := range hidden {
			if csrfName(kv.name) {
				s.tokens = true
				tokens = append(tokens, kv.value)
			}
		}
	}
	return tokens
}

// ambient is the site cookies to send beside the cookies a call carries.
func (s *siteState) ambient(carried []nv) []nv {
	var out []nv
	for _, kv := range s.cookies {
		if !s.creds[kv.name] && !slices.ContainsFunc(carried, func(c nv) bool { return c.name == kv.name }) {
			out = append(out, kv)
		}
	}
	return out
}

// csrfHeaders are the headers that carry the site's CSRF token on an
// unsafe request of its own pages, each with where the token came from.
func (s *siteState) csrfHeaders(cfg Config) [][3]string {
	var out [][3]string
	add := func(name, value, from string) {
		if value != "" && !slices.ContainsFunc(out, func(h [3]string) bool { return strings.EqualFold(h[0], name) }) {
			out = append(out, [3]string{name, value, from})
		}
	}
	cookie := func(name string) string {
		for _, kv := range s.cookies {
			if kv.name == name {
				// Laravel's XSRF-TOKEN is URL-encoded; the header
				// carries it decoded, as Axios and Angular send it.
				if v, err := url.PathUnescape(kv.value); err == nil {
					return v
				}
				return kv.value
			}
		}
		return ""
	}
	if cfg.CSRFCookie != "" {
		add(or(cfg.CSRFHeader, "X-CSRF-Token"), cookie(cfg.CSRFCookie), "cookie "+cfg.CSRFCookie)
	}
	if s.meta != "" {
		add(or(cfg.CSRFHeader, "X-CSRF-Token"), s.meta, "the page's csrf-token")
	}
	for _, cv := range csrfCookies {
		add(cv[1], cookie(cv[0]), "cookie "+cv[0])
	}
	return out
}

// formFields is what a form posting to path carries besides what the
// checker fills in: its hidden inputs, and Config.CSRFField set to the
// site's token.
func (s *siteState) formFields(cfg Config, path string) []nv {
	out := append([]nv(nil), s.forms[path]...)
	if cfg.CSRFField != "" && !slices.ContainsFunc(out, func(kv nv) bool { return kv.name == cfg.CSRFField }) {
		if hs := s.csrfHeaders(cfg); len(hs) > 0 {
			out = append(out, nv{cfg.CSRFField, hs[0][1]})
		}
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// csrfName reports whether a form field or meta name looks like a CSRF
// token's.
func csrfName(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "csrf") || strings.Contains(n, "xsrf") || n == "authenticity_token" || n == "_token"
}

// The HTML the checker reads is a site's own sign-in and account pages; a
// tag scanner is enough, and a hostile page can only make it carry junk.
var (
	tagRe   = regexp.MustCompile(`(?is)<(form|/form|input|meta)\b([^>]*)>`)
	attrsRe = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
)

func tagAttrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrsRe.FindAllStringSubmatch(s, -1) {
		key := strings.ToLower(m[1])
		if _, dup := out[key]; !dup {
			out[key] = html.UnescapeString(m[2] + m[3] + m[4])
		}
	}
	return out
}

// metaToken is the content of a page's CSRF meta tag, Rails' and
// Laravel's <meta name="csrf-token">, or "". Rails' csrf-param and
// Spring's _csrf_header name the field and header, not the token.
func metaToken(page string) string {
	for _, m := range tagRe.FindAllStringSubmatch(page, -1) {
		if strings.EqualFold(m[1], "meta") {
			a := tagAttrs(m[2])
			n := strings.ToLower(a["name"])
			if csrfName(n) && !strings.Contains(n, "param") && !strings.Contains(n, "header") && a["content"] != "" {
				return a["content"]
			}
		}
	}
	return ""
}

// hiddenInputs returns the hidden inputs of each form on a page answered
// for path, by the path the form posts to.
func hiddenInputs(path, page string) map[string][]nv {
	out := map[string][]nv{}
	action := ""
	in := false
	for _, m := range tagRe.FindAllStringSubmatch(page, -1) {
		switch strings.ToLower(m[1]) {
		case "form":
			in, action = true, formAction(path, tagAttrs(m[2])["action"])
			if _, ok := out[action]; !ok {
				out[action] = nil
			}
		case "/form":
			in = false
		case "input":
			a := tagAttrs(m[2])
			if in && strings.EqualFold(a["type"], "hidden") && a["name"] != "" {
				out[action] = append(out[action], nv{a["name"], a["value"]})
			}
		}
	}
	return out
}

// formAction is the path a form on the page at path posts to: its action
// resolved against path, without the query. Another host's form is "".
func formAction(path, action string) string {
	base := &url.URL{Path: path}
	u, err := base.Parse(action)
	if err != nil || u.Host != "" {
		return ""
	}
	return u.Path
}

// credentialNames marks the names of the credential cookies: the run
// carries them itself, so they leave the site cookies.
func (c *client) credentialNames(names []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.site.creds = map[string]bool{}
	for _, n := range names {
		c.site.creds[n] = true
	}
	c.site.cookies = slices.DeleteFunc(c.site.cookies, func(kv nv) bool { return c.site.creds[kv.name] })
}

// keepCookie makes a cookie a site cookie, not a credential: sign-in set
// it, but the credential opens the protected path without it.
func (c *client) keepCookie(kv nv) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.site.creds, kv.name)
	c.site.cookies = append(slices.DeleteFunc(c.site.cookies, func(s nv) bool { return s.name == kv.name }), kv)
}

// formFields is siteState.formFields under the lock.
func (c *client) formFields(path string) []nv {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.site.formFields(c.cfg, path)
}

// pageTokens reports whether the site's pages carry CSRF tokens.
func (c *client) pageTokens() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.site.tokens
}

// siteHeaders adds the site cookies to a request's cookies, and, for a
// request of the site's own pages, its CSRF headers; it returns what it
// added, for the exchange.
func (c *client) siteHeaders(k call, cookies []nv) ([]nv, [][3]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cookies = append(slices.Clip(cookies), c.site.ambient(cookies)...) // never into the call's array: doAll shares it
	var hs [][3]string
	if k.site && k.method != http.MethodGet && k.method != http.MethodHead {
		hs = c.site.csrfHeaders(c.cfg)
	}
	return cookies, hs
}
