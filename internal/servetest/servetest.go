// Package servetest runs a real signoff server in a test.
package servetest

import (
	"context"
	"net"
	"testing"

	"github.com/signoff/signoff/server"
)

// Start runs server.New(cfg) on 127.0.0.1:0 until the test ends, and returns
// the server and its address (host:port). The cleanup stops it and reports
// an error Serve returned.
func Start(t testing.TB, cfg server.Config) (*server.Server, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		srv.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		srv.Close()
	})
	return srv, ln.Addr().String()
}

// FreeAddr returns a loopback address (127.0.0.1:port) that was free a
// moment ago, for a process the test starts that must be told its port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
