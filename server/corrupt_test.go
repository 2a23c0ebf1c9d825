package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/sqlitefault"
	"github.com/signoff/signoff/internal/syncbuf"
	"github.com/signoff/signoff/server"
)

// A database file damaged on disk (bad blocks in the middle, a store with
// data, closed) stops serve at start: one line naming the file and what to
// do, instead of a server that says it is ready and answers 503 to sign-ins.
func TestCorruptedFileStopsStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signoff.db")
	sqlitefault.Fill(t, path, 3000, 3000)
	sqlitefault.Corrupt(t, path, 4)
	srv, err := server.New(context.Background(), server.Config{Store: "sqlite:" + path, Argon2: testArgon2})
	if err == nil {
		srv.Close()
		t.Fatal("server.New on a corrupted database file: no error, want one naming the file")
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") || !strings.Contains(msg, path) || !strings.Contains(msg, "corrupt") || !strings.Contains(msg, "backup") {
		t.Fatalf("server.New: %q; want one line naming %s, saying it is corrupted and to restore a backup", msg, path)
	}
}

// A file that is damaged while serve runs: once a read meets the damage,
// /readyz answers 503, so a load balancer or an orchestrator takes the
// instance out, rather than 200 beside sign-ins that answer 503.
func TestCorruptedWhileRunningIsNotReady(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signoff.db")
	const users = 3000
	sqlitefault.Fill(t, path, users, 0)
	logs := &syncbuf.Buffer{}
	e := startEnv(t, server.Config{Store: "sqlite:" + path, Mode: signoff.ModeSession, RateLimitSet: true, Argon2: testArgon2,
		Logger: slog.New(slog.NewTextHandler(logs, nil))}, logs)
	expect(t, "readyz before the damage", e.raw("GET", "/readyz", nil), 200)
	sqlitefault.Corrupt(t, path, 4)
	// Users are stored in order, so the middle of the file holds the middle
	// ones: start there, and go round all of them if need be.
	met := -1
	for k := 0; k < users && met < 0; k++ {
		i := (users/3 + k) % users
		r := e.raw("POST", "/login", map[string]string{"email": sqlitefault.Email(i), "password": "not the password"})
		switch r.status {
		case http.StatusServiceUnavailable:
			met = i
		case http.StatusUnauthorized:
		default:
			t.Fatalf("sign-in %d: %d %s", i, r.status, r.text())
		}
	}
	if met < 0 {
		t.Fatal("no sign-in read a damaged page; the test damaged the wrong part of the file")
	}
	expect(t, fmt.Sprintf("readyz after sign-in %d met the damage", met), e.raw("GET", "/readyz", nil), 503)
	if !strings.Contains(logs.String(), path+" is corrupted") {
		t.Errorf("the log does not say %s is corrupted:\n%s", path, logs.String())
	}
}
