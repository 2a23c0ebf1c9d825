package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DefaultNginx is where Debian's nginx packages (nginx-light among them)
// install the binary.
const DefaultNginx = "/usr/sbin/nginx"

// ForwardAuthConf is the documented forward-auth server block, the one the
// proxy tests run, relative to the repository root. Its placeholders are
// {{LISTEN}}, {{APP}} and {{SIGNOFF}}.
const ForwardAuthConf = "server/testdata/forward-auth/nginx.conf"

// VerifyUpstream is the name of ForwardAuthConf's upstream block for
// /verify (kept-open connections); a configuration that holds the block
// twice renames each.
const VerifyUpstream = "signoff_verify"

// FindNginx returns path if it is an executable, else nginx on PATH, else
// an error that names the Debian package.
func FindNginx(path string) (string, error) {
	if p, err := exec.LookPath(path); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	return "", errors.New("nginx not found (" + path + ", nor on PATH): apt-get install nginx-light")
}

// NginxVersion is what bin -v says, "nginx/1.22.1".
func NginxVersion(bin string) string {
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	return string(bytes.TrimSpace(bytes.TrimPrefix(out, []byte("nginx version: "))))
}

// Fill replaces each {{KEY}} of vars in s and fails if a placeholder is
// left; name says which text in the error.
func Fill(name, s string, vars map[string]string) (string, error) {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		return "", fmt.Errorf("%s: placeholder left: %.20s", name, s[i:])
	}
	return s, nil
}

// nginxMain is the configuration around a benchmark's server blocks: one
// worker, no access log, every file in the benchmark's directory (as
// nginx-test.conf of the proxy tests has them).
const nginxMain = `worker_processes 1;
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

{{HTTP}}
}
`

// Nginx is an nginx that StartNginx started: a master and its one worker.
type Nginx struct {
	*Proc
	Dir string // its configuration, pid file, error log and temporary files
}

// StartNginx writes dir/nginx.conf, whose http block holds httpBlock (the
// benchmark's server blocks; {{DIR}} in it becomes dir), starts bin on it
// in the foreground (daemon off) and waits up to 15 s until it listens on
// every address of addrs. Stop it with Stop, which signals it by PID.
func StartNginx(dir, bin, httpBlock string, addrs ...string) (*Nginx, error) {
	conf, err := Fill("nginx configuration", strings.ReplaceAll(nginxMain, "{{HTTP}}", httpBlock), map[string]string{"DIR": dir})
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	p, err := StartProc(dir, "nginx", bin, "-p", dir+"/", "-c", path, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	if err != nil {
		return nil, err
	}
	n := &Nginx{Proc: p, Dir: dir}
	if err := p.WaitListen(15*time.Second, addrs...); err != nil {
		p.Stop()
		return nil, fmt.Errorf("%w\nerror.log:\n%s", err, n.Errors())
	}
	return n, nil
}

// Errors is the end of nginx's error log.
func (n *Nginx) Errors() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "error.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
