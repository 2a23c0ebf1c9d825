package check

import "strings"

// What the checker presents: a credential, as the cookies and tokens a
// browser or an API client would hold.

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
