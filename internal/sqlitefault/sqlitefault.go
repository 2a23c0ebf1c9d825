// Package sqlitefault fills a signoff SQLite file with data and damages it
// the way a failing disk does, for the tests of what signoff does with a
// corrupted store. It is test support, imported only by _test files.
package sqlitefault

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/signoff/signoff/store/sqlitestore"
)

// Email is the address of the i-th user Fill creates.
func Email(i int) string { return fmt.Sprintf("user%06d@example.test", i) }

// Fill creates (or migrates) the store at path and adds users accounts and
// sessions sessions, spread over the users, in one transaction: a file of
// the shape signoff serve writes, quickly. The password hashes are
// well-formed argon2id strings, at a test's cost, of no password anyone knows.
func Fill(tb testing.TB, path string, users, sessions int) {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlitestore.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	// The driver sqlitestore registered; one transaction, not one per row.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Now().UnixMicro()
	for i := range users {
		salt, sum := make([]byte, 16), make([]byte, 32)
		rand.Read(salt)
		rand.Read(sum)
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, auth_version, created_at) VALUES (?, ?, ?, 0, ?)`,
			fmt.Sprintf("usr_%032x", i), Email(i), "$argon2id$v=19$m=1024,t=1,p=1$"+b64(salt)+"$"+b64(sum), now); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range sessions {
		h := make([]byte, 32)
		rand.Read(h)
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, token_hash, auth_version, created_at, last_seen_at, expires_at, user_agent, ip)
			VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?)`,
			fmt.Sprintf("ses_%032x", i), fmt.Sprintf("usr_%032x", i%max(users, 1)), h, now, now, now+12*3600e6,
			"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36", "192.0.2.1"); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

var b64 = base64.RawStdEncoding.EncodeToString

// Corrupt overwrites n whole pages in the middle of the database file at
// path with random bytes, as a run of bad disk blocks returns garbage. The
// first page (the header and the schema) is left alone: the file still opens,
// and only reading the damaged pages finds the damage. Call it on a closed
// store (its -wal checkpointed into the file), or beneath a running one.
func Corrupt(tb testing.TB, path string, n int) {
	tb.Helper()
	const page = 4096 // SQLite's default page size, and a disk block
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	pages := st.Size() / page
	if pages < int64(n)+2 {
		tb.Fatalf("sqlitefault: %s has %d pages, too few to damage %d in the middle", path, pages, n)
	}
	junk := make([]byte, n*page)
	rand.Read(junk)
	if _, err := f.WriteAt(junk, (pages-int64(n))/2*page); err != nil {
		tb.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
}
