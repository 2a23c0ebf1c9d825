package server_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
)

// OpenBackend is signoff serve's wiring: the SQLite file holds users and
// sessions and carries the bus; Close releases it, and twice is harmless.
func TestOpenBackend(t *testing.T) {
	ctx := context.Background()
	b, err := server.OpenBackend(ctx, server.Stores{Store: "sqlite:" + filepath.Join(t.TempDir(), "signoff.db")}, server.BackendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Users == nil || b.Sessions == nil || b.Bus == nil {
		t.Fatalf("OpenBackend left a part out: %+v", b)
	}
	if err := b.Sessions.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Users.UserByEmail(ctx, "nobody@example.test"); err != signoff.ErrNotFound {
		t.Errorf("UserByEmail on a fresh file: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := (&server.Backend{}).Close(); err != nil {
		t.Errorf("Close of a Backend the caller built: %v", err)
	}
}

// A store string Stores.Check refuses is OpenBackend's error, password
// redacted.
func TestOpenBackendRefuses(t *testing.T) {
	for _, st := range []server.Stores{
		{Store: "redis://u:secret@127.0.0.1:1/0"},
		{Store: "mysql://u:secret@127.0.0.1/db"},
		{Store: "sqlite:"},
		{Store: "sqlite:x.db", Sessions: "postgres://u:secret@127.0.0.1/db"},
	} {
		b, err := server.OpenBackend(context.Background(), st, server.BackendOptions{})
		if err == nil {
			b.Close()
			t.Errorf("%+v: opened", st)
			continue
		}
		if err.Error() != st.Check().Error() || strings.Contains(err.Error(), "secret") {
			t.Errorf("%+v: %v", st, err)
		}
	}
}
