package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/signoff/signoff/accesstoken"
)

// QueryRowForTest runs a query on the writer, which sees everything.
func QueryRowForTest(s *Store, q string, args ...any) *sql.Row {
	return s.w.QueryRowContext(context.Background(), q, args...)
}

// QueryForTest runs a query on the writer.
func QueryForTest(s *Store, q string, args ...any) (*sql.Rows, error) {
	return s.w.QueryContext(context.Background(), q, args...)
}

// ExecForTest runs a statement on the writer.
func ExecForTest(s *Store, q string, args ...any) error {
	_, err := s.w.ExecContext(context.Background(), q, args...)
	return err
}

// CountLive is the query with which RevokeUserSessions counts the
// sessions it ends, for a test that reads its plan.
const CountLive = countLive

// PlanForTest returns the plan SQLite makes for q, one line per step.
func PlanForTest(s *Store, q string, args ...any) (string, error) {
	rows, err := s.w.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n"), rows.Err()
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
