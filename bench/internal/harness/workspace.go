package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/signoff/signoff/internal/apiclient"
)

// Workspace is where an end-to-end benchmark runs: a temporary directory
// for binaries, databases, configurations and logs, the signoff
// repository and the signoff binary built from it, a Client, and what to
// undo at Close (the servers it started, then the directory).
type Workspace struct {
	Cleanups
	Dir     string // the temporary directory, its owner's only
	Root    string // the signoff repository
	Signoff string // cmd/signoff, built from Root into Dir
	Client  Client
}

// NewWorkspace makes a temporary directory named prefix*, finds the
// repository (repo, or RepoRoot when repo is ""), and builds cmd/signoff
// there. On an error it has undone what it did. Close the Workspace when
// done.
func NewWorkspace(prefix, repo string) (w *Workspace, err error) {
	w = &Workspace{Client: NewClient(), Root: repo}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	if w.Dir, err = os.MkdirTemp("", prefix); err != nil {
		return nil, err
	}
	w.OnClose(func() { os.RemoveAll(w.Dir) })
	if w.Root == "" {
		if w.Root, err = RepoRoot(); err != nil {
			return nil, err
		}
	}
	if w.Signoff, err = BuildSignoff(w.Root, w.Dir); err != nil {
		return nil, err
	}
	return w, nil
}

// Serve starts bin with args as StartServer does, in the directory, and
// stops it at Close.
func (w *Workspace) Serve(name, bin string, args ...string) (*Proc, error) {
	return w.ServeEnv(name, nil, bin, args...)
}

// ServeEnv is Serve with env added to the server's environment
// (StartServerEnv).
func (w *Workspace) ServeEnv(name string, env []string, bin string, args ...string) (*Proc, error) {
	p, err := StartServerEnv(w.Dir, name, env, bin, args...)
	if err != nil {
		return nil, err
	}
	w.OnClose(p.Stop)
	return p, nil
}

// SignedIn starts signoff serve in mode at logLevel (StartSignoff), stops
// it at Close, registers Email and signs in logins times: one credential
// of mode for each.
func (w *Workspace) SignedIn(ctx context.Context, mode, logLevel string, logins int) (*Proc, []apiclient.Cred, error) {
	return w.SignedInOn(ctx, "signoff-"+mode, mode, "sqlite:"+filepath.Join(w.Dir, mode+".db"), logLevel, logins)
}

// SignedInOn is SignedIn on the store URL store, the process and its log
// named name (ServeOn).
func (w *Workspace) SignedInOn(ctx context.Context, name, mode, store, logLevel string, logins int) (*Proc, []apiclient.Cred, error) {
	p, err := w.ServeOn(name, mode, store, logLevel)
	if err != nil {
		return nil, nil, err
	}
	if err := w.Client.Register(ctx, p.URL); err != nil {
		return nil, nil, err
	}
	var creds []apiclient.Cred
	for range logins {
		c, err := w.Client.Login(ctx, p.URL, mode)
		if err != nil {
			return nil, nil, err
		}
		creds = append(creds, c)
	}
	return p, creds, nil
}

// ServeOn starts signoff serve in mode on the store URL store
// (ServeStoreArgs), the process and its log named name, and stops it at
// Close. In jwt mode on a store other than SQLite, its key file is
// NAME.keys.json in the directory.
func (w *Workspace) ServeOn(name, mode, store, logLevel string) (*Proc, error) {
	args := ServeStoreArgs(mode, store, logLevel)
	if mode == "jwt" && !strings.HasPrefix(store, "sqlite:") {
		args = append(args, "--keys", filepath.Join(w.Dir, name+".keys.json"))
	}
	return w.Serve(name, w.Signoff, args...)
}

// ForwardAuth reads the documented forward-auth server block
// (ForwardAuthConf) of the repository.
func (w *Workspace) ForwardAuth() (string, error) {
	b, err := os.ReadFile(filepath.Join(w.Root, ForwardAuthConf))
	return string(b), err
}

// HostPort is the host:port of a server's URL, http://127.0.0.1:PORT/, as
// an nginx configuration names an upstream.
func HostPort(u string) string {
	return strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/")
}

// FreeAddrs returns n addresses of 127.0.0.1 that were free a moment ago
// (FreeAddr).
func FreeAddrs(n int) ([]string, error) {
	as := make([]string, n)
	for i := range as {
		var err error
		if as[i], err = FreeAddr(); err != nil {
			return nil, fmt.Errorf("a free port: %w", err)
		}
	}
	return as, nil
}

// CredLines are the header lines with which a client of signoff serve in
// mode presents the credential line cred ("" for none): a browser's Accept
// in session mode (its cookie), an API client's in jwt mode (a bearer
// token).
func CredLines(mode, cred string) string {
	accept := "Accept: text/html,application/xhtml+xml"
	if mode == "jwt" {
		accept = "Accept: application/json"
	}
	if cred == "" {
		return accept
	}
	return cred + "\r\n" + accept
}
