package check

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// findings is the report a run builds as it goes: the results so far, what
// sign-in returned, and why the run stopped early, if it did. Every stage
// adds to it; report turns it into a Report.
type findings struct {
	res     []Result
	creds   string // what sign-in returns, for the report
	stopped string // why the run stopped early
}

// add records a finding. Titles come from checks; title picks among the
// checks sharing an ID.
func (f *findings) add(id string, v Verdict, format string, a ...any) {
	f.addTitled(id, "", v, format, a...)
}

func (f *findings) addTitled(id, title string, v Verdict, format string, a ...any) {
	for _, ck := range checks {
		if ck.id == id && (title == "" || ck.title == title) {
			ev := format
			if len(a) > 0 {
				ev = fmt.Sprintf(format, a...)
			}
			f.res = append(f.res, Result{ID: id, Title: ck.title, Group: ck.group, Verdict: v, Evidence: ev})
			return
		}
	}
	panic("check: unknown check " + id)
}

// verdict records id as FAIL with the bad findings, else WARN with the
// warnings, else PASS with the good ones.
func (f *findings) verdict(id string, bad, warn, good []string) {
	switch {
	case len(bad) > 0:
		f.add(id, Fail, "%s", strings.Join(bad, "; "))
	case len(warn) > 0:
		f.add(id, Warn, "%s", strings.Join(warn, "; "))
	default:
		f.add(id, Pass, "%s", strings.Join(good, "; "))
	}
}

func (f *findings) has(id, title string) bool {
	for _, res := range f.res {
		if res.ID == id && (title == "" || res.Title == title) {
			return true
		}
	}
	return false
}

// stop ends the run early for a reason that is not the site's fault (a
// sign-in refused by a rate limit, the request budget): the checks not
// reached are SKIP with the reason. The reason stands even where a stage
// goes on without the sign-in that stopped it.
func (f *findings) stop(why string) error {
	f.stopped = why
	return errStopped
}

var errStopped = errors.New("check: stopped")

// report assembles the Report: every check reported once (SKIP for those
// not reached), in order, each linked to its row of the checklist, with
// every string scrubbed of raw credentials.
func (f *findings) report(cfg Config, c *client) *Report {
	why := "not reached"
	if f.stopped != "" {
		why = "not reached: " + f.stopped
	}
	for _, ck := range checks {
		if !f.has(ck.id, ck.title) {
			f.addTitled(ck.id, ck.title, Skip, "%s", why)
		}
	}
	sortResults(f.res)
	scrub := c.scrubber()
	rep := &Report{Target: cfg.Target, Second: cfg.Second, Credentials: f.creds, Exchanges: c.exchanges(), Stopped: scrub(f.stopped)}
	for _, res := range f.res {
		res.Evidence = scrub(res.Evidence)
		res.Ref = checklistRef(res.ID)
		if slices.Contains(cfg.Ignore, res.ID) && res.Verdict != Skip {
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
