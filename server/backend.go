package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/logbus"
	"github.com/signoff/signoff/store/pgstore"
	"github.com/signoff/signoff/store/redisstore"
	"github.com/signoff/signoff/store/sqlitestore"
)

// Backend is the store and the revocation bus a Server runs on: opened by
// OpenBackend from store URLs, as signoff serve does, or built by the
// caller (a test that injects faults) and passed as Config.Backend.
type Backend struct {
	Sessions signoff.Store
	Users    signoff.UserStore
	Bus      signoff.Bus

	closers []io.Closer // what OpenBackend opened, in the order to close it
	sqlite  string      // the SQLite file, when the users live in one
}

// BackendOptions configure OpenBackend. The zero value is ready to use.
type BackendOptions struct {
	// Logger receives the bus's warnings. Default: discard.
	Logger *slog.Logger
	// Now is the bus's clock. Default time.Now.
	Now func() time.Time
}

// OpenBackend opens the stores st names, as signoff serve, signoff migrate
// and the admin commands do, and builds the revocation bus:
//
//   - sqlite:PATH: the file is checked for damage (a damaged one is an
//     error that says what to do), migrated, and carries the bus between
//     the processes that open it;
//   - postgres://…: migrated; the bus is LISTEN/NOTIFY;
//   - with Sessions redis://… (?prefix=NAME: sets the key prefix): sessions,
//     refresh tokens and the bus (pub/sub) live in Redis, users in Store.
//
// A store string that Stores.Check refuses is that error. A Backend whose
// bus never subscribes only publishes (the admin commands). Close releases
// what OpenBackend opened; when it fails, it has closed it already.
func OpenBackend(ctx context.Context, st Stores, opt BackendOptions) (*Backend, error) {
	if err := st.Check(); err != nil {
		return nil, err
	}
	b := &Backend{}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bopt := logbus.Options{Logger: log, Now: opt.Now}
	switch kind(st.Store) {
	case "sqlite":
		s, path, err := openSQLite(ctx, st.Store)
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, s)
		b.Users, b.Sessions, b.sqlite = s, s, path
		if st.Sessions == "" {
			b.Bus = b.addBus(s.NewBus(bopt))
		}
	case "postgres":
		s, err := pgstore.Open(ctx, st.Store)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", Redact(st.Store), err)
		}
		b.closers = append(b.closers, closeFunc(func() error { s.Close(); return nil }))
		if _, err := s.Migrate(ctx); err != nil {
			return nil, err
		}
		b.Users, b.Sessions = s, s
		if st.Sessions == "" {
			b.Bus = b.addBus(s.NewBus(bopt))
		}
	}
	if st.Sessions != "" {
		url, prefix := splitPrefix(st.Sessions)
		r, err := redisstore.Open(ctx, url, redisstore.Options{Prefix: prefix})
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", Redact(st.Sessions), err)
		}
		b.closers = append(b.closers, r)
		b.Sessions = r
		b.Bus = b.addBus(r.NewBus(bopt))
	}
	ok = true
	return b, nil
}

// openSQLite opens the SQLite store named by store, checks the whole file
// for damage (PRAGMA quick_check: under 0.1 s at 100,000 sessions) and migrates
// it. A damaged file is an error that names it and says what to do: serve
// does not start on it, migrate does not write into it.
func openSQLite(ctx context.Context, store string) (*sqlitestore.Store, string, error) {
	path, err := sqlitePath(store)
	if err != nil {
		return nil, "", err
	}
	st, err := sqlitestore.Open(path)
	if err != nil {
		return nil, "", err
	}
	if err := st.CheckIntegrity(ctx); err != nil {
		st.Close()
		return nil, "", err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, "", err
	}
	return st, path, nil
}

type closeFunc func() error

func (f closeFunc) Close() error { return f() }

// addBus records bus to be closed first: it deregisters the instance while
// the store it writes to is still open.
func (b *Backend) addBus(bus *logbus.Bus) *logbus.Bus {
	b.closers = append([]io.Closer{bus}, b.closers...)
	return bus
}

// Close closes what OpenBackend opened: the bus, then the stores. On a
// Backend the caller built it does nothing: the caller keeps what it made.
func (b *Backend) Close() error {
	var errs []error
	for _, c := range b.closers {
		errs = append(errs, c.Close())
	}
	b.closers = nil
	return errors.Join(errs...)
}
