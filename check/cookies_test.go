package check

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestCookieSize: R19 passes a cookie whose name and value fit in 3500
// bytes, warns up to 4096 and fails beyond, and names no value.
func TestCookieSize(t *testing.T) {
	const name = "__Host-session"
	for _, tt := range []struct {
		size int
		want Verdict
	}{{57, Pass}, {3500, Pass}, {3501, Warn}, {4096, Warn}, {4097, Fail}} {
		value := strings.Repeat("a", tt.size-len(name))
		r := &runner{cfg: Config{User: testUser, MaxLifetime: DefaultMaxLifetime}, findings: &findings{},
			jar: jar{names: []string{name}, set: map[string]*http.Cookie{name: {Name: name, Value: value}}}}
		r.cookieChecks()
		i := slices.IndexFunc(r.findings.res, func(res Result) bool { return res.ID == "R19" })
		if i < 0 {
			t.Fatal("no R19")
		}
		res := r.findings.res[i]
		if res.Verdict != tt.want || strings.Contains(res.Evidence, value) {
			t.Errorf("%d bytes: %s %s", tt.size, res.Verdict, res.Evidence)
		}
	}
}
