//go:build unix

package check

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
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

// appPatience bounds how long a framework app may take to start, and to
// stop once asked.
const appPatience = 60 * time.Second

// startAppProcess starts cmd, a framework app that prints "listening on
// URL" on a line of its standard output once it listens, in a process
// group of its own; waits, within appPatience, until GET ready on that URL
// answers (through hc, which must trust the app's certificate if it serves
// HTTPS); and returns the URL. When t ends it stops the group: SIGTERM,
// then SIGKILL if the app has not exited within appPatience. The app's
// output is logged only if t failed.
func startAppProcess(t *testing.T, name string, cmd *exec.Cmd, hc *http.Client, ready string) string {
	t.Helper()
	out := &appOutput{url: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	pgid := cmd.Process.Pid // the leader of its own group
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited: // it ended by itself, and its group with it
		default:
			syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(appPatience):
				syscall.Kill(-pgid, syscall.SIGKILL)
				<-exited
			}
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out)
		}
	})

	deadline := time.NewTimer(appPatience)
	defer deadline.Stop()
	var base string
	select {
	case base = <-out.url:
	case <-exited:
		t.Fatalf("%s exited at start:\n%s", name, out)
	case <-deadline.C:
		t.Fatalf("%s did not say where it listens within %v:\n%s", name, appPatience, out)
	}
	hc.Timeout = 5 * time.Second
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for {
		res, err := hc.Get(base + ready)
		if err == nil {
			res.Body.Close()
			if res.StatusCode < 500 {
				return base
			}
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before it answered:\n%s", name, out)
		case <-deadline.C:
			t.Fatalf("%s did not answer GET %s within %v (last: %v):\n%s", name, ready, appPatience, describeErr(res, err), out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func describeErr(res *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return res.Status
}

// appOutput keeps an app's output and sends the URL of its first
// "listening on URL" line.
type appOutput struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	url  chan string
	sent bool
}

func (o *appOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if !o.sent {
		text := o.buf.String()
		lines := strings.Split(text[:strings.LastIndexByte(text, '\n')+1], "\n")
		for _, l := range lines {
			if u, ok := strings.CutPrefix(strings.TrimSpace(l), "listening on "); ok {
				o.url <- u
				o.sent = true
				break
			}
		}
	}
	return len(p), nil
}

func (o *appOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
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

// formHidden returns the hidden inputs of the form in page that posts to
// action, as a browser would send them; ok is false when page has no such
// form. It reads the page as the checker does.
func formHidden(page, action string) (fields url.Values, ok bool) {
	kvs, ok := hiddenInputs("/", page)[action]
	fields = url.Values{}
	for _, kv := range kvs {
		fields.Add(kv.name, kv.value)
	}
	return fields, ok
}
