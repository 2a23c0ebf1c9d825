package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/signoff/signoff"
	"github.com/signoff/signoff/bench/internal/harness"
	"github.com/signoff/signoff/internal/apiclient"
	_ "github.com/signoff/signoff/store/sqlitestore" // the "sqlite" driver of bulk's inserts
)

// modes are the modes of the logout rows, in table order.
var modes = []string{"session", "jwt"}

// target is signoff serve in one mode on one kind of store, with this
// process's own handle on the very same database: the Store, to make users
// and to revoke as the raw rows do, and bulk, to put sessions in it.
type target struct {
	store, mode string
	skip        string // why it was not measured
	p           *harness.Proc
	st          interface {
		signoff.Store
		signoff.UserStore
	}
	bulk bulk
	hc   harness.Client // kept-alive connections to p, up to maxClients
}

// maxClients is the most concurrent clients of a logout row.
const maxClients = 256

// setUpTargets starts signoff serve in both modes on each kind of store,
// each on a database of its own; a PostgreSQL that does not answer gives
// skipped targets.
func setUpTargets(ctx context.Context, w *harness.Workspace, o options, progress func(string, ...any)) ([]*target, error) {
	var ts []*target
	for _, st := range stores {
		for _, mode := range modes {
			t := &target{store: st, mode: mode}
			ts = append(ts, t)
			var where, serveURL string
			switch st {
			case "sqlite":
				where = filepath.Join(w.Dir, "logout-"+mode+".db")
				serveURL = "sqlite:" + where
			case "postgres":
				where, t.skip = pgWhere(ctx, w, o, "signoff_bench_logout_")
				if t.skip != "" {
					progress("skipping the postgres logout rows: %s", t.skip)
					continue
				}
				serveURL = where
			}
			progress("starting signoff serve --mode %s on %s", mode, st)
			p, err := w.ServeOn("signoff-logout-"+st+"-"+mode, mode, serveURL, o.logLevel)
			if err != nil {
				return nil, err
			}
			// serve has made the schema; this process opens it too.
			raw, err := openRaw(ctx, w, st, where)
			if err != nil {
				return nil, err
			}
			t.p, t.st = p, raw.(interface {
				signoff.Store
				signoff.UserStore
			})
			if t.bulk, err = openBulk(ctx, w, st, where); err != nil {
				return nil, err
			}
			t.hc = harness.NewClient()
			t.hc.Transport = &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: maxClients}
		}
	}
	return ts, nil
}

// pgWhere makes a schema of the run's own named prefix… and returns its
// URL, or why there is none.
func pgWhere(ctx context.Context, w *harness.Workspace, o options, prefix string) (where, skip string) {
	if o.postgres == "off" {
		return "", "-postgres off"
	}
	where, err := harness.PGSchema(ctx, &w.Cleanups, o.postgres, prefix)
	if err != nil {
		return "", fmt.Sprint(err) + " (set -postgres or SIGNOFF_TEST_POSTGRES to a PostgreSQL that does; Debian package postgresql)"
	}
	return where, ""
}

// newUser makes an account of its own, through the store, for one row of
// one round: every row revokes its own user's sessions only.
func (t *target) newUser(ctx context.Context) (string, error) {
	u := &signoff.User{ID: rnd("usr_"), Email: rnd("bench-") + "@example.test", PasswordHash: "bench: never signs in", CreatedAt: time.Now()}
	if err := t.st.CreateUser(ctx, u); err != nil {
		return "", fmt.Errorf("create a user: %w", err)
	}
	return u.ID, nil
}

// sessions makes n live sessions of user at once, through bulk, and
// returns the secret of each: the session cookie's value (session mode) or
// the first refresh token of its family (jwt mode).
func (t *target) sessions(ctx context.Context, user string, n int) ([]string, error) {
	av, err := t.st.AuthVersion(ctx, user)
	if err != nil {
		return nil, err
	}
	toks := make([]string, n)
	for i := range toks {
		toks[i] = newToken()
	}
	if err := t.bulk.insert(ctx, user, av, t.mode == "jwt", toks, time.Now()); err != nil {
		return nil, fmt.Errorf("insert %d sessions: %w", n, err)
	}
	return toks, nil
}

// newToken is a random credential in the form signoff hands out: 32
// random bytes, base64url without padding.
func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// cred is how a client presents the secret tok of a session made by
// sessions: its cookie, or (jwt mode) its refresh token.
func (t *target) cred(tok string) apiclient.Cred {
	if t.mode == "jwt" {
		return apiclient.Cred{RefreshToken: tok}
	}
	return apiclient.Cred{Cookie: sessionCookie + "=" + tok}
}

// sessionCookie is the name of signoff serve's session cookie.
const sessionCookie = "__Host-session"

// live makes c ready to show that its session is live, then shows it: in
// jwt mode it refreshes once (the new refresh token and an access token
// replace c's), and /api/me must accept the access token; in session mode
// /api/me must accept the cookie.
func (t *target) live(ctx context.Context, c apiclient.Cred) (apiclient.Cred, error) {
	if t.mode == "jwt" {
		res, body, err := t.hc.Expect(ctx, 200, "POST", t.p.URL+"refresh", apiclient.Cred{}, c.RefreshBody())
		if err != nil {
			return c, fmt.Errorf("a session made in the store: %w", err)
		}
		if c, _ = apiclient.FromLogin(res.Header, body); c.AccessToken == "" || c.RefreshToken == "" {
			return c, fmt.Errorf("POST /refresh answered no tokens")
		}
	}
	if _, _, err := t.hc.Expect(ctx, 200, "GET", t.p.URL+"api/me", meCred(c), ""); err != nil {
		return c, fmt.Errorf("a session made in the store: %w", err)
	}
	return c, nil
}

