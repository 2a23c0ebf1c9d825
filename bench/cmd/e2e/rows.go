package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/signoff/signoff/bench/internal/floor"
	"github.com/signoff/signoff/bench/internal/harness"
)

// row is one line of the table: what the load generator asks, of whom,
// and whose CPU time counts.
type row struct {
	id      string // one of rowKinds
	label   string
	base    string // http://127.0.0.1:PORT/
	path    string
	lines   string         // the request's header lines, the credential's among them
	noCred  string         // the same without the credential; "" when the row has none
	pids    []int          // the processes whose CPU counts (each with its children)
	procs   []string       // their names, as printed
	floorOf string         // the id of this row's same-response floor, if it has one
	skip    string         // why the row is not measured; "" when it is
	answer  floor.Response // what it answered before the load (preflight)
	// check, when not nil, says what is wrong with a 200 answer.
	check func(res *http.Response, body []byte) error
}

// rowKinds are the rows in the order of a round: each signoff row that has
// a floor is followed by it.
var rowKinds = []string{
	"hello",
	"session /healthz", "session /verify", "floor session /verify", "session /api/me", "floor session /api/me",
	"jwt /healthz", "jwt /verify", "floor jwt /verify", "jwt /api/me", "floor jwt /api/me",
	"nginx static", "nginx session", "nginx jwt",
	"scs", "scs-redis", "gorilla",
}

// Paths and bodies of the rows that are not signoff's.
const (
	helloPath  = "/hello"
	staticPath = "/ok.txt"
	staticBody = "ok"
	libPath    = "/me"
)

// libLabels name the libraries' rows.
var libLabels = map[string]string{
	"scs":       "scs (memstore): GET /me",
	"scs-redis": "scs (redisstore): GET /me",
	"gorilla":   "gorilla/sessions (CookieStore): GET /me",
}

// signoffLines are the header lines of a request for path of signoff in
// mode with the credential line cred: none for /healthz; for /verify, a
// client's and those nginx's auth_request adds (the documented
// configuration's proxy_set_header); for /api/me, an API client's.
func signoffLines(mode, path, cred string) string {
	switch path {
	case "/healthz":
		return ""
	case "/verify":
		return harness.CredLines(mode, cred) + "\r\nX-Original-Method: GET\r\nX-Original-URI: " + staticPath +
			"\r\nX-Forwarded-Host: 127.0.0.1\r\nX-Forwarded-Proto: http"
	}
	if cred == "" {
		return "Accept: application/json"
	}
	return cred + "\r\nAccept: application/json"
}

// rows lists the rows in the order of a round.
func (r *runner) rows() []row {
	var rs []row
	for _, id := range rowKinds {
		x := r.row(id)
		if r.o.only != nil && !r.o.only[id] && x.skip == "" {
			x.skip = "not in -rows"
		}
		rs = append(rs, x)
	}
	return rs
}

