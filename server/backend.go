package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"strings"
	"time"

	"github.com/signoff/signoff/logbus"
	"github.com/signoff/signoff/store/pgstore"
	"github.com/signoff/signoff/store/redisstore"
	"github.com/signoff/signoff/store/sqlitestore"
)

// Stores names where signoff keeps its data: Store holds the users, and the
// sessions too unless Sessions names a Redis for sessions, refresh tokens
// and revocation state. The revocation bus follows the sessions: Redis
// pub/sub, PostgreSQL LISTEN/NOTIFY, or the SQLite file.
type Stores struct {
	Store    string // sqlite:PATH or postgres://…
	Sessions string // "" or redis://…
}

// Check reports a store string that cannot work, as a usage error would.
// It never prints a URL's password.
func (st Stores) Check() error {
	switch kind(st.Store) {
	case "sqlite":
		if _, err := SQLitePath(st.Store); err != nil {
			return err
		}
	case "postgres":
	case "redis":
		return errors.New("--store redis://… cannot hold users: use --store sqlite:PATH or postgres://… with --sessions redis://…")
	default:
		return fmt.Errorf("--store: want sqlite:PATH or postgres://…, got %q", Redact(st.Store))
	}
	if st.Sessions != "" && kind(st.Sessions) != "redis" {
		return fmt.Errorf("--sessions: want redis://…, got %q", Redact(st.Sessions))
	}
	return nil
}

func kind(s string) string {
	switch {
	case strings.HasPrefix(s, "sqlite:"):
		return "sqlite"
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return "postgres"
	case strings.HasPrefix(s, "redis://"), strings.HasPrefix(s, "rediss://"):
		return "redis"
	}
	return ""
}

// splitPrefix takes the key prefix out of a redis:// URL's query
// (?prefix=NAME:), which lets several deployments share one Redis.
func splitPrefix(raw string) (url, prefix string) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return raw, ""
	}
	q := u.Query()
	prefix = q.Get("prefix")
	q.Del("prefix")
	u.RawQuery = q.Encode()
	return u.String(), prefix
}

// Redact shows a store string with the password of a URL replaced: what
// may be printed or logged.
func Redact(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	rest := s[i+3:]
	at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@")
	if at < 0 {
		return s
	}
	user := rest[:at]
	if c := strings.IndexByte(user, ':'); c >= 0 {
		user = user[:c] + ":xxxxx"
	}
	return s[:i+3] + user + rest[at:]
}

// Migrate opens the stores, which applies every migration they lack, and
// says where each stands.
func Migrate(ctx context.Context, st Stores) (string, error) {
	o, err := open(ctx, st, nil, nil)
	if err != nil {
		return "", err
	}
	defer o.Close()
	var v int
	switch s := o.Users.(type) {
	case *sqlitestore.Store:
		v, err = s.SchemaVersion(ctx)
	case *pgstore.Store:
		v, err = s.SchemaVersion(ctx)
	}
	if err != nil {
		return "", err
	}
	out := fmt.Sprintf("%s is at schema version %d", Redact(st.Store), v)
	if st.Sessions != "" {
		out += fmt.Sprintf("; %s needs no migrations", Redact(st.Sessions))
	}
	return out, nil
}

// opened is a Backend and what to close, in order, when done with it.
type opened struct {
	Backend
	closers []io.Closer
	sqlite  string // the SQLite file, when the users live in one
}

type closeFunc func() error

func (f closeFunc) Close() error { return f() }

// open opens the stores st names, applies their migrations and builds the
// bus. A Backend whose bus never subscribes only publishes (admin commands).
func open(ctx context.Context, st Stores, log *slog.Logger, now func() time.Time) (*opened, error) {
	if err := st.Check(); err != nil {
		return nil, err
	}
	o := &opened{}
	ok := false
	defer func() {
		if !ok {
			o.Close()
		}
	}()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opt := logbus.Options{Logger: log, Now: now}
	switch kind(st.Store) {
	case "sqlite":
		s, path, err := OpenSQLite(ctx, st.Store)
		if err != nil {
			return nil, err
		}
		o.closers = append(o.closers, s)
		o.Users, o.Sessions, o.sqlite = s, s, path
		if st.Sessions == "" {
			o.Bus = o.addBus(s.NewBus(opt))
		}
	case "postgres":
		s, err := pgstore.Open(ctx, st.Store)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", Redact(st.Store), err)
		}
		o.closers = append(o.closers, closeFunc(func() error { s.Close(); return nil }))
		if _, err := s.Migrate(ctx); err != nil {
			return nil, err
		}
		o.Users, o.Sessions = s, s
		if st.Sessions == "" {
			o.Bus = o.addBus(s.NewBus(opt))
		}
	}
	if st.Sessions != "" {
		url, prefix := splitPrefix(st.Sessions)
		r, err := redisstore.Open(ctx, url, redisstore.Options{Prefix: prefix})
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", Redact(st.Sessions), err)
		}
		o.closers = append(o.closers, r)
		o.Sessions = r
		o.Bus = o.addBus(r.NewBus(opt))
	}
	ok = true
	return o, nil
}

// addBus records b to be closed first: it deregisters the instance while
// the store it writes to is still open.
func (o *opened) addBus(b *logbus.Bus) *logbus.Bus {
	o.closers = append([]io.Closer{b}, o.closers...)
	return b
}

// Close closes the bus, then the stores.
func (o *opened) Close() error {
	var errs []error
	for _, c := range o.closers {
		errs = append(errs, c.Close())
	}
	o.closers = nil
	return errors.Join(errs...)
}
