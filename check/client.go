package check

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signoff/signoff"
)

// budgetSpent is the panic value that ends a run once it has made
// Config.MaxRequests requests; Run recovers it and reports the checks not
// reached as SKIP.
type budgetSpent struct{ max int }

// maxBody bounds how much of a response body the checker reads.
const maxBody = 1 << 20

// client sends the checker's requests, never follows a redirect, records
// every exchange with credentials replaced by fingerprints, and waits out
// 429 answers within Config.MaxWait.
type client struct {
	cfg   Config
	hc    *http.Client
	bases map[string]*url.URL // "A" and, with Config.Second, "B"

	mu      sync.Mutex
	story   bool // mark every exchange as part of the story
	ex      []Exchange
	waited  time.Duration
	secrets map[string]bool // every raw credential seen, for scrub
}

func newClient(cfg Config) (*client, error) {
	hc := cfg.Client
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.Insecure {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // #nosec G402 -- asked for with --insecure
		}
		hc = &http.Client{Transport: tr}
	} else {
		cp := *hc
		hc = &cp
	}
	hc.Timeout = cfg.Timeout
	hc.Jar = nil // the checker keeps its own cookies, attribute for attribute
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &client{cfg: cfg, hc: hc, bases: map[string]*url.URL{}, secrets: map[string]bool{}}
	for inst, raw := range map[string]string{"A": cfg.Target, "B": cfg.Second} {
		if raw == "" {
			continue
		}
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		c.bases[inst] = u
	}
	return c, nil
}

// nv is one cookie: name and value.
type nv struct{ name, value string }

// cred is what a sign-in handed out: credential cookies, an access token and
// a refresh token from the body.
type cred struct {
	cookies []nv
	at, rt  string
}

func (c cred) clone() cred {
	c.cookies = append([]nv(nil), c.cookies...)
	return c
}

func (c cred) cookie(name string) string {
	for _, kv := range c.cookies {
		if kv.name == name {
			return kv.value
		}
	}
	return ""
}

// refreshKey identifies the refresh token of c: the body's, or the
// cookies'.
func (c cred) refreshKey() string {
	switch {
	case c.rt != "":
		return c.rt
	case len(c.cookies) == 1:
		return c.cookies[0].value
	}
	var b strings.Builder
	for _, kv := range c.cookies {
		b.WriteString(kv.name + "=" + kv.value + ";")
	}
	return b.String()
}

// call is one request to make.
type call struct {
	step   string
	inst   string // "A" (default) or "B"
	method string
	path   string
	// cookies are sent as one Cookie header; rawCookie, if set, is sent
	// instead, described by cookieNote.
	cookies    []nv
	rawCookie  string
	cookieNote string
	bearer     string
	header     [][2]string
	body       []byte
	ctype      string
	bodyNote   []string // how to describe the body in Sent
	story      bool
}

// resp is what came back.
type resp struct {
	status  int
	header  http.Header
	body    []byte
	cookies []*http.Cookie // parsed Set-Cookie lines, in order
	json    map[string]any
	err     error
	seq     int
	pw      string // the password, kept out of what the site says back
}

func (r *resp) ok() bool { return r.err == nil && r.status >= 200 && r.status < 300 }

// done reports whether a state-changing request (logout, logout
// everywhere, ending a device) was carried out: 2xx, or a redirect, as
// classic form sites answer. The replays decide whether it really was.
func (r *resp) done() bool { return r.err == nil && r.status >= 200 && r.status < 400 }

// setCookie returns the last Set-Cookie for name, or nil.
func (r *resp) setCookie(name string) *http.Cookie {
	var out *http.Cookie
	for _, ck := range r.cookies {
		if ck.Name == name {
			out = ck
		}
	}
	return out
}

// str returns a top-level string field of a JSON body.
func (r *resp) str(field string) string {
	if r.json == nil {
		return ""
	}
	s, _ := r.json[field].(string)
	return s
}

// problem returns the problem+json detail (or title) of an error answer.
func (r *resp) problem() string {
	for _, f := range []string{"detail", "title", "error_description", "error", "message"} {
		if s := r.str(f); s != "" {
			return r.hidePassword(s)
		}
	}
	return ""
}

// hidePassword replaces the password in text the site sent back. Only
// there: replacing it in the checker's own words would show where a short
// password like "password" sits in them.
func (r *resp) hidePassword(s string) string {
	if r.pw == "" {
		return s
	}
	return strings.ReplaceAll(s, r.pw, "(password)")
}

