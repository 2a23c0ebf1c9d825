package main

import (
	"context"
	"fmt"
	"io"

	"github.com/signoff/signoff/bench/internal/harness"
	"github.com/signoff/signoff/internal/apiclient"
)

// runner is one run: what it started and made, and how to undo it.
type runner struct {
	o        options
	out, log io.Writer
	*harness.Workspace

	signoff map[string]*harness.Proc // by mode
	creds   map[string][]apiclient.Cred
	nginx   *harness.Nginx
	addr    map[string]string // nginx's listen addresses: "alone", "session", "jwt", "app"
}

// modes are signoff serve's two modes, each measured behind nginx.
var modes = []string{"session", "jwt"}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.log, "forward: "+format+"\n", args...)
}

// run is the whole benchmark: it writes the report to out and its progress
// to log, and stops everything it started before it returns. o.nginx must
// name the nginx binary.
func run(ctx context.Context, o options, out, log io.Writer) (*report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	r := &runner{o: o, out: out, log: log,
		signoff: map[string]*harness.Proc{}, creds: map[string][]apiclient.Cred{}, addr: map[string]string{}}
	r.progress("building ./cmd/signoff")
	var err error
	if r.Workspace, err = harness.NewWorkspace("signoff-forward-", o.Repo); err != nil {
		return nil, err
	}
	defer r.Close()
	for _, mode := range modes {
		r.progress("signoff serve --mode %s: start, register, %d sign-ins", mode, o.creds)
		if r.signoff[mode], r.creds[mode], err = r.SignedIn(ctx, mode, o.LogLevel, o.creds); err != nil {
			return nil, err
		}
	}
	r.progress("starting nginx (%s)", o.nginx)
	if err := r.startNginx(); err != nil {
		return nil, err
	}
	ts := r.targets()
	if err := r.preflight(ctx, ts); err != nil {
		return nil, err
	}
	rep, err := r.measure(ctx, ts)
	if err != nil {
		return nil, err
	}
	r.print(rep)
	return rep, nil
}
