//go:build unix

package check

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// appPatience bounds how long a framework app may take to start (Django
// migrates a fresh SQLite file first, on a machine that may be busy), and
// to exit once killed.
const appPatience = time.Minute

// appCommand is how to run a framework fixture app.
type appCommand struct {
	name string // the app's name, in messages
	// argv is the program, by its absolute path, and its arguments.
	argv []string
	// env holds the variables the app needs besides those of appEnv.
	env []string
	// ready is a path that answers, with a status under 500, once the
	// app serves.
	ready string
	// roots are the CAs that sign the certificate of an app that serves
	// HTTPS; nil for one that serves HTTP.
	roots *x509.CertPool
}

// appEnv is the bare environment every app runs in, with data its
// directory: nothing of the test's own environment (a PYTHONPATH, a
// GEM_HOME meant for another interpreter) reaches it. The account testUser
// / testPassword goes to the app here, never in argv, which any user of
// the machine can read.
func appEnv(data string) []string {
	return []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + data,
		"APP_DATA=" + data, "APP_USER=" + testUser, "APP_PASSWORD=" + testPassword}
}

// appFile is the absolute path of file in testdata/frameworks/<app>.
func appFile(t *testing.T, app, file string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "frameworks", app, file))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runsBare reports whether argv runs and exits 0, within appPatience, in
// the apps' bare environment: whether an interpreter has the packages an
// app needs.
func runsBare(argv ...string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), appPatience)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = appEnv(os.TempDir())
	cmd.Dir = os.TempDir()
	return cmd.Run() == nil
}

// startApp starts c in a process group of its own, with a fresh temporary
// directory as its working directory and APP_DATA, in the bare appEnv plus
// c.env. It waits, within appPatience, for the line "listening on URL" on
// the app's standard output (URL http or https on 127.0.0.1), then until
// GET c.ready on URL answers, and returns URL. When t ends it kills the
// group: the app and whatever it started, nothing else.
//
// Only a failed start shows what the app wrote: before it answers no
// credential has been sent to it, and afterwards a traceback or a log
// line could quote one. What it writes afterwards is dropped.
func startApp(t *testing.T, c appCommand) string {
	t.Helper()
	data := t.TempDir() // before the Cleanup below, so removed after the kill
	out := &appOutput{url: make(chan string, 1)}
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Dir = data
	cmd.Env = append(appEnv(data), c.env...)
	cmd.Stdout, cmd.Stderr = appStdout{out}, out
	cmd.SysProcAttr = appProcAttr()
	// Wait returns this long after the app has exited even if something
	// it started holds its output open.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the %s app: %v", c.name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// SIGKILL: the apps keep nothing worth a clean exit (their files
		// are in data), and it ends every process of the group at once,
		// whatever each does with SIGTERM. The group is the app's own
		// (Setpgid), and its ID is not handed to a new process while any
		// member lives, even once the app has exited.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(appPatience):
			t.Errorf("the %s app (process group %d) did not exit within %v of SIGKILL", c.name, cmd.Process.Pid, appPatience)
		}
	})
	failed := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("the %s app %s; its output:\n%s", c.name, fmt.Sprintf(format, a...), out)
	}

	deadline := time.NewTimer(appPatience)
	defer deadline.Stop()
	var base string
	select {
	case base = <-out.url:
	case <-exited:
		failed("exited before it listened")
	case <-deadline.C:
		failed("did not say where it listens within %v", appPatience)
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Path != "" {
		failed("listens on %q, not http(s)://127.0.0.1:PORT", base)
	}
	hc := appClient(c.roots, 5*time.Second)
	defer hc.CloseIdleConnections()
	for {
		res, err := hc.Get(base + c.ready)
		if err == nil {
			res.Body.Close()
			if res.StatusCode < 500 {
				out.quiet()
				return base
			}
			err = fmt.Errorf("%s", res.Status)
		}
		select {
		case <-exited:
			failed("exited before it answered GET %s: %v", c.ready, err)
		case <-deadline.C:
			failed("did not answer GET %s within %v: %v", c.ready, appPatience, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// appOutput keeps what a starting app writes, to show if it fails to
// start, until quiet is called; then it keeps nothing more. Its url
// receives the URL of the first "listening on URL" line on the app's
// standard output (appStdout).
type appOutput struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	line    []byte // standard output's unfinished line
	url     chan string
	sent    bool
	dropped bool
}

// Write keeps p, the app's standard error.
func (o *appOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.dropped {
		o.buf.Write(p)
	}
	return len(p), nil
}

func (o *appOutput) quiet() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dropped = true
	o.buf = bytes.Buffer{}
	o.line = nil
}

func (o *appOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// appStdout is the app's standard output: kept like its standard error,
// and read line by line for "listening on URL".
type appStdout struct{ o *appOutput }

func (w appStdout) Write(p []byte) (int, error) {
	o := w.o
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dropped {
		return len(p), nil
	}
	o.buf.Write(p)
	if o.sent {
		return len(p), nil
	}
	o.line = append(o.line, p...)
	for {
		i := bytes.IndexByte(o.line, '\n')
		if i < 0 {
			return len(p), nil
		}
		l := strings.TrimSpace(string(o.line[:i]))
		o.line = o.line[i+1:]
		if u, ok := strings.CutPrefix(l, "listening on "); ok {
			o.url <- u
			o.sent, o.line = true, nil
			return len(p), nil
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key to t's
// temporary directory, and returns their paths and a pool that trusts the
// certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
