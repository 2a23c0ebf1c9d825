package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/signoff/signoff/bench/internal/harness"
	"github.com/signoff/signoff/internal/apiclient"
)

// runner is one run: what it started and made, and how to undo it.
type runner struct {
	o        options
	out, log io.Writer
	root     string // the signoff repository
	dir      string // binary, databases, nginx's files, logs
	bin      string // signoff
	client   harness.Client
	harness.Cleanups

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
	defer r.Close()
	var err error
	if r.dir, err = os.MkdirTemp("", "signoff-forward-"); err != nil {
		return nil, err
	}
	r.OnClose(func() { os.RemoveAll(r.dir) })
	r.client = harness.NewClient()
	if r.root = o.repo; r.root == "" {
		if r.root, err = harness.RepoRoot(); err != nil {
			return nil, err
		}
	}
	r.progress("building ./cmd/signoff in %s", r.root)
	if r.bin, err = harness.BuildSignoff(r.root, r.dir); err != nil {
		return nil, err
	}
	for _, mode := range modes {
		if err := r.startSignoff(ctx, mode); err != nil {
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

// startSignoff starts signoff serve in mode on a SQLite file of its own (in
// jwt mode its key file is created beside it), registers the user and
// signs in o.creds times.
func (r *runner) startSignoff(ctx context.Context, mode string) error {
	r.progress("signoff serve --mode %s: start, register, %d sign-ins", mode, r.o.creds)
	p, err := harness.StartSignoff(r.dir, r.bin, mode, r.o.logLevel)
	if err != nil {
		return err
	}
	r.OnClose(p.Stop)
	r.signoff[mode] = p
	if err := r.client.Register(ctx, p.URL); err != nil {
		return err
	}
	for range r.o.creds {
		c, err := r.client.Login(ctx, p.URL, mode)
		if err != nil {
			return err
		}
		r.creds[mode] = append(r.creds[mode], c)
	}
	return nil
}
