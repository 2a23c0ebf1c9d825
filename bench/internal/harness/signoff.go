package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/signoff/signoff/internal/apiclient"
)

// The account a benchmark registers on every signoff serve it starts.
const (
	Email    = "bench@example.test"
	Password = "correct horse battery staple"
)

// ServeArgs is the command line of signoff serve in mode ("session" or
// "jwt") on the SQLite file db, on 127.0.0.1 with a port of its own
// choosing, without a rate limit (the benchmarks sign in more often than a
// person would), at logLevel ("info", the default, is left out).
func ServeArgs(mode, db, logLevel string) []string {
	return ServeStoreArgs(mode, "sqlite:"+db, logLevel)
}

// ServeStoreArgs is ServeArgs on the store URL store (sqlite:PATH or
// postgres://…).
func ServeStoreArgs(mode, store, logLevel string) []string {
	a := []string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "off", "--store", store, "--mode", mode}
	if logLevel != "info" {
		a = append(a, "--log-level", logLevel)
	}
	return a
}

// ServeCommand is ServeArgs as printed, the temporary directory as DIR.
func ServeCommand(mode, logLevel string) string {
	return "signoff " + strings.Join(ServeArgs(mode, "DIR/"+mode+".db", logLevel), " ")
}

// StartSignoff starts bin serve in mode on dir/MODE.db (in jwt mode its key
// file is created beside it) and waits until it listens.
func StartSignoff(dir, bin, mode, logLevel string) (*Proc, error) {
	return StartServer(dir, "signoff-"+mode, bin, ServeArgs(mode, filepath.Join(dir, mode+".db"), logLevel)...)
}

// Client is an HTTP client for the requests a benchmark makes before and
// around its load: sign-ins and checks. It follows no redirect, uses no
// proxy and asks for no compression.
type Client struct{ *http.Client }

// NewClient returns a Client whose requests time out after 20 s.
func NewClient() Client {
	return Client{&http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{Proxy: nil, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Send does req and fails unless it answers want. It returns the response
// (its body closed) and the first 64 KiB of the body. An error shows the
// body with its tokens redacted.
func (c Client) Send(req *http.Request, want int) (*http.Response, []byte, error) {
	res, err := c.Do(req)
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

// Expect sends a request that presents cred and, when body is not empty,
// sends it as JSON, and fails unless it answers want.
func (c Client) Expect(ctx context.Context, want int, method, u string, cred apiclient.Cred, body string) (*http.Response, []byte, error) {
	req, err := apiclient.NewRequest(ctx, method, u, cred, body)
	if err != nil {
		return nil, nil, err
	}
	return c.Send(req, want)
}

// Register creates the account Email on the signoff serve at base
// (http://127.0.0.1:PORT/) through POST /register.
func (c Client) Register(ctx context.Context, base string) error {
	_, _, err := c.Expect(ctx, 202, "POST", base+"register", apiclient.Cred{}, `{"email":"`+Email+`","password":"`+Password+`"}`)
	return err
}

// Login signs Email in at the signoff serve at base, which runs in mode,
// and returns the credential of that mode: the session cookie, or (jwt
// mode, as a native client) the tokens of the answer's body.
func (c Client) Login(ctx context.Context, base, mode string) (apiclient.Cred, error) {
	res, body, err := c.Expect(ctx, 200, "POST", base+"login", apiclient.Cred{}, apiclient.LoginBody(Email, Password, mode == "jwt"))
	if err != nil {
		return apiclient.Cred{}, err
	}
	cred, ok := apiclient.FromLogin(res.Header, body)
	if !ok || (mode == "jwt") != (cred.AccessToken != "") {
		return apiclient.Cred{}, fmt.Errorf("login at signoff serve --mode %s gave no credential of its mode", mode)
	}
	return cred, nil
}
