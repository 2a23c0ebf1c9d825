package check

import (
	"sort"
	"strings"
)

// Verdict is the outcome of one check.
type Verdict string

// Verdicts, from worst to best. SKIP means the check needs something the site
// does not offer (or the checker cannot see from outside); its evidence says
// what.
const (
	Fail Verdict = "FAIL"
	Warn Verdict = "WARN"
	Skip Verdict = "SKIP"
	Pass Verdict = "PASS"
)

// ChecklistURL is where the checklist lives: docs/checklist.md in the
// project's repository, with one row, anchored by its lower-case ID
// ("#r4"), for every ID a Result carries. Result.Ref links to the row.
const ChecklistURL = "https://github.com/signoff/signoff/blob/main/docs/checklist.md"

// checklistRef is the link to id's row of the checklist.
func checklistRef(id string) string { return ChecklistURL + "#" + strings.ToLower(id) }

// Groups, in the order the checklist lists them and reports print them.
const (
	GroupLifecycle = "Session lifecycle"
	GroupCookies   = "Cookies"
	GroupCaching   = "Caching and browser state"
	GroupForgery   = "Request forgery"
	GroupTokens    = "Refresh tokens and access tokens"
	GroupInstances = "Operations"
)

// Groups lists the groups in report order.
var Groups = []string{GroupLifecycle, GroupCookies, GroupCaching, GroupForgery, GroupTokens, GroupInstances}

// Result is one check's finding.
type Result struct {
	// ID is the requirement's ID in the checklist ("R4").
	ID string `json:"id"`
	// Title says what the requirement asks, in a few words.
	Title string `json:"title"`
	// Group is one of Groups.
	Group   string  `json:"group"`
	Verdict Verdict `json:"verdict"`
	// Evidence is one line: what the checker sent and saw, or, for SKIP,
	// why the check could not run. Secrets appear only as fingerprints.
	Evidence string `json:"evidence"`
	// Ref links to the requirement's row in docs/checklist.md (ChecklistURL
	// + "#r4"): what it asks, its sources, and how the checker tests it.
	Ref string `json:"ref,omitempty"`
}

// Exchange is one HTTP request the checker made and what came back, with
// every credential replaced by its fingerprint.
type Exchange struct {
	// Seq numbers the exchanges from 1 in the order they were sent.
	Seq int `json:"seq"`
	// Step says why the request was made ("replay the old cookie").
	Step string `json:"step"`
	// Instance is "A" for the target, "B" for the second instance (R51).
	Instance string `json:"instance"`
	Method   string `json:"method"`
	// Path is the request's path (and query, with credentials redacted).
	Path string `json:"path"`
	// Sent lists the credentials and notable headers sent, as
	// "cookie __Host-session=fp:…", "Bearer fp:…", "Origin: https://evil.test".
	Sent []string `json:"sent,omitempty"`
	// Status is the response status, 0 when the request failed.
	Status int `json:"status"`
	// Got lists the credentials and notable headers received, as
	// "Set-Cookie __Host-session=fp:…", "Set-Cookie __Host-session deleted",
	// "access_token fp:…", "Cache-Control: no-store".
	Got []string `json:"got,omitempty"`
	// Err is the transport error, if the request failed.
	Err string `json:"error,omitempty"`
	// Story marks the exchanges of the main sign-in → sign-out → replay
	// flow: the ones the sequence diagram draws.
	Story bool `json:"story,omitempty"`
	// Note is what the checker infers about the server's store from this
	// exchange ("session fp:… revoked"), drawn as a note in the diagram.
	Note string `json:"note,omitempty"`
}

// Report is the outcome of a run.
type Report struct {
	// Target is the base URL checked; Second the other instance's, if any.
	Target string `json:"target"`
	Second string `json:"second,omitempty"`
	// Credentials describes what sign-in returned ("cookie __Host-session",
	// "access token (JWT) + refresh cookie __Host-refresh").
	Credentials string     `json:"credentials"`
	Results     []Result   `json:"results"`
	Exchanges   []Exchange `json:"exchanges"`
	// Stopped says why the run stopped before every check was reached (the
	// request budget, a 429 past --max-wait, a later sign-in refused); ""
	// for a complete run. The checks not reached are SKIP with the reason;
	// the findings made before stand.
	Stopped string `json:"stopped,omitempty"`
}

// Incomplete reports whether the run stopped before every check was
// reached: its report is not a pass, whatever it found.
func (r *Report) Incomplete() bool { return r.Stopped != "" }

// Failed reports whether any check failed.
func (r *Report) Failed() bool { return r.Count(Fail) > 0 }

// Count is the number of results with verdict v.
func (r *Report) Count(v Verdict) int {
	n := 0
	for _, res := range r.Results {
		if res.Verdict == v {
			n++
		}
	}
	return n
}

// Grouped returns the results group by group in report order, each group in
// the order the checks ran. Empty groups are left out.
func (r *Report) Grouped() [][]Result {
	var out [][]Result
	for _, g := range Groups {
		var rs []Result
		for _, res := range r.Results {
			if res.Group == g {
				rs = append(rs, res)
			}
		}
		if len(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// Find returns the results with the given ID.
func (r *Report) Find(id string) []Result {
	var out []Result
	for _, res := range r.Results {
		if res.ID == id {
			out = append(out, res)
		}
	}
	return out
}

// sortResults orders results by group, then by ID number, keeping the order
// of results that share an ID.
func sortResults(rs []Result) {
	gi := map[string]int{}
	for i, g := range Groups {
		gi[g] = i
	}
	sort.SliceStable(rs, func(i, j int) bool {
		if gi[rs[i].Group] != gi[rs[j].Group] {
			return gi[rs[i].Group] < gi[rs[j].Group]
		}
		return idLess(rs[i].ID, rs[j].ID)
	})
}

// idLess orders "R4" < "R15" < "R34" < "R34b".
func idLess(a, b string) bool {
	na, sa := splitID(a)
	nb, sb := splitID(b)
	if na != nb {
		return na < nb
	}
	return sa < sb
}

func splitID(id string) (int, string) {
	n, i := 0, 1
	for ; i < len(id) && id[i] >= '0' && id[i] <= '9'; i++ {
		n = n*10 + int(id[i]-'0')
	}
	return n, id[i:]
}
