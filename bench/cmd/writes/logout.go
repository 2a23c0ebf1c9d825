package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff/signoff/bench/internal/harness"
	"github.com/signoff/signoff/internal/apiclient"
)

// checked is how many random sessions a logout row checks besides the
// first and the last.
const checked = 6

// logoutSample is a logout row measured once.
type logoutSample struct {
	logouts int
	elapsed time.Duration
	cpu     time.Duration // signoff serve's
	lat     harness.Summary
}

func (s logoutSample) rate() float64 { return float64(s.logouts) / s.elapsed.Seconds() }

func (s logoutSample) perLogout() time.Duration { return s.cpu / time.Duration(s.logouts) }

// logoutOnce measures one round of POST /logout on t: o.logouts sessions
// made in the store for a user of their own, each signed out by one
// request from one of o.clients concurrent clients, after a tenth as many
// unmeasured. A sample of the measured sessions is shown live before and
// must be refused after.
func logoutOnce(ctx context.Context, t *target, o options) (logoutSample, error) {
	user, err := t.newUser(ctx)
	if err != nil {
		return logoutSample{}, err
	}
	warm := max(o.logouts/10, o.clients)
	toks, err := t.sessions(ctx, user, warm+o.logouts)
	if err != nil {
		return logoutSample{}, err
	}
	creds := make([]apiclient.Cred, len(toks))
	for i, tok := range toks {
		creds[i] = t.cred(tok)
	}
	check := pick(o.logouts, checked)
	for j, i := range check {
		check[j] = warm + i
		if creds[warm+i], err = t.live(ctx, creds[warm+i]); err != nil {
			return logoutSample{}, err
		}
	}
	if _, err := t.logouts(ctx, creds[:warm], o.clients); err != nil {
		return logoutSample{}, err
	}
	c0 := harness.SampleCPU(t.p.PID())
	lat, err := t.logouts(ctx, creds[warm:], o.clients)
	c1 := harness.SampleCPU(t.p.PID())
	if err != nil {
		return logoutSample{}, err
	}
	for _, i := range check {
		if err := t.refused(ctx, creds[i]); err != nil {
			return logoutSample{}, err
		}
	}
	return logoutSample{logouts: len(lat), elapsed: c1.At.Sub(c0.At), cpu: c1.Server[0] - c0.Server[0], lat: harness.Summarize(lat)}, nil
}

// logouts signs out every session of creds, each by one POST /logout, from
// k concurrent clients, and returns how long each took. The cookie goes in
// its header; a native client's refresh token (jwt mode) in the body, as
// the only credential. The first failure ends it.
func (t *target) logouts(ctx context.Context, creds []apiclient.Cred, k int) ([]time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lat := make([]time.Duration, len(creds))
	var next atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for range min(k, len(creds)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(creds) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				c := creds[i]
				req, err := apiclient.NewRequest(ctx, "POST", t.p.URL+"logout", apiclient.Cred{Cookie: c.Cookie}, c.RefreshBody())
				if err == nil {
					t0 := time.Now()
					_, _, err = t.hc.Send(req, 200)
					lat[i] = time.Since(t0)
				}
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return lat, ctx.Err()
}

// everySample is an everywhere row measured once.
type everySample struct {
	http time.Duration // POST /logout/all, as the client waited for it
	raw  time.Duration // Store.RevokeUserSessions called here
	// failed says how each failed, when it did: the status of a 5xx
	// answer (signoff gives up on a revocation after 15 s), or that the
	// store call ran out of rawTimeout.
	httpFailed, rawFailed string
}

func (s everySample) httpString() string { return cmp.Or(s.httpFailed, harness.FmtDur(s.http)) }

func (s everySample) rawString() string { return cmp.Or(s.rawFailed, harness.FmtDur(s.raw)) }

// rawTimeout bounds RevokeUserSessions called here: twice what signoff
// allows the whole revocation.
const rawTimeout = 30 * time.Second

// everywhereOnce measures one round of logout everywhere on t for a user
// with n live sessions, made in the store: POST /logout/all with the
// credential of the first, then a sample of the others (the first, the
// last, random ones) must be refused; then RevokeUserSessions on the
// store directly, for another user with n sessions. Both must say they
// revoked n, or fail as everySample says (then nothing is checked).
func everywhereOnce(ctx context.Context, t *target, n int) (everySample, error) {
	var s everySample
	user, err := t.newUser(ctx)
	if err != nil {
		return s, err
	}
	toks, err := t.sessions(ctx, user, n)
	if err != nil {
		return s, err
	}
	check := pick(n, checked)
	creds := make([]apiclient.Cred, len(check))
	for j, i := range check {
		if creds[j], err = t.live(ctx, t.cred(toks[i])); err != nil {
			return s, err
		}
	}
	req, err := apiclient.NewRequest(ctx, "POST", t.p.URL+"logout/all", meCred(creds[0]), "")
	if err != nil {
		return s, err
	}
	t0 := time.Now()
	res, body, err := t.hc.Send(req, 200)
	s.http = time.Since(t0)
	switch {
	case err != nil && res != nil && res.StatusCode >= 500:
		s.httpFailed = fmt.Sprintf("%d after %s", res.StatusCode, harness.FmtDur(s.http))
	case err != nil:
		return s, err
	default:
		var ans struct{ Revoked int }
		if err := json.Unmarshal(body, &ans); err != nil || ans.Revoked != n {
			return s, fmt.Errorf("POST /logout/all of %d sessions answered %.200q: want revoked %d", n, body, n)
		}
		for _, c := range creds {
			if err := t.refused(ctx, c); err != nil {
				return s, err
			}
		}
	}
	if user, err = t.newUser(ctx); err != nil {
		return s, err
	}
	if _, err = t.sessions(ctx, user, n); err != nil {
		return s, err
	}
	rctx, cancel := context.WithTimeout(ctx, rawTimeout)
	defer cancel()
	t0 = time.Now()
	revoked, _, err := t.st.RevokeUserSessions(rctx, user, time.Now())
	s.raw = time.Since(t0)
	switch {
	case err != nil && rctx.Err() != nil && ctx.Err() == nil:
		s.rawFailed = "over " + harness.FmtDur(rawTimeout)
	case err != nil:
		return s, fmt.Errorf("RevokeUserSessions: %w", err)
	case revoked != n:
		return s, fmt.Errorf("RevokeUserSessions of %d sessions revoked %d", n, revoked)
	}
	return s, nil
}
