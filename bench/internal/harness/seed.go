package harness

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/sqlitestore"
)

// SeedSQLite makes the SQLite file path (migrated by sqlitestore, as
// signoff serve would find it) hold n users, each signed in once in
// session mode, and returns the Cookie line of each session, as Load's
// headers: "Cookie: __Host-session=…".
//
// Sign-in is deliberately slow (argon2), so the rows are written in bulk
// by SQL, in the columns of the schema's version 1 (users, sessions): that
// the server really reads them is what a benchmark checks by asking for
// them. The sessions were created two minutes ago and were last seen at
// moments spread over the minute before now, as live traffic leaves them:
// a server writes each one's last-seen time again (TouchInterval, a minute
// by default) at a steady rate from its start, not all at once. Quiet
// sessions were last seen ten minutes from now instead, so that no
// last-seen write falls due for ten minutes: what a request costs without
// them.
func SeedSQLite(ctx context.Context, path string, n int, quiet bool) ([]string, error) {
	st, err := sqlitestore.Open(path)
	if err != nil {
		return nil, err
	}
	_, err = st.Migrate(ctx)
	st.Close()
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=synchronous(OFF)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	now := time.Now()
	cookies := make([]string, n)
	const batch = 10_000
	for lo := 0; lo < n; lo += batch {
		if err := seedBatch(ctx, db, now, lo, min(n, lo+batch), quiet, cookies); err != nil {
			return nil, fmt.Errorf("seeding %s: %w", path, err)
		}
	}
	return cookies, nil
}

// seedBatch writes users and sessions lo to hi-1 in one transaction.
func seedBatch(ctx context.Context, db *sql.DB, now time.Time, lo, hi int, quiet bool, cookies []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	user, err := tx.PrepareContext(ctx, `INSERT INTO users (id, email, password_hash, auth_version, created_at) VALUES (?, ?, '', 0, ?)`)
	if err != nil {
		return err
	}
	sess, err := tx.PrepareContext(ctx, `INSERT INTO sessions (id, user_id, token_hash, auth_version, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, 0, ?, ?, ?)`)
	if err != nil {
		return err
	}
	created := now.Add(-2 * time.Minute)
	expires := now.Add(signoff.DefaultAbsoluteLifetime)
	for i := lo; i < hi; i++ {
		var raw [32]byte
		rand.Read(raw[:])
		tok := base64.RawURLEncoding.EncodeToString(raw[:])
		h := signoff.HashString(tok)
		id := randomHex(16)
		uid := "usr_" + id
		seen := now.Add(-time.Duration(i%1000+1) * time.Minute / 1000)
		if quiet {
			seen = now.Add(10 * time.Minute)
		}
		if _, err := user.ExecContext(ctx, uid, "u"+id+"@bench.test", created.UnixMicro()); err != nil {
			return err
		}
		if _, err := sess.ExecContext(ctx, "ses_"+id, uid, h[:], created.UnixMicro(), seen.UnixMicro(), expires.UnixMicro()); err != nil {
			return err
		}
		cookies[i] = "Cookie: " + signoff.DefaultSessionCookie.Name + "=" + tok
	}
	return tx.Commit()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
