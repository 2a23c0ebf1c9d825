package signoff_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/memstore"
)

// attrs is a Set-Cookie line's attributes, less its value and lifetime.
func attrs(t *testing.T, line string) (name string, rest map[string]string) {
	t.Helper()
	parts := strings.Split(line, ";")
	name, _, _ = strings.Cut(strings.TrimSpace(parts[0]), "=")
	rest = map[string]string{}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "max-age", "expires":
			continue
		}
		rest[strings.ToLower(k)] = v
	}
	return name, rest
}

// I2: for every spec, the deletion names exactly the cookie that Set wrote
// (name, Path, Domain, Secure, HttpOnly, SameSite, Partitioned), with an
// empty value, Max-Age=0 and an Expires in the past.
func TestCookieDeletionMatchesTheCookie_I2_R21_R22(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	specs := map[string]signoff.CookieSpec{
		"session default": signoff.DefaultSessionCookie,
		"refresh default": signoff.DefaultRefreshCookie,
		"custom":          {Name: "sid", Path: "/app", Domain: "example.test", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode},
		"partitioned":     {Name: "__Secure-sid", Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode, Partitioned: true},
		"zero SameSite":   {Name: "plain", HttpOnly: true},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			if err := spec.Validate(); err != nil {
				t.Fatal(err)
			}
			set, del := httptest.NewRecorder(), httptest.NewRecorder()
			spec.Set(set, "v", now.Add(time.Hour), now)
			spec.Delete(del)
			sl, dl := set.Header().Get("Set-Cookie"), del.Header().Get("Set-Cookie")
			sn, sa := attrs(t, sl)
			dn, da := attrs(t, dl)
			if sn != dn || len(sa) != len(da) {
				t.Fatalf("Set %q and Delete %q name different cookies", sl, dl)
			}
			for k, v := range sa {
				if da[k] != v {
					t.Fatalf("attribute %s: Set has %q, Delete %q", k, v, da[k])
				}
			}
			if !strings.HasPrefix(dl, spec.Name+"=;") || !strings.Contains(dl, "Max-Age=0") || !strings.Contains(dl, "Expires=Thu, 01 Jan 1970") {
				t.Fatalf("Delete = %q; want an empty value, Max-Age=0 and Expires in 1970", dl)
			}
			if _, ok := sa["samesite"]; !ok {
				t.Fatalf("Set %q has no SameSite: the zero value must mean Lax", sl)
			}
			if !strings.Contains(sl, "Max-Age=3600") {
				t.Fatalf("Set %q: want Max-Age equal to the credential's remaining life (R20)", sl)
			}
		})
	}
}

// I2: specs a browser would refuse, or whose deletion it would ignore, are
// rejected when the Manager is built, not discovered at logout.
func TestCookieSpecValidation_I2(t *testing.T) {
	bad := map[string]signoff.CookieSpec{
		"__Host- without Secure":   {Name: "__Host-s", HttpOnly: true},
		"__Host- with a Domain":    {Name: "__Host-s", Secure: true, Domain: "example.test"},
		"__Host- with a Path":      {Name: "__Host-s", Secure: true, Path: "/app"},
		"__Secure- without Secure": {Name: "__Secure-s"},
		"SameSite=None, insecure":  {Name: "s", SameSite: http.SameSiteNoneMode},
		"Partitioned, insecure":    {Name: "s", Partitioned: true},
		"empty name":               {Secure: true},
		"separator in the name":    {Name: "a;b", Secure: true},
	}
	for name, spec := range bad {
		if spec.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, spec)
		}
		if spec.Name == "" {
			continue // to New, a spec with no name means the default
		}
		if _, err := signoff.New(signoff.Config{Store: memstore.New(), SessionCookie: spec}); err == nil {
			t.Errorf("%s: New accepted it as the session cookie", name)
		}
	}
}
