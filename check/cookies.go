package check

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Cookie size (R19). RFC 6265bis §5.6: a browser ignores a cookie whose
// name and value together are longer than 4096 bytes, without a word to
// the server or the user.
const (
	maxCookieSize = 4096
	// nearCookieSize is where R19 warns. A value that carries data (a
	// client-side session, a JWT) grows as the app stores more in it, a
	// flash message or a claim; within some 600 bytes of the limit one
	// more field tips it over, and the browser silently keeps the old
	// cookie or none: the user is signed out, or not signed out.
	nearCookieSize = 3500
)

// cookieChecks inspects how sign-in set each credential cookie (R15–R20). When every cookie is HttpOnly it returns R17's evidence so far,
// for bodyScan to finish; otherwise R17 is decided and it returns "".
func (r *runner) cookieChecks() (httpOnly string) {
	if len(r.jar.names) == 0 {
		for _, id := range []string{"R15", "R16", "R17", "R18", "R19", "R20", "R21", "R22", "R23"} {
			r.add(id, Skip, "sign-in set no cookie (%s)", r.creds)
		}
		return ""
	}
	var r15, r16, r16w, r17, r18, r19, r19w, r20, r20w, ok15, ok16, ok17, ok18, ok19, ok20 []string
	for _, n := range r.jar.names {
		ck := r.jar.set[n]
		hostP, secureP := strings.HasPrefix(n, "__Host-"), strings.HasPrefix(n, "__Secure-")
		switch {
		case !ck.Secure:
			r15 = append(r15, n+" has no Secure")
		case !hostP && !secureP:
			r15 = append(r15, n+" is Secure but has neither a __Host- nor a __Secure- name")
		default:
			ok15 = append(ok15, n+" Secure")
		}
		switch {
		case hostP && (!ck.Secure || ck.Path != "/" || ck.Domain != ""):
			r16 = append(r16, fmt.Sprintf("%s is set with %s: browsers refuse it", n, attrs(ck)))
		case hostP:
			ok16 = append(ok16, n+" "+attrs(ck))
		case secureP:
			r16w = append(r16w, n+" is __Secure-, which allows Domain and Path: a sibling subdomain can shadow it")
		default:
			r16 = append(r16, n+" has no __Host- prefix: a sibling subdomain can set a cookie that shadows it")
		}
		if ck.HttpOnly {
			ok17 = append(ok17, n+" HttpOnly")
		} else {
			r17 = append(r17, n+" has no HttpOnly: any script can read it")
		}
		switch ck.SameSite {
		case http.SameSiteLaxMode, http.SameSiteStrictMode:
			ok18 = append(ok18, n+" "+sameSite(ck.SameSite))
		case http.SameSiteNoneMode:
			r18 = append(r18, n+" is SameSite=None")
		default:
			r18 = append(r18, n+" has no SameSite")
		}
		switch size := len(n) + len(ck.Value); {
		case size > maxCookieSize:
			r19 = append(r19, fmt.Sprintf("%s is %d bytes (name + value), over %d: browsers drop it", n, size, maxCookieSize))
		case size > nearCookieSize:
			r19w = append(r19w, fmt.Sprintf("%s is %d bytes (name + value), close to the %d browsers keep", n, size, maxCookieSize))
		default:
			ok19 = append(ok19, fmt.Sprintf("%s %d bytes", n, size))
		}
		if why := cookieFinding(ck.Value, r.cfg.User); why != "" {
			r20 = append(r20, n+" "+why)
		}
		if life, ok := lifetime(ck); ok && life > r.cfg.MaxLifetime {
			r20w = append(r20w, fmt.Sprintf("%s lives %s in the browser, longer than --max-lifetime %s", n, roundDur(life), roundDur(r.cfg.MaxLifetime)))
		} else if ok {
			ok20 = append(ok20, fmt.Sprintf("%s opaque, %s", n, roundDur(life)))
		} else {
			ok20 = append(ok20, n+" opaque, a browser-session cookie")
		}
	}
	r.verdict("R15", r15, nil, ok15)
	r.verdict("R16", r16, r16w, ok16)
	if len(r17) > 0 {
		r.add("R17", Fail, "%s", strings.Join(r17, "; "))
	} else {
		httpOnly = strings.Join(ok17, "; ")
	}
	r.verdict("R18", r18, nil, ok18)
	r.verdict("R19", r19, r19w, ok19)
	r.verdict("R20", r20, r20w, ok20)
	return httpOnly
}

// lifetime is how long the browser keeps a cookie, if it is persistent.
func lifetime(ck *http.Cookie) (time.Duration, bool) {
	if ck.MaxAge > 0 {
		return time.Duration(ck.MaxAge) * time.Second, true
	}
	if !ck.Expires.IsZero() {
		return time.Until(ck.Expires), true
	}
	return 0, false
}