// describe says what an answer was, in a few words: "401", "302 to /login",
// "error: connection refused".
func (r *resp) describe() string {
	if r.err != nil {
		return "error: " + r.hidePassword(cleanErr(r.err))
	}
	s := strconv.Itoa(r.status)
	if loc := r.header.Get("Location"); loc != "" && r.status >= 300 && r.status < 400 {
		s += " to " + redactQuery(loc)
	}
	return s
}

// seen records raw credentials so the report can be scrubbed of them.
func (c *client) seen(raw ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range raw {
		if len(s) >= 8 {
			c.secrets[s] = true
		}
	}
}

// fp is a credential's fingerprint, and remembers the credential.
func (c *client) fp(raw string) string {
	c.seen(raw)
	return signoff.NewSecret(raw).String()
}

// reserve takes the next n sequence numbers, so that requests sent at once
// are numbered in the order they were started. Past the request budget it
// panics with budgetSpent.
func (c *client) reserve(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ex)+n > c.cfg.MaxRequests {
		panic(budgetSpent{c.cfg.MaxRequests})
	}
	first := len(c.ex) + 1
	for i := 0; i < n; i++ {
		c.ex = append(c.ex, Exchange{Seq: first + i})
	}
	return first
}

// do sends a request, waiting out a 429 within the run's budget.
func (c *client) do(ctx context.Context, k call) *resp {
	for {
		seq := c.reserve(1)
		r := c.send(ctx, k, seq)
		if r.err != nil || r.status != http.StatusTooManyRequests {
			return r
		}
		wait := retryAfter(r.header.Get("Retry-After"))
		c.mu.Lock()
		ok := c.waited+wait <= c.cfg.MaxWait
		if ok {
			c.waited += wait
		}
		c.mu.Unlock()
		if !ok {
			return r
		}
		c.note(seq, fmt.Sprintf("rate limited; waited %v before retrying", wait))
		select {
		case <-ctx.Done():
			return &resp{err: ctx.Err()}
		case <-time.After(wait):
		}
	}
}

// doAll sends the calls at the same time and returns the answers in order.
func (c *client) doAll(ctx context.Context, ks ...call) []*resp {
	out := make([]*resp, len(ks))
	first := c.reserve(len(ks))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, k := range ks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = c.send(ctx, k, first+i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func retryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(min(max(n, 1), 24*3600)) * time.Second // no overflow
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), time.Second)
	}
	return time.Second
}

// send makes one request and records it as exchange seq.
func (c *client) send(ctx context.Context, k call, seq int) *resp {
	inst := k.inst
	if inst == "" {
		inst = "A"
	}
	c.mu.Lock()
	story := k.story || c.story
	c.mu.Unlock()
	ex := Exchange{Seq: seq, Step: k.step, Instance: inst, Method: k.method, Path: redactQuery(k.path), Story: story}
	out := &resp{seq: seq, pw: c.cfg.Password.Reveal()}
	defer func() {
		c.mu.Lock()
		c.ex[seq-1] = ex
		c.mu.Unlock()
	}()
	base := c.bases[inst]
	u, err := base.Parse(base.Path + k.path)
	if err != nil {
		out.err, ex.Err = err, err.Error()
		return out
	}
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), body)
	if err != nil {
		out.err, ex.Err = err, err.Error()
		return out
	}
	for name, vs := range c.cfg.Header {
		for _, v := range vs {
			req.Header.Add(name, v)
		}
	}
	req.Header.Set("User-Agent", "signoff-check/1")
	req.Header.Set("Accept", "application/json, text/html;q=0.9, */*;q=0.8")
	if k.ctype != "" {
		req.Header.Set("Content-Type", k.ctype)
	}
	switch {
	case k.rawCookie != "":
		req.Header.Set("Cookie", k.rawCookie)
		ex.Sent = append(ex.Sent, k.cookieNote)
	case len(k.cookies) > 0:
		parts := make([]string, len(k.cookies))
		for i, kv := range k.cookies {
			parts[i] = kv.name + "=" + kv.value
			ex.Sent = append(ex.Sent, "cookie "+kv.name+"="+c.fp(kv.value))
		}
		req.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	if k.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+k.bearer)
		ex.Sent = append(ex.Sent, "Bearer "+c.fp(k.bearer))
	}
	for _, h := range k.header {
		req.Header.Set(h[0], h[1])
		ex.Sent = append(ex.Sent, h[0]+": "+h[1])
	}
	ex.Sent = append(ex.Sent, k.bodyNote...)

	res, err := c.hc.Do(req)
	if err != nil {
		out.err = err
		ex.Err = out.hidePassword(cleanErr(err))
		return out
	}
	defer res.Body.Close()
	out.status, out.header = res.StatusCode, res.Header
	out.body, err = io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		out.err = err
		ex.Err = cleanErr(err)
	}
	for _, line := range res.Header.Values("Set-Cookie") {
		if ck, err := http.ParseSetCookie(line); err == nil {
			out.cookies = append(out.cookies, ck)
		}
	}
	if bytes.HasPrefix(bytes.TrimSpace(out.body), []byte("{")) {
		_ = json.Unmarshal(out.body, &out.json)
	}
	ex.Status = res.StatusCode
	ex.Got = c.gotList(out)
	return out
}