func (r *runner) row(id string) row {
	x := row{id: id}
	words := strings.Fields(id)
	switch {
	case id == "hello":
		x.label, x.base, x.path = "bare net/http hello", r.hello.URL, helloPath
		x.pids, x.procs = []int{r.hello.PID()}, []string{"hello"}
		x.check = wantBody("ok")
	case words[0] == "session" || words[0] == "jwt":
		mode, path := words[0], words[1]
		p := r.signoff[mode]
		x.label, x.base, x.path = "signoff "+mode+": GET "+path, p.URL, path
		x.lines = signoffLines(mode, path, r.creds[mode].Header())
		x.pids, x.procs = []int{p.PID()}, []string{"signoff"}
		if path != "/healthz" {
			x.noCred, x.floorOf = signoffLines(mode, path, ""), "floor "+mode+" "+path
		}
		if path == "/verify" {
			x.check = func(res *http.Response, _ []byte) error {
				if res.Header.Get("X-Auth-User") == "" {
					return fmt.Errorf("200 without X-Auth-User")
				}
				return nil
			}
		}
	case words[0] == "floor":
		mode, path := words[1], words[2]
		p := r.floors[mode]
		x.label, x.base, x.path = "same-response floor: "+mode+" "+path, p.URL, path
		x.lines = signoffLines(mode, path, r.creds[mode].Header())
		x.pids, x.procs = []int{p.PID()}, []string{"floor"}
		x.check = sameAs(r.recorded[mode][path])
	case words[0] == "nginx":
		x.path, x.check = staticPath, wantBody(staticBody)
		if r.nginx == nil {
			x.skip = r.nginxWhy
		} else {
			x.pids, x.procs = []int{r.nginx.PID()}, []string{"nginx"}
		}
		mode := words[1]
		if mode == "static" {
			x.label = "nginx: static file"
			x.lines = harness.CredLines("session", r.creds["session"].Header()) // as the session row: nginx parses the same bytes
			x.base = "http://" + r.addr["static"] + "/"
			break
		}
		x.label = "nginx: auth_request → signoff /verify (" + mode + "), then the static file"
		x.lines, x.noCred = harness.CredLines(mode, r.creds[mode].Header()), harness.CredLines(mode, "")
		x.base = "http://" + r.addr[mode] + "/"
		if x.skip == "" {
			x.pids, x.procs = append(x.pids, r.signoff[mode].PID()), append(x.procs, "signoff")
		}
	default: // a library
		x.label, x.path = libLabels[id], libPath
		p, ok := r.libs[id]
		switch {
		case ok:
			x.base, x.lines, x.noCred = p.URL, r.libCreds[id]+"\r\nAccept: application/json", "Accept: application/json"
			x.pids, x.procs = []int{p.PID()}, []string{strings.TrimSuffix(id, "-redis")}
			if id == "scs-redis" {
				x.pids, x.procs = append(x.pids, r.redisPID), append(x.procs, "redis-server")
			}
		case id == "scs-redis":
			x.skip = r.redisWhy
		default:
			x.skip = "not started"
		}
		x.check = wantBody("usr_bench")
	}
	return x
}

// wantBody checks that a body is want.
func wantBody(want string) func(*http.Response, []byte) error {
	return func(_ *http.Response, body []byte) error {
		if string(body) != want {
			return fmt.Errorf("body %.60q, want %q", body, want)
		}
		return nil
	}
}

// sameAs checks that an answer is the recorded one: the same status, the
// same headers but Date, the same body.
func sameAs(rec floor.Response) func(*http.Response, []byte) error {
	return func(res *http.Response, body []byte) error {
		got := floor.Record(res, body)
		if got.Status != rec.Status || !bytes.Equal(got.Body, rec.Body) ||
			!maps.EqualFunc(got.Header, rec.Header, slices.Equal) {
			return fmt.Errorf("the floor's answer is not signoff's: %d %v, want %d %v", got.Status, got.Names(), rec.Status, rec.Names())
		}
		return nil
	}
}

// preflight asks every measured row once before any load, with the very
// request of the load, and keeps its answer: it must answer 200 and pass
// the row's check; and
// a row with a credential must answer 401 without it, so the credential
// is really checked.
func (r *runner) preflight(ctx context.Context, rows []row) error {
	for i := range rows {
		x := &rows[i]
		if x.skip != "" {
			r.progress("skipping %s: %s", x.label, x.skip)
			continue
		}
		res, body, err := harness.Fetch(ctx, x.base, x.path, x.lines)
		if err != nil {
			return fmt.Errorf("%s: %w", x.label, err)
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %d, want 200", x.label, res.StatusCode)
		}
		x.answer = floor.Record(res, body)
		if x.check != nil {
			if err := x.check(res, body); err != nil {
				return fmt.Errorf("%s: %w", x.label, err)
			}
		}
		if x.noCred == "" {
			continue
		}
		if res, _, err = harness.Fetch(ctx, x.base, x.path, x.noCred); err != nil {
			return fmt.Errorf("%s without a credential: %w", x.label, err)
		}
		if res.StatusCode != http.StatusUnauthorized {
			return fmt.Errorf("%s without a credential: %d, want 401", x.label, res.StatusCode)
		}
	}
	return nil
}
