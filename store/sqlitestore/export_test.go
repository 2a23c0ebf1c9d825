package sqlitestore

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/signoff/signoff/accesstoken"
)

// QueryRowForTest runs a query on the writer, which sees everything.
func QueryRowForTest(s *Store, q string, args ...any) *sql.Row {
	return s.w.QueryRowContext(context.Background(), q, args...)
}

// ExecForTest runs a statement on the writer.
func ExecForTest(s *Store, q string, args ...any) error {
	_, err := s.w.ExecContext(context.Background(), q, args...)
	return err
}

// KeysForTest is one access-token key set shared by the instances of a test.
func KeysForTest(t *testing.T) *accesstoken.KeySet {
	k, err := accesstoken.GenerateKey(accesstoken.EdDSA, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ks, err := accesstoken.NewKeySet(k)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}
