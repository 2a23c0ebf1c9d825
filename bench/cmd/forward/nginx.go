package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/signoff/signoff/bench/internal/harness"
)

// appBody is what the app answers every request with.
const appBody = "ok\n"

// servers are nginx's server blocks: one nginx for (a), (b) and the app.
const servers = `    # (a) nginx alone: the app with no auth at all.
    server {
        listen {{ALONE}};
        location / {
            proxy_pass http://{{APP}};
        }
    }

    # (b) through nginx: ` + harness.ForwardAuthConf + `, once per mode.
    include {{DIR}}/verify-session.conf;
    include {{DIR}}/verify-jwt.conf;

    # The app of (a) and (b): a small static answer.
    server {
        listen {{APP}};
        default_type text/plain;
        location / {
            return 200 "ok\n";
        }
    }
`

// startNginx writes the configuration into the temporary directory and
// starts nginx on it, in the foreground, and waits until it listens.
func (r *runner) startNginx() error {
	as, err := harness.FreeAddrs(4)
	if err != nil {
		return err
	}
	for i, k := range []string{"alone", "session", "jwt", "app"} {
		r.addr[k] = as[i]
	}
	docs, err := r.ForwardAuth()
	if err != nil {
		return err
	}
	for _, mode := range modes {
		s, err := harness.Fill(harness.ForwardAuthConf, docs, map[string]string{
			"LISTEN": r.addr[mode], "APP": r.addr["app"], "SIGNOFF": harness.HostPort(r.signoff[mode].URL),
		})
		if err != nil {
			return err
		}
		// Both modes' files go into one http block: each its own upstream.
		s = strings.ReplaceAll(s, harness.VerifyUpstream, harness.VerifyUpstream+"_"+mode)
		if err := os.WriteFile(filepath.Join(r.Dir, "verify-"+mode+".conf"), []byte(s), 0o600); err != nil {
			return err
		}
	}
	block := strings.NewReplacer("{{ALONE}}", r.addr["alone"], "{{APP}}", r.addr["app"]).Replace(servers)
	n, err := harness.StartNginx(r.Dir, r.o.nginx, block, r.addr["alone"], r.addr["session"], r.addr["jwt"], r.addr["app"])
	if err != nil {
		return err
	}
	r.OnClose(n.Stop)
	r.nginx = n
	return nil
}
