package check

import (
	"fmt"
	"slices"
)

// add records a finding. Titles come from checks; title picks among the
// checks sharing an ID.
func (r *runner) add(id string, v Verdict, format string, a ...any) {
	r.addTitled(id, "", v, format, a...)
}

func (r *runner) addTitled(id, title string, v Verdict, format string, a ...any) {
	for _, ck := range checks {
		if ck.id == id && (title == "" || ck.title == title) {
			ev := format
			if len(a) > 0 {
				ev = fmt.Sprintf(format, a...)
			}
			r.res = append(r.res, Result{ID: id, Title: ck.title, Group: ck.group, Verdict: v, Evidence: ev})
			return
		}
	}
	panic("check: unknown check " + id)
}

func (r *runner) has(id, title string) bool {
	for _, res := range r.res {
		if res.ID == id && (title == "" || res.Title == title) {
			return true
		}
	}
	return false
}

// report assembles the Report: every check reported once (SKIP for those
// not reached), in order, with every string scrubbed of raw credentials.
func (r *runner) report() *Report {
	why := "not reached"
	if r.stopped != "" {
		why = "not reached: " + r.stopped
	}
	for _, ck := range checks {
		if !r.has(ck.id, ck.title) {
			r.addTitled(ck.id, ck.title, Skip, "%s", why)
		}
	}
	sortResults(r.res)
	scrub := r.c.scrubber()
	rep := &Report{Target: r.cfg.Target, Second: r.cfg.Second, Credentials: r.creds, Exchanges: r.c.exchanges()}
	for _, res := range r.res {
		res.Evidence = scrub(res.Evidence)
		if slices.Contains(r.cfg.Ignore, res.ID) && res.Verdict != Skip {
			res.Evidence = "ignored (--ignore " + res.ID + "), found " + string(res.Verdict) + ": " + res.Evidence
			res.Verdict = Skip
		}
		rep.Results = append(rep.Results, res)
	}
	for i := range rep.Exchanges {
		e := &rep.Exchanges[i]
		e.Path, e.Err, e.Note, e.Step = scrub(e.Path), scrub(e.Err), scrub(e.Note), scrub(e.Step)
		for j := range e.Sent {
			e.Sent[j] = scrub(e.Sent[j])
		}
		for j := range e.Got {
			e.Got[j] = scrub(e.Got[j])
		}
	}
	return rep
}