// gotList describes the credentials and notable headers of an answer.
func (c *client) gotList(r *resp) []string {
	var got []string
	if loc := r.header.Get("Location"); loc != "" && r.status >= 300 && r.status < 400 {
		got = append(got, "Location "+redactQuery(loc))
	}
	for _, ck := range r.cookies {
		if isDeletion(ck) {
			got = append(got, "Set-Cookie "+ck.Name+" deleted")
		} else {
			got = append(got, "Set-Cookie "+ck.Name+"="+c.fp(ck.Value))
		}
	}
	for _, f := range []string{c.cfg.TokenField, c.cfg.RefreshField} {
		if v := r.str(f); v != "" {
			got = append(got, f+" "+c.fp(v))
		}
	}
	if v := r.header.Get("Clear-Site-Data"); v != "" {
		got = append(got, "Clear-Site-Data")
	}
	if v := r.header.Get("WWW-Authenticate"); v != "" && r.status == http.StatusUnauthorized {
		got = append(got, "WWW-Authenticate: "+v)
	}
	return got
}

// note attaches an inference to exchange seq.
func (c *client) note(seq int, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq < 1 || seq > len(c.ex) {
		return
	}
	if n := &c.ex[seq-1].Note; *n == "" {
		*n = text
	} else {
		*n += "; " + text
	}
}

// setStory makes every exchange from now on part of the story, or not.
func (c *client) setStory(on bool) {
	c.mu.Lock()
	c.story = on
	c.mu.Unlock()
}

// last is the sequence number of the latest exchange.
func (c *client) last() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ex)
}

// unstory takes exchanges out of the diagram.
func (c *client) unstory(seqs ...int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, seq := range seqs {
		if seq >= 1 && seq <= len(c.ex) {
			c.ex[seq-1].Story = false
		}
	}
}

// exchanges returns the recorded exchanges.
func (c *client) exchanges() []Exchange {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Exchange(nil), c.ex...)
}

// scrubber returns a function that replaces every raw credential seen by
// its fingerprint: the last line of defence for I9. The password is kept
// out where the site's words are captured (resp.hidePassword).
func (c *client) scrubber() func(string) string {
	c.mu.Lock()
	raws := make([]string, 0, len(c.secrets))
	for s := range c.secrets {
		raws = append(raws, s)
	}
	c.mu.Unlock()
	sort.Slice(raws, func(i, j int) bool { return len(raws[i]) > len(raws[j]) })
	pairs := make([]string, 0, 2*len(raws))
	for _, s := range raws {
		fp := signoff.NewSecret(s).String()
		pairs = append(pairs, s, fp)
		// As a URL carries it, escaped once or twice.
		for _, e := range []string{url.QueryEscape(s), url.QueryEscape(url.QueryEscape(s))} {
			if e != s {
				pairs = append(pairs, e, fp)
			}
		}
	}
	rep := strings.NewReplacer(pairs...)
	return rep.Replace
}

// isDeletion reports whether a Set-Cookie removes the cookie: an empty
// value, or an expiry now or in the past.
func isDeletion(ck *http.Cookie) bool {
	return ck.Value == "" || ck.MaxAge < 0 || (!ck.Expires.IsZero() && ck.Expires.Before(time.Now()))
}

// redactQuery replaces every query value by "…": a URL may carry a
// credential (that is R24's point).
func redactQuery(p string) string {
	p, frag, hasFrag := strings.Cut(p, "#")
	suffix := ""
	if hasFrag && frag != "" {
		suffix = "#…"
	}
	path, q, ok := strings.Cut(p, "?")
	if !ok {
		return p + suffix
	}
	var parts []string
	for _, kv := range strings.Split(q, "&") {
		k, _, _ := strings.Cut(kv, "=")
		parts = append(parts, k+"=…")
	}
	return path + "?" + strings.Join(parts, "&") + suffix
}

// cleanErr shortens a transport error to its cause, without the URL (which
// is in the exchange already).
func cleanErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return "timed out"
	}
	return err.Error()
}

func suffix(detail string) string {
	if detail == "" {
		return ""
	}
	return " (" + detail + ")"
}

// randomValue is a fresh random credential-looking value: 32 bytes,
// base64url.
func randomValue() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func jsonBody(fields map[string]string) []byte {
	b, _ := json.Marshal(fields)
	return b
}
