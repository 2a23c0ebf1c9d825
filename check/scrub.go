package check

import (
	"context"
	"errors"
	"net/url"
	"sort"
	"strings"

	"github.com/signoff/signoff"
)

// Keeping credentials out of the report: every raw value the client has
// seen is replaced by its fingerprint.

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
