package server

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/httpx"
)

// The return address after sign-in (ASVS 5 10.6.2, R32). A forward-auth
// proxy sends a browser to the sign-in page with ?rd= naming where it was
// going; the page follows it only when the server says it may (GET /return),
// so an attacker's link cannot make signoff an open redirector.

// maxReturn bounds the length of a return address.
const maxReturn = 2048

// ReturnTo decides whether the web app may send a browser to rd after
// sign-in, and returns the address to use. It may when rd is
//
//   - an absolute http or https URL with no userinfo whose origin (scheme,
//     host and port, the default port left out) is exactly one of allowed;
//   - or a path on this server: it starts with "/" but not "//".
//
// Anything else is refused, and so is any rd that holds a backslash or a
// control character (browsers read "/\evil.test" and "/\t/evil.test" as
// "//evil.test"), or is longer than 2048 bytes. Entries of allowed that are
// not origins (see ParseReturnTo) match nothing.
func ReturnTo(allowed []string, rd string) (string, bool) {
	if rd == "" || len(rd) > maxReturn || strings.ContainsFunc(rd, func(c rune) bool { return c == '\\' || c < 0x20 || c == 0x7f }) {
		return "", false
	}
	u, err := url.Parse(rd)
	if err != nil || u.User != nil || u.Opaque != "" {
		return "", false
	}
	if rd[0] == '/' {
		if strings.HasPrefix(rd, "//") || u.Scheme != "" || u.Host != "" {
			return "", false
		}
		return u.String(), true
	}
	o, ok := originOf(u)
	if !ok || !slices.ContainsFunc(allowed, func(a string) bool {
		n, err := normalizeOrigin(a)
		return err == nil && n == o
	}) {
		return "", false
	}
	return u.String(), true
}

// ParseReturnTo parses a comma-separated list of origins (--return-to):
// each an absolute http or https URL with a host and nothing after it but
// an optional "/", like https://app.example.com or http://127.0.0.1:8080.
// It returns them normalized (lower case, no default port, no "/").
func ParseReturnTo(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		o, err := normalizeOrigin(s)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// normalizeOrigin checks that s is an origin and returns it normalized.
func normalizeOrigin(s string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%q is not an origin: %s (want scheme://host[:port], like https://app.example.com)", s, why)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", bad("it does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", bad("its scheme is not http or https")
	case u.User != nil:
		return "", bad("it has a user name")
	case u.Host == "" || u.Opaque != "":
		return "", bad("it has no host")
	case u.Path != "" && u.Path != "/", u.RawQuery != "" || u.ForceQuery, u.Fragment != "" || strings.Contains(s, "#"):
		return "", bad("it has a path, query or fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", bad("its port is not between 1 and 65535")
		}
	}
	o, ok := originOf(u)
	if !ok {
		return "", bad("it has no host")
	}
	return o, nil
}

// originOf is the origin of the absolute http or https URL u, in lower
// case and without the scheme's default port.
func originOf(u *url.URL) (string, bool) {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if (scheme != "http" && scheme != "https") || host == "" {
		return "", false
	}
	if port := u.Port(); port != "" && port != defaultPort[scheme] {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") { // IPv6
		host = "[" + host + "]"
	}
	return scheme + "://" + host, true
}

var defaultPort = map[string]string{"http": "80", "https": "443"}

// checkReturnTo normalizes Config.ReturnTo, refusing what is not an origin.
func checkReturnTo(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		o, err := normalizeOrigin(s)
		if err != nil {
			return nil, fmt.Errorf("server: Config.ReturnTo: %w", err)
		}
		out = append(out, o)
	}
	return out, nil
}

// returnTo serves GET /return?rd=URL: 200 {"return": URL} when the page may
// send the browser there after sign-in (ReturnTo), {"return": ""} when it
// may not. It needs no credential and is never cached.
func (s *Server) returnTo(w http.ResponseWriter, r *http.Request) {
	if !httpx.Allow(w, r, http.MethodGet) {
		return
	}
	to, _ := ReturnTo(s.cfg.ReturnTo, r.URL.Query().Get("rd"))
	signoff.WriteJSON(w, http.StatusOK, map[string]string{"return": to})
}
