package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/signoff/signoff/bench/internal/harness"
)

// servers are nginx's server blocks: the static file alone, and behind
// auth_request once per mode. {{VERIFY_SESSION}} and {{VERIFY_JWT}} are the
// documented configuration's /verify location, as it is.
const servers = `{{UPSTREAMS}}    # The static file alone.
    server {
        listen {{STATIC}};
        root {{WWW}};
    }

    # The same file behind auth_request to signoff's /verify; the location
    # that asks it is ` + harness.ForwardAuthConf + `'s.
    server {
        listen {{SESSION}};
        root {{WWW}};
        location / {
            auth_request /_signoff/verify;
        }
{{VERIFY_SESSION}}    }
    server {
        listen {{JWT}};
        root {{WWW}};
        location / {
            auth_request /_signoff/verify;
        }
{{VERIFY_JWT}}    }
`

// verifyLocation is the location block of the documented configuration
// through which nginx asks signoff's /verify.
var verifyLocation = regexp.MustCompile(`(?ms)^    location = /_signoff/verify \{\n.*?^    \}\n`)

// verifyUpstream is the documented configuration's upstream block that
// location asks, with its kept-open connections.
var verifyUpstream = regexp.MustCompile(`(?ms)^upstream ` + harness.VerifyUpstream + ` \{\n.*?^\}\n`)

// startNginx writes the static file and the configuration into the
// temporary directory, starts nginx on it and waits until it listens.
func (r *runner) startNginx(bin string) error {
	r.progress("starting nginx (%s)", bin)
	as, err := harness.FreeAddrs(3)
	if err != nil {
		return err
	}
	for i, k := range []string{"static", "session", "jwt"} {
		r.addr[k] = as[i]
	}
	docs, err := r.ForwardAuth()
	if err != nil {
		return err
	}
	loc := verifyLocation.FindString(docs)
	if loc == "" {
		return fmt.Errorf("%s has no location = /_signoff/verify block", harness.ForwardAuthConf)
	}
	vars := map[string]string{"STATIC": r.addr["static"], "SESSION": r.addr["session"], "JWT": r.addr["jwt"]}
	up := verifyUpstream.FindString(docs)
	if up == "" {
		return fmt.Errorf("%s has no upstream %s block", harness.ForwardAuthConf, harness.VerifyUpstream)
	}
	ups := ""
	for _, mode := range modes {
		// Each mode its own upstream, in the one http block.
		rename := strings.NewReplacer("{{SIGNOFF}}", harness.HostPort(r.signoff[mode].URL), harness.VerifyUpstream, harness.VerifyUpstream+"_"+mode)
		vars["VERIFY_"+strings.ToUpper(mode)] = rename.Replace(loc)
		ups += rename.Replace(up)
	}
	vars["UPSTREAMS"] = ups
	// The file has a directory of its own that nginx's worker (nobody,
	// when the master runs as root) may read; the temporary directory is
	// its owner's only.
	www, err := os.MkdirTemp("", "signoff-e2e-www-")
	if err != nil {
		return err
	}
	r.OnClose(func() { os.RemoveAll(www) })
	if err := os.Chmod(www, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(www, strings.TrimPrefix(staticPath, "/")), []byte(staticBody), 0o644); err != nil {
		return err
	}
	vars["WWW"] = www
	block, err := harness.Fill("nginx server blocks", servers, vars)
	if err != nil {
		return err
	}
	n, err := harness.StartNginx(r.Dir, bin, block, r.addr["static"], r.addr["session"], r.addr["jwt"])
	if err != nil {
		return err
	}
	r.OnClose(n.Stop)
	r.nginx = n
	return nil
}
