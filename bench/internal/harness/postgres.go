package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/signoff/signoff/server"
)

// DefaultPostgres is the PostgreSQL a benchmark uses unless
// SIGNOFF_TEST_POSTGRES or a flag names another.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is SIGNOFF_TEST_POSTGRES, or DefaultPostgres.
func PostgresURL() string {
	if u := os.Getenv("SIGNOFF_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultPostgres
}

// PGSchema creates an empty schema named prefix + random hex in the
// PostgreSQL at base (which must answer within 5 s), registers its DROP …
// CASCADE at c's Close, and returns the URL of base that puts a store in it
// (search_path). Errors name base with its password redacted; an error
// means nothing was created.
func PGSchema(ctx context.Context, c *Cleanups, base, prefix string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("%s: want a postgres:// URL", server.Redact(base))
	}
	var b [6]byte
	rand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, base)
	if err != nil {
		return "", fmt.Errorf("PostgreSQL at %s does not answer: %v", server.Redact(base), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(cctx, "CREATE SCHEMA "+name); err != nil {
		return "", fmt.Errorf("create schema in %s: %v", server.Redact(base), err)
	}
	c.OnClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
			conn.Close(ctx)
		}
	})
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
