package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/signoff/signoff/bench/internal/harness"
)

// docsConf is the documented forward-auth server block, the one the proxy
// tests run, relative to the repository root. (b) is this file as it is,
// its placeholders filled.
const docsConf = "server/testdata/forward-auth/nginx.conf"

// appBody is what the app answers every request with.
const appBody = "ok\n"

// mainConf is the nginx configuration around the server blocks: one
// worker, no access log, every file in the temporary directory (as
// nginx-test.conf of the proxy tests has them).
const mainConf = `# bench/cmd/forward: one nginx for (a), (b) and the app.
worker_processes 1;
pid {{DIR}}/nginx.pid;
error_log {{DIR}}/error.log warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    client_body_temp_path {{DIR}}/client_body;
    proxy_temp_path {{DIR}}/proxy;
    fastcgi_temp_path {{DIR}}/fastcgi;
    uwsgi_temp_path {{DIR}}/uwsgi;
    scgi_temp_path {{DIR}}/scgi;

    # (a) nginx alone: the app with no auth at all.
    server {
        listen {{ALONE}};
        location / {
            proxy_pass http://{{APP}};
        }
    }

    # (b) through nginx: ` + docsConf + `, once per mode.
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
}
`

// fill replaces each {{KEY}} of vars in s and fails if a placeholder is
// left.
func fill(name, s string, vars map[string]string) (string, error) {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		return "", fmt.Errorf("%s: placeholder left: %.20s", name, s[i:])
	}
	return s, nil
}

// startNginx writes the configuration into the temporary directory and
// starts nginx on it, in the foreground, and waits until it listens.
func (r *runner) startNginx() error {
	for _, k := range []string{"alone", "session", "jwt", "app"} {
		a, err := harness.FreeAddr()
		if err != nil {
			return err
		}
		r.addr[k] = a
	}
	docs, err := os.ReadFile(filepath.Join(r.root, docsConf))
	if err != nil {
		return err
	}
	for _, mode := range modes {
		s, err := fill(docsConf, string(docs), map[string]string{
			"LISTEN": r.addr[mode], "APP": r.addr["app"], "SIGNOFF": strings.TrimSuffix(strings.TrimPrefix(r.signoff[mode].URL, "http://"), "/"),
		})
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(r.dir, "verify-"+mode+".conf"), []byte(s), 0o600); err != nil {
			return err
		}
	}
	conf, err := fill("main configuration", mainConf, map[string]string{"DIR": r.dir, "ALONE": r.addr["alone"], "APP": r.addr["app"]})
	if err != nil {
		return err
	}
	path := filepath.Join(r.dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return err
	}
	p, err := harness.StartProc(r.dir, "nginx", r.o.nginx, "-p", r.dir+"/", "-c", path, "-e", filepath.Join(r.dir, "error.log"), "-g", "daemon off;")
	if err != nil {
		return err
	}
	r.OnClose(p.Stop)
	r.nginx = p
	if err := p.WaitListen(15*time.Second, r.addr["alone"], r.addr["session"], r.addr["jwt"], r.addr["app"]); err != nil {
		return fmt.Errorf("%w\nerror.log:\n%s", err, r.nginxErrors())
	}
	return nil
}

// nginxErrors is the end of nginx's error log.
func (r *runner) nginxErrors() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "error.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// nginxVersion is what nginx -v says, "nginx/1.22.1".
func nginxVersion(bin string) string {
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	return string(bytes.TrimSpace(bytes.TrimPrefix(out, []byte("nginx version: "))))
}
