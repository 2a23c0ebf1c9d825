package check

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// appBrowser is a browser in miniature for the framework apps' behaviour
// tests, which drive an app with plain net/http, independent of the
// checker: a cookie jar, and no redirect followed, so each answer is seen
// as the app sent it. An exchange that fails (no answer within 30 seconds,
// a body cut short) fails the test.
type appBrowser struct {
	t    *testing.T
	base string
	jar  *cookiejar.Jar
	c    *http.Client
}

// newAppBrowser returns a browser with an empty jar for the app at base.
// roots are the CAs it trusts for HTTPS; nil trusts the system's.
func newAppBrowser(t *testing.T, base string, roots *x509.CertPool) *appBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := appClient(roots, 30*time.Second)
	c.Jar = jar
	t.Cleanup(c.CloseIdleConnections)
	return &appBrowser{t: t, base: base, jar: jar, c: c}
}

// appClient is a client with no jar that follows no redirect and gives up
// on an exchange after timeout; roots are the CAs it trusts for HTTPS, nil
// for the system's. Its transport is its own: CloseIdleConnections closes
// only its connections.
func appClient(roots *x509.CertPool, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends a request with the jar's cookies, the Content-Type ctype (none
// if empty) and the headers h; it returns the answer, its body read.
func (b *appBrowser) do(method, path, ctype string, body []byte, h ...[2]string) (*http.Response, string) {
	b.t.Helper()
	return b.send(b.c, method, path, ctype, body, h...)
}

func (b *appBrowser) get(path string) (*http.Response, string) {
	b.t.Helper()
	return b.do(http.MethodGet, path, "", nil)
}

// postForm posts the form v with the headers h.
func (b *appBrowser) postForm(path string, v url.Values, h ...[2]string) (*http.Response, string) {
	b.t.Helper()
	return b.do(http.MethodPost, path, "application/x-www-form-urlencoded", []byte(v.Encode()), h...)
}

// replay asks for path with only the raw Cookie header cookie, not the
// jar: an old cookie copied out of a browser, as an attacker who kept it
// would send it.
func (b *appBrowser) replay(path, cookie string) (*http.Response, string) {
	b.t.Helper()
	bare := *b.c
	bare.Jar = nil
	return b.send(&bare, http.MethodGet, path, "", nil, [2]string{"Cookie", cookie})
}

// duplicates sends the good cookie name next to a junk one of the same
// name, in both orders, with replay (R23), and fails the test unless the
// answers are goodFirst and junkFirst.
func (b *appBrowser) duplicates(path, name, good string, goodFirst, junkFirst int) {
	b.t.Helper()
	junk := randomValue()
	g, _ := b.replay(path, name+"="+good+"; "+name+"="+junk)
	j, _ := b.replay(path, name+"="+junk+"; "+name+"="+good)
	if g.StatusCode != goodFirst || j.StatusCode != junkFirst {
		b.t.Errorf("duplicate %s on GET %s: good first → %d, junk first → %d; want %d and %d (R23 in expected)", name, path, g.StatusCode, j.StatusCode, goodFirst, junkFirst)
	}
}

// signedIn asks for path and fails the test unless the answer is 200 and
// names testUser: the browser is signed in.
func (b *appBrowser) signedIn(path string) {
	b.t.Helper()
	if res, page := b.get(path); res.StatusCode != http.StatusOK || !strings.Contains(page, testUser) {
		b.t.Fatalf("GET %s signed in → %s, want 200 naming the user", path, res.Status)
	}
}

func (b *appBrowser) send(hc *http.Client, method, path, ctype string, body []byte, h ...[2]string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, bytes.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for _, kv := range h {
		req.Header.Set(kv[0], kv[1])
	}
	res, err := hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	return res, string(got)
}

// value is the jar's value of the cookie name for the app; "" if it holds
// none.
func (b *appBrowser) value(name string) string {
	u, _ := url.Parse(b.base)
	for _, ck := range b.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// cookie is the jar's value of the cookie name, which must be there, not
// empty.
func (b *appBrowser) cookie(name string) string {
	b.t.Helper()
	v := b.value(name)
	if v == "" {
		b.t.Fatalf("the browser holds no cookie %s", name)
	}
	return v
}

// formHidden returns the hidden inputs of the form in page that posts to
// action, as a browser would send them; ok is false when page has no such
// form. It reads the page as the checker does.
func formHidden(page, action string) (fields url.Values, ok bool) {
	kvs, ok := hiddenInputs("/", page)[action]
	fields = url.Values{}
	for _, kv := range kvs {
		fields.Add(kv.name, kv.value)
	}
	return fields, ok
}
