package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	client   *http.Client
	harness.Cleanups

	signoff map[string]*harness.Proc // by mode
	creds   map[string][]apiclient.Cred
	nginx   *harness.Proc
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
	r.client = &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{Proxy: nil, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
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

const (
	email    = "bench@example.test"
	password = "correct horse battery staple"
)

// serveArgs is the signoff serve command line of mode, on db.
func (r *runner) serveArgs(mode, db string) []string {
	a := []string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "off", "--store", "sqlite:" + db, "--mode", mode}
	if r.o.logLevel != "info" {
		a = append(a, "--log-level", r.o.logLevel)
	}
	return a
}

// startSignoff starts signoff serve in mode on a SQLite file of its own (in
// jwt mode its key file is created beside it), registers the user and
// signs in o.creds times.
func (r *runner) startSignoff(ctx context.Context, mode string) error {
	r.progress("signoff serve --mode %s: start, register, %d sign-ins", mode, r.o.creds)
	p, err := harness.StartServer(r.dir, "signoff-"+mode, r.bin, r.serveArgs(mode, filepath.Join(r.dir, mode+".db"))...)
	if err != nil {
		return err
	}
	r.OnClose(p.Stop)
	r.signoff[mode] = p
	if _, _, err := r.expect(ctx, 202, "POST", p.URL+"register", apiclient.Cred{}, `{"email":"`+email+`","password":"`+password+`"}`); err != nil {
		return err
	}
	for range r.o.creds {
		res, body, err := r.expect(ctx, 200, "POST", p.URL+"login", apiclient.Cred{}, apiclient.LoginBody(email, password, mode == "jwt"))
		if err != nil {
			return err
		}
		c, ok := apiclient.FromLogin(res.Header, body)
		if !ok || (mode == "jwt") != (c.AccessToken != "") {
			return fmt.Errorf("login at signoff serve --mode %s gave no credential of its mode", mode)
		}
		r.creds[mode] = append(r.creds[mode], c)
	}
	return nil
}

// expect sends a request with c's credential and fails unless it answers
// want. It returns the response (its body closed) and the body.
func (r *runner) expect(ctx context.Context, want int, method, u string, c apiclient.Cred, body string) (*http.Response, []byte, error) {
	req, err := apiclient.NewRequest(ctx, method, u, c, body)
	if err != nil {
		return nil, nil, err
	}
	return r.send(req, want)
}

// send does req and fails unless it answers want.
func (r *runner) send(req *http.Request, want int) (*http.Response, []byte, error) {
	res, err := r.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	res.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	if res.StatusCode != want {
		return res, b, fmt.Errorf("%s %s: %d, want %d: %.300s", req.Method, req.URL, res.StatusCode, want, apiclient.RedactBody(b))
	}
	return res, b, nil
}

// serveCommand is the signoff serve command line of mode, as printed: the
// temporary directory is DIR.
func (r *runner) serveCommand(mode string) string {
	return "signoff " + strings.Join(r.serveArgs(mode, "DIR/"+mode+".db"), " ")
}
