package server_test

import (
	"context"
	"errors"
	"testing"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
	"github.com/signoff/signoff/store/memstore"
)

// pingUsers is a user store with a Ping of the test's choosing, around a
// real one: the accounts' database, apart from the sessions' (PostgreSQL
// beside Redis), failing.
type pingUsers struct {
	signoff.UserStore
	ping func(context.Context) error
}

func (u pingUsers) Ping(ctx context.Context) error { return u.ping(ctx) }

// Sign-in reads the user store: when it cannot answer, /readyz says so
// even though the session store does.
func TestReadyzChecksTheUserStore(t *testing.T) {
	sessions, users := memstore.New(), memstore.New()
	down := errors.New("users database: connection refused")
	e := newEnv(t, signoff.ModeSession, func(c *server.Config) {
		c.Backend = &server.Backend{Sessions: sessions, Bus: &signoff.LocalBus{},
			Users: pingUsers{UserStore: users, ping: func(context.Context) error { return down }}}
	})
	expect(t, "readyz with the user store down", e.raw("GET", "/readyz", nil), 503)
}