// refused checks that every credential of c is refused now: the cookie or
// the access token by /api/me, the refresh token by /refresh.
func (t *target) refused(ctx context.Context, c apiclient.Cred) error {
	if _, _, err := t.hc.Expect(ctx, 401, "GET", t.p.URL+"api/me", meCred(c), ""); err != nil {
		return fmt.Errorf("after the logout, the old credential: %w", err)
	}
	if c.RefreshToken != "" {
		if _, _, err := t.hc.Expect(ctx, 401, "POST", t.p.URL+"refresh", apiclient.Cred{}, c.RefreshBody()); err != nil {
			return fmt.Errorf("after the logout, the old refresh token: %w", err)
		}
	}
	return nil
}

// meCred is c without its refresh token: what /api/me is shown.
func meCred(c apiclient.Cred) apiclient.Cred {
	c.RefreshToken = ""
	return c
}

// pick picks the indices of n sessions whose credentials a row checks:
// the first, the last and up to extra random others, in order.
func pick(n, extra int) []int {
	set := map[int]bool{0: true, n - 1: true}
	for range min(extra, n) {
		set[mrand.IntN(n)] = true
	}
	var out []int
	for i := range set {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// bulk inserts sessions straight into a store's tables, many in one
// transaction. Store.CreateSession makes one at a time, each its own
// committed transaction: 1,800 a second on SQLite and 1,900 on PostgreSQL
// here (half that with a refresh token), so 100,000 would take a minute a
// round. It writes what CreateSession writes (the schemas of
// store/sqlitestore and store/pgstore), with the user's auth_version read
// before. Then it leaves the tables as sessions made over time would find
// them: on SQLite the write-ahead log checkpointed (else the next commit,
// the one measured, copies the whole insert into the database); on
// PostgreSQL the tables vacuumed and analysed (as autovacuum leaves them:
// else an index-only scan must visit every row it counts).
type bulk interface {
	insert(ctx context.Context, user string, av int64, jwt bool, toks []string, now time.Time) error
}

// openBulk opens the bulk inserter of kind st at where (a file, a
// postgres URL), closed at w's Close.
func openBulk(ctx context.Context, w *harness.Workspace, st, where string) (bulk, error) {
	if st == "sqlite" {
		db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: where}).EscapedPath()+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate")
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		w.OnClose(func() { db.Close() })
		return sqliteBulk{db}, nil
	}
	conn, err := pgx.Connect(ctx, where)
	if err != nil {
		return nil, fmt.Errorf("connect to the postgres schema: %w", err)
	}
	w.OnClose(func() { conn.Close(context.Background()) })
	return pgBulk{conn}, nil
}

// rows are what bulk inserts for toks: each session's row and, in jwt
// mode, its refresh token's.
func rows(user string, av int64, jwt bool, toks []string, now time.Time) (sessions, tokens [][]any) {
	exp, rtExp := now.Add(24*time.Hour), now.Add(time.Hour)
	for _, tok := range toks {
		id, h := rnd("ses_"), signoff.HashString(tok)
		var th any = h[:]
		if jwt {
			th = nil
			tokens = append(tokens, []any{rnd("rt_"), id, h[:], now, rtExp})
		}
		sessions = append(sessions, []any{id, user, th, av, now, now, exp, "bench/writes", "127.0.0.1"})
	}
	return sessions, tokens
}

var (
	sessionInsert = []string{"id", "user_id", "token_hash", "auth_version", "created_at", "last_seen_at", "expires_at", "user_agent", "ip"}
	tokenInsert   = []string{"jti", "session_id", "token_hash", "issued_at", "expires_at"}
)

type sqliteBulk struct{ db *sql.DB }

func (b sqliteBulk) insert(ctx context.Context, user string, av int64, jwt bool, toks []string, now time.Time) error {
	ss, rts := rows(user, av, jwt, toks, now)
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{"sessions", sessionInsert, ss}, {"refresh_tokens", tokenInsert, rts}} {
		if len(t.rows) == 0 {
			continue
		}
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO "+t.table+" ("+strings.Join(t.cols, ", ")+") VALUES (?"+strings.Repeat(", ?", len(t.cols)-1)+")")
		if err != nil {
			return err
		}
		for _, r := range t.rows {
			for i, v := range r {
				if at, ok := v.(time.Time); ok {
					r[i] = at.UnixMicro() // sqlitestore's times
				}
			}
			if _, err := stmt.ExecContext(ctx, r...); err != nil {
				stmt.Close()
				return err
			}
		}
		stmt.Close()
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = b.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
	return err
}

type pgBulk struct{ conn *pgx.Conn }

func (b pgBulk) insert(ctx context.Context, user string, av int64, jwt bool, toks []string, now time.Time) error {
	ss, rts := rows(user, av, jwt, toks, now.Truncate(time.Microsecond))
	tx, err := b.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"sessions"}, sessionInsert, pgx.CopyFromRows(ss)); err != nil {
		return err
	}
	if len(rts) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"refresh_tokens"}, tokenInsert, pgx.CopyFromRows(rts)); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	_, err = b.conn.Exec(ctx, `VACUUM (ANALYZE) sessions, refresh_tokens`)
	return err
}
