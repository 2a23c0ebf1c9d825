package storetest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/memstore"
	"github.com/signoff/signoff/store/storetest"
)

// With no Fault a FaultStore is the store it wraps: it forwards every
// method, users' included.
func TestFaultStoreForwards(t *testing.T) {
	storetest.Run(t, func(t *testing.T) signoff.Store {
		m := memstore.New()
		return &storetest.FaultStore{Store: m, Users: m}
	})
}

// A fault is the call's error, and the store is not called.
func TestFaultStoreFails(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	m := memstore.New()
	s := &signoff.Session{ID: "ses_1", UserID: "usr_1", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := m.CreateSession(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	down := errors.New("injected")
	var asked []string
	f := &storetest.FaultStore{Store: m, Users: m, Fault: func(op string) error {
		asked = append(asked, op)
		if op == "RevokeSession" {
			return down
		}
		return nil
	}}
	if err := f.RevokeSession(ctx, s.ID, now); !errors.Is(err, down) {
		t.Fatalf("RevokeSession with its fault = %v, want the fault", err)
	}
	if _, err := f.Session(ctx, s.ID, now); err != nil {
		t.Fatalf("the session after a RevokeSession that failed: %v; want it live", err)
	}
	if _, err := f.UserByID(ctx, "usr_1"); !errors.Is(err, signoff.ErrNotFound) {
		t.Fatalf("UserByID = %v, want ErrNotFound from the store", err)
	}
	if want := []string{"RevokeSession", "Session", "UserByID"}; !slices.Equal(asked, want) {
		t.Fatalf("Fault was asked for %v, want %v", asked, want)
	}
}
