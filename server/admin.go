package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/signoff/signoff"
)

// Admin is what the CLI's admin commands work with: the store, and a Manager
// whose revocations are published on the store's bus, so a running
// signoff serve drops the revoked sessions from its memory before the
// command returns.
type Admin struct {
	Users    signoff.UserStore
	Sessions signoff.Store
	Manager  *signoff.Manager
	bus      signoff.Bus // publishes only
	log      *slog.Logger
	closers  []io.Closer
}

// OpenAdmin opens (and migrates) the stores for an admin command. Its bus
// only publishes: the command is not an instance that others wait for.
// The audit events of what it does go to log (nil: slog.Default()).
func OpenAdmin(ctx context.Context, st Stores, log *slog.Logger) (*Admin, error) {
	if log == nil {
		log = slog.Default()
	}
	b, err := OpenBackend(ctx, st, BackendOptions{Logger: log})
	if err != nil {
		return nil, err
	}
	bus := publishOnly{b.Bus}
	mgr, err := signoff.New(signoff.Config{Store: b.Sessions, Bus: bus, Logger: log})
	if err != nil {
		b.Close()
		return nil, err
	}
	return &Admin{Users: b.Users, Sessions: b.Sessions, Manager: mgr, bus: bus, log: log, closers: []io.Closer{mgr, b}}, nil
}

// publishOnly is a Bus that publishes and never subscribes: an admin command
// is not an instance that others wait for, reads no log at start, and
// answers nothing from memory.
type publishOnly struct{ signoff.Bus }

func (publishOnly) Subscribe(func(signoff.Revocation)) error { return nil }
func (publishOnly) Fresh() bool                              { return false }

// Close releases what OpenAdmin opened.
func (a *Admin) Close() error {
	var errs []error
	for _, c := range a.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// NewUser checks email and password, hashes the password with argon2id and
// stores the user. Bad input is a *signoff.StatusError (400); a taken email
// is signoff.ErrEmailTaken.
func NewUser(ctx context.Context, users signoff.UserStore, pw *Hasher, email, password string, now time.Time) (*signoff.User, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return nil, &signoff.StatusError{Status: 400, Detail: err.Error()}
	}
	if err := checkPassword(password); err != nil {
		return nil, &signoff.StatusError{Status: 400, Detail: err.Error()}
	}
	hash, err := pw.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	u := &signoff.User{ID: NewUserID(), Email: e, PasswordHash: hash, CreatedAt: now.UTC().Truncate(time.Microsecond)}
	if err := users.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}
