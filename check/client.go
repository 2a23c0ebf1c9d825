package check

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
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
	site    siteState       // the site's other cookies and CSRF tokens
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
	cookies, csrf := c.siteHeaders(k, k.cookies)
	switch {
	case k.rawCookie != "":
		req.Header.Set("Cookie", k.rawCookie)
		ex.Sent = append(ex.Sent, k.cookieNote)
	case len(cookies) > 0:
		parts := make([]string, len(cookies))
		for i, kv := range cookies {
			parts[i] = kv.name + "=" + kv.value
			ex.Sent = append(ex.Sent, "cookie "+kv.name+"="+c.fp(kv.value))
		}
		req.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	for _, h := range csrf {
		req.Header.Set(h[0], h[1])
		c.seen(h[1])
		ex.Sent = append(ex.Sent, h[0]+" (from "+h[2]+")")
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
	c.mu.Lock()
	for _, tok := range c.site.absorb(base.Path, strings.SplitN(k.path, "?", 2)[0], out) {
		if len(tok) >= 8 {
			c.secrets[tok] = true
		}
	}
	c.mu.Unlock()
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
