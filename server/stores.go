package server

import (
	"errors"
	"fmt"
	neturl "net/url"
	"strings"
)

// Stores names where signoff keeps its data: Store holds the users, and the
// sessions too unless Sessions names a Redis for sessions, refresh tokens
// and revocation state. The revocation bus follows the sessions: Redis
// pub/sub, PostgreSQL LISTEN/NOTIFY, or the SQLite file.
type Stores struct {
	Store    string // sqlite:PATH or postgres://…
	Sessions string // "" or redis://…, with ?prefix=NAME: for a key prefix
}

// Check reports a store string that cannot work, as a usage error would.
// It never prints a URL's password.
func (st Stores) Check() error {
	switch kind(st.Store) {
	case "sqlite":
		if _, err := sqlitePath(st.Store); err != nil {
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

// sqlitePath returns the file named by a sqlite:PATH store (sqlite://PATH
// too), or an error when it names none. Its callers have checked that store
// begins with sqlite:.
func sqlitePath(store string) (string, error) {
	p := strings.TrimPrefix(strings.TrimPrefix(store, "sqlite:"), "//")
	if p == "" {
		return "", errors.New("--store sqlite: needs a file name, as in sqlite:signoff.db")
	}
	return p, nil
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