// attrs describes a cookie's scope attributes: "Path=/, Secure, host-only".
func attrs(ck *http.Cookie) string {
	p := ck.Path
	if p == "" {
		p = "(none)"
	}
	parts := []string{"Path=" + p}
	if ck.Domain != "" {
		parts = append(parts, "Domain="+ck.Domain)
	} else {
		parts = append(parts, "host-only")
	}
	if ck.Secure {
		parts = append(parts, "Secure")
	} else {
		parts = append(parts, "no Secure")
	}
	return strings.Join(parts, ", ")
}

func sameSite(s http.SameSite) string {
	switch s {
	case http.SameSiteLaxMode:
		return "SameSite=Lax"
	case http.SameSiteStrictMode:
		return "SameSite=Strict"
	case http.SameSiteNoneMode:
		return "SameSite=None"
	}
	return "no SameSite"
}

// defaultPath is the Path a browser gives a cookie set without one by an
// answer to reqPath (RFC 6265bis §5.1.4).
func defaultPath(reqPath string) string {
	if !strings.HasPrefix(reqPath, "/") {
		return "/"
	}
	i := strings.LastIndex(reqPath, "/")
	if i <= 0 {
		return "/"
	}
	return reqPath[:i]
}

// deletionChecks compares logout's deletions with how the cookies were set
// (R21, R22).
func (r *runner) deletionChecks(out *resp) {
	if len(r.jar.names) == 0 {
		return
	}
	csd := strings.Contains(out.header.Get("Clear-Site-Data"), `"cookies"`) || strings.Contains(out.header.Get("Clear-Site-Data"), `"*"`)
	var bad21, warn21, ok21, bad22, warn22, ok22 []string
	for _, n := range r.jar.names {
		set, del := r.jar.set[n], out.setCookie(n)
		if del == nil {
			if csd {
				warn21 = append(warn21, n+" is not deleted; only Clear-Site-Data clears it, and not every browser supports it")
			} else {
				bad21 = append(bad21, n+" is not deleted: the browser keeps the dead cookie")
			}
			continue
		}
		setPath, delPath := set.Path, del.Path
		if setPath == "" {
			setPath = defaultPath(r.jar.setAt[n])
		}
		if delPath == "" {
			delPath = defaultPath(r.cfg.Logout)
		}
		var diff []string
		if !strings.EqualFold(strings.TrimPrefix(set.Domain, "."), strings.TrimPrefix(del.Domain, ".")) {
			diff = append(diff, fmt.Sprintf("Domain %q, not %q", del.Domain, set.Domain))
		}
		if delPath != setPath {
			diff = append(diff, fmt.Sprintf("Path=%s, not %s", delPath, setPath))
		}
		if (strings.HasPrefix(n, "__Host-") || strings.HasPrefix(n, "__Secure-")) && !del.Secure {
			diff = append(diff, "no Secure, which a "+strings.SplitAfter(n, "-")[0]+" cookie needs")
		}
		if strings.HasPrefix(n, "__Host-") && del.Domain != "" && set.Domain == "" {
			diff = append(diff, "a Domain, which a __Host- cookie must not have")
		}
		if len(diff) > 0 {
			bad21 = append(bad21, fmt.Sprintf("login set %s with %s; logout deletes it with %s: the browser ignores the deletion", n, attrs(set), strings.Join(diff, ", ")))
		} else {
			ok21 = append(ok21, n+" deleted with "+attrs(del))
		}
		maxAge0 := del.MaxAge < 0
		past := !del.Expires.IsZero() && del.Expires.Before(time.Now())
		switch {
		case del.Value != "" && !maxAge0 && !past:
			bad22 = append(bad22, n+" is set to a new value, not deleted")
		case maxAge0 && past:
			ok22 = append(ok22, n+" empty, Max-Age=0, Expires "+del.Expires.UTC().Format("2006"))
		case maxAge0:
			warn22 = append(warn22, n+" has Max-Age=0 but no Expires in the past (old browsers keep it)")
		case past:
			warn22 = append(warn22, n+" has an Expires in the past but no Max-Age=0")
		default:
			bad22 = append(bad22, n+" is emptied but neither Max-Age=0 nor a past Expires removes it")
		}
	}
	r.verdict("R21", bad21, warn21, ok21)
	if len(bad22)+len(warn22)+len(ok22) == 0 {
		r.add("R22", Skip, "logout deletes no cookie (R21)")
	} else {
		r.verdict("R22", bad22, warn22, ok22)
	}
}
