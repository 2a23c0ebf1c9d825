package server_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/server"
	"github.com/signoff/signoff/store/memstore"
)

// fakeStore is a real memstore whose methods a test may replace one by one,
// to inject a fault or watch a call: a nil field means memstore's own.
type fakeStore struct {
	*memstore.Store
	createUser     func(ctx context.Context, u *signoff.User) error
	userByEmail    func(ctx context.Context, email string) (*signoff.User, error)
	sessionByToken func(ctx context.Context, h signoff.Hash, now time.Time) (*signoff.Session, error)
	listSessions   func(ctx context.Context, userID string, now time.Time) ([]*signoff.Session, error)
}

func (f *fakeStore) ListSessions(ctx context.Context, userID string, now time.Time) ([]*signoff.Session, error) {
	if f.listSessions != nil {
		return f.listSessions(ctx, userID, now)
	}
	return f.Store.ListSessions(ctx, userID, now)
}

func (f *fakeStore) SessionByToken(ctx context.Context, h signoff.Hash, now time.Time) (*signoff.Session, error) {
	if f.sessionByToken != nil {
		return f.sessionByToken(ctx, h, now)
	}
	return f.Store.SessionByToken(ctx, h, now)
}

func (f *fakeStore) CreateUser(ctx context.Context, u *signoff.User) error {
	if f.createUser != nil {
		return f.createUser(ctx, u)
	}
	return f.Store.CreateUser(ctx, u)
}

func (f *fakeStore) UserByEmail(ctx context.Context, email string) (*signoff.User, error) {
	if f.userByEmail != nil {
		return f.userByEmail(ctx, email)
	}
	return f.Store.UserByEmail(ctx, email)
}

// withFakeStore serves from f (sessions and users) with an in-process bus.
func withFakeStore(t *testing.T, f *fakeStore) func(*server.Config) {
	return func(c *server.Config) {
		c.Backend = &server.Backend{Sessions: f, Users: f, Bus: &signoff.LocalBus{}}
		c.KeysFile = filepath.Join(t.TempDir(), "keys.json")
	}
}
